import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/realtime/protocol.js';
import { call, createQueue, startTestNode, uniqueQueueId, type TestNode } from '../support/nodes.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

/** The socket protocol on one embedded node (memory store, in-process bus). */
describe('WebSocket protocol (embedded)', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ env: { WS_JOIN_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await node.close();
  });

  const pausedQueue = async () => {
    const q = uniqueQueueId('ws');
    await createQueue(node, { id: q, status: 'paused' });
    return q;
  };

  it('joins, resumes the same place with the ticket, and with Authorization on the upgrade', async () => {
    const q = await pausedQueue();
    const a = await TestSocket.open(wsUrl(node.url, q));
    const joined = await a.join();
    expect(joined.type).toBe('joined');
    expect(joined.data).toMatchObject({ queue_id: q, position: 1, queue_length: 1, status: 'waiting', resumed: false });
    const b = await TestSocket.open(wsUrl(node.url, q));
    expect((await b.join()).data.position).toBe(2);

    a.close();
    await a.closed;
    const again = await TestSocket.open(wsUrl(node.url, q));
    const resumed = await again.join({ token: joined.data.token });
    expect(resumed.data).toMatchObject({ position_id: joined.data.position_id, position: 1, resumed: true });

    const native = await TestSocket.open(wsUrl(node.url, q), { headers: { authorization: `Bearer ${String(joined.data.token)}` } });
    const viaHeader = await native.next('joined');
    expect(viaHeader.data).toMatchObject({ position_id: joined.data.position_id, position: 1 });
    // The newest socket holds the place; the one before is told it was replaced.
    expect(await again.closed).toBe(CLOSE.REPLACED);
    for (const s of [b, native]) s.close();
  });

  it('pushes position updates as the people ahead are admitted, then admitted with a session token', async () => {
    const q = await pausedQueue();
    const sockets = await Promise.all([0, 1, 2, 3].map(() => TestSocket.open(wsUrl(node.url, q))));
    for (const s of sockets) await s.join();
    const last = sockets[3]!;
    expect(last.last('joined')?.data.position).toBe(4);
    await call(`${node.url}/api/v1/admin/queues/${q}`, {
      method: 'PATCH',
      body: { status: 'active', admission_rate_per_minute: 60 },
      headers: { 'x-admin-key': 'test-admin-key-0123456789' },
    });
    const admitted = await last.next('admitted', 10_000);
    expect(admitted.data).toMatchObject({ session_id: `${q}.${String(last.last('joined')?.data.position_id)}` });
    expect(String(admitted.data.session_token).split('.')).toHaveLength(3);
    expect(await last.closed).toBe(CLOSE.ADMITTED);
    const seen = last.of('position_update').map((f) => Number(f.data.position));
    expect(seen.length).toBeGreaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeLessThanOrEqual(seen[i - 1]!);
    expect(seen.at(-1)).toBe(1);
  });

  it('pushes a growing queue length every 5 ticks per visitor, a fifth of the room on each tick', async () => {
    const q = await pausedQueue();
    const early = await Promise.all(Array.from({ length: 10 }, () => TestSocket.open(wsUrl(node.url, q))));
    for (const s of early) await s.join();
    // Keep the queue growing for 15 ticks (200 ms each): one more visitor every 100 ms.
    const late: TestSocket[] = [];
    const growUntil = Date.now() + 3_000;
    while (Date.now() < growUntil) {
      const s = await TestSocket.open(wsUrl(node.url, q));
      await s.join();
      late.push(s);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1_600)); // another round of 5 ticks, with room to spare
    const total = early.length + late.length;
    const firstUpdateAt: number[] = [];
    for (const [i, s] of early.entries()) {
      const updates = s.of('position_update');
      // Nothing ahead changed: only the length behind, at most every 5 ticks (~15 ticks of growth).
      expect(updates.length).toBeGreaterThanOrEqual(2);
      expect(updates.length).toBeLessThanOrEqual(6);
      const lengths = updates.map((u) => Number(u.data.queue_length));
      expect(updates.every((u) => u.data.position === i + 1)).toBe(true);
      expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
      expect(lengths.at(-1)).toBe(total); // the length once it stopped growing, within 5 ticks
      const times = s.frames.flatMap((f, k) => (f.type === 'position_update' ? [s.arrivedAt[k] as number] : []));
      for (let k = 1; k < times.length; k++) expect((times[k] as number) - (times[k - 1] as number)).toBeGreaterThan(450); // 5 ticks of 200 ms, not 1
      firstUpdateAt.push(times[0] as number);
    }
    // Ten visitors in a row have all five phases: their first updates came on different ticks.
    expect(Math.max(...firstUpdateAt) - Math.min(...firstUpdateAt)).toBeGreaterThanOrEqual(300);
    for (const s of [...early, ...late]) s.close();
  });

  it('answers bad frames with an error or a close code and leaves other sockets alone', async () => {
    const q = await pausedQueue();
    const bystander = await TestSocket.open(wsUrl(node.url, q));
    const before = await bystander.join();

    const s = await TestSocket.open(wsUrl(node.url, q));
    s.sendRaw('not json');
    expect((await s.next('error')).data).toMatchObject({ code: 'INVALID_REQUEST' });
    s.send({ type: 'dance', data: {} });
    expect((await s.next('error', 5_000, 1)).data).toMatchObject({ code: 'INVALID_REQUEST' });
    s.send({ type: 'join', data: { token: 'forged.ticket.value' } });
    expect((await s.next('error', 5_000, 2)).data).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await s.closed).toBe(CLOSE.UNAUTHORIZED);

    const big = await TestSocket.open(wsUrl(node.url, q));
    big.sendRaw('x'.repeat(1024 * 1024));
    // uWS closes with 1009; a client still writing its megabyte may only see the connection drop.
    expect([1009, 1006]).toContain(await big.closed);

    const silent = await TestSocket.open(wsUrl(node.url, q));
    expect(await silent.closed).toBe(CLOSE.BAD_REQUEST);

    const badQueue = TestSocket.open(wsUrl(node.url, 'NOT_VALID'));
    await expect(badQueue).rejects.toThrow(/400/);

    // The bystander still holds its place and gets answers.
    const check = await TestSocket.open(wsUrl(node.url, q));
    expect((await check.join({ token: before.data.token })).data).toMatchObject({ position: 1, position_id: before.data.position_id });
    expect(bystander.closeCode).toBe(CLOSE.REPLACED);
    check.close();
  });

  it('leave gives the place up', async () => {
    const q = await pausedQueue();
    const a = await TestSocket.open(wsUrl(node.url, q));
    const joined = await a.join();
    a.send({ type: 'leave' });
    expect((await a.next('expired')).data).toEqual({ reason: 'left' });
    expect(await a.closed).toBe(CLOSE.NORMAL);
    const status = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(joined.data.token) });
    expect(status.status).toBe(410);
  });
});

