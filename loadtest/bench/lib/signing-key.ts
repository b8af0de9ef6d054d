/**
 * A signing key shared by every server process of a benchmark: admission tokens signed by one node
 * must verify on all of them (JWT_PRIVATE_KEY_FILE), as in a real multi-node deployment.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SigningAlgorithm } from '../../../server/src/tokens/keys.js';

/** Writes a fresh private key for `alg` as PKCS#8 PEM (mode 0600) into `dir`; returns its path. */
export async function writeSigningKey(dir: string, alg: SigningAlgorithm): Promise<string> {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const file = join(dir, `jwt-${alg.toLowerCase()}.pem`);
  await writeFile(file, pem, { mode: 0o600 });
  return file;
}
