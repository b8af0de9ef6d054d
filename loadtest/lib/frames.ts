/**
 * Reading server frames cheaply. Almost every frame a waiting visitor receives is a
 * `position_update`, so its one fixed shape is read straight from the bytes into a reused object
 * (no string, no JSON tree); every other frame, and any update in another shape, goes through
 * JSON.parse. Pure: no I/O.
 */
import { SERVER_MESSAGE_TYPES } from '../../client-sdk/src/protocol.js';
import type { ServerMessage } from '../../server/src/realtime/protocol.js';

/** A position update as read from a frame; the caller owns one and reuses it. */
export interface PositionReading {
  position: number;
  queueLength: number;
  etaSeconds: number;
}

/** The exact bytes `JSON.stringify` gives the server's position_update (protocol.ts `encode`). */
const UPDATE_PREFIX = Buffer.from('{"type":"position_update","data":{"position":');
const QUEUE_LENGTH_KEY = Buffer.from(',"queue_length":');
const ETA_KEY = Buffer.from(',"estimated_wait_seconds":');
const CLOSE_BRACES = Buffer.from('}}');

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function matchesAt(frame: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > frame.length) return false;
  for (let i = 0; i < bytes.length; i++) if (frame[at + i] !== bytes[i]) return false;
  return true;
}

/**
 * Reads a non-negative decimal integer at `at`; returns the index after it, or -1 when there
 * is no digit there or it has more than 15 digits (beyond that, leave it to JSON.parse).
 */
function readUint(frame: Uint8Array, at: number, into: { value: number }): number {
  let value = 0;
  let i = at;
  for (; i < frame.length && i - at <= 15; i++) {
    const c = frame[i] as number;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
  }
  if (i === at || i - at > 15) return -1;
  into.value = value;
  return i;
}

const scratch = { value: 0 };

/**
 * True when `frame` is exactly `{"type":"position_update","data":{"position":P,"queue_length":L,
 * "estimated_wait_seconds":E}}` with non-negative integers, which are then written to `out`.
 * False for anything else (the caller falls back to `parseServerFrame`); `out` may then hold
 * partial values.
 */
export function readPositionUpdate(frame: Uint8Array, out: PositionReading): boolean {
  if (!matchesAt(frame, 0, UPDATE_PREFIX)) return false;
  let at = readUint(frame, UPDATE_PREFIX.length, scratch);
  if (at < 0) return false;
  out.position = scratch.value;
  if (!matchesAt(frame, at, QUEUE_LENGTH_KEY)) return false;
  at = readUint(frame, at + QUEUE_LENGTH_KEY.length, scratch);
  if (at < 0) return false;
  out.queueLength = scratch.value;
  if (!matchesAt(frame, at, ETA_KEY)) return false;
  at = readUint(frame, at + ETA_KEY.length, scratch);
  if (at < 0) return false;
  out.etaSeconds = scratch.value;
  return at + CLOSE_BRACES.length === frame.length && matchesAt(frame, at, CLOSE_BRACES);
}

/**
 * Any server frame, checked only as far as `{type: <a known type>, data: <an object>}`: the
 * generator trusts the server's field shapes (protocol.ts) and reads what it needs.
 * A string says why a frame is not a server message.
 */
export function parseServerFrame(frame: Uint8Array | string): ServerMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8'));
  } catch {
    return 'frame is not valid JSON';
  }
  if (typeof value !== 'object' || value === null) return 'frame is not an object';
  const { type, data } = value as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || !SERVER_MESSAGE_TYPES.has(type)) return `unknown frame type ${JSON.stringify(type)}`;
  if (typeof data !== 'object' || data === null) return `${type} frame without data`;
  return value as ServerMessage;
}

/** The join frame (DESIGN §4): with a ticket it resumes that place, without one it takes a new one. */
export function joinFrame(ticket?: string): string {
  return ticket === undefined ? '{"type":"join"}' : JSON.stringify({ type: 'join', data: { token: ticket } });
}

/**
 * When the store admitted a visitor, from the `admitted` push: the admission script sets
 * `session_expires_at = admitted_at + session_duration_seconds * 1000` with the store's clock,
 * and the server sends that instant as ISO 8601 with milliseconds. NaN for an unreadable date.
 */
export function storeAdmissionTimeMs(sessionExpiresAt: string | number, sessionDurationSeconds: number): number {
  const expiresMs = typeof sessionExpiresAt === 'number' ? sessionExpiresAt : Date.parse(sessionExpiresAt);
  return expiresMs - sessionDurationSeconds * 1000;
}
