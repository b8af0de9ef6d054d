import { z } from 'zod';
import { EVENT_TYPES, subjectOf, type EventType, type WaitingRoomEvent } from './types.js';

/** The seed's subject root; a bus may use another one (tests do, so their streams don't overlap). */
export const DEFAULT_SUBJECT_PREFIX = 'waitingroom';

/** `subjectOf(type)` with its root swapped for `prefix`: `<prefix>.<entity>.<action>.v1`. */
export function subjectFor(prefix: string, type: EventType): string {
  const subject = subjectOf(type);
  return prefix === DEFAULT_SUBJECT_PREFIX ? subject : prefix + subject.slice(DEFAULT_SUBJECT_PREFIX.length);
}

/** Dot-separated tokens without wildcards or spaces, so `<prefix>.>` captures exactly our subjects. */
export function isValidSubjectPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix);
}

const eventSchema = z.object({
  id: z.string().min(1),
  version: z.literal(1),
  type: z.enum(EVENT_TYPES),
  timestamp: z.string(),
  source: z.string(),
  queue_id: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const decoder = new TextDecoder();

/**
 * Reads an event off the wire. Anything else on the subject (not JSON, wrong shape, an unknown
 * type) is reported as a reason, because one bad message must not stop the consumer.
 */
export function decodeEvent(payload: Uint8Array): { event: WaitingRoomEvent } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload));
  } catch {
    return { error: 'not JSON' };
  }
  const parsed = eventSchema.safeParse(json);
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { event: parsed.data };
}
