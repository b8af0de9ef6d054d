import { afterEach, describe, expect, it } from 'vitest';
import { sleep, startTestNode, uniqueQueueId, type TestNode } from '../../server/test/support/nodes.js';
import { createWaitingRoom, type WaitingRoom } from '../src/index.js';
import { countingWebSocket, manualEnvironment, mapStorage, pausedQueue, record, startForwarder } from './helpers.js';

/** Redis database of this file: the place is in Redis, so it outlives the node. */
const REDIS_DB = 8;
const BACKOFF = { initialMs: 100, maxMs: 800 };

/**
 * A server restart: the node closes (draining every socket with 1001) and a new one starts
 * behind the same address. The SDK reconnects by itself with full-jitter backoff and keeps
 * its exact place (Redis-backed nodes; the grace period covers the gap).
 */
describe('server restart', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A Redis-backed node behind a stable address, and a way to restart it. */
  async function restartableNode() {
    let node: TestNode = await startTestNode({ redisDb: REDIS_DB });
    const address = await startForwarder(node.port);
    cleanup.push(() => address.close(), () => node.close());
    return {
      url: address.url,
      node: () => node,
      stop: () => node.close(),
      async start() {
        node = await startTestNode({ redisDb: REDIS_DB });
        address.retarget(node.port);
      },
    };
  }

  const open = (room: WaitingRoom) => {
    cleanup.push(() => room.stop());
    return room;
  };

  it('reconnects with backoff after the node restarts, resumes the same place, and resets the backoff', async () => {
    const server = await restartableNode();
    const q = uniqueQueueId('sdk-restart');
    await pausedQueue(server.node(), q, {}, 2);
    const sockets = countingWebSocket();
    // random → 0.9: each delay is 90 % of its window, so the schedule is exact.
    const room = open(
      createWaitingRoom({ url: server.url, queueId: q, storage: mapStorage(), WebSocket: sockets.WebSocket, backoff: BACKOFF, random: () => 0.9 }),
    );
    const events = record(room);
    room.start();
    const joined = await events.next('joined');
    expect(joined.position).toBe(3);
    const delays = () => events.of('state').flatMap((s) => (s.retryInMs === undefined ? [] : [s.retryInMs]));
    const window = (attempt: number) => Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** attempt);

    await server.stop(); // drains: every socket is closed with 1001 (going away)
    await events.next('state', (s) => s.state === 'reconnecting');
    await sleep(1_500); // refused connections meanwhile; each retry waits longer, up to maxMs
    await server.start();
    const resumed = await events.next('joined', (j) => j.resumed, 5_000);
    expect(resumed).toMatchObject({ positionId: joined.positionId, position: 3, transport: 'websocket' });
    expect(room.state).toBe('waiting');

    // 90, 180, 360, 720, 720 …: exponential, capped at maxMs.
    const firstOutage = delays();
    expect(firstOutage.length).toBeGreaterThanOrEqual(4);
    expect(firstOutage).toEqual(firstOutage.map((_, attempt) => Math.floor(0.9 * window(attempt))));
    expect(sockets.opened()).toBe(firstOutage.length + 1);

    // A second outage starts from initialMs again: the successful join reset the backoff.
    const before = events.events.length;
    await server.stop();
    await events.next('state', (s) => s.retryInMs !== undefined, 5_000, before);
    expect(delays()[firstOutage.length]).toBe(Math.floor(0.9 * BACKOFF.initialMs));
    await server.start();
    expect(await events.next('joined', (j) => j.resumed, 5_000, before)).toMatchObject({ positionId: joined.positionId, position: 3 });

    // It never gave up on sockets: they had opened before.
    expect(events.states()).not.toContain('polling');
    expect(events.of('error')).toEqual([]);
  });

  it('pauses while offline and reconnects at once when back online', async () => {
    const server = await restartableNode();
    const q = uniqueQueueId('sdk-restart');
    await pausedQueue(server.node(), q, {}, 1);
    const sockets = countingWebSocket();
    const device = manualEnvironment();
    const room = open(
      createWaitingRoom({
        url: server.url,
        queueId: q,
        storage: mapStorage(),
        WebSocket: sockets.WebSocket,
        environment: device.environment,
        // A long backoff: reconnecting within a second proves `online` skipped it.
        backoff: { initialMs: 60_000, maxMs: 60_000 },
        random: () => 0.99,
      }),
    );
    const events = record(room);
    room.start();
    const joined = await events.next('joined');

    device.set('offline');
    expect(room.state).toBe('waiting'); // an open socket is left alone
    await server.stop();
    await events.next('state', (s) => s.state === 'offline');
    await server.start();
    await sleep(500);
    expect(sockets.opened()).toBe(1); // no attempts while offline

    const onlineAt = Date.now();
    device.set('online');
    const resumed = await events.next('joined', (j) => j.resumed, 3_000);
    expect(Date.now() - onlineAt).toBeLessThan(1_000);
    expect(resumed).toMatchObject({ positionId: joined.positionId, position: 2 });
    expect(sockets.opened()).toBe(2);
  });
});
