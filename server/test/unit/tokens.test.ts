import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import {
  generateEphemeralSigningKeys,
  loadSigningKeys,
  type SigningAlgorithm,
  type SigningKeySet,
} from '../../src/tokens/keys.js';
import { createTokenService, type TokenService } from '../../src/tokens/tokens.js';

const ISSUER = 'https://wr.test';
const QUEUE = 'concert';
const OTHER_QUEUE = 'other-queue';
const TTL_SECONDS = 300;
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const ALGS: readonly SigningAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

let dir = '';
const secret = randomBytes(32);
const files = {
  rsaOld: '',
  rsaNewPkcs1: '',
  ec: '',
  ed: '',
  rsa1024: '',
  ecP384: '',
  garbage: '',
};
const publicKeys: Partial<Record<string, KeyObject>> = {};
const sets: Partial<Record<SigningAlgorithm, SigningKeySet>> = {};

function keySet(alg: SigningAlgorithm): SigningKeySet {
  const set = sets[alg];
  if (!set) throw new Error(`no key set for ${alg}`);
  return set;
}

function publicKeyOf(alg: SigningAlgorithm): KeyObject {
  const key = publicKeys[{ RS256: 'rsaNew', ES256: 'ec', EdDSA: 'ed' }[alg]];
  if (!key) throw new Error(`no public key for ${alg}`);
  return key;
}

function service(signingKeys: SigningKeySet, clock: () => number = () => T0): TokenService {
  return createTokenService({ ticketSecret: secret, signingKeys, issuer: ISSUER, ticketTtlSeconds: TTL_SECONDS, clock });
}

async function expectUnauthorized(promise: Promise<unknown>, message?: string | RegExp): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'the token was accepted').toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('UNAUTHORIZED');
  if (message !== undefined) expect((err as AppError).message).toMatch(message);
}

