// Identifier formats, shaped like the ones a real Vault hands out.
import { randomBytes, randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE64URL = `${BASE62}-_`;

function randomFrom(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/**
 * Request ids, entity ids, AppRole role/secret ids, event ids and mount UUIDs: go-uuid's
 * GenerateUUID, 16 random bytes in the 8-4-4-4-12 layout with no version or variant bits (not a
 * v4 UUID).
 */
export function newUuid(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Token accessors are 24 base62 characters. */
export function newAccessor(): string {
  return randomFrom(BASE62, 24);
}

/**
 * Service tokens: `hvs.` followed by a base64url protobuf blob, 95 characters in all
 * (e.g. `hvs.CAESI…`). Only the prefix and the rough length matter to clients.
 */
export function newServiceToken(): string {
  return `hvs.CAESI${randomFrom(BASE64URL, 86)}`;
}

/** Service tokens with the root policy are not signed: `hvs.` and 24 base62 characters. */
export function newRootToken(): string {
  return `hvs.${randomFrom(BASE62, 24)}`;
}

/** Batch tokens are longer and start with `hvb.`. */
export function newBatchToken(): string {
  return `hvb.AAAAAQ${randomFrom(BASE64URL, 130)}`;
}

/** The random tail of a lease id (`<request path>/<24 base62>`, expiration.go Register). */
export function newLeaseSuffix(): string {
  return randomFrom(BASE62, 24);
}

/**
 * A database password from the plugins' default password policy: 20 characters with at least
 * one lower-case letter, one upper-case letter, one digit and one `-`.
 */
export function newDbPassword(): string {
  const required = [
    randomFrom('abcdefghijklmnopqrstuvwxyz', 1), randomFrom('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 1),
    randomFrom('0123456789', 1), '-',
  ];
  const chars = [...required, ...randomFrom(`${BASE62}-`, 16)];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

/** A random base62 string, e.g. the `random 20` of a database username template. */
export function randomBase62(length: number): string {
  return randomFrom(BASE62, length);
}

/** Mount accessors: `<type>_<8 hex>`, e.g. `kv_1a2b3c4d`. */
export function newMountAccessor(type: string): string {
  return `${type}_${randomBytes(4).toString('hex')}`;
}
