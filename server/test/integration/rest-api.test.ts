import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, call, createQueue, enqueue, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';

/** The seed's REST API end to end on an embedded node (memory store, in-process bus). */
describe('REST API (embedded)', () => {
  let node: TestNode;
  const admin = { 'x-admin-key': ADMIN_KEY };
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.close();
  });

  it('reports health with its components', async () => {
    for (const path of ['/health', '/api/v1/health']) {
      const res = await call(`${node.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'healthy', components: { dragonflydb: 'embedded', nats: 'embedded' } });
      expect(typeof res.body.uptime_seconds).toBe('number');
      expect(typeof res.body.version).toBe('string');
    }
  });

  it('enqueues (201), returns the same place for a held ticket (200), and reports status', async () => {
    const q = uniqueQueueId();
    await createQueue(node, { id: q, status: 'paused' });
    const first = await enqueue(node, q);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ queue_id: q, position: 1, queue_length: 1, status: 'waiting', admitted: false });
    for (const k of ['position_id', 'token', 'estimated_wait_seconds', 'heartbeat_interval_seconds', 'heartbeat_timeout_seconds', 'expires_at']) {
      expect(first.body).toHaveProperty(k);
    }
    const second = await enqueue(node, q);
    expect(second.body.position).toBe(2);

    const again = await enqueue(node, q, {}, { authorization: `Bearer ${String(first.body.token)}` });
    expect(again.status).toBe(200);
    expect(again.body.position_id).toBe(first.body.position_id);
    expect(again.body.position).toBe(1);

    const status = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(first.body.token) });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ position: 1, queue_length: 2, admitted: false, status: 'waiting' });

    const hb = await call(`${node.url}/api/v1/queues/${q}/heartbeat`, {
      method: 'POST',
      token: String(first.body.token),
      body: { timestamp: Date.now() },
    });
    expect(hb.status).toBe(200);
    expect(hb.body).toMatchObject({ position: 1, next_heartbeat_seconds: 30 });
  });

  it('admits at the configured pace and then serves the session', async () => {
    const q = uniqueQueueId();
    await createQueue(node, { id: q, admission_rate_per_minute: 600, target_url: 'https://shop.example/checkout' });
    const joined = await enqueue(node, q);
    const token = String(joined.body.token);
    const admitted = await waitFor(async () => {
      const res = await call(`${node.url}/api/v1/queues/${q}/status`, { token });
      return res.body.admitted === true ? res : undefined;
    });
    expect(admitted.body).toMatchObject({
      status: 'admitted',
      admitted: true,
      redirect_url: 'https://shop.example/checkout',
      position_id: joined.body.position_id,
    });
    const sessionId = String(admitted.body.session_id);
    const sessionToken = String(admitted.body.session_token);
    expect(sessionId).toBe(`${q}.${String(joined.body.position_id)}`);

    const session = await call(`${node.url}/api/v1/sessions/${sessionId}`, { token: sessionToken });
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ session_id: sessionId, queue_id: q, status: 'active' });

    const activity = await call(`${node.url}/api/v1/sessions/${sessionId}/activity`, { method: 'POST', token: sessionToken });
    expect(activity.status).toBe(200);
    expect(typeof activity.body.session_token).toBe('string');

    const revoked = await call(`${node.url}/api/v1/admin/sessions/${sessionId}`, { method: 'DELETE', headers: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'terminated' });
    const after = await call(`${node.url}/api/v1/sessions/${sessionId}`, { token: sessionToken });
    expect(after.status).toBe(410);
    expect(after.body).toMatchObject({ error: { code: 'SESSION_EXPIRED' } });
    const again = await call(`${node.url}/api/v1/admin/sessions/${sessionId}`, { method: 'DELETE', headers: admin });
    expect(again.status).toBe(404);
  });

  it('leaves a position (DELETE) and then reports it gone', async () => {
    const q = uniqueQueueId();
    await createQueue(node, { id: q, status: 'paused' });
    const a = await enqueue(node, q);
    const b = await enqueue(node, q);
    const left = await call(`${node.url}/api/v1/queues/${q}/position`, { method: 'DELETE', token: String(a.body.token) });
    expect(left.status).toBe(200);
    expect(left.body).toMatchObject({ status: 'cancelled', position_id: a.body.position_id });
    const gone = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(a.body.token) });
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ error: { code: 'POSITION_EXPIRED' } });
    const bStatus = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(b.body.token) });
    expect(bStatus.body.position).toBe(1);
  });

  it('turns visitors away when the queue is full or in maintenance, and holds admissions while paused', async () => {
    const q = uniqueQueueId();
    await createQueue(node, { id: q, max_queue_size: 2, status: 'paused' });
    expect((await enqueue(node, q)).status).toBe(201);
    expect((await enqueue(node, q)).status).toBe(201);
    const full = await enqueue(node, q);
    expect(full.status).toBe(503);
    expect(full.body).toMatchObject({ error: { code: 'QUEUE_FULL' } });
    expect(typeof full.body.request_id).toBe('string');

    await new Promise((r) => setTimeout(r, 300));
    const stats = await call(`${node.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(stats.body).toMatchObject({ queue_length: 2, active_sessions: 0 });

    const patched = await call(`${node.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { status: 'maintenance' }, headers: admin });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'maintenance' });
    const maint = await enqueue(node, q);
    expect(maint.status).toBe(503);
    expect(maint.body).toMatchObject({ error: { code: 'MAINTENANCE_MODE' } });
  });

  it('requires proof for priority above 0', async () => {
    const q = uniqueQueueId();
    await createQueue(node, { id: q, status: 'paused' });
    const plain = await enqueue(node, q);
    const jump = await enqueue(node, q, { priority: 2 });
    expect(jump.status).toBe(403);
    expect(jump.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const vip = await enqueue(node, q, { priority: 2 }, admin);
    expect(vip.status).toBe(201);
    expect(vip.body.position).toBe(1);

    const grant = await call(`${node.url}/api/v1/admin/queues/${q}/grants`, { method: 'POST', body: { lane: 1 }, headers: admin });
    expect(grant.status).toBe(201);
    const granted = await enqueue(node, q, { priority_grant: grant.body.priority_grant });
    expect(granted.status).toBe(201);
    expect(granted.body.position).toBe(2);
    const overreach = await enqueue(node, q, { priority: 3, priority_grant: grant.body.priority_grant });
    expect(overreach.status).toBe(403);
    const plainNow = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(plain.body.token) });
    expect(plainNow.body.position).toBe(3);
  });

  it('guards the admin API with the key', async () => {
    const none = await call(`${node.url}/api/v1/admin/queues`);
    expect(none.status).toBe(401);
    const wrong = await call(`${node.url}/api/v1/admin/queues`, { headers: { 'x-admin-key': 'wrong-key-wrong-key' } });
    expect(wrong.status).toBe(401);
    const q = uniqueQueueId();
    await createQueue(node, { id: q, admission_rate_per_minute: 120 });
    const dup = await call(`${node.url}/api/v1/admin/queues`, { method: 'POST', body: { id: q }, headers: admin });
    expect(dup.status).toBe(409);
    const got = await call(`${node.url}/api/v1/admin/queues/${q}`, { headers: admin });
    expect(got.body).toMatchObject({ id: q, admission_rate_per_minute: 120, max_active_users: 50_000, session_duration_seconds: 600 });
    const missing = await call(`${node.url}/api/v1/admin/queues/${uniqueQueueId()}`, { headers: admin });
    expect(missing.status).toBe(404);
    const badPatch = await call(`${node.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { max_active_users: -1 }, headers: admin });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body).toMatchObject({ error: { code: 'INVALID_REQUEST', details: { field: 'max_active_users' } } });
  });

  it('serves metrics with the seed names', async () => {
    const res = await fetch(`${node.url}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    for (const name of [
      'waiting_room_queue_length',
      'waiting_room_active_sessions',
      'waiting_room_heartbeats_received_total',
      'waiting_room_positions_expired_total',
      'waiting_room_cleanup_duration_seconds',
      'waiting_room_admissions_total',
      'waiting_room_http_request_duration_seconds',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('answers unknown routes and wrong methods in the error format', async () => {
    const missing = await call(`${node.url}/api/v1/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const wrong = await call(`${node.url}/api/v1/queues/abc/enqueue`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});

describe('per-IP limits', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ env: { ENQUEUE_RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await node.close();
  });

  it('sends X-RateLimit-* and refuses past the limit with 429', async () => {
    const q = uniqueQueueId();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await enqueue(node, q);
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get('x-ratelimit-limit')).toBe('3');
        expect(last.headers.get('x-ratelimit-remaining')).toBe('2');
      }
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(last?.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
