import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDefaultBotClassifier, DEFAULT_BOT_USER_AGENT_PATTERN } from '../../src/abuse/bot-classifier.js';
import { createProofOfWorkChallenge, leadingZeroBits } from '../../src/abuse/challenge.js';
import { newTarpitPlace, tarpitPosition } from '../../src/abuse/tarpit.js';
import { defaultQueueSettings } from '../../src/domain/queue.js';
import { createMemoryQueueStore } from '../../src/store/memory.js';
import { generateEphemeralSigningKeys } from '../../src/tokens/keys.js';
import { createTokenService, TOKEN_AUDIENCES, TOKEN_TYPES } from '../../src/tokens/tokens.js';

const scope = { queueId: 'shop', ipKey: 'hashed-ip-1' };

function solve(token: string, difficulty: number): string {
  for (let i = 0; ; i++) {
    if (leadingZeroBits(createHash('sha256').update(token + String(i)).digest()) >= difficulty) return String(i);
  }
}

describe('proof-of-work challenge', () => {
  it('counts leading zero bits', () => {
    expect(leadingZeroBits(Uint8Array.from([0x80]))).toBe(0);
    expect(leadingZeroBits(Uint8Array.from([0x01, 0xff]))).toBe(7);
    expect(leadingZeroBits(Uint8Array.from([0, 0x10]))).toBe(11);
    expect(leadingZeroBits(Uint8Array.from([0, 0]))).toBe(16);
  });

  it('accepts the right work for its queue and address until it expires; any node with the secret verifies it', () => {
    let now = 1_000_000;
    const secret = randomBytes(32);
    const pow = createProofOfWorkChallenge({ secret, difficulty: 6, ttlSeconds: 60, clock: () => now });
    const challenge = pow.issue(scope);
    expect(challenge).toMatchObject({ type: 'proof_of_work', algorithm: 'sha256', difficulty: 6 });
    const nonce = solve(challenge.token, 6);
    const otherNode = createProofOfWorkChallenge({ secret, difficulty: 6, ttlSeconds: 60, clock: () => now });
    expect(otherNode.verify({ token: challenge.token, nonce }, scope)).toMatchObject({ ok: true, expiresAt: 1_060_000 });
    expect(pow.verify({ token: challenge.token, nonce }, { ...scope, queueId: 'other' })).toEqual({ ok: false, reason: 'invalid' });
    expect(pow.verify({ token: challenge.token, nonce }, { ...scope, ipKey: 'someone-else' })).toEqual({ ok: false, reason: 'invalid' });
    const stranger = createProofOfWorkChallenge({ secret: randomBytes(32), difficulty: 6, ttlSeconds: 60, clock: () => now });
    expect(stranger.verify({ token: challenge.token, nonce }, scope)).toEqual({ ok: false, reason: 'invalid' });
    // A raised difficulty is what counts, not the one in the token.
    const harder = createProofOfWorkChallenge({ secret, difficulty: 24, ttlSeconds: 60, clock: () => now });
    expect(harder.verify({ token: challenge.token, nonce }, scope).ok).toBe(false);
    now += 60_000;
    expect(pow.verify({ token: challenge.token, nonce }, scope)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses malformed tokens and nonces', () => {
    const pow = createProofOfWorkChallenge({ secret: randomBytes(32), difficulty: 1, ttlSeconds: 60 });
    const { token } = pow.issue(scope);
    for (const bad of ['', 'x', `${token}.x`, token.replace('.', '')]) {
      expect(pow.verify({ token: bad, nonce: '1' }, scope)).toEqual({ ok: false, reason: 'invalid' });
    }
    expect(pow.verify({ token, nonce: 'n'.repeat(65) }, scope)).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('bot classifier', () => {
  const classifier = createDefaultBotClassifier({ userAgentPattern: new RegExp(DEFAULT_BOT_USER_AGENT_PATTERN, 'i'), maxStrikes: 2 });
  const browser = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1';

  it('suspects missing and scripted User-Agents, not browsers', async () => {
    expect(await classifier.classify({ ipKey: 'a', userAgent: undefined })).toBe('no_user_agent');
    expect(await classifier.classify({ ipKey: 'a', userAgent: '  ' })).toBe('no_user_agent');
    for (const agent of ['curl/8.4.0', 'python-requests/2.31', 'Go-http-client/1.1', 'Mozilla/5.0 HeadlessChrome/120.0']) {
      expect(await classifier.classify({ ipKey: 'a', userAgent: agent })).toBe('scripted_user_agent');
    }
    expect(await classifier.classify({ ipKey: 'a', userAgent: browser })).toBeNull();
  });

  it('suspects an address after maxStrikes strikes', async () => {
    const client = { ipKey: `ip-${Math.random()}`, userAgent: browser };
    await classifier.strike(client);
    expect(await classifier.classify(client)).toBeNull();
    await classifier.strike(client);
    expect(await classifier.classify(client)).toBe('repeated_failures');
    expect(await classifier.classify({ ...client, ipKey: 'another' })).toBeNull();
  });
});

describe('tarpit', () => {
  it('moves a made-up place down towards a floor it never passes', () => {
    const claims = { start: 1000, since: 0 };
    const seen = [0, 60_000, 600_000, 3_600_000, 86_400_000].map((t) => tarpitPosition(claims, t));
    expect(seen[0]).toBe(1000);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeLessThanOrEqual(seen[i - 1] as number);
    expect(seen.at(-1)).toBe(200);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(200);
  });

  it('uses a position id no store accepts, so its ticket can never reach a real place', async () => {
    const { positionId } = newTarpitPlace(Date.now());
    const store = createMemoryQueueStore();
    await store.createQueue({ id: 'shop', ...defaultQueueSettings('shop', 'https://shop.example/'), created_at: '', updated_at: '' });
    await expect(store.enqueue('shop', positionId, 0)).rejects.toThrow(RangeError);
  });

  it('keeps the tarpit claim through the ticket; a forged claim is refused', async () => {
    const secret = randomBytes(32);
    const tokens = createTokenService({ ticketSecret: secret, signingKeys: await generateEphemeralSigningKeys('ES256'), issuer: 'wr', ticketTtlSeconds: 60 });
    const { token } = await tokens.signTicket('shop', '_abc', { start: 900, since: 123 });
    expect(await tokens.verifyTicket(token, 'shop')).toMatchObject({ positionId: '_abc', tarpit: { start: 900, since: 123 } });
    const plain = await tokens.signTicket('shop', 'abc');
    expect((await tokens.verifyTicket(plain.token, 'shop')).tarpit).toBeUndefined();
    const forged = await new SignJWT({ qid: 'shop', tp: ['x', 1] })
      .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPES.ticket })
      .setIssuer('wr')
      .setAudience(TOKEN_AUDIENCES.ticket)
      .setSubject('abc')
      .setExpirationTime('1m')
      .sign(secret);
    await expect(tokens.verifyTicket(forged, 'shop')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
