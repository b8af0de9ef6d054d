/**
 * Socket soak: VUS visitors each hold one socket for DURATION (default 30m) in a queue that
 * admits slowly or not at all. The open socket is the heartbeat, so nobody may expire or be
 * dropped, and a position may only fall. Run it against a paused queue (or a low rate) and
 * watch the server's memory and `waiting_room_connected_sockets` meanwhile.
 *
 *   k6 run -e BASE_URL=… -e QUEUE_ID=soak -e VUS=5000 -e DURATION=1h loadtest/k6/socket-soak.ts
 */
import type { Options } from 'k6/options';
import { duration, int, seconds, socketUrl, target } from './lib/env.ts';
import { recordVisitor } from './lib/metrics.ts';
import { followQueue } from './lib/visitor.ts';

const t = target();
const vus = int('VUS', 1_000, 1);
const soak = duration('DURATION', '30m');
const rampSeconds = Math.max(1, Math.ceil(vus / int('CONNECT_RATE', 200, 1)));

export const options: Options = {
  scenarios: {
    soak: {
      executor: 'ramping-vus',
      startVUs: 0,
      // Connect at CONNECT_RATE per second, then hold: each VU's one iteration lasts DURATION.
      stages: [
        { duration: `${rampSeconds}s`, target: vus },
        { duration: soak, target: vus },
      ],
      gracefulRampDown: '30s',
      gracefulStop: '30s',
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
  // Every VU keeps its socket until the end of the run (one iteration per VU).
  followQueue({ url: socketUrl(t), holdMs: seconds(soak) * 1000, leaveAtEnd: true, done: recordVisitor });
}
