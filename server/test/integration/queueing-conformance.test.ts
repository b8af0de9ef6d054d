/**
 * The queueing features of docs/QUEUE_MANAGEMENT.md, held to one behaviour in both QueueStore
 * implementations (as store-conformance.test.ts does for the rest): methods, queue-only-when-
 * needed, the lottery, weighted lanes and scheduled events. Expected admission orders are
 * computed with the pure domain functions (pickLane, the lottery, drawKey), so both the Lua
 * scripts and the memory store must pick exactly the same visitors. Redis database 9, shared
 * with store-conformance.test.ts: neither starts a node, so no admission loop touches their queues.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lotteryIndex, nextLottery, pickLane, type LaneState } from '../../src/domain/admission.js';
import { defaultQueueSettings, type QueueConfig, type QueueEvent, type QueueSettings } from '../../src/domain/queue.js';
import { DRAW_SPAN, drawKey } from '../../src/domain/schedule.js';
import { createMemoryQueueStore } from '../../src/store/memory.js';
import { createRedisQueueStore } from '../../src/store/redis.js';
import type { QueueStore } from '../../src/store/types.js';
import { STORE_REDIS_OPTIONS, STORE_REDIS_URL, createQueueJanitor } from '../support/store-db.js';

let janitor: ReturnType<typeof createQueueJanitor>;

beforeAll(() => {
  janitor = createQueueJanitor();
});

afterAll(() => janitor.cleanup());

const implementations = [
  { name: 'memory', redis: false, create: (): QueueStore => createMemoryQueueStore() },
  { name: 'redis', redis: true, create: (): QueueStore => createRedisQueueStore(STORE_REDIS_URL, { redisOptions: STORE_REDIS_OPTIONS }) },
];

/** Lots of tokens at once: 10 per ms, so a short sleep fills any batch these tests ask for. */
const FAST = { admission_rate_per_minute: 600_000 };

function eventAt(now: number, offsets: { prequeue: number; start: number; end: number }, extra: Partial<QueueEvent> = {}): QueueEvent {
  const seed = randomBytes(32).toString('hex');
  return {
    prequeue_starts_at: new Date(now + offsets.prequeue).toISOString(),
    starts_at: new Date(now + offsets.start).toISOString(),
    ends_at: new Date(now + offsets.end).toISOString(),
    queueing_method: null,
    admission_rate_per_minute: null,
    max_active_users: null,
    shuffle_prequeue: true,
    seed,
    seed_commitment: createHash('sha256').update(seed).digest('hex'),
    ...extra,
  };
}

