import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, sleep, startTestNode, uniqueQueueId, type TestNode } from '../../server/test/support/nodes.js';
import { createWaitingRoom, type Admission, type WaitingRoom, type WaitingRoomOptions, type WebSocketConstructor } from '../src/index.js';
import { admit, countingWebSocket, mapStorage, pausedQueue, record, storedToken } from './helpers.js';

/** A WebSocket the environment forbids outright (CSP, a sandbox): the constructor throws. */
class ForbiddenWebSocket {
  static created = 0;
  constructor() {
    ForbiddenWebSocket.created++;
    throw new Error('SecurityError: WebSocket connections are blocked');
  }
}

/**
 * The real `ws` client, but every upgrade goes to a port where nothing listens: what a proxy
 * that drops WebSocket upgrades looks like to a page (the socket errors and never opens).
 */
function blockedWebSocket(): { WebSocket: WebSocketConstructor; attempts: () => number } {
  let attempts = 0;
  class Blocked extends WebSocket {
    constructor(url: string) {
      super(url.replace(/:\d+\//, ':1/'));
      attempts++;
    }
  }
  return { WebSocket: Blocked, attempts: () => attempts };
}

/** The REST fallback (enqueue + heartbeat polling) against one real embedded node. */
describe('waiting room SDK over REST polling', () => {
  let node: TestNode;
  const rooms: WaitingRoom[] = [];
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterEach(() => {
    for (const room of rooms.splice(0)) room.stop();
  });
  afterAll(async () => {
    await node.close();
  });

  const open = (options: Omit<WaitingRoomOptions, 'url'>) => {
    const room = createWaitingRoom({ url: node.url, backoff: { initialMs: 50, maxMs: 500 }, pollMinIntervalMs: 300, ...options });
    rooms.push(room);
    return room;
  };

  it("transport 'polling': joins, follows the position, and is admitted", async () => {
    const q = uniqueQueueId('poll');
    await pausedQueue(node, q, {}, 2);
    const sockets = countingWebSocket();
    const storage = mapStorage();
    const admissions: Admission[] = [];
    const room = open({ queueId: q, storage, transport: 'polling', WebSocket: sockets.WebSocket, onAdmitted: (a) => admissions.push(a) });
    const events = record(room);
    room.start();
    const joined = await events.next('joined');
    expect(joined).toMatchObject({ position: 3, resumed: false, transport: 'polling' });
    expect(room.state).toBe('polling');

    // 1/s: the two ahead go at once (the bucket holds two seconds' worth), the visitor a second later.
    await admit(node, q, 60);
    await events.next('position', (p) => p.position === 1, 5_000);
    const admission = await events.next('admitted');
    expect(admission.sessionId).toBe(`${q}.${joined.positionId}`);
    expect(admissions).toEqual([admission]);
    expect(room.state).toBe('admitted');
    expect(storage.map.size).toBe(0);
    expect(sockets.opened()).toBe(0);
  });

  it('falls back to polling when the WebSocket constructor throws, and is admitted', async () => {
    const q = uniqueQueueId('poll');
    await pausedQueue(node, q, {}, 1);
    const room = open({ queueId: q, storage: mapStorage(), WebSocket: ForbiddenWebSocket as unknown as WebSocketConstructor, onAdmitted: 'none' });
    const events = record(room);
    room.start();
    expect(await events.next('joined')).toMatchObject({ position: 2, transport: 'polling' });
    await admit(node, q);
    await events.next('admitted');
    expect(ForbiddenWebSocket.created).toBe(1);
    expect(events.states()).toEqual(['connecting', 'polling', 'admitted']);
  });

  it('falls back to polling after two sockets fail to open, and resumes the same place on reload', async () => {
    const q = uniqueQueueId('poll');
    await pausedQueue(node, q, {}, 3);
    const storage = mapStorage();
    const blocked = blockedWebSocket();
    const room = open({ queueId: q, storage, WebSocket: blocked.WebSocket });
    const events = record(room);
    room.start();
    const joined = await events.next('joined');
    expect(joined).toMatchObject({ position: 4, transport: 'polling' });
    expect(blocked.attempts()).toBe(2);
    expect(events.states()).toEqual(['connecting', 'reconnecting', 'polling']);
    room.stop();

    const again = open({ queueId: q, storage, transport: 'polling' });
    const againEvents = record(again);
    again.start();
    expect(await againEvents.next('joined')).toMatchObject({ positionId: joined.positionId, position: 4, resumed: true, startPosition: 4 });
  });

  it("keeps the place alive with heartbeats within the queue's heartbeat interval", async () => {
    // Places lapse 2 s without a heartbeat (the sweeper runs every 200 ms in tests).
    const q = uniqueQueueId('poll');
    const [silent] = await pausedQueue(node, q, { heartbeat_interval_seconds: 1, heartbeat_timeout_seconds: 2 }, 1);
    const storage = mapStorage();
    // A minimum far above the server's interval: the server's interval must win.
    const room = open({ queueId: q, storage, transport: 'polling', pollMinIntervalMs: 60_000 });
    const events = record(room);
    room.start();
    const joined = await events.next('joined');
    expect(joined.position).toBe(2);

    await sleep(3_500);
    // The silent REST visitor ahead lapsed; the polling one kept its place and moved up.
    expect((await call(`${node.url}/api/v1/queues/${q}/status`, { token: silent! })).status).toBe(410);
    const status = await call(`${node.url}/api/v1/queues/${q}/status`, { token: storedToken(storage, q)! });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ position_id: joined.positionId, position: 1 });
    expect(room.state).toBe('polling');
    await events.next('position', (p) => p.position === 1, 2_000);
  });
});
