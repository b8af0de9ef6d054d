/**
 * Flash crowd over WebSockets: VUS visitors arrive within RAMP, each joins the queue and holds
 * its socket for HOLD (watching position updates), then leaves. Measures socket → `joined`
 * latency under the arrival spike and fails the run when visitors are not joined, dropped, or
 * see their position rise.
 *
 *   k6 run -e BASE_URL=https://wr.example.com -e QUEUE_ID=launch -e VUS=2000 -e RAMP=30s loadtest/k6/flash-crowd.ts
 */
import type { Options } from 'k6/options';
import { duration, int, seconds, socketUrl, target } from './lib/env.ts';
import { recordVisitor } from './lib/metrics.ts';
import { followQueue } from './lib/visitor.ts';

const t = target();
const vus = int('VUS', 500, 1);
const ramp = duration('RAMP', '30s');
const hold = duration('HOLD', '60s');
const joinedP95Ms = int('JOINED_P95_MS', 2_000, 1);

export const options: Options = {
  scenarios: {
    flash_crowd: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: ramp, target: vus },
        { duration: hold, target: vus },
      ],
      gracefulRampDown: `${Math.ceil(seconds(hold)) + 10}s`,
    },
  },
  thresholds: {
    checks: ['rate>0.99'],
    wr_joined: ['rate>0.99'],
    wr_time_to_joined: [`p(95)<${joinedP95Ms}`],
    wr_position_rises: ['count==0'],
    wr_dropped: ['count==0'],
    wr_bad_frames: ['count==0'],
  },
};

export default function (): void {
  followQueue({ url: socketUrl(t), holdMs: seconds(hold) * 1000, leaveAtEnd: true, done: recordVisitor });
}
