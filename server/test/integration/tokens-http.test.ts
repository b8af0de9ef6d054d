import { createRemoteJWKSet, jwtVerify, SignJWT, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createQueue, enqueue, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** DESIGN §6 invariant 6 over HTTP, on two nodes sharing Redis, and the origin's view through JWKS. */
describe('tokens over HTTP', () => {
  let a: TestNode;
  let b: TestNode;
  let queue: string;
  let otherQueue: string;
  let ticket: string;
  let sessionId: string;
  let sessionToken: string;
  let otherQueueTicket: string;

  beforeAll(async () => {
    // Node b's clock is 20 minutes ahead: tickets (15 min) signed by a are expired in b's eyes.
    [a, b] = await Promise.all([startTestNode({ redisDb: 2 }), startTestNode({ redisDb: 2 })]);
    queue = uniqueQueueId('tok');
    otherQueue = uniqueQueueId('tok');
    await createQueue(a, { id: queue, admission_rate_per_minute: 600, target_url: 'https://shop.example/' });
    await createQueue(a, { id: otherQueue, status: 'paused' });
    const joined = await enqueue(a, queue);
    ticket = String(joined.body.token);
    otherQueueTicket = String((await enqueue(a, otherQueue)).body.token);
    const admitted = await waitFor(async () => {
      const res = await call(`${b.url}/api/v1/queues/${queue}/status`, { token: ticket });
      return res.body.admitted === true ? res.body : undefined;
    });
    sessionId = String(admitted.session_id);
    sessionToken = String(admitted.session_token);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('an admission token verifies with createRemoteJWKSet against /.well-known/jwks.json', async () => {
    const jwks = createRemoteJWKSet(new URL(`${a.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(sessionToken, jwks, {
      issuer: 'waiting-room',
      audience: 'waiting-room:origin',
      algorithms: ['RS256'],
      typ: 'wr-session+jwt',
    });
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({ sub: sessionId, qid: queue });
    expect(typeof payload.exp).toBe('number');
  });

  it('a ticket from one node is honoured by another (shared secret)', async () => {
    const res = await call(`${b.url}/api/v1/queues/${queue}/status`, { token: ticket });
    expect(res.status).toBe(200);
  });

  it('status hands back a ticket with ample life, and a fresh one when it runs low', async () => {
    const joined = await enqueue(a, otherQueue);
    const ticketNow = String(joined.body.token);
    const same = await call(`${a.url}/api/v1/queues/${otherQueue}/status`, { token: ticketNow });
    expect(same.body.token).toBe(ticketNow);
    // Ten minutes on, the 15-minute ticket has less than half its life left.
    const later = await startTestNode({ redisDb: 2, clock: () => Date.now() + 10 * 60_000 });
    try {
      const refreshed = await call(`${later.url}/api/v1/queues/${otherQueue}/status`, { token: ticketNow });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.token).not.toBe(ticketNow);
      expect(Date.parse(String(refreshed.body.token_expires_at))).toBeGreaterThan(Date.parse(String(joined.body.token_expires_at)));
    } finally {
      await later.close();
    }
  });

  describe('each bad token gets 401 UNAUTHORIZED', () => {
    const sessionUrl = () => `${a.url}/api/v1/sessions/${sessionId}`;
    const expect401 = async (url: string, token: string) => {
      const res = await call(url, { token });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    };

    it('the genuine session token works (the control)', async () => {
      expect((await call(sessionUrl(), { token: sessionToken })).status).toBe(200);
    });

    it('tampered', async () => {
      const [h, p, s] = sessionToken.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      payload.exp = Number(payload.exp) + 3_600;
      await expect401(sessionUrl(), `${h}.${b64(payload)}.${s}`);
    });

    it('alg: none', async () => {
      const [, p] = sessionToken.split('.');
      const header = { ...decodeProtectedHeader(sessionToken), alg: 'none' };
      await expect401(sessionUrl(), `${b64(header)}.${p}.`);
    });

    it('HS256 signed with the public key', async () => {
      const jwks = (await call(`${a.url}/.well-known/jwks.json`)).body as { keys: { kid: string }[] };
      const kid = jwks.keys[0]!.kid;
      const [, p] = sessionToken.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'wr-session+jwt' })
        .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
      await expect401(sessionUrl(), forged);
    });

    it('expired (a node whose clock is past the ticket expiry)', async () => {
      const late = await startTestNode({ redisDb: 2, clock: () => Date.now() + 20 * 60_000 });
      try {
        await expect401(`${late.url}/api/v1/queues/${otherQueue}/status`, otherQueueTicket);
      } finally {
        await late.close();
      }
    });

    it('a ticket used as a session token, and a session token used as a ticket', async () => {
      await expect401(sessionUrl(), ticket);
      await expect401(`${a.url}/api/v1/queues/${queue}/status`, sessionToken);
    });

    it("another queue's token", async () => {
      await expect401(`${a.url}/api/v1/queues/${queue}/status`, otherQueueTicket);
      await expect401(`${a.url}/api/v1/queues/${otherQueue}/status`, ticket);
    });
  });
});
