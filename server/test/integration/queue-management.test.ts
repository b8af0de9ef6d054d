/**
 * Queue management end to end (docs/QUEUE_MANAGEMENT.md): two nodes on the real Redis (db 14)
 * and NATS. Methods switched live through the admin API while visitors wait on sockets, the
 * `reject` page and errors, queue-only-when-needed, honest positions under the lottery, and a
 * scheduled event whose shuffled pre-queue anyone can audit from the revealed seed.
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/realtime/protocol.js';
import { createRedisQueueStore } from '../../src/store/redis.js';
import type { QueueStore } from '../../src/store/types.js';
import {
  ADMIN_KEY,
  call,
  createQueue,
  enqueue,
  redisUrlFor,
  sleep,
  startTestNode,
  uniqueQueueId,
  waitFor,
  type TestNode,
} from '../support/nodes.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const DB = 14;
const admin = { 'x-admin-key': ADMIN_KEY };

describe('queue management on two nodes (Redis + NATS)', () => {
  let nodes: TestNode[] = [];
  let store: QueueStore;
  const prefix = `wrqm${Date.now().toString(36)}`;
  beforeAll(async () => {
    const env = { NATS_URL, NATS_STREAM: prefix.toUpperCase(), NATS_SUBJECT_PREFIX: prefix };
    nodes = await Promise.all([0, 1].map(() => startTestNode({ redisDb: DB, env })));
    store = createRedisQueueStore(redisUrlFor(DB));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await store.close();
  });

  const node = (i: number) => nodes[i % nodes.length] as TestNode;
  const patch = (q: string, body: object) => call(`${node(1).url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body, headers: admin });

  it('validates the new settings with clear errors', async () => {
    const q = uniqueQueueId('qm');
    await createQueue(node(0), { id: q });
    const cases: [object, RegExp][] = [
      [{ queueing_method: 'lifo' }, /queueing_method/],
      [{ lane0_min_share: 0.3 }, /lane0_min_share needs lane_weights/],
      [{ lane_weights: [1, 2, 3] }, /lane_weights/],
      [{ lane_weights: [0, 1, 1, 1] }, /lane_weights/],
      [{ lane0_min_share: 0.95, lane_weights: [1, 1, 1, 1] }, /lane0_min_share/],
      [{ event: { prequeue_starts_at: '2030-01-01T10:00:00Z', starts_at: '2030-01-01T09:00:00Z', ends_at: '2030-01-01T11:00:00Z' } }, /prequeue_starts_at must not be after starts_at/],
      [{ event: { prequeue_starts_at: '2030-01-01T08:00:00Z', starts_at: '2030-01-01T09:00:00Z', ends_at: '2030-01-01T09:00:00Z' } }, /ends_at must be after starts_at/],
      [{ event: { prequeue_starts_at: 'tomorrow', starts_at: '2030-01-01T09:00:00Z', ends_at: '2030-01-01T10:00:00Z' } }, /ISO 8601/],
    ];
    for (const [body, message] of cases) {
      const res = await patch(q, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.body.error)).toMatch(message);
    }
    // The seed stays secret before the sale: only its commitment shows.
    const ok = await patch(q, {
      queueing_method: 'random',
      lane_weights: [1, 2, 2, 4],
      lane0_min_share: 0.2,
      event: { prequeue_starts_at: '2030-01-01T08:00:00Z', starts_at: '2030-01-01T09:00:00Z', ends_at: '2030-01-01T10:00:00Z', admission_rate_per_minute: 100 },
    });
    expect(ok.status).toBe(200);
    const event = ok.body.event as Record<string, unknown>;
    expect(event).toMatchObject({ shuffle_prequeue: true, admission_rate_per_minute: 100, seed: '', starts_at: '2030-01-01T09:00:00.000Z' });
    expect(event.seed_commitment).toMatch(/^[0-9a-f]{64}$/);
    const draw = await call(`${node(0).url}/api/v1/admin/queues/${q}/draw`, { headers: admin });
    expect(draw.body).toMatchObject({ seed: null, order: null, entries: [], seed_commitment: event.seed_commitment });
  });

  it('switches method live while visitors wait on sockets: nobody is lost, newcomers see reject clearly', async () => {
    const q = uniqueQueueId('qm');
    await createQueue(node(0), { id: q, queueing_method: 'queue_all', admission_rate_per_minute: 6_000, target_url: 'https://shop.example/' });
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 12; i++) {
      const s = await TestSocket.open(wsUrl(node(i).url, q));
      expect((await s.join()).type).toBe('joined');
      sockets.push(s);
    }
    await sleep(500);
    expect(sockets.every((s) => s.closeCode === null && s.of('admitted').length === 0)).toBe(true);

    // Closed for newcomers: REST 403 QUEUE_CLOSED, a socket error + final close 4403, the page says so.
    expect((await patch(q, { queueing_method: 'reject' })).status).toBe(200);
    await sleep(1_100); // the config cache of each node (1 s)
    const refused = await enqueue(node(0), q);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'QUEUE_CLOSED' });
    const late = await TestSocket.open(wsUrl(node(1).url, q));
    const error = await late.join();
    expect(error).toMatchObject({ type: 'error', data: { code: 'QUEUE_CLOSED' } });
    expect(await late.closed).toBe(CLOSE.QUEUE_CLOSED);
    const page = await fetch(`${node(0).url}/queues/${q}`);
    expect(await page.text()).toContain('This queue is closed');

    // Those who wait keep waiting under reject and are admitted once the lottery runs.
    expect((await patch(q, { queueing_method: 'random' })).status).toBe(200);
    await waitFor(() => (sockets.every((s) => s.of('admitted').length === 1) ? true : undefined), 15_000);
    for (const s of sockets) expect(s.closeCode).toBe(CLOSE.ADMITTED);
  });

  it('queue only when needed: a visitor who finds room goes straight through, over REST and socket', async () => {
    const q = uniqueQueueId('qm');
    await createQueue(node(0), { id: q, queue_only_when_needed: true, max_active_users: 2, target_url: 'https://shop.example/' });
    const first = await enqueue(node(0), q);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'admitted', admitted: true, redirect_url: 'https://shop.example/' });
    expect(typeof first.body.session_token).toBe('string');
    await sleep(300); // a token back in the bucket (500/min)
    const s = await TestSocket.open(wsUrl(node(1).url, q));
    expect((await s.join()).type).toBe('admitted');
    expect(await s.closed).toBe(CLOSE.ADMITTED);
    // max_active_users reached: the next one waits.
    expect((await enqueue(node(0), q)).body).toMatchObject({ status: 'waiting', position: 1 });
  });

  it('under random, pushed positions equal the store ranks (place by arrival among those still waiting)', async () => {
    const q = uniqueQueueId('qm');
    await createQueue(node(0), { id: q, status: 'paused', queueing_method: 'random', admission_rate_per_minute: 600 });
    const sockets: { s: TestSocket; id: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const s = await TestSocket.open(wsUrl(node(i).url, q));
      const joined = await s.join();
      sockets.push({ s, id: String(joined.data.position_id) });
    }
    await patch(q, { status: 'active' });
    await sleep(1_500);
    await patch(q, { status: 'paused' });
    await sleep(1_500);
    const waiting = sockets.filter((x) => x.s.closeCode === null);
    const admitted = sockets.filter((x) => x.s.of('admitted').length === 1);
    expect(admitted.length).toBeGreaterThan(5);
    expect(waiting.length).toBeGreaterThan(5);
    // The lottery, not the head: some admitted joined after some who still wait.
    const lastAdmitted = Math.max(...admitted.map((x) => sockets.indexOf(x)));
    const firstWaiting = Math.min(...waiting.map((x) => sockets.indexOf(x)));
    expect(lastAdmitted).toBeGreaterThan(firstWaiting);
    const ranks = await store.ranks(q, waiting.map((x) => x.id));
    for (const [i, x] of waiting.entries()) {
      const last = x.s.last('position_update') ?? x.s.last('joined');
      expect(last?.data.position, `socket ${sockets.indexOf(x)}`).toBe(ranks.ranks[i]);
    }
  });

  it('scheduled event: a hidden pre-queue, a fair audited draw at the start, early arrival is no advantage', async () => {
    const q = uniqueQueueId('qm');
    const now = await store.now();
    const startsAt = now + 3_000;
    await createQueue(node(0), {
      id: q,
      queueing_method: 'reject', // closed outside the event
      event: {
        prequeue_starts_at: new Date(now - 1_000).toISOString(),
        starts_at: new Date(startsAt).toISOString(),
        ends_at: new Date(now + 120_000).toISOString(),
        queueing_method: 'fifo',
        admission_rate_per_minute: 600,
        max_active_users: 6,
      },
    });
    const join = async (i: number) => {
      const res = await enqueue(node(i), q);
      expect(res.status).toBe(201);
      return res.body;
    };
    const early: string[] = [];
    // One of the early visitors watches over a socket: no place is pushed before the start either.
    const watcher = await TestSocket.open(wsUrl(node(1).url, q));
    const watching = await watcher.join();
    expect(watching.data).toMatchObject({ position: 1, queue_length: 1 });
    early.push(String(watching.data.position_id));
    for (let i = 1; i < 10; i++) early.push(String((await join(i)).position_id));
    await sleep(Math.max(0, startsAt - 1_200 - (await store.now())));
    const late: string[] = [];
    let lastJoin: Record<string, unknown> = {};
    for (let i = 0; i < 10; i++) {
      lastJoin = await join(i);
      late.push(String(lastJoin.position_id));
    }
    // During the pre-queue nobody sees a place (it would leak the draw): everyone is "of 20".
    expect(lastJoin).toMatchObject({ position: 20, queue_length: 20 });
    const during = await call(`${node(0).url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(during.body).toMatchObject({ queueing_method: 'queue_all', event_phase: 'prequeue', active_sessions: 0 });
    expect(Number(lastJoin.estimated_wait_seconds)).toBeGreaterThanOrEqual(1);
    const pushed = await waitFor(() => {
      const update = watcher.last('position_update');
      return update && update.data.queue_length === 20 ? update : undefined;
    });
    expect(pushed.data.position).toBe(20);

    await sleep(Math.max(0, startsAt - (await store.now())) + 1_000);
    // The audit, from the published list and the revealed seed only (docs/QUEUE_MANAGEMENT.md).
    const draw = await call(`${node(1).url}/api/v1/admin/queues/${q}/draw`, { headers: admin });
    const seed = String(draw.body.seed);
    expect(createHash('sha256').update(seed).digest('hex')).toBe(draw.body.seed_commitment);
    const entries = draw.body.entries as { lane: number; position_id: string }[];
    expect(entries.map((e) => e.position_id)).toEqual([...early, ...late]);
    const keyOf = (id: string) => Math.floor(createHmac('sha256', Buffer.from(seed, 'hex')).update(id).digest().readUIntBE(0, 5) / 2);
    const audited = entries.map((e) => e.position_id).sort((a, b) => keyOf(a) - keyOf(b));
    expect(draw.body.order).toEqual(audited);

    // The sale started by itself: the event's cap admits exactly the first 6 of the draw.
    const admittedNow = await waitFor(async () => {
      const stats = await store.stats(q);
      return stats.active === 6 ? true : undefined;
    });
    expect(admittedNow).toBe(true);
    const stats = await call(`${node(0).url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(stats.body).toMatchObject({ queueing_method: 'fifo', event_phase: 'live', max_active_users: 6, admission_rate_per_minute: 600 });
    for (const [i, id] of audited.entries()) {
      const state = await store.getPosition(q, id);
      if (i < 6) expect(state.state, id).toBe('admitted');
      else expect(state.state === 'waiting' && state.position, id).toBe(i - 5);
    }
    // Early arrival bought nothing: the draw mixes both groups (all early first: 1 in 184,756).
    expect(audited.slice(0, 10).sort()).not.toEqual([...early].sort());
  });
});
