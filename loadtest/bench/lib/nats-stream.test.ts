import { describe, expect, it } from 'vitest';
import { benchStream } from './nats-stream.js';

describe('benchStream', () => {
  it('names a stream and subject root that are valid and unique per run', () => {
    const s = benchStream('rt-mwys8i41-28ac6f');
    expect(s).toEqual({ name: 'BENCH_RTMWYS8I4128AC6F', subjectPrefix: 'bench-rtmwys8i4128ac6f' });
    expect(s.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/); // NATS_STREAM's rule (config.ts)
    expect(s.subjectPrefix).toMatch(/^[a-z0-9_-]{1,64}$/); // NATS_SUBJECT_PREFIX's rule
    expect(benchStream('rt-a-1').name).not.toBe(s.name);
  });
});
