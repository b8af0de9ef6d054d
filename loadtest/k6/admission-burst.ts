/**
 * Admission burst: VUS visitors join a queue that admits at START_RATE per minute (default 1),
 * then after RELEASE_AFTER an operator raises the rate to RATE through the admin API
 * (`PATCH /api/v1/admin/queues/{id}`, X-Admin-Key). Measures `joined` → `admitted` per visitor
 * and fails unless (nearly) everyone is admitted within ADMIT_TIMEOUT.
 *
 *   k6 run -e BASE_URL=… -e ADMIN_KEY=… -e QUEUE_ID=burst -e VUS=2000 -e RATE=6000 loadtest/k6/admission-burst.ts
 */
import type { Options } from 'k6/options';
import { Rate } from 'k6/metrics';
import { duration, int, seconds, socketUrl, target } from './lib/env.ts';
import { recordVisitor } from './lib/metrics.ts';
import { patchQueue, ensureQueue } from './lib/rest.ts';
import { followQueue } from './lib/visitor.ts';

const t = target();
const vus = int('VUS', 1_000, 1);
const rate = int('RATE', 6_000, 1);
const startRate = int('START_RATE', 1, 1);
const releaseAfter = duration('RELEASE_AFTER', '30s');
const admitTimeout = duration('ADMIT_TIMEOUT', '5m');
const admittedP95Ms = int('ADMITTED_P95_MS', Math.ceil(((vus / rate) * 60 + seconds(releaseAfter)) * 1000 * 1.2), 1);

/** Share of joined visitors admitted before ADMIT_TIMEOUT. */
const admitted = new Rate('wr_admitted');

export const options: Options = {
  setupTimeout: '60s',
  scenarios: {
    waiters: {
      executor: 'per-vu-iterations',
      vus,
      iterations: 1,
      maxDuration: `${Math.ceil(seconds(admitTimeout) + 60)}s`,
      exec: 'wait',
    },
    release: {
      executor: 'shared-iterations',
      vus: 1,
      iterations: 1,
      startTime: releaseAfter,
      exec: 'release',
    },
  },
  thresholds: {
    checks: ['rate>0.99'],
    wr_joined: ['rate>0.99'],
    wr_admitted: ['rate>0.99'],
    wr_time_to_admitted: [`p(95)<${admittedP95Ms}`],
    wr_dropped: ['count==0'],
    wr_position_rises: ['count==0'],
  },
};

/** The queue exists, admits at START_RATE, and its capacity does not limit the burst. */
export function setup(): void {
  ensureQueue(t, {
    status: 'active',
    admission_rate_per_minute: startRate,
    max_queue_size: Math.max(vus * 2, 50_000),
    max_active_users: Math.max(vus * 2, 50_000),
  });
}

export function wait(): void {
  followQueue({
    url: socketUrl(t),
    holdMs: seconds(admitTimeout) * 1000,
    done(record) {
      if (recordVisitor(record)) admitted.add(record.admittedAt !== undefined);
    },
  });
}

export function release(): void {
  patchQueue(t, { admission_rate_per_minute: rate });
}

/** Back to the slow rate, so the next run starts from the same state. */
export function teardown(): void {
  patchQueue(t, { admission_rate_per_minute: startRate });
}
