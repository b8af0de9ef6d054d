import { describe, expect, it } from 'vitest';
import { listeningInodes, statusFieldBytes } from './proc.js';

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
