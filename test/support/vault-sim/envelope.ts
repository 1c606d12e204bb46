// Response bodies and headers exactly as Vault's HTTP layer writes them.
import { JsonNumber, stringifyKeepingNumbers } from './kv-json.js';
import type { AuthInfo, LogicalResponse } from './types.js';

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** '' means no body. */
  readonly body: string;
}

/** Go's json.Marshal: HTML-sensitive characters escaped, no trailing newline. */
export function goJson(value: unknown): string {
  return stringifyKeepingNumbers(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Go marshals maps with sorted keys; backend data is always a map. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value instanceof JsonNumber) return value;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortKeysDeep(obj[k])]));
  }
  return value;
}

/**
 * On every reply: Vault's listener adds `Strict-Transport-Security` by default (its default custom
 * response headers), TLS or not.
 */
export const BASE_HEADERS = {
  'cache-control': 'no-store',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
} as const;
const JSON_HEADERS = { ...BASE_HEADERS, 'content-type': 'application/json' } as const;

/** Go's canonical header name: Cache-Control, Strict-Transport-Security. */
export function canonicalHeader(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-');
}

/** json.Encoder output: the JSON text plus a newline. */
export function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: JSON_HEADERS, body: `${goJson(value)}\n` };
}

/** `{"errors":[…]}`: one message, or none. */
export function errorReply(status: number, message: string | null): Reply {
  return jsonReply(status, { errors: message === null ? [] : [message] });
}

/** respondOk with a nil body: 204, still with the JSON content type. */
export function noContentReply(): Reply {
  return { status: 204, headers: JSON_HEADERS, body: '' };
}

export function rawReply(status: number, body: string, contentType: string): Reply {
  return { status, headers: { ...BASE_HEADERS, 'content-type': contentType }, body };
}

/**
 * Paths outside /v1/ (genericWrapping): `/`, `/ui` and `/robots.txt` redirect to the UI (a dev
 * server enables it), `/ui/…` is the UI, anything else is 404 `{"errors":[]}`.
 */
export function outsideApiReply(rawPath: string): Reply {
  if (rawPath === '/' || rawPath === '/ui' || rawPath === '/robots.txt') {
    return {
      status: 307,
      headers: { ...BASE_HEADERS, 'content-type': 'text/html; charset=utf-8', location: '/ui/' },
      body: '<a href="/ui/">Temporary Redirect</a>.\n\n',
    };
  }
  if (rawPath.startsWith('/ui/')) {
    return rawReply(200, '<!DOCTYPE html>\n<html><body>vault-sim: no UI</body></html>\n', 'text/html; charset=utf-8');
  }
  return errorReply(404, null);
}

export function httpAuth(auth: AuthInfo): Record<string, unknown> {
  if (auth.mfaRequirement) {
    return {
      client_token: '', accessor: '', policies: null, metadata: null, lease_duration: 0, renewable: false, entity_id: '',
      token_type: 'default', orphan: false, mfa_requirement: auth.mfaRequirement, num_uses: 0,
    };
  }
  const out: Record<string, unknown> = {
    client_token: auth.clientToken,
    accessor: auth.accessor,
    policies: auth.policies,
  };
  if (auth.tokenPolicies.length > 0) out['token_policies'] = auth.tokenPolicies;
  Object.assign(out, {
    metadata: auth.metadata,
    lease_duration: auth.leaseDurationSeconds,
    renewable: auth.renewable,
    entity_id: auth.entityId,
    token_type: auth.tokenType,
    orphan: auth.orphan,
    mfa_requirement: null,
    num_uses: auth.numUses,
  });
  return out;
}

export interface WrapInfo {
  readonly token: string;
  readonly accessor: string;
  readonly ttl: number;
  readonly creation_time: string;
  readonly creation_path: string;
  readonly wrapped_accessor?: string;
}

/**
 * The logical.HTTPResponse envelope, every key present, in Vault's field order. `mountType`
 * undefined: no `mount_type` key at all (a profile without it, profile.ts `envelopeMountType`).
 */
export function envelopeOf(
  requestId: string,
  response: LogicalResponse | null,
  mountType: string | undefined,
  wrapInfo: WrapInfo | null = null,
): Record<string, unknown> {
  const envelope: Record<string, unknown> = {
    request_id: requestId,
    lease_id: response?.secret?.leaseId ?? '',
    renewable: response?.secret?.renewable ?? false,
    lease_duration: response?.secret?.ttlSeconds ?? 0,
    data: response?.data == null ? null : sortKeysDeep(response.data),
    wrap_info: wrapInfo,
    warnings: response?.warnings && response.warnings.length > 0 ? [...response.warnings] : null,
    auth: response?.auth ? httpAuth(response.auth) : null,
  };
  if (mountType !== undefined) envelope['mount_type'] = mountType;
  return envelope;
}

/** HTTPSysInjector: for some sys/ routes the data keys are repeated at the top level. */
export function injectData(envelope: Record<string, unknown>): Record<string, unknown> {
  const data = envelope['data'];
  if (data === null || typeof data !== 'object' || Object.keys(data).length === 0) return envelope;
  return { ...(data as Record<string, unknown>), ...envelope };
}
