/**
 * Operators' own grant keys (GRANT_PUBLIC_KEY_FILE): an operator who signs priority grants with
 * their own private key (in their shop, CRM or a script) configures the public half here, and
 * the waiting room accepts those grants beside the ones the admin API signs. The algorithm is
 * pinned by the key's type, so a grant can never pick its own.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type GrantAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

export interface OperatorGrantKey {
  alg: GrantAlgorithm;
  key: KeyObject;
  source: string;
}

/** Reads one public key (PEM, SPKI) per file; throws a clear error for anything else. */
export function loadGrantKeys(files: readonly string[]): OperatorGrantKey[] {
  return files.map((file) => {
    const key = createPublicKey(readFileSync(file, 'utf8'));
    const type = key.asymmetricKeyType;
    if (type === 'ed25519') return { alg: 'EdDSA', key, source: file };
    if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { alg: 'ES256', key, source: file };
    if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return { alg: 'RS256', key, source: file };
    throw new Error(`${file}: a grant key must be an Ed25519, P-256 or RSA (>= 2048 bits) public key`);
  });
}
