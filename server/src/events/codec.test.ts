import { describe, expect, it } from 'vitest';
import { decodeEvent } from './codec.js';

const encode = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const event = {
  id: 'e-1',
  version: 1,
  type: 'position.enqueued',
  timestamp: '2026-11-27T10:00:00.000Z',
  source: 'node-a',
  queue_id: 'q-1',
  data: { position_id: 'p', added: 3, removed: [1, 2], nested: { ok: true } },
};

describe('decodeEvent', () => {
  it('returns a well-formed event as it was sent, extra fields and all', () => {
    expect(decodeEvent(encode(event))).toEqual({ event });
    expect(decodeEvent(encode({ ...event, extra: 'kept' }))).toEqual({ event: { ...event, extra: 'kept' } });
  });

  it('names what is wrong, and never throws', () => {
    expect(decodeEvent(encode('{"id":'))).toEqual({ error: 'not JSON' });
    expect(decodeEvent(encode([event]))).toEqual({ error: '(root): expected an object' });
    expect(decodeEvent(encode(null))).toEqual({ error: '(root): expected an object' });
    expect(decodeEvent(encode({ ...event, id: '' }))).toEqual({ error: 'id: expected a non-empty string' });
    expect(decodeEvent(encode({ ...event, version: 2 }))).toEqual({ error: 'version: expected 1' });
    expect(decodeEvent(encode({ ...event, type: 'position.teleported' }))).toEqual({ error: 'type: unknown event type' });
    expect(decodeEvent(encode({ ...event, type: 'toString' }))).toEqual({ error: 'type: unknown event type' });
    expect(decodeEvent(encode({ ...event, data: [] }))).toEqual({ error: 'data: expected an object' });
    const { timestamp: _t, source: _s, ...missing } = event;
    expect(decodeEvent(encode({ ...missing, queue_id: 7 }))).toEqual({
      error: 'timestamp: expected a string; source: expected a string; queue_id: expected a string',
    });
  });
});
