import { describe, expect, it } from 'vitest';
import { listeningInodes, processRssByMapping, rssByMapping, statusFieldBytes } from './proc.js';

describe('statusFieldBytes', () => {
  it('reads a kB field of /proc/<pid>/status as bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t  900 kB\nVmRSS:\t   123456 kB\nThreads:\t11\n';
    expect(statusFieldBytes(status, 'VmRSS')).toBe(123456 * 1024);
    expect(statusFieldBytes(status, 'VmHWM')).toBeNaN();
  });
});

describe('listeningInodes', () => {
  it('finds the listening sockets of a port in /proc/net/tcp', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:107E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 24680 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 13579 1 0000000000000000 100 0 0 10 0',
      '   2: 0100007F:107E 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 11111 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(listeningInodes(table, 4222)).toEqual(['24680']); // 0x107E; the established one is not listening
    expect(listeningInodes(table, 6379)).toEqual(['13579']); // 0x18EB
    expect(listeningInodes(table, 80)).toEqual([]);
  });
});

describe('rssByMapping', () => {
  it('adds up resident kB of /proc/<pid>/smaps by brk heap, anonymous and named mappings', () => {
    const smaps = [
      '55d4c0a00000-55d4c2a00000 rw-p 00000000 00:00 0                          [heap]',
      'Size:              32768 kB',
      'Rss:                1000 kB',
      '7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ',
      'Rss:                 200 kB',
      '7f0000100000-7f0000200000 rw-p 00000000 00:00 0',
      'Rss:                  30 kB',
      '7f1000000000-7f1000100000 r-xp 00000000 08:01 1234                       /usr/bin/node',
      'Rss:                 500 kB',
      'Pss:                 400 kB',
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
      'Rss:                   8 kB',
    ].join('\n');
    expect(rssByMapping(smaps)).toEqual({ brk: 1000 * 1024, anonymous: 230 * 1024, other: 508 * 1024 });
  });

  it('reads a live process', async () => {
    const mine = await processRssByMapping(process.pid);
    expect(mine.anonymous).toBeGreaterThan(0);
    expect(mine.other).toBeGreaterThan(0);
  });
});
