/**
 * How a swarm of sockets is spread over processes, server URLs and loopback source addresses.
 * A process may hold about 20,000 open files, so large swarms need several processes.
 *
 * Ports: a socket that lets the kernel choose its source (plain connect) needs a port unique
 * only per destination, so each server process can take ~28,000 connections (the ephemeral
 * range 32768–60999) from 127.0.0.1 alone. A socket bound to a source address first (bind, then
 * connect) takes a port unique to that address over all destinations, and that kernel search
 * gets slow as the range fills (measured: ~0.7 ms of CPU per connect at 10,000 bound ports;
 * Node cannot set IP_BIND_ADDRESS_NO_PORT). So source addresses are bound only when one server's
 * share would not fit the range, and then spread thin. Pure: no I/O.
 */

/** Sockets one process (server or generator) holds by default: well under its 20,000 files. */
export const SOCKETS_PER_PROCESS = 15_000;

/** Sockets per bound loopback source address: a small part of its ~28,000 ephemeral ports. */
export const SOCKETS_PER_SOURCE_ADDRESS = 5_000;

/** Connections one destination (server) takes from one unbound source: under the ~28,000 ports. */
export const SOCKETS_PER_DESTINATION = 25_000;

/** How many processes (or addresses) `sockets` need at `perUnit` each; at least one. */
export function unitsFor(sockets: number, perUnit: number): number {
  if (!(perUnit > 0)) throw new RangeError(`bad capacity per unit: ${perUnit}`);
  return Math.max(1, Math.ceil(sockets / perUnit));
}

/**
 * Source addresses to bind for `sockets` spread over `servers`: none (the kernel chooses, port
 * unique per server) while every server's share fits one source's range, else enough addresses
 * for SOCKETS_PER_SOURCE_ADDRESS each.
 */
export function sourceAddressesFor(sockets: number, servers: number): number {
  return Math.ceil(sockets / servers) <= SOCKETS_PER_DESTINATION ? 0 : unitsFor(sockets, SOCKETS_PER_SOURCE_ADDRESS);
}

/** `total` split into `parts` counts that differ by at most one, larger first. */
export function splitEvenly(total: number, parts: number): number[] {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`bad total: ${total}`);
  if (!Number.isInteger(parts) || parts < 1) throw new RangeError(`bad number of parts: ${parts}`);
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/** 127.0.0.1 … 127.0.0.n: every one reaches a server listening on 127.0.0.1 (all of 127/8 is local). */
export function loopbackAddresses(n: number): string[] {
  if (!Number.isInteger(n) || n < 0 || n > 254) throw new RangeError(`between 0 and 254 loopback addresses, not ${n}`);
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}

/** Only loopback traffic: the benchmarks never send load anywhere else. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

export interface Target {
  url: string;
  /** Source address to bind; undefined lets the OS choose. */
  localAddress: string | undefined;
}

/**
 * Where visitor number `index` (counted over the whole swarm, all processes) connects: servers in
 * round robin, and within each server's share the source addresses in round robin, so every
 * (server, address) pair gets an even share.
 */
export function targetOf(index: number, urls: readonly string[], addresses: readonly string[]): Target {
  const url = urls[index % urls.length];
  if (url === undefined) throw new RangeError('no server URLs');
  const localAddress = addresses.length === 0 ? undefined : addresses[Math.floor(index / urls.length) % addresses.length];
  return { url, localAddress };
}