describe.each(implementations)('queueing conformance: $name', ({ redis, create }) => {
  let store: QueueStore;
  beforeAll(() => {
    store = create();
  });
  afterAll(() => store.close());

  async function newQueue(overrides: Partial<QueueSettings> = {}): Promise<string> {
    const id = `qm-${randomUUID().slice(0, 8)}`;
    if (redis) janitor.track(id);
    const at = new Date().toISOString();
    const config: QueueConfig = {
      id,
      ...defaultQueueSettings(id, 'https://shop.example/'),
      ...overrides,
      created_at: at,
      updated_at: at,
    };
    expect(await store.createQueue(config)).toBe(true);
    return id;
  }

  async function ids(queueId: string, count: number): Promise<string[]> {
    const out: string[] = [];
    while (out.length < count) out.push(...(await store.reservePositionIds(queueId)));
    return out.slice(0, count);
  }

  async function enqueueAll(queueId: string, list: string[], lane = 0, key?: (id: string) => number) {
    for (const id of list) {
      const r = await store.enqueue(queueId, id, lane, undefined, undefined, key?.(id));
      expect(r.kind).toBe('queued');
    }
  }

  /** Admits `total` (the bucket refills at 10 per ms between steps), in steps of `step`. */
  async function admitMany(queueId: string, total: number, step = 10, seed?: number): Promise<string[]> {
    const out: string[] = [];
    await store.admit(queueId, 0);
    while (out.length < total) {
      await sleep(5);
      const r = await store.admit(queueId, Math.min(step, total - out.length), seed);
      out.push(...r.admitted.map((a) => a.positionId));
    }
    return out;
  }

  describe.concurrent('behaviour', () => {
    it('keeps every new setting through create, read and patch', async () => {
      const now = await store.now();
      const event = eventAt(now, { prequeue: 1000, start: 2000, end: 3000 }, { admission_rate_per_minute: 10, queueing_method: 'random' });
      const id = await newQueue({
        queueing_method: 'random',
        queue_only_when_needed: true,
        lane_weights: [1, 2, 3, 4],
        lane0_min_share: 0.25,
        event,
      });
      expect(await store.getQueue(id)).toMatchObject({
        queueing_method: 'random',
        queue_only_when_needed: true,
        lane_weights: [1, 2, 3, 4],
        lane0_min_share: 0.25,
        event,
      });
      const patched = await store.updateQueue(id, { event: null, lane_weights: null, queueing_method: 'reject' }, new Date().toISOString());
      expect(patched).toMatchObject({ event: null, lane_weights: null, queueing_method: 'reject', queue_only_when_needed: true });
    });

    it('reject: refuses new visitors, keeps and admits those already waiting', async () => {
      const id = await newQueue(FAST);
      const waiting = await ids(id, 4);
      await enqueueAll(id, waiting.slice(0, 3));
      await store.updateQueue(id, { queueing_method: 'reject' }, new Date().toISOString());
      expect(await store.enqueue(id, waiting[3] as string, 0)).toEqual({ kind: 'rejected' });
      // A waiting visitor repeating the join is not a newcomer.
      expect((await store.enqueue(id, waiting[0] as string, 0)).kind).toBe('queued');
      expect(await admitMany(id, 3)).toEqual(waiting.slice(0, 3));
    });

    it('passthrough: admits at once past every limit, and still counts', async () => {
      const id = await newQueue({ admission_rate_per_minute: 1, max_active_users: 1 });
      const [early, ...rest] = await ids(id, 6);
      await enqueueAll(id, [early as string]);
      await store.updateQueue(id, { queueing_method: 'passthrough' }, new Date().toISOString());
      for (const positionId of rest) {
        const r = await store.enqueue(id, positionId, 0);
        expect(r.kind).toBe('admitted');
        if (r.kind === 'admitted') expect(r.sessionExpiresAt).toBe(r.now + 600_000);
        expect(await store.getPosition(id, positionId)).toMatchObject({ state: 'admitted' });
      }
      // The one who waited from before goes too, whatever the rate says.
      expect((await store.admit(id, 100)).admitted.map((a) => a.positionId)).toEqual([early]);
      const stats = await store.stats(id);
      expect(stats).toMatchObject({ waiting: 0, active: 6, totalAdmitted: 6, totalEnqueued: 6, admittedInWindow: 6 });
    });

    it('queue_all: holds everyone; switching to fifo admits them in order, nobody lost', async () => {
      const id = await newQueue({ ...FAST, queueing_method: 'queue_all', queue_only_when_needed: true });
      const list = await ids(id, 5);
      await enqueueAll(id, list);
      await sleep(20);
      expect((await store.admit(id, 100)).admitted).toEqual([]);
      await store.updateQueue(id, { queueing_method: 'fifo' }, new Date().toISOString());
      expect(await admitMany(id, 5)).toEqual(list);
    });

    it('queue_only_when_needed: admits a newcomer at once only with room and nobody waiting', async () => {
      const id = await newQueue({ admission_rate_per_minute: 60, max_active_users: 2, queue_only_when_needed: true });
      const [a, b, c, d] = (await ids(id, 4)) as [string, string, string, string];
      expect((await store.enqueue(id, a, 0)).kind).toBe('admitted'); // a new bucket holds one token
      expect((await store.enqueue(id, b, 0)).kind).toBe('queued'); // no token left
      await sleep(1100); // one token back, but b waits: c must not jump b
      expect((await store.enqueue(id, c, 0)).kind).toBe('queued');
      expect((await store.admit(id, 10)).admitted.map((x) => x.positionId)).toEqual([b]);
      await sleep(1100);
      // a and b hold both slots of max_active_users: c waits, and a newcomer waits behind c.
      expect((await store.admit(id, 10)).admitted.map((x) => x.positionId)).toEqual([]);
      expect((await store.enqueue(id, d, 0)).kind).toBe('queued');
      expect((await store.stats(id)).active).toBe(2);
    });

    it('queue_only_when_needed never crosses max_active_users under concurrent joins', async () => {
      const id = await newQueue({ ...FAST, max_active_users: 5, queue_only_when_needed: true });
      await store.admit(id, 0);
      await sleep(20); // ~200 tokens: only max_active_users limits
      const list = await ids(id, 50);
      const results = await Promise.all(list.map((x) => store.enqueue(id, x, 0)));
      expect(results.filter((r) => r.kind === 'admitted')).toHaveLength(5);
      expect(results.filter((r) => r.kind === 'queued')).toHaveLength(45);
      expect(await store.stats(id)).toMatchObject({ active: 5, waiting: 45 });
      // And the rate: a fresh queue's bucket holds one token, so one of many concurrent joins.
      const slow = await newQueue({ admission_rate_per_minute: 30, queue_only_when_needed: true });
      const more = await ids(slow, 20);
      const admitted = (await Promise.all(more.map((x) => store.enqueue(slow, x, 0)))).filter((r) => r.kind === 'admitted');
      expect(admitted).toHaveLength(1);
    });

    it('random: admits exactly the lottery draw, highest lane first', async () => {
      const id = await newQueue({ ...FAST, queueing_method: 'random' });
      const lane0 = await ids(id, 30);
      const lane2 = (await ids(id, 35)).slice(30);
      await enqueueAll(id, lane0, 0);
      await enqueueAll(id, lane2, 2);
      await store.admit(id, 0);
      await sleep(10);
      const seed = 123_456_789;
      const step = await store.admit(id, 12, seed);
      // The model: lane 2 (5 waiting) first, then lane 0, each pick the lottery's index.
      const remaining = [[...lane0], [], [...lane2], []] as string[][];
      const expected: string[] = [];
      let state = seed;
      for (let i = 0; i < 12; i++) {
        const lane = (remaining[2] as string[]).length > 0 ? 2 : 0;
        state = nextLottery(state);
        const list = remaining[lane] as string[];
        expected.push(list.splice(lotteryIndex(state, list.length), 1)[0] as string);
      }
      expect(step.admitted.map((a) => a.positionId)).toEqual(expected);
      expect(expected.slice(0, 5).sort()).toEqual([...lane2].sort());
      expect(expected.slice(5)).not.toEqual(lane0.slice(0, 7)); // a lottery, not FIFO
      // Every admitted score is reported, and the rest keep their exact ranks.
      const snap = await store.ranks(id, lane0);
      const left = lane0.filter((x) => !expected.includes(x));
      expect(snap.ranks.filter((r) => r !== null)).toEqual(left.map((_, i) => i + 1));
    });

    it('weighted lanes: shares follow the weights, FIFO inside each lane', async () => {
      const id = await newQueue({ ...FAST, lane_weights: [1, 1, 1, 3] });
      const low = await ids(id, 60);
      const high = (await ids(id, 120)).slice(60);
      await enqueueAll(id, low, 0);
      await enqueueAll(id, high, 3);
      const admitted = await admitMany(id, 80, 7);
      const fromLow = admitted.filter((x) => low.includes(x));
      const fromHigh = admitted.filter((x) => high.includes(x));
      expect(fromHigh.length).toBe(60);
      expect(fromLow.length).toBe(20);
      expect(fromLow).toEqual(low.slice(0, 20));
      expect(fromHigh).toEqual(high.slice(0, 60));
      // The exact interleaving is the model's.
      const counts = [60, 0, 0, 60];
      const state: LaneState = { pass: [0, 0, 0, 0], vt: 0 };
      const model: number[] = [];
      for (let i = 0; i < 80; i++) {
        const lane = pickLane(counts, [1, 1, 1, 3], 0, state);
        counts[lane] = (counts[lane] as number) - 1;
        model.push(lane);
      }
      expect(admitted.map((x) => (low.includes(x) ? 0 : 3))).toEqual(model);
    });

    it('weighted lanes: lane 0 gets its minimum share however heavy the VIP lanes are', async () => {
      const id = await newQueue({ ...FAST, lane_weights: [1, 50, 50, 100], lane0_min_share: 0.2 });
      const all = await ids(id, 400);
      const [l0, l1, l3] = [all.slice(0, 100), all.slice(100, 250), all.slice(250, 400)];
      await enqueueAll(id, l0, 0);
      await enqueueAll(id, l1, 1);
      await enqueueAll(id, l3, 3);
      const admitted = await admitMany(id, 200, 9);
      const share0 = admitted.filter((x) => l0.includes(x)).length / admitted.length;
      expect(share0).toBeGreaterThanOrEqual(0.195);
      expect(share0).toBeLessThan(0.25);
      // Without the minimum, lane 0's weight alone (1 of 151) would give it under 1 %.
      expect(admitted.filter((x) => l3.includes(x)).length).toBeGreaterThan(admitted.filter((x) => l1.includes(x)).length);
    });

    it('strict priority (no weights) still admits every higher lane first', async () => {
      const id = await newQueue(FAST);
      const all = await ids(id, 10);
      await enqueueAll(id, all.slice(0, 5), 0);
      await enqueueAll(id, all.slice(5), 1);
      expect(await admitMany(id, 10, 3)).toEqual([...all.slice(5), ...all.slice(0, 5)]);
    });

    it('scheduled event: the pre-queue draws its arrivals by key, admits nobody, then the sale starts by itself', async () => {
      const now = await store.now();
      const event = eventAt(now, { prequeue: -1000, start: 1200, end: 60_000 }, { max_active_users: 4, queueing_method: 'fifo' });
      const id = await newQueue({ ...FAST, queueing_method: 'reject', event });
      const list = await ids(id, 8);
      const key = (x: string) => drawKey(event.seed, x);
      await enqueueAll(id, list.slice(0, 6), 0, key);
      await enqueueAll(id, list.slice(6), 2, key); // a grant's lane still goes first
      expect((await store.admit(id, 100)).admitted).toEqual([]);
      expect(await store.drawEntries(id)).toEqual([...list.slice(0, 6).map((x) => `0:${x}`), ...list.slice(6).map((x) => `2:${x}`)]);
      const byKey = (a: string, b: string) => key(a) - key(b);
      const order = [...list.slice(6).sort(byKey), ...list.slice(0, 6).sort(byKey)];
      const snap = await store.ranks(id, order);
      expect(snap.ranks).toEqual(order.map((_, i) => i + 1));
      const state = await store.getPosition(id, list[0] as string);
      expect(state.state === 'waiting' && state.score).toBe(3e12 - DRAW_SPAN + key(list[0] as string));

      await sleep(Math.max(0, Date.parse(event.starts_at) - (await store.now())) + 50);
      // Live: the queue's own `reject` is overridden by the event (fifo), and its cap of 4 holds.
      const late = (await ids(id, 9))[8] as string;
      expect((await store.enqueue(id, late, 0, undefined, undefined, key(late))).kind).toBe('queued');
      const admitted = [];
      for (let i = 0; i < 5; i++) {
        await sleep(5);
        admitted.push(...(await store.admit(id, 100)).admitted.map((a) => a.positionId));
      }
      expect(admitted).toEqual(order.slice(0, 4));
      // The late arrival is FIFO after every drawn one, and was not recorded in the draw.
      const lateState = await store.getPosition(id, late);
      expect(lateState.state === 'waiting' && lateState.position).toBe(5);
      expect(await store.drawEntries(id)).toHaveLength(8);
    });

    it('scheduled event: before the pre-queue and after the end the queue is its own (reject)', async () => {
      const now = await store.now();
      const id = await newQueue({ ...FAST, queueing_method: 'reject', event: eventAt(now, { prequeue: 800, start: 900, end: 1000 }) });
      const [a, b, c] = (await ids(id, 3)) as [string, string, string];
      expect(await store.enqueue(id, a, 0, undefined, undefined, 5)).toEqual({ kind: 'rejected' });
      await sleep(Math.max(0, now + 820 - (await store.now())));
      expect((await store.enqueue(id, b, 0, undefined, undefined, 5)).kind).toBe('queued');
      await sleep(Math.max(0, now + 1050 - (await store.now())));
      expect(await store.enqueue(id, c, 0, undefined, undefined, 5)).toEqual({ kind: 'rejected' });
    });

    it('a new seed empties the draw list; the same draw keeps it', async () => {
      const now = await store.now();
      const event = eventAt(now, { prequeue: -1000, start: 60_000, end: 120_000 });
      const id = await newQueue({ event });
      const [a] = (await ids(id, 1)) as [string];
      await enqueueAll(id, [a], 0, (x) => drawKey(event.seed, x));
      await store.updateQueue(id, { event: { ...event, ends_at: new Date(now + 200_000).toISOString() } }, new Date().toISOString());
      expect(await store.drawEntries(id)).toEqual([`0:${a}`]);
      await store.updateQueue(id, { event: eventAt(now, { prequeue: -1000, start: 60_000, end: 120_000 }) }, new Date().toISOString());
      expect(await store.drawEntries(id)).toEqual([]);
    });
  });
});
