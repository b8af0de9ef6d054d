import type { WaitingRoomState } from './types.js';

/** The texts of `<waiting-room-position>`; set `element.strings = {…}` to translate any of them. */
export interface WaitingRoomStrings {
  positionLabel: string;
  /** Between the position and the queue length: "42 of 1,000". */
  of: string;
  etaLabel: string;
  /** ETA 0: admission is imminent. */
  etaNow: string;
  etaUnderMinute: string;
  /** `{n}` = minutes. */
  etaMinutes: string;
  /** `{h}` = hours, `{m}` = minutes. */
  etaHours: string;
  /** Shown instead of the error text when the queue takes no new visitors (QUEUE_CLOSED). */
  queueClosed: string;
  states: Record<WaitingRoomState, string>;
}

/** A partial override: any top-level text, and any of the state texts. */
export type WaitingRoomStringsInput = Partial<Omit<WaitingRoomStrings, 'states'>> & {
  states?: Partial<Record<WaitingRoomState, string>>;
};

export const DEFAULT_STRINGS: WaitingRoomStrings = {
  positionLabel: 'Your place in line',
  of: 'of',
  etaLabel: 'Estimated wait',
  etaNow: 'any moment now',
  etaUnderMinute: 'less than a minute',
  etaMinutes: 'about {n} min',
  etaHours: 'about {h} h {m} min',
  queueClosed: 'This queue is closed to new visitors (sold out or not open yet). Please come back later.',
  states: {
    idle: '',
    connecting: 'Connecting…',
    waiting: 'You are in line. Keep this page open to keep your place.',
    polling: 'You are in line. Keep this page open to keep your place.',
    reconnecting: 'Connection lost. Reconnecting… your place is kept.',
    offline: 'You are offline. Your place is kept for a short while.',
    replaced: 'This queue is open in another tab or window. Come back to this one to continue here.',
    admitted: 'It is your turn! Redirecting…',
    expired: 'Your place in line has expired.',
    closed: 'You have left the line.',
    error: 'Something went wrong. Please reload the page.',
  },
};

export function mergeStrings(base: WaitingRoomStrings, input: WaitingRoomStringsInput | undefined): WaitingRoomStrings {
  if (!input) return base;
  return { ...base, ...input, states: { ...base.states, ...input.states } };
}

const fill = (template: string, values: Record<string, number>) =>
  template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));

/** A human ETA: "any moment now", "less than a minute", "about 3 min", "about 1 h 20 min". */
export function formatEta(seconds: number, strings: WaitingRoomStrings = DEFAULT_STRINGS): string {
  if (!(seconds > 0)) return strings.etaNow;
  if (seconds < 60) return strings.etaUnderMinute;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return fill(strings.etaMinutes, { n: minutes });
  return fill(strings.etaHours, { h: Math.floor(minutes / 60), m: minutes % 60 });
}

/**
 * How far along the line the visitor is, 0–100: from the position the place started at
 * (0 %) to the front (100 %).
 */
export function progressPercent(startPosition: number, position: number): number {
  if (startPosition <= 1 || position <= 1) return position <= 1 ? 100 : 0;
  const done = (startPosition - position) / (startPosition - 1);
  return Math.round(Math.min(1, Math.max(0, done)) * 100);
}
