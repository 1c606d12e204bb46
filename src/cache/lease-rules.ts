/**
 * Vault Agent's rules for the lease cache: which requests may be answered from it, which
 * responses are recorded, and which requests revoke something (evict on success).
 */

/** Path below /v1/ with any namespace prefix still on it. */
function rel(path: string): string {
  return path.replace(/^\/v1\/+/, '').replace(/\/+$/, '');
}

const RENEW = /(?:^|\/)(?:sys\/(?:leases\/)?renew(?:\/.*)?|auth\/token\/renew(?:-self|-accessor)?(?:\/.*)?)$/;
const WRAPPING = /(?:^|\/)sys\/wrapping\//;

/** Renew responses are never cached (Vault's bug #19684: they look like new leases). */
export function isRenewPath(path: string): boolean {
  return RENEW.test(rel(path));
}

export type RevocationKind = 'token' | 'token-self' | 'accessor' | 'orphan' | 'lease' | 'lease-prefix';

export interface RevocationMatch {
  kind: RevocationKind;
  /** The value when it is in the URL (`sys/leases/revoke/<id>`, `revoke-prefix/<p>`). */
  urlValue?: string;
}

const REVOCATIONS: Array<[RegExp, RevocationKind]> = [
  [/(?:^|\/)auth\/token\/revoke$/, 'token'],
  [/(?:^|\/)auth\/token\/revoke-self$/, 'token-self'],
  [/(?:^|\/)auth\/token\/revoke-accessor$/, 'accessor'],
  [/(?:^|\/)auth\/token\/revoke-orphan$/, 'orphan'],
  [/(?:^|\/)sys\/(?:leases\/)?revoke$/, 'lease'],
  [/(?:^|\/)sys\/(?:leases\/)?revoke\/(.+)$/, 'lease'],
  [/(?:^|\/)sys\/(?:leases\/)?revoke-(?:prefix|force)\/(.+)$/, 'lease-prefix'],
];

/** Revocation endpoints, namespaced forms and the legacy sys/revoke* aliases included. */
export function matchRevocation(method: string, path: string): RevocationMatch | undefined {
  if (method !== 'POST' && method !== 'PUT') return undefined;
  const p = rel(path);
  for (const [re, kind] of REVOCATIONS) {
    const m = re.exec(p);
    if (m) return m[1] !== undefined ? { kind, urlValue: decodeURIComponent(m[1]) } : { kind };
  }
  return undefined;
}

/** The token, accessor or lease a revocation names: from the URL, the JSON body, or the request token. */
export function revocationValue(match: RevocationMatch, body: Buffer | undefined, requestToken: string | undefined): string | undefined {
  if (match.urlValue !== undefined) return match.urlValue;
  if (match.kind === 'token-self') return requestToken;
  let parsed: Record<string, unknown> = {};
  try {
    parsed = body && body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
  const field = match.kind === 'accessor' ? 'accessor' : match.kind === 'lease' ? 'lease_id' : 'token';
  const v = parsed[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Requests the lease cache may answer or record: under /v1/, not renewals, revocations or wrapping. */
export function isLeaseCandidate(method: string, path: string, wrapped: boolean): boolean {
  if (!path.startsWith('/v1/') || wrapped) return false;
  if (method === 'LIST' || method === 'DELETE' || method === 'HEAD' || method === 'OPTIONS') return false;
  return !isRenewPath(path) && !WRAPPING.test(rel(path)) && matchRevocation(method, path) === undefined;
}

/** What a cacheable response created. */
export type LeaseRecord =
  | { kind: 'token'; clientToken: string; accessor: string; orphan: boolean; ttlSeconds: number }
  | { kind: 'lease'; leaseId: string; ttlSeconds: number };

/**
 * A 2xx JSON response that created a renewable token (not batch, not wrapped) or a renewable
 * lease. Whether its creator is managed is for the caller to check.
 */
export function leaseRecordOf(body: Buffer): LeaseRecord | undefined {
  let r: {
    wrap_info?: unknown; lease_id?: unknown; renewable?: unknown; lease_duration?: unknown;
    auth?: { client_token?: unknown; accessor?: unknown; renewable?: unknown; orphan?: unknown; lease_duration?: unknown; token_type?: unknown } | null;
  };
  try {
    r = JSON.parse(body.toString('utf8')) as typeof r;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object' || r.wrap_info) return undefined;
  const auth = r.auth;
  if (auth && typeof auth.client_token === 'string' && auth.client_token !== '') {
    if (auth.renewable !== true || auth.token_type === 'batch') return undefined;
    return {
      kind: 'token', clientToken: auth.client_token, accessor: typeof auth.accessor === 'string' ? auth.accessor : '',
      orphan: auth.orphan === true, ttlSeconds: Number(auth.lease_duration) || 0,
    };
  }
  if (typeof r.lease_id === 'string' && r.lease_id !== '' && r.renewable === true) {
    return { kind: 'lease', leaseId: r.lease_id, ttlSeconds: Number(r.lease_duration) || 0 };
  }
  return undefined;
}
