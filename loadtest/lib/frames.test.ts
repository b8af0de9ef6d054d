import { describe, expect, it } from 'vitest';
import { encode } from '../../server/src/realtime/protocol.js';
import { joinFrame, parseServerFrame, readPositionUpdate, storeAdmissionTimeMs, type PositionReading } from './frames.js';

const fresh = (): PositionReading => ({ position: -1, queueLength: -1, etaSeconds: -1 });
const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('readPositionUpdate', () => {
  it('reads the exact frame the server encodes', () => {
    const frame = bytes(encode({ type: 'position_update', data: { position: 12345, queue_length: 20000, estimated_wait_seconds: 13 } }));
    const out = fresh();
    expect(readPositionUpdate(frame, out)).toBe(true);
    expect(out).toEqual({ position: 12345, queueLength: 20000, etaSeconds: 13 });
  });

  it('reads zeros and large integers', () => {
    const out = fresh();
    expect(readPositionUpdate(bytes('{"type":"position_update","data":{"position":0,"queue_length":0,"estimated_wait_seconds":0}}'), out)).toBe(true);
    expect(out).toEqual({ position: 0, queueLength: 0, etaSeconds: 0 });
    const big = '{"type":"position_update","data":{"position":900719925474,"queue_length":900719925474,"estimated_wait_seconds":123456789}}';
    expect(readPositionUpdate(bytes(big), out)).toBe(true);
    expect(out.position).toBe(900719925474);
    expect(out.etaSeconds).toBe(123456789);
  });

  it('refuses every other shape, so the caller falls back to JSON.parse', () => {
    const refused = [
      '{"type":"joined","data":{"position":1}}',
      '{"type":"position_update","data":{"queue_length":3,"position":1,"estimated_wait_seconds":1}}', // other key order
      '{"type":"position_update","data":{"position":1.5,"queue_length":3,"estimated_wait_seconds":1}}', // not an integer
      '{"type":"position_update","data":{"position":-1,"queue_length":3,"estimated_wait_seconds":1}}',
      '{"type":"position_update","data":{"position":1,"queue_length":3,"estimated_wait_seconds":1,"x":1}}', // extra field
      '{"type":"position_update","data":{"position":1,"queue_length":3,"estimated_wait_seconds":1}} ', // trailing byte
      '{"type":"position_update","data":{"position":1,"queue_length":3,"estimated_wait_seconds":1}', // truncated
      '{"type":"position_update","data":{"position":1234567890123456,"queue_length":3,"estimated_wait_seconds":1}}', // 16 digits
      '{"type":"position_update","data":{"position":',
      '',
    ];
    for (const text of refused) expect(readPositionUpdate(bytes(text), fresh()), text).toBe(false);
  });
});

describe('parseServerFrame', () => {
  it('returns known messages and explains everything else', () => {
    const admitted = parseServerFrame(bytes('{"type":"admitted","data":{"session_id":"q.1","session_token":"t","redirect_url":"u","session_expires_at":"x"}}'));
    expect(typeof admitted === 'object' && admitted.type).toBe('admitted');
    expect(parseServerFrame('not json')).toBe('frame is not valid JSON');
    expect(parseServerFrame('[1]')).toMatch(/unknown frame type/);
    expect(parseServerFrame('{"type":"bogus","data":{}}')).toMatch(/unknown frame type "bogus"/);
    expect(parseServerFrame('{"type":"error"}')).toBe('error frame without data');
  });

  it('reads a Buffer that is a slice of a larger one', () => {
    const whole = bytes('xx{"type":"expired","data":{"reason":"left"}}yy');
    const parsed = parseServerFrame(whole.subarray(2, whole.length - 2));
    expect(parsed).toEqual({ type: 'expired', data: { reason: 'left' } });
  });
});

describe('joinFrame', () => {
  it('joins fresh or resumes with a ticket', () => {
    expect(JSON.parse(joinFrame())).toEqual({ type: 'join' });
    expect(JSON.parse(joinFrame('abc.def'))).toEqual({ type: 'join', data: { token: 'abc.def' } });
  });
});

describe('storeAdmissionTimeMs', () => {
  it('takes the session duration off session_expires_at', () => {
    expect(storeAdmissionTimeMs('2030-01-01T00:10:00.123Z', 600)).toBe(Date.parse('2030-01-01T00:00:00.123Z'));
    expect(storeAdmissionTimeMs(1_000_000, 1)).toBe(999_000);
    expect(storeAdmissionTimeMs('garbage', 600)).toBeNaN();
  });
});