/** Changes one character in the middle of the payload segment (never the last: padding bits). */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) throw new Error('not a JWS');
  const i = Math.floor(payload.length / 2);
  const replacement = payload[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload.slice(0, i)}${replacement}${payload.slice(i + 1)}.${signature}`;
}

const b64json = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function payloadSegment(token: string): string {
  const segment = token.split('.')[1];
  if (segment === undefined) throw new Error('not a JWS');
  return segment;
}

async function writePem(name: string, pem: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, pem, { mode: 0o600 });
  return file;
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wr-tokens-'));
  const rsaOld = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaNew = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  publicKeys.rsaOld = rsaOld.publicKey;
  publicKeys.rsaNew = rsaNew.publicKey;
  publicKeys.ec = ec.publicKey;
  publicKeys.ed = ed.publicKey;
  files.rsaOld = await writePem('rsa-old.pem', pkcs8(rsaOld.privateKey));
  files.rsaNewPkcs1 = await writePem(
    'rsa-new-pkcs1.pem',
    rsaNew.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  );
  files.ec = await writePem('ec.pem', pkcs8(ec.privateKey));
  files.ed = await writePem('ed.pem', pkcs8(ed.privateKey));
  files.rsa1024 = await writePem('rsa-1024.pem', pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey));
  files.ecP384 = await writePem('ec-p384.pem', pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey));
  files.garbage = await writePem('garbage.pem', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');

  sets.RS256 = await loadSigningKeys({ privateKeyFiles: [files.rsaNewPkcs1], alg: 'RS256' });
  sets.ES256 = await loadSigningKeys({ privateKeyFiles: [files.ec], alg: 'ES256' });
  sets.EdDSA = await loadSigningKeys({ privateKeyFiles: [files.ed], alg: 'EdDSA' });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('signing keys', () => {
  it('loads PKCS#1 and PKCS#8 RSA keys; kid is the RFC 7638 thumbprint; JWKS holds public parts only', async () => {
    const set = await loadSigningKeys({ privateKeyFiles: [files.rsaNewPkcs1, files.rsaOld], alg: 'RS256' });
    expect(set.keys.map((k) => k.source)).toEqual([files.rsaNewPkcs1, files.rsaOld]);
    expect(set.activeKid).toBe(set.keys[0]?.kid);

    const expectedNewKid = await calculateJwkThumbprint(publicKeys.rsaNew!.export({ format: 'jwk' }));
    const expectedOldKid = await calculateJwkThumbprint(publicKeys.rsaOld!.export({ format: 'jwk' }));
    expect(set.jwks.keys.map((k) => k.kid)).toEqual([expectedNewKid, expectedOldKid]);

    for (const jwk of set.jwks.keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    }
  });

  it.each([
    ['ES256', () => files.ec, ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']],
    ['EdDSA', () => files.ed, ['alg', 'crv', 'kid', 'kty', 'use', 'x']],
  ] as const)('loads %s keys with public members only', async (alg, file, members) => {
    const set = await loadSigningKeys({ privateKeyFiles: [file()], alg });
    const [jwk] = set.jwks.keys;
    expect(Object.keys(jwk ?? {}).sort()).toEqual([...members]);
    expect(jwk?.alg).toBe(alg);
    expect(JSON.stringify(set.jwks)).not.toContain('"d"');
  });

  it.each([
    ['an EC key for RS256', () => files.ec, 'RS256' as const, /RSA/],
    ['a 1024-bit RSA key for RS256', () => files.rsa1024, 'RS256' as const, /2048/],
    ['an RSA key for ES256', () => files.rsaOld, 'ES256' as const, /P-256/],
    ['a P-384 key for ES256', () => files.ecP384, 'ES256' as const, /P-256/],
    ['an RSA key for EdDSA', () => files.rsaOld, 'EdDSA' as const, /Ed25519/],
    ['a file that is not a key', () => files.garbage, 'RS256' as const, /PEM/],
    ['a missing file', () => join(dir, 'missing.pem'), 'RS256' as const, /ENOENT/],
  ])('rejects %s, naming the file', async (_what, file, alg, reason) => {
    const path = file();
    const err = await loadSigningKeys({ privateKeyFiles: [path], alg }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(reason);
  });

  it('names the bad file when it is not the first', async () => {
    await expect(loadSigningKeys({ privateKeyFiles: [files.rsaOld, files.ec], alg: 'RS256' })).rejects.toThrow(
      `signing key file ${files.ec}: RS256 needs an RSA key`,
    );
  });

  it('rejects an empty list and the same key listed twice', async () => {
    await expect(loadSigningKeys({ privateKeyFiles: [], alg: 'RS256' })).rejects.toThrow(/no private key files/);
    await expect(loadSigningKeys({ privateKeyFiles: [files.ed, files.ed], alg: 'EdDSA' })).rejects.toThrow(files.ed);
  });

  it.each(ALGS)('generates an ephemeral %s key set', async (alg) => {
    const a = await generateEphemeralSigningKeys(alg);
    const b = await generateEphemeralSigningKeys(alg);
    expect(a.alg).toBe(alg);
    expect(a.keys).toHaveLength(1);
    expect(a.keys[0]?.source).toBe('ephemeral');
    expect(a.activeKid).not.toBe(b.activeKid);
    expect(a.jwks.keys[0]?.alg).toBe(alg);
  });
});

describe('token service construction', () => {
  it('refuses a short ticket secret and a non-positive TTL', () => {
    const signingKeys = keySet('EdDSA');
    const base = { signingKeys, issuer: ISSUER, ticketTtlSeconds: TTL_SECONDS };
    expect(() => createTokenService({ ...base, ticketSecret: randomBytes(31) })).toThrow(/32 bytes/);
    expect(() => createTokenService({ ...base, ticketSecret: secret, ticketTtlSeconds: 0 })).toThrow(/ticketTtl/);
  });
});

describe('tickets', () => {
  it('round-trips with the injected clock', async () => {
    const tokens = service(keySet('EdDSA'));
    const { token, expiresAt } = await tokens.signTicket(QUEUE, 'p42');
    expect(expiresAt).toBe(T0 + TTL_SECONDS * 1000);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'wr-ticket+jwt' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: ISSUER,
      aud: 'waiting-room:ticket',
      sub: 'p42',
      qid: QUEUE,
      iat: T0 / 1000,
      exp: T0 / 1000 + TTL_SECONDS,
    });
    expect(typeof claims.jti).toBe('string');
    await expect(tokens.verifyTicket(token, QUEUE)).resolves.toEqual({ positionId: 'p42', expiresAt });
  });

  it('expires: accepted within the 5 s tolerance, rejected after it', async () => {
    let now = T0;
    const tokens = service(keySet('EdDSA'), () => now);
    const { token, expiresAt } = await tokens.signTicket(QUEUE, 'p1');
    now = expiresAt + 3_000;
    await expect(tokens.verifyTicket(token, QUEUE)).resolves.toMatchObject({ positionId: 'p1' });
    now = expiresAt + 6_000;
    await expectUnauthorized(tokens.verifyTicket(token, QUEUE), 'ticket expired');
  });

  it('rejects a tampered ticket', async () => {
    const tokens = service(keySet('EdDSA'));
    const { token } = await tokens.signTicket(QUEUE, 'p1');
    await expectUnauthorized(tokens.verifyTicket(tamper(token), QUEUE), 'invalid ticket');
  });

  it("rejects another queue's ticket", async () => {
    const tokens = service(keySet('EdDSA'));
    const { token } = await tokens.signTicket(OTHER_QUEUE, 'p1');
    await expectUnauthorized(tokens.verifyTicket(token, QUEUE), 'ticket is for another queue');
  });

  it('rejects a ticket signed with another secret', async () => {
    const ours = service(keySet('EdDSA'));
    const theirs = createTokenService({
      ticketSecret: randomBytes(32),
      signingKeys: keySet('EdDSA'),
      issuer: ISSUER,
      ticketTtlSeconds: TTL_SECONDS,
      clock: () => T0,
    });
    const { token } = await theirs.signTicket(QUEUE, 'p1');
    await expectUnauthorized(ours.verifyTicket(token, QUEUE), 'invalid ticket');
  });

  it('rejects a well-signed ticket with another issuer or audience', async () => {
    const tokens = service(keySet('EdDSA'));
    const payload = decodeJwt((await tokens.signTicket(QUEUE, 'p1')).token);
    const resign = (claims: JWTPayload) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'wr-ticket+jwt' }).sign(secret);
    await expect(tokens.verifyTicket(await resign(payload), QUEUE)).resolves.toMatchObject({ positionId: 'p1' });
    await expectUnauthorized(tokens.verifyTicket(await resign({ ...payload, iss: 'https://evil.test' }), QUEUE));
    await expectUnauthorized(tokens.verifyTicket(await resign({ ...payload, aud: 'waiting-room:grant' }), QUEUE));
  });

  it('accepts HS256 only, even with the right secret', async () => {
    const tokens = service(keySet('EdDSA'));
    const payload = decodeJwt((await tokens.signTicket(QUEUE, 'p1')).token);
    for (const alg of ['HS384', 'HS512']) {
      const other = await new SignJWT(payload).setProtectedHeader({ alg, typ: 'wr-ticket+jwt' }).sign(secret);
      await expectUnauthorized(tokens.verifyTicket(other, QUEUE), 'invalid ticket');
    }
  });

  it('rejects an alg:none ticket', async () => {
    const tokens = service(keySet('EdDSA'));
    const { token } = await tokens.signTicket(QUEUE, 'p1');
    const none = `${b64json({ alg: 'none', typ: 'wr-ticket+jwt' })}.${payloadSegment(token)}.`;
    await expectUnauthorized(tokens.verifyTicket(none, QUEUE));
  });

  it('signs standard JWTs (jose verifies them) and refuses any header but its own', async () => {
    const tokens = service(keySet('EdDSA'));
    const { token } = await tokens.signTicket(QUEUE, 'p1');
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], currentDate: new Date(T0) });
    expect(payload).toMatchObject({ qid: QUEUE, sub: 'p1', aud: 'waiting-room:ticket' });
    const resign = (header: Record<string, unknown>) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'wr-ticket+jwt', ...header }).sign(secret);
    await expectUnauthorized(tokens.verifyTicket(await resign({ kid: 'x' }), QUEUE), 'invalid ticket');
    await expectUnauthorized(tokens.verifyTicket(await resign({ typ: 'JWT' }), QUEUE), 'invalid ticket');
  });

  it('rejects a well-signed ticket without a subject, or not valid before a later time', async () => {
    const tokens = service(keySet('EdDSA'));
    const { sub: _sub, ...withoutSub } = decodeJwt((await tokens.signTicket(QUEUE, 'p1')).token);
    const resign = (claims: JWTPayload) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'wr-ticket+jwt' }).sign(secret);
    await expectUnauthorized(tokens.verifyTicket(await resign(withoutSub), QUEUE), 'invalid ticket');
    const nbf = T0 / 1000 + 60;
    await expectUnauthorized(tokens.verifyTicket(await resign({ ...withoutSub, sub: 'p1', nbf }), QUEUE), 'invalid ticket');
  });

  it('rejects a session token and a priority grant presented as a ticket', async () => {
    const tokens = service(keySet('EdDSA'));
    const session = await tokens.signSession({
      queueId: QUEUE,
      positionId: 'p1',
      sessionId: `${QUEUE}.p1`,
      expiresAt: T0 + 600_000,
    });
    await expectUnauthorized(tokens.verifyTicket(session, QUEUE), 'invalid ticket');
    // Same secret and alg as a ticket: only typ and aud tell them apart.
    const grant = await tokens.signGrant({ queueId: QUEUE, lane: 2, expiresAt: T0 + 600_000 });
    await expectUnauthorized(tokens.verifyTicket(grant, QUEUE), 'invalid ticket');
  });

  it('rejects garbage', async () => {
    const tokens = service(keySet('EdDSA'));
    for (const junk of ['', 'abc', 'a.b.c', '...', 'x'.repeat(5000)]) {
      await expectUnauthorized(tokens.verifyTicket(junk, QUEUE), 'invalid ticket');
    }
  });
});

describe.each(ALGS)('session tokens (%s)', (alg) => {
  const claims = { queueId: QUEUE, positionId: 'p7', sessionId: `${QUEUE}.p7`, expiresAt: T0 + 600_500 };

  it('round-trips, with kid and typ in the header and exp = session end', async () => {
    const set = keySet(alg);
    const tokens = service(set);
    const token = await tokens.signSession(claims);
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid: set.activeKid, typ: 'wr-session+jwt' });
    expect(decodeJwt(token)).toMatchObject({
      iss: ISSUER,
      aud: 'waiting-room:origin',
      sub: claims.sessionId,
      qid: QUEUE,
      pid: 'p7',
      iat: T0 / 1000,
      exp: Math.floor(claims.expiresAt / 1000),
    });
    await expect(tokens.verifySession(token, QUEUE)).resolves.toEqual({
      ...claims,
      expiresAt: Math.floor(claims.expiresAt / 1000) * 1000,
    });
    await expect(tokens.verifySession(token)).resolves.toMatchObject({ queueId: QUEUE });
  });

  it("verifies through jose's createLocalJWKSet(jwks()), as an origin would", async () => {
    const tokens = service(keySet(alg));
    const token = await tokens.signSession(claims);
    const { payload } = await jwtVerify(token, createLocalJWKSet(tokens.jwks()), {
      issuer: ISSUER,
      audience: 'waiting-room:origin',
      typ: 'wr-session+jwt',
      algorithms: [alg],
      currentDate: new Date(T0),
    });
    expect(payload.sub).toBe(claims.sessionId);
  });

  it('does not re-sign a session it has already signed', async () => {
    let now = T0;
    const tokens = service(keySet(alg), () => now);
    const first = await tokens.signSession(claims);
    now += 5_000; // a re-sign would carry a new iat
    expect(await tokens.signSession(claims)).toBe(first);
    const renewed = await tokens.signSession({ ...claims, expiresAt: claims.expiresAt + 60_000 });
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed).exp).toBe(Math.floor((claims.expiresAt + 60_000) / 1000));
  });

  it('rejects a tampered token', async () => {
    const tokens = service(keySet(alg));
    const token = await tokens.signSession(claims);
    await expectUnauthorized(tokens.verifySession(tamper(token), QUEUE), 'invalid session token');
  });

  it('rejects alg:none', async () => {
    const tokens = service(keySet(alg));
    const token = await tokens.signSession(claims);
    const none = `${b64json({ alg: 'none', typ: 'wr-session+jwt' })}.${payloadSegment(token)}.`;
    await expectUnauthorized(tokens.verifySession(none, QUEUE));
    await expectUnauthorized(tokens.verifySession(none));
  });

  it("rejects HS256 signed with our public key's PEM or JWK bytes (alg confusion)", async () => {
    const set = keySet(alg);
    const tokens = service(set);
    const payload: JWTPayload = decodeJwt(await tokens.signSession(claims));
    const publicPem = publicKeyOf(alg).export({ type: 'spki', format: 'pem' }).toString();
    for (const secretBytes of [publicPem, JSON.stringify(set.jwks.keys[0]), JSON.stringify(set.jwks)]) {
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: set.activeKid, typ: 'wr-session+jwt' })
        .sign(new TextEncoder().encode(secretBytes));
      await expectUnauthorized(tokens.verifySession(forged, QUEUE), 'invalid session token');
    }
  });

  it('rejects a ticket presented as a session token', async () => {
    const tokens = service(keySet(alg));
    const { token } = await tokens.signTicket(QUEUE, 'p7');
    await expectUnauthorized(tokens.verifySession(token, QUEUE), 'invalid session token');
    await expectUnauthorized(tokens.verifySession(token));
  });

  it("rejects another queue's session token", async () => {
    const tokens = service(keySet(alg));
    const token = await tokens.signSession({ ...claims, queueId: OTHER_QUEUE });
    await expectUnauthorized(tokens.verifySession(token, QUEUE), 'session token is for another queue');
  });

  it('rejects a token signed by a key not in the set, even when it borrows our kid', async () => {
    const ours = keySet(alg);
    const foreign = await generateEphemeralSigningKeys(alg);
    const tokens = service(ours);
    const stranger = await service(foreign).signSession(claims);
    await expectUnauthorized(tokens.verifySession(stranger, QUEUE), 'invalid session token');

    const payload = decodeJwt(stranger);
    const borrowedKid = await new SignJWT(payload)
      .setProtectedHeader({ alg, kid: ours.activeKid, typ: 'wr-session+jwt' })
      .sign(foreign.signingKey);
    await expectUnauthorized(tokens.verifySession(borrowedKid, QUEUE), 'invalid session token');
  });

  it('rejects our own signature without a kid, and with the wrong typ', async () => {
    const set = keySet(alg);
    const tokens = service(set);
    const payload = decodeJwt(await tokens.signSession(claims));
    const noKid = await new SignJWT(payload).setProtectedHeader({ alg, typ: 'wr-session+jwt' }).sign(set.signingKey);
    await expectUnauthorized(tokens.verifySession(noKid, QUEUE));
    const wrongTyp = await new SignJWT(payload)
      .setProtectedHeader({ alg, kid: set.activeKid, typ: 'JWT' })
      .sign(set.signingKey);
    await expectUnauthorized(tokens.verifySession(wrongTyp, QUEUE));
  });

  it('rejects our own signature with another audience', async () => {
    const set = keySet(alg);
    const tokens = service(set);
    const payload = decodeJwt(await tokens.signSession(claims));
    const otherAud = await new SignJWT({ ...payload, aud: 'waiting-room:ticket' })
      .setProtectedHeader({ alg, kid: set.activeKid, typ: 'wr-session+jwt' })
      .sign(set.signingKey);
    await expectUnauthorized(tokens.verifySession(otherAud, QUEUE), 'invalid session token');
  });

  it('rejects an expired session token', async () => {
    let now = T0;
    const tokens = service(keySet(alg), () => now);
    const token = await tokens.signSession(claims);
    now = claims.expiresAt + 10_000;
    await expectUnauthorized(tokens.verifySession(token, QUEUE), 'session token expired');
  });

  it('remembers a verified token, yet still refuses it past exp, for another queue, or altered', async () => {
    let now = T0;
    const tokens = service(keySet(alg), () => now);
    const token = await tokens.signSession(claims);
    const first = await tokens.verifySession(token, QUEUE);
    expect(await tokens.verifySession(token, QUEUE)).toEqual(first);
    await expectUnauthorized(tokens.verifySession(token, OTHER_QUEUE), 'session token is for another queue');
    await expectUnauthorized(tokens.verifySession(tamper(token), QUEUE));
    now = claims.expiresAt + 4_000; // inside the clock tolerance, as jose judges it
    expect(await tokens.verifySession(token, QUEUE)).toEqual(first);
    now = claims.expiresAt + 10_000;
    await expectUnauthorized(tokens.verifySession(token, QUEUE), 'session token expired');
  });
});

describe('priority grants', () => {
  const expiresAt = T0 + 3_600_000;

  it('round-trip', async () => {
    const tokens = service(keySet('EdDSA'));
    const grant = await tokens.signGrant({ queueId: QUEUE, lane: 2, expiresAt });
    expect(decodeProtectedHeader(grant)).toEqual({ alg: 'HS256', typ: 'wr-grant+jwt' });
    expect(decodeJwt(grant)).toMatchObject({ aud: 'waiting-room:grant', qid: QUEUE, lane: 2, iss: ISSUER });
    await expect(tokens.verifyGrant(grant, QUEUE)).resolves.toEqual({ lane: 2 });
  });

  it('refuses to sign a lane outside 1..3', async () => {
    const tokens = service(keySet('EdDSA'));
    for (const lane of [0, 4, 1.5, -1]) {
      await expect(tokens.signGrant({ queueId: QUEUE, lane, expiresAt })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
    }
  });

  it("rejects another queue's grant, a tampered grant and an expired grant", async () => {
    let now = T0;
    const tokens = service(keySet('EdDSA'), () => now);
    const other = await tokens.signGrant({ queueId: OTHER_QUEUE, lane: 3, expiresAt });
    await expectUnauthorized(tokens.verifyGrant(other, QUEUE), 'priority grant is for another queue');
    const grant = await tokens.signGrant({ queueId: QUEUE, lane: 3, expiresAt });
    await expectUnauthorized(tokens.verifyGrant(tamper(grant), QUEUE), 'invalid priority grant');
    now = expiresAt + 10_000;
    await expectUnauthorized(tokens.verifyGrant(grant, QUEUE), 'priority grant expired');
  });

  it('rejects a ticket presented as a grant, and a well-signed grant with an out-of-range lane', async () => {
    const tokens = service(keySet('EdDSA'));
    const { token } = await tokens.signTicket(QUEUE, 'p1');
    await expectUnauthorized(tokens.verifyGrant(token, QUEUE), 'invalid priority grant');
    const bigLane = await new SignJWT({ qid: QUEUE, lane: 9 })
      .setProtectedHeader({ alg: 'HS256', typ: 'wr-grant+jwt' })
      .setIssuer(ISSUER)
      .setAudience('waiting-room:grant')
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(expiresAt / 1000)
      .sign(secret);
    await expectUnauthorized(tokens.verifyGrant(bigLane, QUEUE), 'invalid priority grant');
  });
});

describe('key rotation', () => {
  it('signs with the first key and still accepts tokens of the old one', async () => {
    const oldOnly = await loadSigningKeys({ privateKeyFiles: [files.rsaOld], alg: 'RS256' });
    const rotated = await loadSigningKeys({ privateKeyFiles: [files.rsaNewPkcs1, files.rsaOld], alg: 'RS256' });
    const before = service(oldOnly);
    const after = service(rotated);
    const claims = { queueId: QUEUE, positionId: 'p9', sessionId: `${QUEUE}.p9`, expiresAt: T0 + 600_000 };

    const fresh = await after.signSession(claims);
    expect(decodeProtectedHeader(fresh).kid).toBe(rotated.activeKid);
    expect(rotated.activeKid).not.toBe(oldOnly.activeKid);
    await expect(after.verifySession(fresh, QUEUE)).resolves.toMatchObject({ positionId: 'p9' });

    const legacy = await before.signSession(claims);
    expect(decodeProtectedHeader(legacy).kid).toBe(oldOnly.activeKid);
    await expect(after.verifySession(legacy, QUEUE)).resolves.toMatchObject({ positionId: 'p9' });

    // A node still on the old set does not know the new key.
    await expectUnauthorized(before.verifySession(fresh, QUEUE));

    expect(after.jwks().keys.map((k) => k.kid)).toEqual([rotated.activeKid, oldOnly.activeKid]);
    const origin = createLocalJWKSet(after.jwks());
    for (const token of [fresh, legacy]) {
      await expect(
        jwtVerify(token, origin, { issuer: ISSUER, audience: 'waiting-room:origin', currentDate: new Date(T0) }),
      ).resolves.toBeTruthy();
    }
  });
});
