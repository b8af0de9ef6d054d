import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { TrustedProxy } from '../config/config.js';

/**
 * The visitor's address: the peer address, unless the peer is a trusted proxy — then the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy.
 */
export function createClientIpResolver(trusted: TrustedProxy[]) {
  const list = new BlockList();
  for (const proxy of trusted) {
    const type = isIP(proxy.kind === 'ip' ? proxy.address : proxy.network) === 6 ? 'ipv6' : 'ipv4';
    if (proxy.kind === 'ip') list.addAddress(proxy.address, type);
    else list.addSubnet(proxy.network, proxy.prefix, type);
  }
  const isTrusted = (ip: string): boolean => {
    const family = isIP(ip);
    if (family === 0) return false;
    return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (peer: string, forwardedFor: string | undefined): string => {
    const peerIp = normalize(peer);
    if (trusted.length === 0 || !forwardedFor || !isTrusted(peerIp)) return peerIp;
    const hops = forwardedFor
      .split(',')
      .map((s) => normalize(s.trim()))
      .filter((s) => isIP(s) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (!isTrusted(hop)) return hop;
    }
    return hops[0] ?? peerIp;
  };
}

/** uWS prints IPv4-mapped IPv6 addresses in full; treat them as the IPv4 they are. */
function normalize(ip: string): string {
  const lower = ip.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  if (lower.startsWith('0000:0000:0000:0000:0000:ffff:')) {
    const hex = lower.slice(30).replace(':', '');
    if (/^[0-9a-f]{8}$/.test(hex)) {
      return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
    }
  }
  return lower;
}

/** Only salted hashes of addresses are kept or logged. */
export function hashIp(ip: string, salt: string): string {
  return createHash('sha256').update(salt).update('\0').update(ip).digest('base64url').slice(0, 22);
}

/**
 * `hashIp` with the salt bound and the last few thousand addresses remembered: a join storm
 * comes from far fewer addresses than sockets (carrier NAT, offices), and a SHA-256 per upgrade
 * showed in its profile. Forgets everything at once when full (no per-entry bookkeeping).
 */
export function createIpHasher(salt: string, capacity = 4_096): (ip: string) => string {
  const known = new Map<string, string>();
  return (ip) => {
    let hash = known.get(ip);
    if (hash === undefined) {
      if (known.size >= capacity) known.clear();
      hash = hashIp(ip, salt);
      known.set(ip, hash);
    }
    return hash;
  };
}
