import type { ChallengeData, ChallengeSolution } from './protocol.js';

/** Hashes tried between two yields to the page: small enough to keep input and paint smooth. */
const BATCH = 64;

function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

/**
 * Solves a proof-of-work join challenge with WebCrypto: finds a nonce such that
 * SHA-256(token + nonce) starts with `difficulty` zero bits. Works in small batches and yields
 * to the event loop between them, so the page stays responsive; `isCancelled` stops it early
 * (undefined then).
 */
export async function solveChallenge(
  challenge: ChallengeData,
  isCancelled: () => boolean = () => false,
): Promise<ChallengeSolution | undefined> {
  const encoder = new TextEncoder();
  for (let start = 0; !isCancelled(); start += BATCH) {
    const nonces = Array.from({ length: BATCH }, (_, i) => (start + i).toString(36));
    const digests = await Promise.all(
      nonces.map((nonce) => crypto.subtle.digest('SHA-256', encoder.encode(challenge.token + nonce))),
    );
    const found = digests.findIndex((d) => leadingZeroBits(new Uint8Array(d)) >= challenge.difficulty);
    if (found >= 0) return { token: challenge.token, nonce: nonces[found] as string };
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return undefined;
}
