/**
 * Join challenges: work a new visitor must do before it gets a place (off by default). The
 * interface lets an operator plug in another kind (a CAPTCHA verifier, say); the one built in is
 * a hashcash-style proof of work, stateless so any node verifies what another issued.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ChallengeData, ChallengeSolution } from '../../../client-sdk/src/protocol.js';

export type { ChallengeData, ChallengeSolution };

/** What a challenge is bound to: it is refused for another queue or another address. */
export interface ChallengeScope {
  queueId: string;
  ipKey: string;
}

export type ChallengeVerdict =
  | { ok: true; /** unique per challenge: a replay of it is refused (JoinGuard) */ id: string; expiresAt: number }
  | { ok: false; reason: 'invalid' | 'expired' };

export interface JoinChallenge {
  issue(scope: ChallengeScope): ChallengeData;
  verify(solution: ChallengeSolution, scope: ChallengeScope): ChallengeVerdict;
}

export interface ProofOfWorkOptions {
  /** HMAC key; every node must use the same one. */
  secret: Uint8Array;
  /** Leading zero bits of SHA-256(token + nonce): each bit doubles the expected work. */
  difficulty: number;
  ttlSeconds: number;
  clock?: () => number;
}

const MAX_NONCE_LENGTH = 64;

/** Leading zero bits of a digest. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/**
 * The token is `<payload>.<hmac>` with payload = base64url(JSON {q, i, d, e, n}): queue, a
 * digest of the address, difficulty, expiry (ms) and a random id. The solution is a nonce
 * such that SHA-256(token + nonce) starts with `d` zero bits.
 */
export function createProofOfWorkChallenge(opts: ProofOfWorkOptions): JoinChallenge {
  const clock = opts.clock ?? Date.now;
  const key = createHmac('sha256', opts.secret).update('wr:join-challenge:v1').digest();
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  const addressTag = (ipKey: string) => createHash('sha256').update(ipKey).digest('base64url').slice(0, 16);

  return {
    issue(scope) {
      const expiresAt = clock() + opts.ttlSeconds * 1000;
      const payload = Buffer.from(
        JSON.stringify({
          q: scope.queueId,
          i: addressTag(scope.ipKey),
          d: opts.difficulty,
          e: expiresAt,
          n: randomBytes(12).toString('base64url'),
        }),
      ).toString('base64url');
      return {
        type: 'proof_of_work',
        algorithm: 'sha256',
        difficulty: opts.difficulty,
        token: `${payload}.${mac(payload)}`,
        expires_at: new Date(expiresAt).toISOString(),
      };
    },

    verify(solution, scope) {
      const [payload, signature, extra] = solution.token.split('.');
      if (!payload || !signature || extra !== undefined || solution.nonce.length > MAX_NONCE_LENGTH) {
        return { ok: false, reason: 'invalid' };
      }
      const expected = Buffer.from(mac(payload));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
      let claims: { q?: unknown; i?: unknown; d?: unknown; e?: unknown; n?: unknown };
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      const { q, i, d, e, n } = claims;
      if (typeof e !== 'number' || typeof d !== 'number' || typeof n !== 'string') return { ok: false, reason: 'invalid' };
      if (q !== scope.queueId || i !== addressTag(scope.ipKey)) return { ok: false, reason: 'invalid' };
      if (e <= clock()) return { ok: false, reason: 'expired' };
      // The difficulty in force now, not the one in the token: raising it invalidates easier work.
      const digest = createHash('sha256').update(solution.token).update(solution.nonce).digest();
      if (leadingZeroBits(digest) < Math.max(d, opts.difficulty)) return { ok: false, reason: 'invalid' };
      return { ok: true, id: n, expiresAt: e };
    },
  };
}
