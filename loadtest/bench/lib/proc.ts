/**
 * What the benchmarks read about processes and the machine from Linux's /proc: CPU time and
 * resident memory (every reader returns NaN where there is no /proc, or the process is gone),
 * and the clean-up on signals every benchmark shares.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';

/** /proc reports times in USER_HZ ticks, which Linux fixes at 100 for user space. */
const USER_HZ = 100;

/** user + system CPU seconds of a process from /proc/<pid>/stat. */
export async function processCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine (all cores) from /proc/stat. */
export async function machineBusySeconds(): Promise<number> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (ticks.reduce((a, b) => a + b, 0) - idle) / USER_HZ;
  } catch {
    return NaN;
  }
}

/** A `Name:   value kB` line of /proc/<pid>/status, in bytes. */
export function statusFieldBytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

/** Resident set size (VmRSS) of a process, bytes. */
export async function processRssBytes(pid: number): Promise<number> {
  try {
    return statusFieldBytes(await readFile(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return NaN;
  }
}

/** Resident memory by kind of mapping (/proc/<pid>/smaps), bytes. */
export interface RssByMapping {
  /** glibc's main arena (`[heap]`, grown by brk). */
  brk: number;
  /** Anonymous mappings: V8's heap pages, glibc's thread arenas and large blocks, uWS's buffers. */
  anonymous: number;
  /** Files (the node binary, libraries, the uWS addon) and the rest (stacks, vdso). */
  other: number;
}

export function rssByMapping(smaps: string): RssByMapping {
  const out: RssByMapping = { brk: 0, anonymous: 0, other: 0 };
  let kind: keyof RssByMapping = 'other';
  for (const line of smaps.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+(?:\s+(.*))?$/.exec(line);
    if (header) {
      const name = header[1]?.trim() ?? '';
      kind = name === '[heap]' ? 'brk' : name === '' ? 'anonymous' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

export function sumRssByMapping(list: readonly RssByMapping[]): RssByMapping {
  return list.reduce((a, b) => ({ brk: a.brk + b.brk, anonymous: a.anonymous + b.anonymous, other: a.other + b.other }), {
    brk: 0,
    anonymous: 0,
    other: 0,
  });
}

export async function processRssByMapping(pid: number): Promise<RssByMapping> {
  try {
    return rssByMapping(await readFile(`/proc/${pid}/smaps`, 'utf8'));
  } catch {
    return { brk: NaN, anonymous: NaN, other: NaN };
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd). */
export async function openFileCount(pid: number): Promise<number> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return NaN;
  }
}

/**
 * The inodes of TCP sockets listening on `port` (any address), from /proc/net/tcp and tcp6
 * (`local_address` is hex `ADDR:PORT`, state 0A is LISTEN, the inode is the 10th column).
 */
export function listeningInodes(procNetTcp: string, port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes: string[] = [];
  for (const line of procNetTcp.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== '0A') continue;
    if (cols[1]?.split(':')[1] === hexPort && cols[9] !== undefined) inodes.push(cols[9]);
  }
  return inodes;
}

/** The pid of the process listening on a local TCP port (e.g. the NATS server), or undefined. */
export async function pidListeningOn(port: number): Promise<number | undefined> {
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')));
  const wanted = new Set(tables.flatMap((t) => listeningInodes(t, port)).map((inode) => `socket:[${inode}]`));
  if (wanted.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (wanted.has(target)) return Number(pid);
    }
  }
  return undefined;
}

/** Ctrl-C or SIGTERM: run the benchmark's clean-up (processes, keys, streams), then exit 130. */
export function cleanUpOnSignals(cleanup: () => Promise<unknown>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}
