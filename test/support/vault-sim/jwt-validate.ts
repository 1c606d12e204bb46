// JWT checks of hashicorp/cap's jwt.Validator (v0.5.0) on go-jose v3, as Vault's jwt and
// kubernetes auth plugins use them: a compact JWS (whitespace stripped), its signature checked
// with static public keys (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA) or not at all,
// the alg header against the allowed list, then iss, sub, aud and the time claims with leeway.
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown>;

export interface Expected {
  issuer?: string;
  subject?: string;
  audiences?: readonly string[];
  signingAlgorithms: readonly string[];
  /** Seconds; 0 means the default (150 s), a negative value none. */
  expirationLeewaySeconds?: number;
  notBeforeLeewaySeconds?: number;
  /** Seconds; 0 means the default (60 s), a negative value none. */
  clockSkewLeewaySeconds?: number;
  /** ValidateAllowMissingIatNbfExp (kubernetes) rather than Validate (jwt). */
  allowMissingTimes?: boolean;
  nowMs: number;
}

const DEFAULT_LEEWAY_SECONDS = 150;
const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** certutil.ParsePublicKeyPEM / the kubernetes plugin's parsePublicKeyPEM: RSA or ECDSA, key or certificate. */
export function parsePublicKeyPem(pem: string): KeyObject | undefined {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'ec' ? key : undefined;
  } catch {
    return undefined;
  }
}

interface Parsed {
  header: Record<string, unknown>;
  claims: Claims;
  signingInput: Buffer;
  signature: Buffer;
}

function decodeSegment(s: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(s) ? Buffer.from(s, 'base64url') : undefined;
}

function parseCompact(token: string): Parsed | string {
  const input = token.replace(/\s/g, '');
  const parts = input.split('.');
  if (parts.length !== 3) return 'go-jose/go-jose: compact JWS format must have three parts';
  const [h, p, s] = parts as [string, string, string];
  const header = decodeSegment(h);
  const payload = decodeSegment(p);
  const signature = decodeSegment(s);
  if (!header || !payload || !signature) return 'illegal base64 data';
  let headerJson: unknown;
  let claims: unknown;
  try {
    headerJson = JSON.parse(header.toString('utf8'));
  } catch {
    return 'invalid character in the JWS header';
  }
  if (typeof headerJson !== 'object' || headerJson === null) return 'go-jose/go-jose: invalid JWS header';
  try {
    claims = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'go-jose/go-jose/jwt: error in cryptographic primitive';
  }
  return {
    header: headerJson as Record<string, unknown>,
    claims: (typeof claims === 'object' && claims !== null ? claims : {}) as Claims,
    signingInput: Buffer.from(`${h}.${p}`),
    signature,
  };
}

function verifyWith(alg: string, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash = { '256': 'sha256', '384': 'sha384', '512': 'sha512' }[alg.slice(2)];
  try {
    if (alg.startsWith('RS') && hash && key.asymmetricKeyType === 'rsa') return verify(hash, data, key, signature);
    if (alg.startsWith('PS') && hash && key.asymmetricKeyType === 'rsa') {
      return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
    if (alg.startsWith('ES') && hash && key.asymmetricKeyType === 'ec') {
      const curve = { sha256: 'prime256v1', sha384: 'secp384r1', sha512: 'secp521r1' }[hash];
      if (key.asymmetricKeyDetails?.namedCurve !== curve) return false;
      return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (alg === 'EdDSA' && key.asymmetricKeyType === 'ed25519') return verify(null, data, key, signature);
  } catch {
    return false;
  }
  return false;
}

/**
 * The claims of a JWT whose signature one of `keys` verifies (`keys` undefined: not verified,
 * as the kubernetes plugin without pem_keys), or the error text without cap's prefix.
 */
function verifySignature(token: string, keys: readonly KeyObject[] | undefined): Parsed | string {
  const parsed = parseCompact(token);
  if (typeof parsed === 'string') return parsed;
  if (keys === undefined) return parsed;
  const alg = String(parsed.header['alg'] ?? '');
  if (!keys.some((k) => verifyWith(alg, k, parsed.signingInput, parsed.signature))) {
    return 'no known key successfully validated the token signature';
  }
  return parsed;
}

function numeric(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

function audiencesOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : [];
}

/** Validator.validateAll: the claims, or the error message as Vault words it. */
export function validateJwt(token: string, keys: readonly KeyObject[] | undefined, expected: Expected): { claims: Claims } | { error: string } {
  const verified = verifySignature(token, keys);
  if (typeof verified === 'string') return { error: `error verifying token signature: ${verified}` };
  const alg = String(verified.header['alg'] ?? '');
  if (verified.signature.length === 0) return { error: 'invalid algorithm (alg) header parameter: token must be signed' };
  if (!expected.signingAlgorithms.includes(alg)) return { error: 'invalid algorithm (alg) header parameter: token signed with unexpected algorithm' };
  const claims = verified.claims;
  if (expected.issuer && expected.issuer !== claims['iss']) return { error: 'invalid issuer (iss) claim' };
  if (expected.subject && expected.subject !== claims['sub']) return { error: 'invalid subject (sub) claim' };
  if (expected.audiences && expected.audiences.length > 0) {
    const aud = audiencesOf(claims['aud']);
    if (!expected.audiences.some((a) => aud.includes(a))) {
      return { error: 'invalid audience (aud) claim: audience claim does not match any expected audience' };
    }
  }
  const iat = numeric(claims['iat']);
  let exp = numeric(claims['exp']);
  let nbf = numeric(claims['nbf']);
  if (iat === 0 && exp === 0 && nbf === 0) {
    return expected.allowMissingTimes ? { claims } : { error: 'no issued at (iat), not before (nbf), or expiration time (exp) claims in token' };
  }
  const leeway = (s: number | undefined, dflt: number): number => ((s ?? 0) < 0 ? 0 : (s ?? 0) === 0 ? dflt : s!);
  if (exp === 0) exp = Math.max(iat, nbf) + leeway(expected.expirationLeewaySeconds, DEFAULT_LEEWAY_SECONDS);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway(expected.notBeforeLeewaySeconds, DEFAULT_LEEWAY_SECONDS);
  const skewMs = leeway(expected.clockSkewLeewaySeconds, DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const now = expected.nowMs;
  if (now + skewMs < nbf * 1000) return { error: 'invalid not before (nbf) claim: token not yet valid' };
  if (now - skewMs > exp * 1000) return { error: 'invalid expiration time (exp) claim: token is expired' };
  if (now + skewMs < iat * 1000) return { error: 'invalid issued at (iat) claim: token issued in the future' };
  return { claims };
}

/** go-glob (ryanuber) as strutil.StrListContainsGlob uses it: `*` matches any run of characters. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const parts = pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[\\s\\S]*')}$`).test(value);
}
