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

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
const decoder = new TextDecoder();

/**
 * Reads an event off the wire. Anything else on the subject (not JSON, wrong shape, an unknown
 * type) is reported as a reason, because one bad message must not stop the consumer. Checked by
 * hand rather than with a schema library: every node decodes every event of every queue, and a
 * schema that copies each object cost a join storm ~1 % of a node's CPU.
 */
export function decodeEvent(payload: Uint8Array): { event: WaitingRoomEvent } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload));
  } catch {
    return { error: 'not JSON' };
  }
  if (!isRecord(json)) return { error: '(root): expected an object' };
  const problems: string[] = [];
  const text = (field: string, nonEmpty = false) => {
    const value = json[field];
    if (typeof value !== 'string' || (nonEmpty && value.length === 0)) problems.push(`${field}: expected a ${nonEmpty ? 'non-empty ' : ''}string`);
  };
  text('id', true);
  if (json.version !== 1) problems.push('version: expected 1');
  if (typeof json.type !== 'string' || !KNOWN_TYPES.has(json.type)) problems.push('type: unknown event type');
  text('timestamp');
  text('source');
  text('queue_id');
  if (!isRecord(json.data)) problems.push('data: expected an object');
  if (problems.length > 0) return { error: problems.join('; ') };
  return { event: json as unknown as WaitingRoomEvent };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
