/**
 * REST polling clients (the seed's API, docs/API.md), for visitors that cannot hold a socket:
 * enqueue, then poll `status` every POLL seconds and send a `heartbeat` every
 * heartbeat_interval_seconds, until admitted or WAIT is over (then leave). Fails on slow or
 * failed requests, positions that rise, or places lost while heartbeating.
 *
 * The server limits enqueues per IP (ENQUEUE_RATE_LIMIT_PER_MINUTE, default 30): from one load
 * machine, raise it on the target or expect `wr_rate_limited`.
 *
 *   k6 run -e BASE_URL=… -e QUEUE_ID=rest -e VUS=200 -e DURATION=5m loadtest/k6/rest-polling.ts
 */
import { check, sleep } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { duration, int, seconds, target } from './lib/env.ts';
import { enqueue, errorCodeOf, heartbeat, leave, status, statusOf } from './lib/rest.ts';

const t = target();
const vus = int('VUS', 100, 1);
const testDuration = duration('DURATION', '5m');
const pollSeconds = int('POLL', 5, 1);
const waitSeconds = seconds(duration('WAIT', '2m'));

const rateLimited = new Counter('wr_rate_limited');
const queueFull = new Counter('wr_queue_full');
const placesLost = new Counter('wr_places_lost');
const positionRises = new Counter('wr_position_rises');
const timeToAdmitted = new Trend('wr_rest_time_to_admitted', true);

// 429 and 503 QUEUE_FULL are answers, counted apart; everything else must be 2xx.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 429, 503));

export const options: Options = {
  scenarios: { polling: { executor: 'constant-vus', vus, duration: testDuration, gracefulStop: `${waitSeconds + 30}s` } },
  thresholds: {
    checks: ['rate>0.99'],
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:enqueue}': ['p(95)<500'],
    'http_req_duration{name:status}': ['p(95)<300'],
    'http_req_duration{name:heartbeat}': ['p(95)<300'],
    wr_places_lost: ['count==0'],
    wr_position_rises: ['count==0'],
  },
};

export default function (): void {
  const res = enqueue(t);
  if (res.status === 429 || res.status === 503) {
    (res.status === 429 ? rateLimited : queueFull).add(1, { code: errorCodeOf(res) ?? String(res.status) });
    sleep(pollSeconds);
    return;
  }
  const first = statusOf(res);
  if (!check(res, { 'enqueue 201': (r) => r.status === 201 && first !== undefined }) || !first) return;
  if (first.status === 'admitted') return;

  const joinedAt = Date.now();
  let ticket = first.token;
  let position = first.position;
  const heartbeatEvery = first.heartbeat_interval_seconds * 1000;
  let lastHeartbeat = joinedAt;

  while (Date.now() - joinedAt < waitSeconds * 1000) {
    sleep(pollSeconds);
    const beat = Date.now() - lastHeartbeat >= heartbeatEvery;
    const r = beat ? heartbeat(t, ticket) : status(t, ticket);
    if (beat) lastHeartbeat = Date.now();
    const s = statusOf(r);
    if (r.status === 410) {
      placesLost.add(1, { code: errorCodeOf(r) ?? '410' });
      return;
    }
    if (!check(r, { [beat ? 'heartbeat 200' : 'status 200']: (x) => x.status === 200 && s !== undefined }) || !s) return;
    if (s.status === 'admitted') {
      timeToAdmitted.add(Date.now() - joinedAt);
      return;
    }
    if (s.position > position) positionRises.add(1);
    position = s.position;
    ticket = s.token;
  }
  leave(t, ticket);
}