describe('per-address socket limit (embedded)', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ env: { WS_MAX_SOCKETS_PER_IP: '2' } });
  });
  afterAll(async () => {
    await node.close();
  });

  it('refuses the upgrade past WS_MAX_SOCKETS_PER_IP with 429, counts another address apart, and frees a slot on close', async () => {
    const q = uniqueQueueId('wsip');
    await createQueue(node, { id: q, status: 'paused' });
    const url = wsUrl(node.url, q);
    const a = await TestSocket.open(url);
    const b = await TestSocket.open(url);
    await expect(TestSocket.open(url)).rejects.toThrow('upgrade refused: 429');
    // Another address (127.0.0.2 is loopback too) has a count of its own.
    const other = await TestSocket.open(url, { localAddress: '127.0.0.2' });
    await other.join();
    // The refusal touched nobody: the open sockets still join and get their places.
    expect((await a.join()).data.position).toBe(2);
    a.close();
    await a.closed;
    const c = await TestSocket.open(url);
    expect((await c.join()).data.position).toBe(3);
    const metrics = await call(`${node.url}/metrics`);
    expect(String(metrics.body.text)).toMatch(/waiting_room_rate_limited_total\{limit="sockets"\} [1-9]/);
    for (const s of [b, c, other]) s.close();
  });
});
