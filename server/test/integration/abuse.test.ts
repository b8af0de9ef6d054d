/**
 * Abuse protection over REST and WebSocket, on the real Redis (database 0) and embedded: the
 * per-IP limit on waiting positions, the proof-of-work join challenge, and the tarpit for
 * suspected bots — each also read back from /metrics.
 */
import { createHash, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadingZeroBits } from '../../src/abuse/challenge.js';
import { CLOSE } from '../../src/realtime/protocol.js';
import { ADMIN_KEY, call, createQueue, enqueue, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const PROXY_ENV = { TRUSTED_PROXIES: '127.0.0.1' };

/** A fresh address per use: strikes and limits shared through Redis outlive a test run. */
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/** Headers of a browser at `ip` behind the trusted proxy (the test's own address). */
const from = (ip: string, userAgent = BROWSER) => ({ 'x-forwarded-for': ip, 'user-agent': userAgent });

const visitorA = randomIp();
const visitorB = randomIp();
const solver = randomIp();
const otherSolver = randomIp();
const botIp = randomIp();
const humanIp = randomIp();
const flooderIp = randomIp();
const stores = [
  { name: 'redis', redisDb: 0 as number | undefined },
  { name: 'embedded', redisDb: undefined },
];

async function metric(node: TestNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

function solve(challenge: { token: string; difficulty: number }): string {
  for (let i = 0; ; i++) {
    const nonce = i.toString(36);
    if (leadingZeroBits(createHash('sha256').update(challenge.token + nonce).digest()) >= challenge.difficulty) return nonce;
  }
}

const admin = (node: TestNode, path: string, method = 'GET', body?: unknown) =>
  call(`${node.url}/api/v1/admin/queues/${path}`, { method, body, headers: { 'x-admin-key': ADMIN_KEY } });

describe.each(stores)('per-IP concurrent positions ($name)', ({ redisDb }) => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ redisDb, env: { ...PROXY_ENV, MAX_POSITIONS_PER_IP: '2' } });
  });
  afterAll(() => node.close());

  it('refuses a third waiting place of one address over REST, and the count falls on leave, admission and expiry', async () => {
    const q = uniqueQueueId('ipl');
    await createQueue(node, { id: q, status: 'paused', heartbeat_interval_seconds: 1, heartbeat_timeout_seconds: 2 });
    const limitedBefore = await metric(node, 'waiting_room_joins_rejected_total', { queue_id: q, reason: 'ip_positions' });
    const a1 = await enqueue(node, q, {}, from(visitorA));
    const a2 = await enqueue(node, q, {}, from(visitorA));
    expect([a1.status, a2.status]).toEqual([201, 201]);
    const refused = await enqueue(node, q, {}, from(visitorA));
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'positions_per_ip', max: 2 } });
    // Nobody else is affected: another address joins, and the queue holds exactly the three.
    expect((await enqueue(node, q, {}, from(visitorB))).status).toBe(201);
    expect((await admin(node, `${q}/stats`)).body.queue_length).toBe(3);
    expect(await metric(node, 'waiting_room_joins_rejected_total', { queue_id: q, reason: 'ip_positions' })).toBe(limitedBefore + 1);

    // The admin key is trusted with more.
    const operator = await enqueue(node, q, {}, { ...from(visitorA), 'x-admin-key': ADMIN_KEY });
    expect(operator.status).toBe(201);
    await call(`${node.url}/api/v1/queues/${q}/position`, { method: 'DELETE', token: String(operator.body.token) });

    // A resume with the ticket is never refused.
    const resumed = await call(`${node.url}/api/v1/queues/${q}/enqueue`, {
      method: 'POST',
      body: {},
      token: String(a1.body.token),
      headers: from(visitorA),
    });
    expect(resumed.status).toBe(200);

    // Leave: one place free again.
    const left = await call(`${node.url}/api/v1/queues/${q}/position`, { method: 'DELETE', token: String(a1.body.token) });
    expect(left.status).toBe(200);
    const a3 = await enqueue(node, q, {}, from(visitorA));
    expect(a3.status).toBe(201);
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(429);

    // Admission: everyone waiting is admitted, so the address may wait twice again.
    await admin(node, q, 'PATCH', { status: 'active', admission_rate_per_minute: 6000 });
    await waitFor(async () => ((await admin(node, `${q}/stats`)).body.queue_length === 0 ? true : undefined));
    await admin(node, q, 'PATCH', { status: 'paused' });
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(201);
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(201);
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(429);

    // Expiry: places whose heartbeats stop are swept, and stop counting.
    await waitFor(async () => ((await admin(node, `${q}/stats`)).body.queue_length === 0 ? true : undefined), 8_000);
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(201);
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(201);
    expect((await enqueue(node, q, {}, from(visitorA))).status).toBe(429);
  });

  it('refuses a third place of one address over WebSocket with an error, and frees it on leave', async () => {
    const q = uniqueQueueId('ipw');
    await createQueue(node, { id: q, status: 'paused' });
    const open = () => TestSocket.open(wsUrl(node.url, q), { localAddress: '127.0.0.7', headers: { 'user-agent': BROWSER } });
    const [s1, s2, s3] = [await open(), await open(), await open()];
    expect((await s1.join()).type).toBe('joined');
    expect((await s2.join()).type).toBe('joined');
    const refused = await s3.join();
    expect(refused).toMatchObject({ type: 'error', data: { code: 'RATE_LIMITED' } });
    expect(await s3.closed).toBe(CLOSE.RATE_LIMITED);
    const other = await TestSocket.open(wsUrl(node.url, q), { localAddress: '127.0.0.8' });
    expect((await other.join()).type).toBe('joined');

    s1.send({ type: 'leave' });
    await s1.next('expired');
    const s4 = await open();
    expect((await s4.join()).type).toBe('joined');
    for (const s of [s1, s2, s4, other]) s.close();
  });
});

