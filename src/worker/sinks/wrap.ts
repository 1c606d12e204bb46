import { AppError } from '../../errors.js';
import type { VaultClient } from '../../vault/client.js';
import { HEADERS } from '../../vault/paths.js';
import type { VaultWrapInfo } from '../../vault/types.js';

/**
 * Response-wraps a token as Vault Agent's sink server does: `sys/wrapping/wrap` called with the
 * token itself, `{ token }` as the data, X-Vault-Wrap-TTL set. Returns the wrap_info as Agent
 * writes it.
 */
export async function wrapToken(vault: VaultClient, token: string, ttlSeconds: number): Promise<string> {
  const reply = await vault.request({
    method: 'POST', path: 'sys/wrapping/wrap', token, body: { token },
    headers: { [HEADERS.wrapTtl]: `${ttlSeconds}s` }, retry: false,
  });
  const info = reply.body?.wrap_info;
  if (!info?.token) throw new AppError('VAULT_BAD_RESPONSE', 'sys/wrapping/wrap answered without wrap_info; the sink is not written');
  return encodeWrapInfo(info);
}

/**
 * wrap_info in the bytes Vault Agent writes: Go's api.SecretWrapInfo through encoding/json's
 * Encoder — fields in its order, all present, `<>&` escaped, a trailing newline — with
 * creation_time as Go prints a time.Time (RFC 3339, fraction without trailing zeros).
 */
export function encodeWrapInfo(info: VaultWrapInfo & { wrapped_accessor?: string }): string {
  const fields: Array<[string, string | number]> = [
    ['token', info.token],
    ['accessor', info.accessor ?? ''],
    ['ttl', Math.trunc(info.ttl ?? 0)],
    ['creation_time', goTime(info.creation_time)],
    ['creation_path', info.creation_path ?? ''],
    ['wrapped_accessor', info.wrapped_accessor ?? ''],
  ];
  return `{${fields.map(([k, v]) => `${goJson(k)}:${typeof v === 'number' ? String(v) : goJson(v)}`).join(',')}}\n`;
}

/** A JSON string as Go's encoder writes it (HTML-safe escapes, U+2028/2029 escaped). */
export function goJson(value: string): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Go's time.Time JSON for a timestamp Vault sent (RFC 3339 nano, trailing fraction zeros dropped); the zero time when absent. */
function goTime(value: string | undefined): string {
  if (!value) return '0001-01-01T00:00:00Z';
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!m) return value;
  const fraction = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  return `${m[1]}${fraction ? `.${fraction}` : ''}${m[3] === '+00:00' ? 'Z' : m[3]}`;
}
