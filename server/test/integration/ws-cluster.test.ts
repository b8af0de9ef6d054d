import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/realtime/protocol.js';
import { ADMIN_KEY, call, createQueue, sleep, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const admin = { 'x-admin-key': ADMIN_KEY };

/**
 * Three nodes on one Redis and one NATS: 300 sockets spread over them watch their positions
 * fall and get admitted in join order, each exactly once, with a token the origin can verify.
 */
describe('real-time push across three nodes', () => {
  let nodes: TestNode[] = [];
  const prefix = `wrtest${Date.now().toString(36)}`;
  beforeAll(async () => {
    const env = { NATS_URL, NATS_STREAM: prefix.toUpperCase(), NATS_SUBJECT_PREFIX: prefix };
    nodes = await Promise.all([0, 1, 2].map(() => startTestNode({ redisDb: 4, env })));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('300 sockets: positions only fall, admission in join order, once each, tokens verify', async () => {
    const q = uniqueQueueId('cluster');
    await createQueue(nodes[0]!, { id: q, status: 'paused', target_url: 'https://shop.example/' });
    const sockets: TestSocket[] = [];
    const joinedIds: string[] = [];
    for (let i = 0; i < 300; i++) {
      const s = await TestSocket.open(wsUrl(nodes[i % 3]!.url, q));
      const joined = await s.join();
      expect(joined.data.position).toBe(i + 1);
      sockets.push(s);
      joinedIds.push(String(joined.data.position_id));
    }
    const patch = (body: object) => call(`${nodes[1]!.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body, headers: admin });
    // Admit some, stop, and check every waiting socket's last pushed position against the store.
    await patch({ status: 'active', admission_rate_per_minute: 1_200 });
    await sleep(2_000);
    await patch({ status: 'paused' });
    await sleep(2_500);
    let checked = 0;
    for (const [i, s] of sockets.entries()) {
      if (s.closeCode !== null) continue;
      const pushed = s.last('position_update') ?? s.last('joined');
      const truth = await call(`${nodes[i % 3]!.url}/api/v1/queues/${q}/status`, { token: String(s.last('joined')?.data.token) });
      if (truth.body.status !== 'waiting') continue;
      expect(pushed?.data.position, `socket ${i}`).toBe(truth.body.position);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
    expect(checked).toBeLessThan(300);
    await patch({ status: 'active', admission_rate_per_minute: 3_000 });
    await waitFor(() => (sockets.every((s) => s.closeCode !== null) ? true : undefined), 40_000, 100);

    const jwks = createRemoteJWKSet(new URL(`${nodes[2]!.url}/.well-known/jwks.json`));
    const admittedAt: number[] = [];
    for (const [i, s] of sockets.entries()) {
      expect(s.closeCode, `socket ${i}`).toBe(CLOSE.ADMITTED);
      const admitted = s.of('admitted');
      expect(admitted, `socket ${i} admitted once`).toHaveLength(1);
      const token = String(admitted[0]!.data.session_token);
      const { payload } = await jwtVerify(token, jwks, { issuer: 'waiting-room', audience: 'waiting-room:origin' });
      expect(payload.pid).toBe(joinedIds[i]);
      admittedAt.push(Date.parse(String(admitted[0]!.data.session_expires_at)));
      const positions = [Number(s.last('joined')?.data.position), ...s.of('position_update').map((f) => Number(f.data.position))];
      for (let k = 1; k < positions.length; k++) expect(positions[k]!, `socket ${i} positions ${positions.join(',')}`).toBeLessThanOrEqual(positions[k - 1]!);
    }
    // Admission order equals join order (session expiry = admission time + duration).
    for (let i = 1; i < admittedAt.length; i++) expect(admittedAt[i]!).toBeGreaterThanOrEqual(admittedAt[i - 1]!);
    // Freshness: the sockets admitted last saw many updates, not just one at the end.
    expect(sockets[299]!.of('position_update').length).toBeGreaterThan(3);
    // Positions came from the JetStream change feed, not from store snapshots after gaps.
    expect(await metricSum(nodes, 'waiting_room_position_snapshots_total')).toBeLessThanOrEqual(3);
  }, 60_000);

  it('a socket back within grace keeps its place on another node; one back after grace is expired', async () => {
    const q = uniqueQueueId('grace');
    await createQueue(nodes[0]!, { id: q, status: 'paused', heartbeat_interval_seconds: 1, heartbeat_timeout_seconds: 3 });
    const a = await TestSocket.open(wsUrl(nodes[0]!.url, q));
    const b = await TestSocket.open(wsUrl(nodes[1]!.url, q));
    const ja = await a.join();
    const jb = await b.join();
    a.terminate();
    b.terminate();
    await sleep(1_000);
    const a2 = await TestSocket.open(wsUrl(nodes[2]!.url, q));
    expect((await a2.join({ token: ja.data.token })).data).toMatchObject({ position_id: ja.data.position_id, position: 1 });

    const expiredBefore = await expiredTotal(nodes, q);
    await sleep(4_500);
    const b2 = await TestSocket.open(wsUrl(nodes[2]!.url, q));
    const late = await b2.join({ token: jb.data.token });
    // The old place is gone; a join with a stale ticket gets a new place at the back.
    expect(late.data.position_id).not.toBe(jb.data.position_id);
    expect(late.data.position).toBe(2);
    expect(await expiredTotal(nodes, q)).toBe(expiredBefore + 1);
    // a2 stayed connected all along: never expired.
    expect(a2.closeCode).toBeNull();
    a2.close();
    b2.close();
  }, 30_000);
});

async function metricSum(nodes: TestNode[], series: string): Promise<number> {
  let total = 0;
  for (const n of nodes) {
    const text = await (await fetch(`${n.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    total += line ? Number(line.split(' ')[1]) : 0;
  }
  return total;
}

const expiredTotal = (nodes: TestNode[], q: string) =>
  metricSum(nodes, `waiting_room_positions_expired_total{queue_id="${q}"}`);