describe.each(stores)('proof-of-work join challenge ($name)', ({ redisDb }) => {
  let node: TestNode;
  let offset = 0;
  beforeAll(async () => {
    node = await startTestNode({
      redisDb,
      clock: () => Date.now() + offset,
      env: { ...PROXY_ENV, JOIN_CHALLENGE: 'pow', JOIN_CHALLENGE_DIFFICULTY: '8', JOIN_CHALLENGE_TTL_SECONDS: '30' },
    });
  });
  afterAll(() => node.close());

  it('asks REST joins for work, accepts a right solution once, and refuses wrong, replayed, foreign and expired ones', async () => {
    const q = uniqueQueueId('pow');
    await createQueue(node, { id: q, status: 'paused' });
    const counts = async () => ({
      issued: await metric(node, 'waiting_room_join_challenges_total', { outcome: 'issued' }),
      solved: await metric(node, 'waiting_room_join_challenges_total', { outcome: 'solved' }),
      failed: await metric(node, 'waiting_room_join_challenges_total', { outcome: 'failed' }),
    });
    const before = await counts();
    const ip = from(solver);

    const first = await enqueue(node, q, {}, ip);
    expect(first.status).toBe(428);
    const error = first.body.error as { code: string; details: { reason: string; challenge: { token: string; difficulty: number } } };
    expect(error).toMatchObject({ code: 'CHALLENGE_REQUIRED', details: { reason: 'required', challenge: { type: 'proof_of_work', difficulty: 8 } } });
    const challenge = error.details.challenge;
    const nonce = solve(challenge);
    expect((await admin(node, `${q}/stats`)).body.queue_length).toBe(0);

    // Wrong work (a nonce whose digest lacks the zero bits) is refused with a fresh challenge.
    let wrong = 0;
    while (leadingZeroBits(createHash('sha256').update(challenge.token + `w${wrong}`).digest()) >= 8) wrong++;
    const bad = await enqueue(node, q, { challenge_solution: { token: challenge.token, nonce: `w${wrong}` } }, ip);
    expect(bad.status).toBe(428);
    expect(bad.body.error).toMatchObject({ details: { reason: 'invalid' } });
    // A forged token (payload altered) is refused.
    const forged = `${challenge.token.slice(0, 10)}A${challenge.token.slice(11)}`;
    expect((await enqueue(node, q, { challenge_solution: { token: forged, nonce } }, ip)).body.error).toMatchObject({ details: { reason: 'invalid' } });
    // Another address cannot use it.
    expect((await enqueue(node, q, { challenge_solution: { token: challenge.token, nonce } }, from(otherSolver))).body.error).toMatchObject({
      details: { reason: 'invalid' },
    });

    const ok = await enqueue(node, q, { challenge_solution: { token: challenge.token, nonce } }, ip);
    expect(ok.status).toBe(201);
    const replay = await enqueue(node, q, { challenge_solution: { token: challenge.token, nonce } }, ip);
    expect(replay.status).toBe(428);
    expect(replay.body.error).toMatchObject({ details: { reason: 'replayed' } });
    // Resume with the ticket: no challenge.
    const resumed = await call(`${node.url}/api/v1/queues/${q}/enqueue`, { method: 'POST', body: {}, token: String(ok.body.token), headers: ip });
    expect(resumed.status).toBe(200);
    expect(resumed.body.position_id).toBe(ok.body.position_id);

    // Expired: solved, but presented after the challenge's lifetime.
    const late = ((await enqueue(node, q, {}, ip)).body.error as typeof error).details.challenge;
    const lateNonce = solve(late);
    offset = 31_000;
    try {
      expect((await enqueue(node, q, { challenge_solution: { token: late.token, nonce: lateNonce } }, ip)).body.error).toMatchObject({
        details: { reason: 'expired' },
      });
    } finally {
      offset = 0;
    }
    expect((await admin(node, `${q}/stats`)).body.queue_length).toBe(1);
    const after = await counts();
    expect(after.solved - before.solved).toBe(1);
    expect(after.failed - before.failed).toBe(5); // wrong, forged, foreign, replayed, expired
    expect(after.issued - before.issued).toBe(7); // the first, one per failure, the late one
  });

  it('sends a socket a challenge message and joins it once answered', async () => {
    const q = uniqueQueueId('pow');
    await createQueue(node, { id: q, status: 'paused' });
    const s = await TestSocket.open(wsUrl(node.url, q), { headers: { 'user-agent': BROWSER } });
    s.send({ type: 'join', data: {} });
    const asked = await s.next('challenge');
    expect(asked.data).toMatchObject({ reason: 'required', challenge: { type: 'proof_of_work', algorithm: 'sha256', difficulty: 8 } });
    const challenge = asked.data.challenge as { token: string; difficulty: number };
    s.send({ type: 'join', data: { challenge_solution: { token: challenge.token, nonce: 'x' } } });
    const again = await s.next('challenge', 10_000, s.frames.indexOf(asked) + 1);
    expect(again.data.reason).toBe('invalid');
    const joined = await s.join({ challenge_solution: { token: challenge.token, nonce: solve(challenge) } });
    expect(joined).toMatchObject({ type: 'joined', data: { position: 1, resumed: false } });
    s.close();
    await s.closed;
    // Resuming with the ticket on a new socket needs no challenge.
    const back = await TestSocket.open(wsUrl(node.url, q));
    expect(await back.join({ token: joined.data.token })).toMatchObject({ type: 'joined', data: { resumed: true } });
    back.close();
  });
});

