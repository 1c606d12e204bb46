// Signing keys and JWTs made by the tests with node:crypto: RS256 (RSA 2048) and ES256 (P-256),
// the compact JWS form Vault's jwt and kubernetes auth plugins read.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export type JwtAlg = 'RS256' | 'ES256';

export interface SigningKey {
  readonly alg: JwtAlg;
  readonly privateKey: KeyObject;
  /** The public key as PEM (SPKI), as `jwt_validation_pubkeys` or `pem_keys` take it. */
  readonly publicPem: string;
}

export function makeSigningKey(alg: JwtAlg): SigningKey {
  const pair = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { alg, privateKey: pair.privateKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** A signed compact JWT with the given claims; `header` adds to `{alg, typ}`. */
export function signJwt(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64url(JSON.stringify({ alg: key.alg, typ: 'JWT', ...header }))}.${b64url(JSON.stringify(claims))}`;
  // JWS ES256 signatures are r||s (IEEE P1363), not DER.
  const signature = key.alg === 'RS256'
    ? sign('sha256', Buffer.from(input), key.privateKey)
    : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

/** Seconds since the epoch, as JWT time claims hold them. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
