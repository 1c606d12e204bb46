/**
 * Vault Agent's rules for the lease cache: which requests may be answered from it, which
 * responses are recorded, and which requests revoke something (evict on success). Every rule
 * reads the canonical request's decoded path below /v1/ (`rel`), never the raw one.
 */
import { bodyFields, type VaultRequest } from '../vault/request.js';

const RENEW = /(?:^|\/)(?:sys\/(?:leases\/)?renew(?:\/.*)?|auth\/token\/renew(?:-self|-accessor)?(?:\/.*)?)$/;
const WRAPPING = /(?:^|\/)sys\/wrapping\//;

/** Renew responses are never cached (Vault's bug #19684: they look like new leases). `rel`: the decoded path below /v1/. */
export function isRenewPath(rel: string): boolean {
  return RENEW.test(rel.replace(/\/+$/, ''));
}

/**
 * Requests through Envoy that change what a token or a lease is, matched to act on Vault's 2xx:
 * revocations (evict), and renewals (a renewal may shorten a token's TTL: its cached access must
 * be looked up again).
 */
export type RevocationKind =
  | 'token' | 'token-self' | 'accessor' | 'orphan' | 'lease' | 'lease-prefix'
  | 'renew' | 'renew-self' | 'renew-accessor' | 'lease-renew'
  /** An auth method disabled (`DELETE sys/auth/<path>`): Vault revokes every token it issued. */
  | 'auth-disable'
  /** Policies, identities or mounts changed: who may read what may have changed at once. */
  | 'privileges';

export interface RevocationMatch {
  kind: RevocationKind;
  /** The value when it is in the URL (`sys/leases/revoke/<id>`, `revoke-prefix/<p>`). */
  urlValue?: string;
}

/** Writes that change who may read what at once: ACL policies, identities (entities, groups, aliases), remounts. */
const PRIVILEGES = /(?:^|\/)(?:sys\/polic(?:y|ies)\/|identity\/|sys\/remount$)/;

const REVOCATIONS: Array<[RegExp, RevocationKind]> = [
  [/(?:^|\/)auth\/token\/revoke$/, 'token'],
  [/(?:^|\/)auth\/token\/revoke-self$/, 'token-self'],
  [/(?:^|\/)auth\/token\/revoke-accessor$/, 'accessor'],
  [/(?:^|\/)auth\/token\/revoke-orphan$/, 'orphan'],
  [/(?:^|\/)sys\/(?:leases\/)?revoke$/, 'lease'],
  [/(?:^|\/)sys\/(?:leases\/)?revoke\/(.+)$/, 'lease'],
  [/(?:^|\/)sys\/(?:leases\/)?revoke-(?:prefix|force)\/(.+)$/, 'lease-prefix'],
  [/(?:^|\/)auth\/token\/renew$/, 'renew'],
  [/(?:^|\/)auth\/token\/renew-self$/, 'renew-self'],
  [/(?:^|\/)auth\/token\/renew-accessor$/, 'renew-accessor'],
  [/(?:^|\/)sys\/(?:leases\/)?renew$/, 'lease-renew'],
  [/(?:^|\/)sys\/(?:leases\/)?renew\/(.+)$/, 'lease-renew'],
];

/**
 * Revocation endpoints, namespaced forms and the legacy sys/revoke* aliases included. `rel` is the
 * decoded path below /v1/ (Vault decodes it too: `revoke-sel%66` is revoke-self); the method is
 * case-sensitive, as Vault's.
 */
