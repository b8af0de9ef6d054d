import { describe, expect, it } from 'vitest';
import { parseTrustedProxies } from '../../src/config/config.js';
import { createClientIpResolver, createIpHasher, hashIp } from '../../src/http/client-ip.js';

describe('client IP', () => {
  const resolve = createClientIpResolver(parseTrustedProxies('127.0.0.1,10.0.0.0/8'));

  it('uses the peer when it is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(resolve('203.0.113.9', '1.2.3.4')).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted X-Forwarded-For hop behind trusted proxies', () => {
    expect(resolve('127.0.0.1', '6.6.6.6, 198.51.100.7, 10.1.2.3')).toBe('198.51.100.7');
  });

  it('reads uWS-style IPv4-mapped addresses as IPv4', () => {
    expect(resolve('0000:0000:0000:0000:0000:ffff:7f00:0001', '198.51.100.7')).toBe('198.51.100.7');
    expect(resolve('::ffff:203.0.113.9', undefined)).toBe('203.0.113.9');
  });

  it('trusts nobody by default', () => {
    expect(createClientIpResolver([])('127.0.0.1', '1.2.3.4')).toBe('127.0.0.1');
  });

  it('hashes with the salt and never returns the address', () => {
    const h = hashIp('198.51.100.7', 'salt-one');
    expect(h).not.toContain('198');
    expect(h).not.toBe(hashIp('198.51.100.7', 'salt-two'));
    expect(h).toBe(hashIp('198.51.100.7', 'salt-one'));
  });

  it('remembers recent hashes, the same as hashIp, and forgets them all when full', () => {
    const hasher = createIpHasher('salt-one', 2);
    expect(hasher('198.51.100.7')).toBe(hashIp('198.51.100.7', 'salt-one'));
    expect(hasher('198.51.100.7')).toBe(hashIp('198.51.100.7', 'salt-one'));
    expect(hasher('203.0.113.9')).toBe(hashIp('203.0.113.9', 'salt-one'));
    expect(hasher('192.0.2.1')).toBe(hashIp('192.0.2.1', 'salt-one')); // full: starts over
    expect(hasher('198.51.100.7')).toBe(hashIp('198.51.100.7', 'salt-one'));
    expect(createIpHasher('salt-two')('198.51.100.7')).toBe(hashIp('198.51.100.7', 'salt-two'));
  });
});
