/**
 * Signing keys of admission (session) tokens, DESIGN §4 Tokens.
 *
 * Keys come from PEM files: the FIRST file's key signs, every file's key is published in the
 * JWKS, so rotation is "put the new key first, keep the old one listed until the last token it
 * signed has expired". Each `kid` is the key's RFC 7638 thumbprint, so the same key always gets
 * the same id on every node without anyone coordinating names.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, importPKCS8, importSPKI, type CryptoKey } from 'jose';

export const SIGNING_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

const MIN_RSA_BITS = 2048;

interface PublicJwkCommon {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
}
export type PublicJwk =
  | (PublicJwkCommon & { kty: 'RSA'; n: string; e: string })
  | (PublicJwkCommon & { kty: 'EC'; crv: 'P-256'; x: string; y: string })
  | (PublicJwkCommon & { kty: 'OKP'; crv: 'Ed25519'; x: string });

export interface PublicJwkSet {
  keys: PublicJwk[];
}

/** One published key: what verifies its tokens, and where it came from (for start-up logs). */
export interface PublishedKey {
  readonly kid: string;
  /** The file the key was read from, or `'ephemeral'`. */
  readonly source: string;
  readonly jwk: PublicJwk;
  readonly verifyKey: CryptoKey;
}

export interface SigningKeySet {
  readonly alg: SigningAlgorithm;
  /** kid of the key that signs new tokens (the first file's). */
  readonly activeKid: string;
  readonly signingKey: CryptoKey;
  /** Every key tokens are accepted from, the active one first. */
  readonly keys: readonly PublishedKey[];
  /** The public JWK set served at `/.well-known/jwks.json`: public parts only. */
  readonly jwks: PublicJwkSet;
}

export interface LoadSigningKeysOptions {
  privateKeyFiles: readonly string[];
  alg: SigningAlgorithm;
}

export async function loadSigningKeys(opts: LoadSigningKeysOptions): Promise<SigningKeySet> {
  if (opts.privateKeyFiles.length === 0) throw new Error('loadSigningKeys: no private key files given');
  const loaded: LoadedKey[] = [];
  for (const file of opts.privateKeyFiles) {
    const key = await prepareKey(await readPrivateKey(file), opts.alg, file);
    const twin = loaded.find((k) => k.published.kid === key.published.kid);
    if (twin) throw new Error(`signing key file ${file}: same key as ${twin.published.source}`);
    loaded.push(key);
  }
  return assemble(opts.alg, loaded);
}

/** A fresh single-key set for a node without configured keys. Other nodes cannot verify its tokens. */
export async function generateEphemeralSigningKeys(alg: SigningAlgorithm): Promise<SigningKeySet> {
  return assemble(alg, [await prepareKey(generatePrivateKey(alg), alg, 'ephemeral')]);
}

interface LoadedKey {
  signingKey: CryptoKey;
  published: PublishedKey;
}

function assemble(alg: SigningAlgorithm, loaded: readonly LoadedKey[]): SigningKeySet {
  const [active] = loaded;
  if (!active) throw new Error('signing key set is empty');
  const keys = Object.freeze(loaded.map((k) => k.published));
  return Object.freeze({
    alg,
    activeKid: active.published.kid,
    signingKey: active.signingKey,
    keys,
    jwks: Object.freeze({ keys: keys.map((k) => k.jwk) }),
  });
}

async function readPrivateKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`signing key file ${file}: cannot be read (${errorCode(err)})`, { cause: err });
  }
  try {
    // Accepts PKCS#8 and the older PKCS#1 "BEGIN RSA PRIVATE KEY" / SEC1 "BEGIN EC PRIVATE KEY".
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    // The key material never goes into a message; the parser's reason is enough to act on.
    throw new Error(`signing key file ${file}: not an unencrypted PEM private key (${errorCode(err)})`, {
      cause: err,
    });
  }
}

async function prepareKey(privateKey: KeyObject, alg: SigningAlgorithm, source: string): Promise<LoadedKey> {
  assertKeyFitsAlgorithm(privateKey, alg, source);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const jwkWithoutKid = publicJwkFields(publicKey, alg, source);
  // RFC 7638 hashes only the required members, so alg/use do not change the kid.
  const kid = await calculateJwkThumbprint(jwkWithoutKid, 'sha256');
  const jwk: PublicJwk = Object.freeze({ ...jwkWithoutKid, kid });
  return {
    signingKey: await importPKCS8(pkcs8, alg),
    published: Object.freeze({ kid, source, jwk, verifyKey: await importSPKI(spki, alg) }),
  };
}

function assertKeyFitsAlgorithm(key: KeyObject, alg: SigningAlgorithm, source: string): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const problem = (() => {
    switch (alg) {
      case 'RS256':
        if (type !== 'rsa') return `RS256 needs an RSA key, got ${type ?? 'unknown'}`;
        if ((details.modulusLength ?? 0) < MIN_RSA_BITS)
          return `RS256 needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${details.modulusLength ?? 0}`;
        return null;
      case 'ES256':
        if (type !== 'ec') return `ES256 needs an EC P-256 key, got ${type ?? 'unknown'}`;
        if (details.namedCurve !== 'prime256v1')
          return `ES256 needs the P-256 curve, got ${details.namedCurve ?? 'unknown'}`;
        return null;
      case 'EdDSA':
        return type === 'ed25519' ? null : `EdDSA needs an Ed25519 key, got ${type ?? 'unknown'}`;
    }
  })();
  if (problem) throw new Error(`signing key file ${source}: ${problem}`);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type UnkeyedJwk = DistributiveOmit<PublicJwk, 'kid'>;

/** Picks the public members by name, so a private member can never slip into the JWKS. */
function publicJwkFields(publicKey: KeyObject, alg: SigningAlgorithm, source: string): UnkeyedJwk {
  const jwk = publicKey.export({ format: 'jwk' });
  const need = (name: string, value: string | undefined): string => {
    if (typeof value !== 'string' || value === '') throw new Error(`signing key file ${source}: JWK lacks "${name}"`);
    return value;
  };
  switch (alg) {
    case 'RS256':
      return { kty: 'RSA', n: need('n', jwk.n), e: need('e', jwk.e), alg, use: 'sig' };
    case 'ES256':
      return { kty: 'EC', crv: 'P-256', x: need('x', jwk.x), y: need('y', jwk.y), alg, use: 'sig' };
    case 'EdDSA':
      return { kty: 'OKP', crv: 'Ed25519', x: need('x', jwk.x), alg, use: 'sig' };
  }
}

function generatePrivateKey(alg: SigningAlgorithm): KeyObject {
  switch (alg) {
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS }).privateKey;
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey;
  }
}

function errorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'string' ? code : err.message;
  }
  return String(err);
}
