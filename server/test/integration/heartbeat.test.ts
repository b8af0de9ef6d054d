import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createQueue, enqueue, sleep, startTestNode, uniqueQueueId, type TestNode } from '../support/nodes.js';

const expiredCount = async (node: TestNode, queueId: string) => {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`waiting_room_positions_expired_total{queue_id="${queueId}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
};

/** REST visitors keep their place with heartbeats; the sweeper expires the silent ones. */
describe.each([
  ['embedded', undefined],
  ['redis, two nodes', 3],
])('heartbeat sweeper (%s)', (_name, redisDb) => {
  let nodes: TestNode[];
  beforeAll(async () => {
    nodes = await Promise.all([startTestNode({ redisDb }), ...(redisDb ? [startTestNode({ redisDb })] : [])]);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('expires a visitor whose heartbeats stopped, keeps the one who heartbeats, and counts it', async () => {
    const [a, b] = [nodes[0]!, nodes.at(-1)!];
    const q = uniqueQueueId('hb');
    await createQueue(a, { id: q, status: 'paused', heartbeat_interval_seconds: 1, heartbeat_timeout_seconds: 2 });
    const silent = await enqueue(a, q);
    const alive = await enqueue(b, q);
    const before = (await expiredCount(a, q)) + (redisDb ? await expiredCount(b, q) : 0);

    const deadline = Date.now() + 4_500;
    while (Date.now() < deadline) {
      const hb = await call(`${b.url}/api/v1/queues/${q}/heartbeat`, { method: 'POST', token: String(alive.body.token), body: {} });
      expect(hb.status).toBe(200);
      await sleep(400);
    }
    const gone = await call(`${a.url}/api/v1/queues/${q}/status`, { token: String(silent.body.token) });
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ error: { code: 'POSITION_EXPIRED' } });
    const kept = await call(`${a.url}/api/v1/queues/${q}/status`, { token: String(alive.body.token) });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ position: 1, queue_length: 1 });
    const after = (await expiredCount(a, q)) + (redisDb ? await expiredCount(b, q) : 0);
    expect(after - before).toBe(1);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/waiting_room_cleanup_duration_seconds_count \d+/);
  });

  it('status reports the deadline the place has (it renews nothing); a heartbeat moves it', async () => {
    const [a, b] = [nodes[0]!, nodes.at(-1)!];
    const q = uniqueQueueId('hbdl');
    await createQueue(a, { id: q, status: 'paused', heartbeat_interval_seconds: 10, heartbeat_timeout_seconds: 30 });
    const joined = await enqueue(a, q);
    const token = String(joined.body.token);
    const joinedDeadline = Date.parse(String(joined.body.expires_at));
    await sleep(1_200);
    const status = await call(`${b.url}/api/v1/queues/${q}/status`, { token });
    expect(Date.parse(String(status.body.expires_at))).toBe(joinedDeadline);
    const hb = await call(`${b.url}/api/v1/queues/${q}/heartbeat`, { method: 'POST', token, body: {} });
    const renewed = Date.parse(String(hb.body.expires_at));
    expect(renewed).toBeGreaterThan(joinedDeadline);
    const after = await call(`${a.url}/api/v1/queues/${q}/status`, { token });
    expect(Date.parse(String(after.body.expires_at))).toBe(renewed);
  });
});
