import { describe, expect, it } from 'vitest';
import { isLoopbackUrl, loopbackAddresses, sourceAddressesFor, splitEvenly, targetOf, unitsFor } from './plan.js';

describe('plan', () => {
  it('needs at least one unit, and one more per started capacity', () => {
    expect(unitsFor(0, 15_000)).toBe(1);
    expect(unitsFor(15_000, 15_000)).toBe(1);
    expect(unitsFor(15_001, 15_000)).toBe(2);
    expect(unitsFor(50_000, 15_000)).toBe(4);
    expect(() => unitsFor(1, 0)).toThrow(RangeError);
  });

  it('splits a total evenly, larger shares first, summing to the total', () => {
    expect(splitEvenly(10, 3)).toEqual([4, 3, 3]);
    expect(splitEvenly(2, 4)).toEqual([1, 1, 0, 0]);
    expect(splitEvenly(50_000, 4)).toEqual([12_500, 12_500, 12_500, 12_500]);
    expect(() => splitEvenly(1, 0)).toThrow(RangeError);
    expect(() => splitEvenly(-1, 2)).toThrow(RangeError);
  });

  it('lists loopback source addresses', () => {
    expect(loopbackAddresses(3)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(loopbackAddresses(0)).toEqual([]);
    expect(() => loopbackAddresses(-1)).toThrow(RangeError);
    expect(() => loopbackAddresses(255)).toThrow(RangeError);
  });

  it('binds source addresses only when a server would take more than one source can give', () => {
    expect(sourceAddressesFor(20_000, 2)).toBe(0);
    expect(sourceAddressesFor(50_000, 4)).toBe(0);
    expect(sourceAddressesFor(25_000, 1)).toBe(0);
    expect(sourceAddressesFor(25_001, 1)).toBe(6); // 5,000 per bound address
    expect(sourceAddressesFor(100_000, 2)).toBe(20);
  });

  it('accepts only 127.x.x.x URLs', () => {
    expect(isLoopbackUrl('ws://127.0.0.1:8080/ws/queues/q')).toBe(true);
    expect(isLoopbackUrl('ws://127.0.0.9:1/x')).toBe(true);
    expect(isLoopbackUrl('ws://10.0.0.1:8080/')).toBe(false);
    expect(isLoopbackUrl('ws://example.com/')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });

  it('spreads visitors evenly over servers and over addresses within each server', () => {
    const urls = ['a', 'b'];
    const addresses = ['x', 'y', 'z'];
    const pairs = new Map<string, number>();
    const perUrl = new Map<string, number>();
    const perAddress = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const t = targetOf(i, urls, addresses);
      const key = `${t.url}/${t.localAddress}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
      perUrl.set(t.url, (perUrl.get(t.url) ?? 0) + 1);
      perAddress.set(String(t.localAddress), (perAddress.get(String(t.localAddress)) ?? 0) + 1);
    }
    expect([...perUrl.values()]).toEqual([300, 300]);
    expect([...perAddress.values()]).toEqual([200, 200, 200]);
    expect(pairs.size).toBe(6);
    expect(new Set(pairs.values())).toEqual(new Set([100]));
    expect(targetOf(5, ['only'], [])).toEqual({ url: 'only', localAddress: undefined });
    expect(() => targetOf(0, [], [])).toThrow(RangeError);
  });
});
