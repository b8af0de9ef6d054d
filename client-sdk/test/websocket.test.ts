import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, sleep, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../../server/test/support/nodes.js';
import { createWaitingRoom, type Admission, type WaitingRoom, type WaitingRoomOptions } from '../src/index.js';
import { admit, countingWebSocket, manualEnvironment, mapStorage, pausedQueue, record, storedToken } from './helpers.js';

/** The SDK over WebSocket against one real embedded node (memory store, in-process bus). */
describe('waiting room SDK over WebSocket', () => {
  let node: TestNode;
  const rooms: WaitingRoom[] = [];
  beforeAll(async () => {
    // Queues are created explicitly, so an unknown one is a 404 (close 4404).
    node = await startTestNode({ env: { QUEUE_AUTO_CREATE: 'false' } });
  });
  afterEach(() => {
    for (const room of rooms.splice(0)) room.stop();
  });
  afterAll(async () => {
    await node.close();
  });

  const open = (options: Omit<WaitingRoomOptions, 'url'> & Partial<WaitingRoomOptions>) => {
    const room = createWaitingRoom({ url: node.url, backoff: { initialMs: 100, maxMs: 1_000 }, onAdmitted: 'none', ...options });
    rooms.push(room);
    return room;
  };

  it('joins, follows the position down, and is admitted with a session token (callback handoff)', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q, {}, 2);
    const storage = mapStorage();
    const sockets = countingWebSocket();
    const admissions: Admission[] = [];
    const room = open({ queueId: q, storage, WebSocket: sockets.WebSocket, onAdmitted: (a) => admissions.push(a) });
    const events = record(room);
    room.start();

    const joined = await events.next('joined');
    expect(joined).toMatchObject({ position: 3, queueLength: 3, resumed: false, transport: 'websocket', startPosition: 3 });
    expect(room.state).toBe('waiting');
    expect(room.positionId).toBe(joined.positionId);
    expect(storedToken(storage, q)).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    await admit(node, q);
    const admission = await events.next('admitted');
    expect(admission.sessionId).toBe(`${q}.${joined.positionId}`);
    expect(admission.sessionToken.split('.')).toHaveLength(3);
    expect(admission.redirectUrl).toBe('https://shop.example/checkout?from=queue');
    expect(Date.parse(admission.sessionExpiresAt)).toBeGreaterThan(Date.now());
    expect(admissions).toEqual([admission]);
    expect(room.state).toBe('admitted');
    expect(room.admission).toEqual(admission);

    // Positions only went down, to the front; the ticket is gone; nothing reconnects after 4100.
    const positions = events.of('position').map((p) => p.position);
    expect(positions[0]).toBe(3);
    expect(positions.at(-1)).toBe(1);
    for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeLessThanOrEqual(positions[i - 1]!);
    expect(events.states()).toEqual(['connecting', 'waiting', 'admitted']);
    expect(storage.map.size).toBe(0);
    await sleep(400);
    expect(sockets.opened()).toBe(1);
  });

  it('resumes the same place after a reload (a new instance on the same storage)', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q, {}, 4);
    const storage = mapStorage();
    const first = open({ queueId: q, storage, WebSocket: countingWebSocket().WebSocket });
    const firstEvents = record(first);
    first.start();
    const joined = await firstEvents.next('joined');
    expect(joined.position).toBe(5);
    first.stop(); // the page goes away; the place is kept for the grace period
    expect(first.state).toBe('closed');
    expect(storedToken(storage, q)).toBeDefined();

    const second = open({ queueId: q, storage, WebSocket: countingWebSocket().WebSocket });
    const secondEvents = record(second);
    second.start();
    const resumed = await secondEvents.next('joined');
    expect(resumed).toMatchObject({ positionId: joined.positionId, position: 5, resumed: true, startPosition: 5 });

    // A different browser (its own storage) gets a place of its own.
    const other = open({ queueId: q, storage: mapStorage(), WebSocket: countingWebSocket().WebSocket });
    const otherEvents = record(other);
    other.start();
    expect((await otherEvents.next('joined')).position).toBe(6);
  });

  it('two tabs: the older one is replaced, stays quiet, and takes the place back when it becomes visible', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q, {}, 1);
    const storage = mapStorage();
    const tabA = manualEnvironment();
    const socketsA = countingWebSocket();
    const a = open({ queueId: q, storage, WebSocket: socketsA.WebSocket, environment: tabA.environment });
    const eventsA = record(a);
    a.start();
    const joinedA = await eventsA.next('joined');

    tabA.set('hidden');
    const b = open({ queueId: q, storage, WebSocket: countingWebSocket().WebSocket, environment: manualEnvironment().environment });
    const eventsB = record(b);
    b.start();
    expect(await eventsB.next('joined')).toMatchObject({ positionId: joinedA.positionId, position: 2, resumed: true });
    await eventsA.next('state', (s) => s.state === 'replaced');

    // No fight: tab A opens no new socket while it is not looked at.
    await sleep(800);
    expect(socketsA.opened()).toBe(1);
    expect(a.state).toBe('replaced');
    expect(b.state).toBe('waiting');

    tabA.set('visible');
    await eventsA.next('joined', (j) => j.resumed);
    expect(a.positionId).toBe(joinedA.positionId);
    await eventsB.next('state', (s) => s.state === 'replaced');
    expect(socketsA.opened()).toBe(2);
  });

  it('drops a refused ticket and joins anew, once', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q, {}, 1);
    const storage = mapStorage();
    storage.setItem(`wr:ticket:${q}`, JSON.stringify({ token: 'forged.ticket.value', startPosition: 1 }));
    const sockets = countingWebSocket();
    const room = open({ queueId: q, storage, WebSocket: sockets.WebSocket });
    const events = record(room);
    room.start();
    const joined = await events.next('joined');
    expect(joined).toMatchObject({ position: 2, resumed: false, startPosition: 2 });
    expect(sockets.opened()).toBe(2);
    expect(storedToken(storage, q)).not.toBe('forged.ticket.value');
    expect(events.of('error')).toEqual([]);
  });

  it('final close codes do not reconnect: unknown queue (4404), refused priority grant (4401)', async () => {
    const missing = countingWebSocket();
    const room = open({ queueId: uniqueQueueId('nope'), storage: mapStorage(), WebSocket: missing.WebSocket });
    const events = record(room);
    room.start();
    const error = await events.next('error');
    expect(error).toMatchObject({ code: 'NOT_FOUND', fatal: true, closeCode: 4404 });
    expect(room.state).toBe('error');

    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q);
    const granted = countingWebSocket();
    const withGrant = open({ queueId: q, storage: mapStorage(), WebSocket: granted.WebSocket, priorityGrant: 'not.a.grant' });
    const grantEvents = record(withGrant);
    withGrant.start();
    expect(await grantEvents.next('error')).toMatchObject({ fatal: true });
    expect(withGrant.state).toBe('error');

    await sleep(800);
    expect(missing.opened()).toBe(1);
    expect(granted.opened()).toBe(1);
  });

  it('a closed queue (method reject) is a final QUEUE_CLOSED error (4403): no reconnect', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q, { queueing_method: 'reject' });
    const sockets = countingWebSocket();
    const room = open({ queueId: q, storage: mapStorage(), WebSocket: sockets.WebSocket });
    const events = record(room);
    room.start();
    expect(await events.next('error')).toMatchObject({ code: 'QUEUE_CLOSED', fatal: true, closeCode: 4403 });
    expect(room.state).toBe('error');
    await sleep(600);
    expect(sockets.opened()).toBe(1);
  });

  it('expired: a place given up elsewhere ends the session for good and clears the ticket', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q);
    const storage = mapStorage();
    const sockets = countingWebSocket();
    const room = open({ queueId: q, storage, WebSocket: sockets.WebSocket });
    const events = record(room);
    room.start();
    await events.next('joined');
    const res = await call(`${node.url}/api/v1/queues/${q}/position`, { method: 'DELETE', token: storedToken(storage, q)! });
    expect(res.status).toBe(200);
    expect(await events.next('expired')).toEqual({ reason: 'left' });
    expect(room.state).toBe('expired');
    expect(storage.map.size).toBe(0);
    await sleep(600);
    expect(sockets.opened()).toBe(1);
  });

  it('leave() gives the place up on the server', async () => {
    const q = uniqueQueueId('sdk');
    await pausedQueue(node, q);
    const storage = mapStorage();
    const room = open({ queueId: q, storage, WebSocket: countingWebSocket().WebSocket });
    const events = record(room);
    room.start();
    await events.next('joined');
    const ticket = storedToken(storage, q)!;
    await room.leave();
    expect(room.state).toBe('closed');
    expect(events.of('expired')).toEqual([{ reason: 'left' }]);
    expect(storage.map.size).toBe(0);
    const status = await waitFor(async () => {
      const res = await call(`${node.url}/api/v1/queues/${q}/status`, { token: ticket });
      return res.status === 410 ? res : undefined;
    }, 3_000);
    expect(status.body).toMatchObject({ error: { code: 'POSITION_EXPIRED' } });
  });
});