describe.each(stores)('tarpit for suspected bots ($name)', ({ redisDb }) => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({
      redisDb,
      env: { ...PROXY_ENV, BOT_TARPIT: 'true', MAX_POSITIONS_PER_IP: '1', BOT_MAX_STRIKES: '2' },
    });
  });
  afterAll(() => node.close());

  it('gives scripted clients a place that never moves to admission while real visitors are admitted', async () => {
    const q = uniqueQueueId('tarpit');
    await createQueue(node, { id: q, status: 'paused' });
    const tarpittedBefore = await metric(node, 'waiting_room_tarpitted_joins_total', { queue_id: q });
    const bot = await enqueue(node, q, {}, from(botIp, 'curl/8.4.0'));
    expect(bot.status).toBe(201);
    expect(bot.body).toMatchObject({ status: 'waiting', admitted: false });
    expect(bot.body.position as number).toBeGreaterThan(50);
    // Node's fetch, with the User-Agent it sends by default.
    const headless = await enqueue(node, q, {}, { 'x-forwarded-for': randomIp() });
    expect(headless.status).toBe(201);
    const human = await enqueue(node, q, {}, from(humanIp));
    expect(human.body.position).toBe(1);
    // Bots cost the store nothing and do not count.
    expect((await admin(node, `${q}/stats`)).body).toMatchObject({ queue_length: 1, totals: { enqueued: 1 } });
    expect(await metric(node, 'waiting_room_tarpitted_joins_total', { queue_id: q })).toBe(tarpittedBefore + 2);

    await admin(node, q, 'PATCH', { status: 'active', admission_rate_per_minute: 6000 });
    const admitted = await waitFor(async () => {
      const r = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(human.body.token) });
      return r.body.status === 'admitted' ? r : undefined;
    });
    expect(admitted.body.session_token).toBeTruthy();
    await new Promise((r) => setTimeout(r, 500)); // several admission ticks with room to spare
    for (const suspect of [bot, headless]) {
      const ticket = suspect.body.token;
      const status = await call(`${node.url}/api/v1/queues/${q}/status`, { token: String(ticket) });
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({ status: 'waiting', admitted: false });
      const beat = await call(`${node.url}/api/v1/queues/${q}/heartbeat`, { method: 'POST', body: {}, token: String(ticket) });
      expect(beat.body).toMatchObject({ status: 'waiting', admitted: false });
      // Rejoining with it (REST or socket) keeps it in the tarpit.
      const rejoin = await call(`${node.url}/api/v1/queues/${q}/enqueue`, { method: 'POST', body: {}, token: String(ticket), headers: from(humanIp) });
      expect(rejoin.body).toMatchObject({ status: 'waiting', position_id: suspect.body.position_id });
      const s = await TestSocket.open(wsUrl(node.url, q), { headers: { 'user-agent': BROWSER } });
      expect(await s.join({ token: ticket })).toMatchObject({ type: 'joined', data: { status: 'waiting' } });
      await new Promise((r) => setTimeout(r, 300));
      expect(s.of('admitted')).toEqual([]);
      s.close();
    }
    expect((await admin(node, `${q}/stats`)).body).toMatchObject({ queue_length: 0, totals: { admitted: 1, enqueued: 1 } });
    const bye = await call(`${node.url}/api/v1/queues/${q}/position`, { method: 'DELETE', token: String(bot.body.token) });
    expect(bye.body).toMatchObject({ status: 'cancelled' });
  });

  it('tarpits a scripted socket and an address that keeps hitting the limit', async () => {
    const q = uniqueQueueId('tarpit');
    await createQueue(node, { id: q, status: 'paused' });
    const s = await TestSocket.open(wsUrl(node.url, q), { headers: { 'user-agent': 'python-requests/2.31' } });
    const joined = await s.join();
    expect(joined).toMatchObject({ type: 'joined', data: { status: 'waiting' } });
    expect((await admin(node, `${q}/stats`)).body.queue_length).toBe(0);
    s.send({ type: 'leave' });
    expect((await s.next('expired')).data).toEqual({ reason: 'left' });
    expect(await s.closed).toBe(CLOSE.NORMAL);

    // A browser-looking address: its first place is real, the limit refuses the next two (two
    // strikes), and from then on its joins go to the tarpit instead of getting an error.
    const ip = from(flooderIp);
    expect((await enqueue(node, q, {}, ip)).status).toBe(201);
    expect((await enqueue(node, q, {}, ip)).status).toBe(429);
    expect((await enqueue(node, q, {}, ip)).status).toBe(429);
    const flooding = await enqueue(node, q, {}, ip);
    expect(flooding.status).toBe(201);
    expect((await admin(node, `${q}/stats`)).body.queue_length).toBe(1);
    expect(await metric(node, 'waiting_room_tarpitted_joins_total', { queue_id: q, reason: 'repeated_failures' })).toBe(1);
  });
});