export function matchRevocation(method: string, rel: string): RevocationMatch | undefined {
  if (method === 'DELETE') {
    const auth = /(?:^|\/)sys\/auth\/(.+?)\/*$/.exec(rel);
    if (auth && !auth[1]!.endsWith('/tune')) return { kind: 'auth-disable', urlValue: `auth/${auth[1]}` };
  }
  if ((method === 'POST' || method === 'PUT' || method === 'DELETE' || method === 'PATCH') && PRIVILEGES.test(rel)) return { kind: 'privileges' };
  if (method !== 'POST' && method !== 'PUT') return undefined;
  for (const [re, kind] of REVOCATIONS) {
    const m = re.exec(rel);
    if (m) return m[1] !== undefined ? { kind, urlValue: m[1] } : { kind };
  }
  return undefined;
}

/**
 * Whether a successful revocation may also have revoked tokens we cannot name: a token's children
 * (revoke, revoke-self, revoke-accessor), or tokens' leases (lease ids under `auth/`).
 */
export function mayRevokeTokens(match: RevocationMatch, value: string | undefined): boolean {
  switch (match.kind) {
    case 'token':
    case 'token-self':
    case 'accessor':
    case 'auth-disable':
    case 'privileges':
      return true;
    case 'orphan':
    case 'renew':
    case 'renew-self':
    case 'renew-accessor':
    case 'lease-renew':
      return false; // children stay, as orphans; a renewal revokes nothing
    case 'lease':
    case 'lease-prefix':
      return value === undefined || value.replace(/^\/+/, '') === '' || value.split('/').includes('auth');
  }
}

/** The token, accessor or lease a revocation names: from the URL, the JSON body, or the request token. */
export function revocationValue(match: RevocationMatch, body: Buffer | undefined, requestToken: string | undefined, contentType?: string): string | undefined {
  if (match.urlValue !== undefined) return match.urlValue;
  if (match.kind === 'token-self' || match.kind === 'renew-self') return requestToken;
  const parsed = bodyFields(body, contentType);
  if (!parsed) return undefined;
  const field = match.kind === 'accessor' || match.kind === 'renew-accessor' ? 'accessor' : match.kind === 'lease' || match.kind === 'lease-renew' ? 'lease_id' : 'token';
  const v = parsed[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Requests the lease cache may answer or record (an allow-list): GET, POST or PUT exactly, a path
 * Vault reads as we do, one token header, no header that changes Vault's answer (wrapping, MFA,
 * policy override …), and not a renewal, a revocation or a wrapping endpoint.
 */
export function isLeaseCandidate(req: VaultRequest): boolean {
  const rel = req.rel;
  if (rel === undefined || !req.exact || req.tokenRepeated || req.answerHeaders.length > 0) return false;
  if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'PUT') return false;
  return !isRenewPath(rel) && !WRAPPING.test(rel) && matchRevocation(req.method, rel) === undefined;
}

/** A request that changes KV data or a mount, as far as the static cache is concerned. */
export type KvChange = { kind: 'unmount'; mountRel: string };

/**
 * `DELETE sys/mounts/<path>` (a secrets engine disabled, its data gone) and
 * `POST sys/mounts/<path>/tune` (a KV v1 mount upgraded to v2, versions trimmed): everything under
 * the mount goes. Matched on the decoded path, with any namespace prefix before `sys/` kept in
 * `mountRel` (`ns1/secret`).
 */
export function matchUnmount(method: string, rel: string): KvChange | undefined {
  if (method === 'DELETE') {
    const m = /^(.*?)sys\/mounts\/(.+?)\/*$/.exec(rel);
    return m ? { kind: 'unmount', mountRel: `${m[1]}${m[2]}` } : undefined;
  }
  if (method === 'POST' || method === 'PUT') {
    const m = /^(.*?)sys\/mounts\/(.+?)\/tune\/*$/.exec(rel);
    return m ? { kind: 'unmount', mountRel: `${m[1]}${m[2]}` } : undefined;
  }
  return undefined;
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
    auth?: { client_token?: unknown; accessor?: unknown; renewable?: unknown; orphan?: unknown; lease_duration?: unknown; token_type?: unknown; num_uses?: unknown } | null;
  };
  try {
    r = JSON.parse(body.toString('utf8')) as typeof r;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object' || r.wrap_info) return undefined;
  const auth = r.auth;
  // A login that asks for MFA has no token yet; whatever it has is never replayed.
  if (auth && (auth as { mfa_requirement?: unknown }).mfa_requirement) return undefined;
  if (auth && typeof auth.client_token === 'string' && auth.client_token !== '') {
    // A use-limited token is never replayed: every hit would be a use Vault does not count.
    if (auth.renewable !== true || auth.token_type === 'batch' || (typeof auth.num_uses === 'number' && auth.num_uses > 0)) return undefined;
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
