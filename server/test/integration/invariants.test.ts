import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketCapacity } from '../../src/domain/admission.js';
import type { WaitingRoomEvent } from '../../src/events/types.js';
import {
  ADMIN_KEY,
  call,
  createQueue,
  enqueue,
  sleep,
  startTestNode,
  uniqueQueueId,
  waitFor,
  type TestNode,
} from '../support/nodes.js';

/**
 * DESIGN §6 invariants 1, 2, 3, 5 and 7 with three nodes — separate store connections — sharing
 * the real Redis. One node's clock runs seconds ahead and another's behind: admissions take
 * time from the store, so it must not matter. (Invariant 6 lives in tokens-http.test.ts.)
 */
describe('invariants across three nodes on one Redis', () => {
  let nodes: TestNode[] = [];
  const events: WaitingRoomEvent[] = [];
  const admin = { 'x-admin-key': ADMIN_KEY };
  const node = (i: number) => nodes[i % nodes.length] as TestNode;

  beforeAll(async () => {
    nodes = await Promise.all([
      startTestNode({ redisDb: 1 }),
      startTestNode({ redisDb: 1, clock: () => Date.now() + 7_000 }),
      startTestNode({ redisDb: 1, clock: () => Date.now() - 3_000 }),
    ]);
    for (const n of nodes) n.bus.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  const eventsOf = (q: string, type: string) => events.filter((e) => e.queue_id === q && e.type === type);
  const ms = (e: WaitingRoomEvent) => Date.parse(e.timestamp);

  async function joinMany(q: string, count: number, body: (i: number) => object = () => ({}), headers: (i: number) => Record<string, string> = () => ({})) {
    const joined: { positionId: string; token: string; lane: number }[] = [];
    for (let i = 0; i < count; i++) {
      const res = await enqueue(node(i), q, body(i), headers(i));
      expect(res.status).toBe(201);
      joined.push({ positionId: String(res.body.position_id), token: String(res.body.token), lane: (body(i) as { priority?: number }).priority ?? 0 });
    }
    return joined;
  }

  it('1: admissions stay within the rate over every window, whatever the node clocks', async () => {
    const q = uniqueQueueId('inv1');
    const rate = 240; // 4/s, bucket of 8
    await createQueue(node(0), { id: q, admission_rate_per_minute: rate, status: 'paused' });
    await joinMany(q, 60);
    await sleep(1_500); // the paused bucket fills to its cap: the burst at resume is bounded by it
    await call(`${node(1).url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { status: 'active' }, headers: admin });
    await sleep(5_000);
    const times = eventsOf(q, 'position.admitted').map(ms).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(15);
    const cap = bucketCapacity(rate);
    // Any window [t_i, t_j] holds at most the bucket plus what the rate refills in it.
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        const inWindow = j - i + 1;
        const allowed = cap + (rate * ((times[j] as number) - (times[i] as number))) / 60_000;
        expect(inWindow, `admissions ${i}..${j}`).toBeLessThanOrEqual(Math.floor(allowed + 1e-9));
      }
    }
    // And the rate is actually used: ~4/s for 5 s after the initial burst.
    expect(times.length).toBeLessThanOrEqual(cap + (rate * 5.2) / 60);
  });

  it('1: no minute ever holds more than admission_rate_per_minute, even after the rate is lowered', async () => {
    const q = uniqueQueueId('inv1w');
    await createQueue(node(0), { id: q, admission_rate_per_minute: 6_000 });
    await joinMany(q, 120);
    await waitFor(() => (eventsOf(q, 'position.admitted').length >= 100 ? true : undefined));
    // 100+ admitted in the last seconds: a rate of 60/minute must now admit nobody for a minute.
    await call(`${node(2).url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { admission_rate_per_minute: 60 }, headers: admin });
    await sleep(300);
    const before = eventsOf(q, 'position.admitted').length;
    await sleep(2_500);
    expect(eventsOf(q, 'position.admitted').length).toBe(before);
    const stats = await call(`${node(1).url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(Number(stats.body.admitted_last_minute)).toBe(before);
    expect(Number(stats.body.queue_length)).toBe(120 - before);
  });

  it('2: active sessions never exceed max_active_users, and ended sessions free their slots', async () => {
    const q = uniqueQueueId('inv2');
    const maxActive = 5;
    await createQueue(node(0), { id: q, admission_rate_per_minute: 6_000, max_active_users: maxActive, session_duration_seconds: 1 });
    await joinMany(q, 20);
    let peak = 0;
    const deadline = Date.now() + 9_000;
    while (Date.now() < deadline && eventsOf(q, 'position.admitted').length < 20) {
      const stats = await call(`${node(Date.now()).url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
      peak = Math.max(peak, Number(stats.body.active_sessions));
      await sleep(40);
    }
    expect(eventsOf(q, 'position.admitted').length).toBe(20);
    expect(peak).toBeLessThanOrEqual(maxActive);
    expect(peak).toBeGreaterThan(0);
    // From the events: sessions started minus ended, in store-time order, never above the cap.
    const timeline = [
      ...eventsOf(q, 'session.started').map((e) => ({ t: ms(e), d: 1 })),
      ...eventsOf(q, 'session.expired').map((e) => ({ t: ms(e), d: -1 })),
    ].sort((a, b) => a.t - b.t || a.d - b.d);
    let active = 0;
    for (const step of timeline) {
      active += step.d;
      expect(active).toBeLessThanOrEqual(maxActive);
    }
  });

  it('3: FIFO within a lane, higher lanes first, nobody admitted twice', async () => {
    const q = uniqueQueueId('inv3');
    await createQueue(node(0), { id: q, admission_rate_per_minute: 1_200, status: 'paused' });
    const joined = await joinMany(
      q,
      45,
      (i) => ({ priority: i % 5 === 0 ? 2 : 0 }),
      (i) => (i % 5 === 0 ? admin : {}),
    );
    await call(`${node(2).url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { status: 'active' }, headers: admin });
    await waitFor(() => (eventsOf(q, 'position.admitted').length >= 45 ? true : undefined), 15_000);
    await sleep(300);
    const admitted = eventsOf(q, 'position.admitted');
    const at = new Map<string, number>();
    for (const e of admitted) {
      const id = String(e.data.position_id);
      expect(at.has(id), `${id} admitted twice`).toBe(false);
      at.set(id, ms(e));
    }
    expect(at.size).toBe(45);
    for (const lane of [0, 2]) {
      const inLane = joined.filter((j) => j.lane === lane);
      for (let i = 1; i < inLane.length; i++) {
        expect(at.get(inLane[i - 1]!.positionId)!).toBeLessThanOrEqual(at.get(inLane[i]!.positionId)!);
      }
    }
    const lastVip = Math.max(...joined.filter((j) => j.lane === 2).map((j) => at.get(j.positionId)!));
    const firstRegular = Math.min(...joined.filter((j) => j.lane === 0).map((j) => at.get(j.positionId)!));
    expect(lastVip).toBeLessThanOrEqual(firstRegular);
  });

  it('5: one position per visitor: a repeated join with the ticket, on any node, returns the same place', async () => {
    const q = uniqueQueueId('inv5');
    await createQueue(node(0), { id: q, status: 'paused' });
    const [a] = await joinMany(q, 3);
    for (let i = 0; i < 3; i++) {
      const again = await enqueue(node(i), q, {}, { authorization: `Bearer ${a!.token}` });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ position_id: a!.positionId, position: 1, queue_length: 3 });
    }
    const stats = await call(`${node(1).url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(stats.body.queue_length).toBe(3);
  });

  it('7: bad input gets a clear error and leaves everyone else where they were', async () => {
    const q = uniqueQueueId('inv7');
    await createQueue(node(0), { id: q, status: 'paused' });
    const people = await joinMany(q, 5);
    const positions = async () =>
      Promise.all(people.map(async (p, i) => (await call(`${node(i).url}/api/v1/queues/${q}/status`, { token: p.token })).body.position));
    const before = await positions();
    expect(before).toEqual([1, 2, 3, 4, 5]);

    for (const [i, n] of nodes.entries()) {
      const url = `${n.url}/api/v1/queues/${q}/enqueue`;
      const post = (init: RequestInit) => fetch(url, { method: 'POST', ...init });
      const malformed = await post({ body: '{"priority":', headers: { 'content-type': 'application/json' } });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' }, request_id: expect.any(String) });
      const huge = await post({ body: 'x'.repeat(1024 * 1024), headers: { 'content-type': 'application/json' } });
      expect(huge.status).toBe(413);
      const wrongType = await post({ body: JSON.stringify({ priority: 'high' }), headers: { 'content-type': 'application/json' } });
      expect(wrongType.status).toBe(400);
      expect(await wrongType.json()).toMatchObject({ error: { code: 'INVALID_REQUEST', details: { field: 'priority' } } });
      const notObject = await post({ body: '[1,2]', headers: { 'content-type': 'application/json' } });
      expect(notObject.status).toBe(400);
      for (const bad of ['a%20b', 'UPPER', 'x'.repeat(200), '-lead', '..%2Fx']) {
        const res = await fetch(`${n.url}/api/v1/queues/${bad}/enqueue`, { method: 'POST' });
        expect(res.status, bad).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
      }
      const traversal = await fetch(`${n.url}/api/v1/queues/../x/enqueue`, { method: 'POST' });
      expect([400, 404]).toContain(traversal.status);
      const garbageTicket = await call(`${n.url}/api/v1/queues/${q}/status`, { token: `garbage.${i}.token` });
      expect(garbageTicket.status).toBe(401);
      const badAuth = await call(`${n.url}/api/v1/queues/${q}/status`, { headers: { authorization: 'Basic abc' } });
      expect(badAuth.status).toBe(401);
    }
    expect(await positions()).toEqual(before);
    for (const n of nodes) expect((await call(`${n.url}/health`)).status).toBe(200);
  });
});
