/**
 * Socket soak: VUS visitors each hold one socket for DURATION (default 30m) in a queue that
 * admits slowly or not at all. The open socket is the heartbeat, so nobody may expire or be
 * dropped, and a position may only fall. Run it against a paused queue (or a low rate) and
 * watch the server's memory and `waiting_room_connected_sockets` meanwhile.
 *
 *   k6 run -e BASE_URL=… -e QUEUE_ID=soak -e VUS=5000 -e DURATION=1h loadtest/k6/socket-soak.ts
 */
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { duration, int, seconds, socketUrl, target } from './lib/env.ts';
import { recordVisitor } from './lib/metrics.ts';
import { followQueue } from './lib/visitor.ts';

const t = target();
const vus = int('VUS', 1_000, 1);
const soak = duration('DURATION', '30m');
const connectRate = int('CONNECT_RATE', 200, 1);
const rampSeconds = Math.ceil(vus / connectRate);

export const options: Options = {
  scenarios: {
    // Exactly one socket per VU, held for DURATION: a VU never starts a second visitor that the
    // end of the run would cut off (and count as dropped).
    soak: {
      executor: 'per-vu-iterations',
      vus,
      iterations: 1,
      maxDuration: `${rampSeconds + Math.ceil(seconds(soak)) + 60}s`,
    },
  },
  thresholds: {
    checks: ['rate>0.999'],
    wr_joined: ['rate>0.999'],
    wr_dropped: ['count==0'],
    wr_expired: ['count==0'],
    wr_position_rises: ['count==0'],
    wr_errors: ['count==0'],
  },
};

export default function (): void {
  // Connect at CONNECT_RATE per second over all VUs, then hold until DURATION is over.
  sleep((__VU - 1) / connectRate);
  followQueue({ url: socketUrl(t), holdMs: seconds(soak) * 1000, leaveAtEnd: true, done: recordVisitor });
}
