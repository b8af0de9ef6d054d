/**
 * The three tokens of DESIGN §4 and their pinned verification (§6 invariant 6).
 *
 * - ticket (`wr-ticket+jwt`): proves a position; HS256 with the secret every node shares, so it
 *   is cheap to sign on the join path and to refresh.
 * - session (`wr-session+jwt`): the admission token the origin verifies offline through the JWKS;
 *   asymmetric, `kid` in the header, `exp` = session end.
 * - grant (`wr-grant+jwt`): an operator-issued proof that a visitor may join a priority lane.
 *
 * Every kind has its own `typ` and `aud`, and every verification pins algorithm, issuer,
 * audience, `typ` and queue, so no token can stand in for another kind or another queue. The
 * alg pin is what defeats `alg: none` and HS/RS confusion; the key set also refuses unknown kids.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AppError, invalidRequest, unauthorized } from '../domain/errors.js';
import { MAX_LANE } from '../domain/queue.js';
import { Hs256Error, signHs256, verifyHs256 } from './hs256.js';
import { createLru } from './lru.js';
import type { OperatorGrantKey } from './grant-keys.js';
import type { PublicJwkSet, SigningKeySet } from './keys.js';

export const TOKEN_TYPES = {
  ticket: 'wr-ticket+jwt',
  session: 'wr-session+jwt',
  grant: 'wr-grant+jwt',
} as const;

export const TOKEN_AUDIENCES = {
  ticket: 'waiting-room:ticket',
  session: 'waiting-room:origin',
  grant: 'waiting-room:grant',
} as const;

type TokenKind = keyof typeof TOKEN_TYPES;

const LABELS: Record<TokenKind, string> = { ticket: 'ticket', session: 'session token', grant: 'priority grant' };

/** Nodes' clocks drift a little; seconds, not minutes. */
const CLOCK_TOLERANCE_SECONDS = 5;
const MIN_TICKET_SECRET_BYTES = 32;
/** Re-pushing an admission (reconnect, status poll) must not re-sign: RS256 manages ~2.5k/s. */
const SESSION_TOKEN_CACHE_SIZE = 10_000;
/**
 * An origin gated by /verify presents the same session token on every request; an RS256
 * verification costs ~100 µs. A token string that verified once always verifies (only its
 * expiry changes with time, and that is checked on every hit), so its claims are remembered.
 */
const VERIFIED_SESSION_CACHE_SIZE = 10_000;

export interface TokenServiceOptions {
  /** Shared by every node; signs tickets and priority grants. At least 32 bytes. */
  ticketSecret: Uint8Array;
  signingKeys: SigningKeySet;
  /** Operators' own public keys: grants they signed are accepted beside the HS256 ones. */
  grantKeys?: readonly OperatorGrantKey[];
  issuer: string;
  ticketTtlSeconds: number;
  /** Milliseconds since the epoch; injected by tests. */
  clock?: () => number;
}

export interface SignedTicket {
  token: string;
  /** ms since the epoch */
  expiresAt: number;
}

export interface VerifiedTicket {
  positionId: string;
  /** ms since the epoch */
  expiresAt: number;
  /** Set on a suspected bot's ticket: its place exists only in the ticket (abuse/tarpit.ts). */
  tarpit?: TarpitClaims;
}

/** The made-up place of a tarpitted visitor, carried in its ticket (claim `tp`). */
export interface TarpitClaims {
  /** The position it was shown at join. */
  start: number;
  /** When it joined, ms since the epoch. */
  since: number;
}

export interface SessionClaims {
  queueId: string;
  positionId: string;
  sessionId: string;
  /** ms since the epoch; the token's `exp` is this rounded down to whole seconds. */
  expiresAt: number;
}

export interface GrantClaims {
  queueId: string;
  /** 1..MAX_LANE */
  lane: number;
  /** ms since the epoch */
  expiresAt: number;
}

export interface VerifiedGrant {
  lane: number;
}

export interface TokenService {
  /** With `tarpit`, a suspected bot's ticket: never accepted where a real place is needed. */
  signTicket(queueId: string, positionId: string, tarpit?: TarpitClaims): Promise<SignedTicket>;
  verifyTicket(token: string, queueId: string): Promise<VerifiedTicket>;
  signSession(claims: SessionClaims): Promise<string>;
  /** Without `queueId` any of our queues is accepted (e.g. `/api/v1/sessions/{id}`). */
  verifySession(token: string, queueId?: string): Promise<SessionClaims>;
  signGrant(claims: GrantClaims): Promise<string>;
  verifyGrant(token: string, queueId: string): Promise<VerifiedGrant>;
  jwks(): PublicJwkSet;
}

