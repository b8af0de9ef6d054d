import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, call, createQueue, enqueue, sleep, startTestNode, uniqueQueueId, type TestNode } from '../support/nodes.js';
import { admitVisitor, untilAdmitted } from '../support/sessions.js';

/**
 * Session control (issue 6): early release by the holder, per-queue renewal on/off, operator
 * revoke, and the origin's /verify — two nodes on one Redis (database 13), so "refused at once"
 * is proved across nodes, not inside one node's memory.
 */
const DB = 13;
const PUBLIC_URL = 'https://queue.example.test';
const admin = { 'x-admin-key': ADMIN_KEY };

describe('session control', () => {
  let a: TestNode;
  let b: TestNode;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startTestNode({ redisDb: DB, env: { PUBLIC_URL } }),
      startTestNode({ redisDb: DB }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  const session = (node: TestNode, id: string, token: string, method = 'GET') =>
    call(`${node.url}/api/v1/sessions/${id}`, { method, token });
  const activity = (node: TestNode, id: string, token: string) =>
    call(`${node.url}/api/v1/sessions/${id}/activity`, { method: 'POST', token });
  const verify = (node: TestNode, queueId: string, headers: Record<string, string> = {}, query = '') =>
    call(`${node.url}/api/v1/queues/${queueId}/verify${query}`, { headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  describe('session_renewal', () => {
    it('is on by default, settable per queue, and must be a boolean', async () => {
      const q = uniqueQueueId('ren');
      expect((await createQueue(a, { id: q })).body.session_renewal).toBe(true);
      const bad = await call(`${a.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { session_renewal: 'no' }, headers: admin });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { code: 'INVALID_REQUEST', details: { field: 'session_renewal' } } });
      const off = await call(`${a.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { session_renewal: false }, headers: admin });
      expect(off.body.session_renewal).toBe(false);
      expect((await call(`${b.url}/api/v1/admin/queues/${q}`, { headers: admin })).body.session_renewal).toBe(false);
    });

    it('on: activity extends the session and hands over a token with the later expiry', async () => {
      const q = uniqueQueueId('ren');
      await createQueue(a, { id: q, admission_rate_per_minute: 600, session_duration_seconds: 600 });
      const v = await admitVisitor(a, q);
      await sleep(1_100); // the token's exp has whole seconds
      const renewed = await activity(b, v.sessionId, v.sessionToken);
      expect(renewed.status).toBe(200);
      expect(renewed.body).toMatchObject({ session_id: v.sessionId, renewed: true });
      expect(Date.parse(String(renewed.body.expires_at))).toBeGreaterThan(Date.parse(v.sessionExpiresAt) + 1_000);
      const fresh = String(renewed.body.session_token);
      expect(fresh).not.toBe(v.sessionToken);
      const seen = await verify(a, q, bearer(fresh));
      expect(seen.status).toBe(200);
      expect(seen.headers.get('x-waiting-room-expires')).toBe(renewed.body.expires_at);
    });

    it('off: activity does not extend the session, says renewed:false, and the session ends on time', async () => {
      const q = uniqueQueueId('ren');
      await createQueue(a, { id: q, admission_rate_per_minute: 600, session_duration_seconds: 3, session_renewal: false });
      const v = await admitVisitor(a, q);
      const before = await session(a, v.sessionId, v.sessionToken);
      await sleep(1_000);
      const touched = await activity(b, v.sessionId, v.sessionToken);
      expect(touched.status).toBe(200);
      expect(touched.body).toMatchObject({ renewed: false, expires_at: before.body.expires_at });
      expect(touched.body.session_token).toBeUndefined();
      await sleep(Date.parse(String(before.body.expires_at)) - Date.now() + 300);
      expect((await session(a, v.sessionId, v.sessionToken)).status).toBe(410);
      expect((await activity(b, v.sessionId, v.sessionToken)).body).toMatchObject({ error: { code: 'SESSION_EXPIRED' } });
    });

    it('switched on again, the next activity renews (read from the store, no node cache)', async () => {
      const q = uniqueQueueId('ren');
      await createQueue(a, { id: q, admission_rate_per_minute: 600, session_renewal: false });
      const v = await admitVisitor(a, q);
      expect((await activity(b, v.sessionId, v.sessionToken)).body.renewed).toBe(false);
      await call(`${a.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { session_renewal: true }, headers: admin });
      expect((await activity(b, v.sessionId, v.sessionToken)).body.renewed).toBe(true);
    });
  });

  describe('early release', () => {
    it('the holder ends the session at once on every node, and the slot goes to the next visitor', async () => {
      const q = uniqueQueueId('rel');
      await createQueue(a, { id: q, admission_rate_per_minute: 600, max_active_users: 1 });
      const first = await admitVisitor(a, q);
      const next = await enqueue(a, q);
      await sleep(400);
      const waiting = await call(`${b.url}/api/v1/queues/${q}/status`, { token: String(next.body.token) });
      expect(waiting.body).toMatchObject({ status: 'waiting', admitted: false });

      // Not with a ticket, not for another session id, not without a token.
      expect((await session(b, first.sessionId, String(next.body.token), 'DELETE')).status).toBe(401);
      expect((await session(b, `${q}.zzzz`, first.sessionToken, 'DELETE')).status).toBe(401);
      expect((await call(`${b.url}/api/v1/sessions/${first.sessionId}`, { method: 'DELETE' })).status).toBe(401);

      const released = await session(b, first.sessionId, first.sessionToken, 'DELETE');
      expect(released.status).toBe(200);
      expect(released.body).toEqual({ session_id: first.sessionId, status: 'released' });

      // Refused at once, on the other node too.
      expect((await verify(a, q, bearer(first.sessionToken))).status).toBe(401);
      expect((await session(a, first.sessionId, first.sessionToken)).body).toMatchObject({ error: { code: 'SESSION_EXPIRED' } });
      expect((await activity(a, first.sessionId, first.sessionToken)).status).toBe(410);
      expect((await session(a, first.sessionId, first.sessionToken, 'DELETE')).status).toBe(410);
      expect((await call(`${a.url}/api/v1/admin/sessions/${first.sessionId}`, { method: 'DELETE', headers: admin })).status).toBe(404);

      const admitted = await untilAdmitted(b, q, String(next.body.token));
      expect((await verify(a, q, bearer(admitted.sessionToken))).status).toBe(200);
      const stats = await call(`${a.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
      expect(stats.body).toMatchObject({ active_sessions: 1, totals: { admitted: 2, sessions_ended: 1 } });
    });
  });

  describe('operator revoke', () => {
    it('is refused at once on the other node: verify, read, activity and release', async () => {
      const q = uniqueQueueId('rev');
      await createQueue(a, { id: q, admission_rate_per_minute: 600 });
      const v = await admitVisitor(a, q);
      expect((await verify(b, q, bearer(v.sessionToken))).status).toBe(200);
      const revoked = await call(`${a.url}/api/v1/admin/sessions/${v.sessionId}`, { method: 'DELETE', headers: admin });
      expect(revoked.body).toEqual({ session_id: v.sessionId, status: 'terminated' });
      // No wait: the very next request on node b sees it.
      const refused = await verify(b, q, bearer(v.sessionToken));
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: { code: 'UNAUTHORIZED', details: { waiting_room_url: `/queues/${q}` } } });
      expect((await session(b, v.sessionId, v.sessionToken)).status).toBe(410);
      expect((await activity(b, v.sessionId, v.sessionToken)).status).toBe(410);
      expect((await session(b, v.sessionId, v.sessionToken, 'DELETE')).status).toBe(410);
    });
  });

  describe('GET /queues/{id}/verify', () => {
    let q: string;
    let other: string;
    let v: Awaited<ReturnType<typeof admitVisitor>>;
    let otherToken: string;
    let waitingTicket: string;

    beforeAll(async () => {
      q = uniqueQueueId('ver');
      other = uniqueQueueId('ver');
      await createQueue(a, { id: q, admission_rate_per_minute: 600, max_active_users: 1 });
      await createQueue(a, { id: other, admission_rate_per_minute: 600 });
      [v, { sessionToken: otherToken }] = await Promise.all([admitVisitor(a, q), admitVisitor(a, other)]);
      waitingTicket = String((await enqueue(a, q)).body.token);
    });

    it('a live session token of the queue: 200 with the session, queue and expiry', async () => {
      const res = await verify(a, q, bearer(v.sessionToken));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-waiting-room-session')).toBe(v.sessionId);
      expect(res.headers.get('x-waiting-room-queue')).toBe(q);
      expect(res.headers.get('x-waiting-room-expires')).toBe(v.sessionExpiresAt);
      expect(res.headers.get('x-waiting-room-cookie')).toBeNull();
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toEqual({ session_id: v.sessionId, queue_id: q, expires_at: v.sessionExpiresAt });
    });

    it('reads the SDK cookie, ignoring other cookies and another Authorization scheme', async () => {
      const res = await verify(b, q, { cookie: `theme=dark; wr_session=${v.sessionToken}; x=1`, authorization: 'Basic dXNlcjpwYXNz' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-waiting-room-session')).toBe(v.sessionId);
    });

    it('takes ?wr_token= from the original URL and hands it back as a cookie', async () => {
      for (const header of ['x-original-uri', 'x-forwarded-uri']) {
        const res = await verify(a, q, { [header]: `/checkout?step=1&wr_token=${v.sessionToken}`, 'x-forwarded-proto': 'https' });
        expect(res.status).toBe(200);
        const cookie = res.headers.get('x-waiting-room-cookie') ?? '';
        expect(cookie.startsWith(`wr_session=${v.sessionToken}; Path=/; Max-Age=`)).toBe(true);
        expect(cookie).toContain('HttpOnly');
        expect(cookie).toContain('Secure');
      }
    });

    it('no token: 401 with the waiting page URL (absolute with PUBLIC_URL, a path without)', async () => {
      const res = await verify(a, q);
      expect(res.status).toBe(401);
      expect(res.headers.get('x-waiting-room-url')).toBe(`${PUBLIC_URL}/queues/${q}`);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(res.body).toMatchObject({ error: { code: 'UNAUTHORIZED', details: { waiting_room_url: `${PUBLIC_URL}/queues/${q}` } } });
      expect((await verify(b, q)).headers.get('x-waiting-room-url')).toBe(`/queues/${q}`);
    });

    it('?redirect=true answers 302 to the waiting page instead (Traefik forwardAuth)', async () => {
      const res = await fetch(`${a.url}/api/v1/queues/${q}/verify?redirect=true`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`${PUBLIC_URL}/queues/${q}`);
      const ok = await fetch(`${a.url}/api/v1/queues/${q}/verify?redirect=true`, { redirect: 'manual', headers: bearer(v.sessionToken) });
      expect(ok.status).toBe(200);
    });

    it.each([
      ['a waiting ticket', () => bearer(waitingTicket)],
      ['a session token of another queue', () => bearer(otherToken)],
      ['an altered session token', () => bearer(`${v.sessionToken.slice(0, -4)}AAAA`)],
      ['garbage in the cookie', () => ({ cookie: 'wr_session=not-a-jwt' })],
      ['a token in another cookie name', () => ({ cookie: `session=${v.sessionToken}` })],
    ])('refuses %s with 401', async (_name, headers) => {
      const res = await verify(a, q, headers());
      expect(res.status).toBe(401);
      expect(res.headers.get('x-waiting-room-url')).toBe(`${PUBLIC_URL}/queues/${q}`);
      expect(res.headers.get('x-waiting-room-session')).toBeNull();
    });

    it('rejects a malformed queue id with 400', async () => {
      expect((await verify(a, 'Bad.Queue', bearer(v.sessionToken))).status).toBe(400);
    });
  });

  it('counts only refused tokens against the per-IP limit: a valid session is never throttled', async () => {
    const limited = await startTestNode({
      redisDb: DB,
      env: { STATUS_RATE_LIMIT_PER_MINUTE: '3', IP_SALT: `salt-${randomUUID()}` },
    });
    try {
      const q = uniqueQueueId('lim');
      await createQueue(a, { id: q, admission_rate_per_minute: 600 });
      const v = await admitVisitor(a, q); // status polls on node a: the limited node only verifies
      for (let i = 0; i < 3; i++) expect((await verify(limited, q, bearer('x.y.z'))).status).toBe(401);
      const throttled = await verify(limited, q, bearer('x.y.z'));
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBeTruthy();
      for (let i = 0; i < 5; i++) expect((await verify(limited, q, bearer(v.sessionToken))).status).toBe(200);
      expect((await verify(limited, q)).status).toBe(401); // no token: no store call, not counted
    } finally {
      await limited.close();
    }
  });
});
