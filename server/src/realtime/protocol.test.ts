import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from './protocol.js';

describe('encode', () => {
  it('writes position updates exactly as JSON.stringify does, and falls back for non-integers', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), fc.maxSafeInteger(), (position, queueLength, eta) => {
        const message = { type: 'position_update', data: { position, queue_length: queueLength, estimated_wait_seconds: eta } } as const;
        expect(encode(message)).toBe(JSON.stringify(message));
      }),
    );
    const odd = { type: 'position_update', data: { position: 1.5, queue_length: Number.NaN, estimated_wait_seconds: 2 } } as const;
    expect(JSON.parse(encode(odd))).toEqual({ type: 'position_update', data: { position: 1.5, queue_length: null, estimated_wait_seconds: 2 } });
  });
});