export function createTokenService(opts: TokenServiceOptions): TokenService {
  if (opts.ticketSecret.byteLength < MIN_TICKET_SECRET_BYTES)
    throw new Error(`ticket secret must be at least ${MIN_TICKET_SECRET_BYTES} bytes`);
  if (!Number.isInteger(opts.ticketTtlSeconds) || opts.ticketTtlSeconds <= 0)
    throw new Error('ticketTtlSeconds must be a positive integer');
  if (opts.issuer === '') throw new Error('issuer must not be empty');

  // A private copy: a caller zeroing or reusing its buffer must not change our key.
  const secret = new Uint8Array(opts.ticketSecret);
  const { issuer, ticketTtlSeconds, signingKeys } = opts;
  const clock = opts.clock ?? Date.now;
  const nowSeconds = () => Math.floor(clock() / 1000);
  const verifyKeys = new Map(signingKeys.keys.map((k) => [k.kid, k.verifyKey]));
  const sessionTokens = createLru<Promise<string>>(SESSION_TOKEN_CACHE_SIZE);
  const verifiedSessions = createLru<SessionClaims>(VERIFIED_SESSION_CACHE_SIZE);

  const resolveSessionKey: JWTVerifyGetKey = (header) => {
    const key = header.kid === undefined ? undefined : verifyKeys.get(header.kid);
    if (!key) throw unauthorized(`invalid ${LABELS.session}`);
    return key;
  };

  /** Session tokens: asymmetric, key by `kid`; pinned header/claims; every failure is UNAUTHORIZED. */
  async function verifySessionJwt(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, resolveSessionKey, {
        algorithms: [signingKeys.alg],
        issuer,
        audience: TOKEN_AUDIENCES.session,
        typ: TOKEN_TYPES.session,
        requiredClaims: ['exp', 'qid', 'sub', 'pid'],
        currentDate: new Date(clock()),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return payload;
    } catch (err) {
      throw rejection(err, 'session');
    }
  }

  function expectQueue(kind: TokenKind, payload: JWTPayload, queueId: string | undefined): string {
    const qid = payload.qid;
    if (typeof qid !== 'string') throw unauthorized(`invalid ${LABELS[kind]}`);
    if (queueId !== undefined && qid !== queueId) throw unauthorized(`${LABELS[kind]} is for another queue`);
    return qid;
  }

  function signShared(kind: 'ticket' | 'grant', claims: Record<string, unknown>, subject: string | null, exp: number) {
    const iat = nowSeconds();
    return signHs256(secret, TOKEN_TYPES[kind], {
      ...claims,
      iss: issuer,
      aud: TOKEN_AUDIENCES[kind],
      ...(subject !== null ? { sub: subject } : {}),
      iat,
      exp,
      jti: newJti(),
    });
  }

  /** Tickets and grants: HS256 with the shared secret, pinned like `verify` pins the others. */
  function verifyShared(kind: 'ticket' | 'grant', token: string, requiredClaims: string[]): JWTPayload {
    try {
      return verifyHs256(token, secret, {
        typ: TOKEN_TYPES[kind],
        issuer,
        audience: TOKEN_AUDIENCES[kind],
        requiredClaims: ['qid', ...requiredClaims],
        nowSeconds: clock() / 1000,
        clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
      }) as JWTPayload;
    } catch (err) {
      throw rejection(err, kind);
    }
  }

  /** A grant signed with an operator's own key: pinned like the others, the key fixes the alg. */
  async function verifyOperatorGrant(token: string, key: KeyObject, alg: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer,
        audience: TOKEN_AUDIENCES.grant,
        typ: TOKEN_TYPES.grant,
        requiredClaims: ['exp', 'qid', 'lane'],
        currentDate: new Date(clock()),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return payload;
    } catch (err) {
      throw rejection(err, 'grant');
    }
  }

  /**
   * HS256 grants are the admin API's; any other algorithm must be one an operator key is
   * configured for (the key decides the algorithm, never the token). Several operator keys of
   * one algorithm (rotation) are tried in turn.
   */
  async function verifyGrantSignature(token: string): Promise<JWTPayload> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw unauthorized('invalid priority grant');
    }
    if (alg === 'HS256') return verifyShared('grant', token, ['lane']);
    const candidates = (opts.grantKeys ?? []).filter((k) => k.alg === alg);
    let failure: unknown = unauthorized('invalid priority grant');
    for (const candidate of candidates) {
      try {
        return await verifyOperatorGrant(token, candidate.key, candidate.alg);
      } catch (err) {
        failure = err;
      }
    }
    throw failure;
  }

  return {
    async signTicket(queueId, positionId, tarpit) {
      const exp = nowSeconds() + ticketTtlSeconds;
      const claims = tarpit ? { qid: queueId, tp: [tarpit.start, tarpit.since] } : { qid: queueId };
      const token = signShared('ticket', claims, positionId, exp);
      return { token, expiresAt: exp * 1000 };
    },

    async verifyTicket(token, queueId) {
      const payload = verifyShared('ticket', token, ['sub']);
      expectQueue('ticket', payload, queueId);
      const { sub, exp, tp } = payload;
      if (typeof sub !== 'string' || sub === '' || exp === undefined) throw unauthorized('invalid ticket');
      if (tp === undefined) return { positionId: sub, expiresAt: exp * 1000 };
      if (!Array.isArray(tp) || tp.length !== 2 || !tp.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
        throw unauthorized('invalid ticket');
      }
      return { positionId: sub, expiresAt: exp * 1000, tarpit: { start: tp[0] as number, since: tp[1] as number } };
    },

    signSession(claims) {
      if (!Number.isFinite(claims.expiresAt))
        return Promise.reject(new Error('session expiresAt must be a finite number'));
      const cacheKey = [claims.queueId, claims.positionId, claims.sessionId, claims.expiresAt].join('\n');
      const cached = sessionTokens.get(cacheKey);
      if (cached) return cached;
      const signing = new SignJWT({ qid: claims.queueId, pid: claims.positionId })
        .setProtectedHeader({ alg: signingKeys.alg, kid: signingKeys.activeKid, typ: TOKEN_TYPES.session })
        .setIssuer(issuer)
        .setAudience(TOKEN_AUDIENCES.session)
        .setSubject(claims.sessionId)
        .setIssuedAt(nowSeconds())
        .setExpirationTime(Math.floor(claims.expiresAt / 1000))
        .sign(signingKeys.signingKey);
      // Cache the promise, so concurrent asks for one session share one signature.
      sessionTokens.set(cacheKey, signing);
      signing.catch(() => sessionTokens.delete(cacheKey));
      return signing;
    },

    async verifySession(token, queueId) {
      const known = verifiedSessions.get(token);
      // Past its exp (as jose judges it, with the same tolerance) a known token takes the full path and its error.
      if (known && Math.floor(known.expiresAt / 1000) > nowSeconds() - CLOCK_TOLERANCE_SECONDS) {
        if (queueId !== undefined && known.queueId !== queueId) throw unauthorized(`${LABELS.session} is for another queue`);
        return known;
      }
      const payload = await verifySessionJwt(token);
      const qid = expectQueue('session', payload, queueId);
      const { sub, pid, exp } = payload;
      if (typeof sub !== 'string' || typeof pid !== 'string' || exp === undefined)
        throw unauthorized('invalid session token');
      const claims = Object.freeze({ queueId: qid, positionId: pid, sessionId: sub, expiresAt: exp * 1000 });
      verifiedSessions.set(token, claims);
      return claims;
    },

    async signGrant(claims) {
      if (!isLane(claims.lane)) throw invalidRequest(`lane must be an integer from 1 to ${MAX_LANE}`);
      if (!Number.isFinite(claims.expiresAt)) throw new Error('grant expiresAt must be a finite number');
      return signShared('grant', { qid: claims.queueId, lane: claims.lane }, null, Math.floor(claims.expiresAt / 1000));
    },

    async verifyGrant(token, queueId) {
      const payload = await verifyGrantSignature(token);
      expectQueue('grant', payload, queueId);
      if (!isLane(payload.lane)) throw unauthorized('invalid priority grant');
      return { lane: payload.lane };
    },

    jwks() {
      return signingKeys.jwks;
    },
  };
}

function isLane(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_LANE;
}

/**
 * Unique token ids without a call for fresh randomness per token (that call was ~1.6 % of a
 * node's CPU during a join storm): a random per-process prefix and a counter. Nothing relies on
 * a jti being unpredictable — the signature protects the token.
 */
const JTI_PREFIX = randomBytes(9).toString('base64url');
let jtiCounter = 0;
function newJti(): string {
  return `${JTI_PREFIX}${(jtiCounter++).toString(36)}`;
}

/** Says what a legitimate holder can act on (expired, wrong queue) and nothing about why a forgery failed. */
function rejection(err: unknown, kind: TokenKind): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof errors.JWTExpired || (err instanceof Hs256Error && err.reason === 'expired'))
    return unauthorized(`${LABELS[kind]} expired`);
  return unauthorized(`invalid ${LABELS[kind]}`);
}
