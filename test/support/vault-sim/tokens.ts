// The token store: entries, parent/child tree, wall-clock expiry, TTL maths and renewal.
import { newAccessor, newBatchToken, newRootToken, newServiceToken } from './ids.js';
import {
  SYSTEM_DEFAULT_TTL_SECONDS, SYSTEM_MAX_TTL_SECONDS, formatTime, humanDuration, stampAt, type Stamp,
} from './time.js';
import type { AuthInfo, SimRequest } from './types.js';

export type TokenType = 'service' | 'batch';

/** Lease parameters a login backend supplies when one of its tokens is renewed. */
export interface BackendLease {
  readonly ttlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly periodSeconds: number;
}

export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  /** Parent token id; '' for an orphan. */
  parent: string;
  readonly path: string;
  readonly displayName: string;
  readonly meta: Readonly<Record<string, string>> | null;
  numUses: number;
  readonly creation: Stamp;
  readonly creationTtlSeconds: number;
  /** The TTL granted by creation or the last renewal. */
  ttlSeconds: number;
  /** Wall-clock expiry in ms; null for tokens that never expire. */
  expireMs: number | null;
  readonly explicitMaxTtlSeconds: number;
  readonly periodSeconds: number;
  readonly renewable: boolean;
  lastRenewal: Stamp | null;
  /** False only for the dev root token, which has no lease entry. */
  readonly hasLease: boolean;
  readonly type: TokenType;
  readonly role: string;
  readonly entityId: string;
  /** Login tokens ask their backend for lease parameters on renewal (may return an error text). */
  readonly renewFrom?: BackendRenewal;
  readonly children: Set<string>;
}

/** tokenRevocationPending: a limited-use token during its last use. */
export const REVOCATION_PENDING = -1;

export interface NewToken {
  readonly id?: string;
  readonly policies: readonly string[];
  readonly parent: string;
  readonly path: string;
  readonly displayName: string;
  readonly meta?: Readonly<Record<string, string>> | null;
  readonly numUses?: number;
  readonly ttlSeconds: number;
  readonly explicitMaxTtlSeconds?: number;
  readonly periodSeconds?: number;
  readonly renewable: boolean;
  readonly type?: TokenType;
  readonly role?: string;
  readonly entityId?: string;
  readonly hasLease?: boolean;
  readonly renewFrom?: BackendRenewal;
}

/**
 * A login backend's AuthRenew: the lease parameters, an error text (a Go error: 500), or
 * `{ refused }` (an ErrorResponse: 400 with that text). It may look at the renewing request (the
 * cert method checks the connection presents the login's certificate).
 */
export type BackendRenewal = (req?: SimRequest) => BackendLease | string | { readonly refused: string };

export interface TtlInput {
  readonly incrementSeconds: number;
  readonly backendTtlSeconds: number;
  readonly periodSeconds: number;
  readonly backendMaxTtlSeconds: number;
  readonly explicitMaxTtlSeconds: number;
  readonly startMs: number;
  readonly nowMs: number;
}

export type TtlResult = { readonly ttlSeconds: number; readonly warnings: string[] } | { readonly error: string };

/** sdk/framework CalculateTTL, in whole seconds. */
export function calculateTtl(input: TtlInput): TtlResult {
  const now = Math.floor(input.nowMs / 1000);
  const start = Math.floor(input.startMs / 1000);
  let maxTtl = SYSTEM_MAX_TTL_SECONDS;
  if (input.backendMaxTtlSeconds > 0 && input.backendMaxTtlSeconds < maxTtl) maxTtl = input.backendMaxTtlSeconds;
  if (input.explicitMaxTtlSeconds > 0 && input.explicitMaxTtlSeconds < maxTtl) maxTtl = input.explicitMaxTtlSeconds;
  const warnings: string[] = [];
  let ttl: number;
  let maxValid: number | undefined;
  if (input.periodSeconds > 0) {
    ttl = input.periodSeconds;
    if (ttl > maxTtl) {
      warnings.push(`period of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxTtl)}"; period value is capped accordingly`);
      ttl = maxTtl;
    }
    if (input.explicitMaxTtlSeconds > 0) maxValid = start + input.explicitMaxTtlSeconds;
  } else {
    ttl = input.incrementSeconds > 0 ? input.incrementSeconds
      : input.backendTtlSeconds > 0 ? input.backendTtlSeconds : SYSTEM_DEFAULT_TTL_SECONDS;
    maxValid = start + maxTtl;
  }
  if (maxValid !== undefined) {
    const maxValidTtl = maxValid - now;
    if (maxValidTtl <= 0) return { error: 'past the max TTL, cannot renew' };
    if (ttl > maxValidTtl) {
      warnings.push(`TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxValidTtl)}"; TTL value is capped accordingly`);
      ttl = maxValidTtl;
    }
  }
  return { ttlSeconds: ttl, warnings };
}

export type RenewResult =
  | { readonly ok: true; readonly warnings: string[] }
  | { readonly ok: false; readonly status: number; readonly message: string; readonly wrapped: boolean };

export class TokenStore {
  private readonly byId = new Map<string, TokenEntry>();
  private readonly byAccessor = new Map<string, string>();
  private readonly revokeHooks: Array<(entry: TokenEntry) => void> = [];

  constructor(private readonly now: () => number) {}

  /**
   * Runs `hook` for every token that leaves the store (revoked, expired, used up, orphan-revoked),
   * after it has left: RevokeByToken, which takes the token's leases with it.
   */
  onRevoke(hook: (entry: TokenEntry) => void): void {
    this.revokeHooks.push(hook);
  }

  create(spec: NewToken): TokenEntry {
    const nowMs = this.now();
    const type = spec.type ?? 'service';
    // GenerateSSCTokenID: root tokens keep the short `hvs.<24 base62>` form, other service
    // tokens get the long signed one.
    const id = spec.id ?? (type === 'batch' ? newBatchToken() : spec.policies.includes('root') ? newRootToken() : newServiceToken());
    const entry: TokenEntry = {
      id,
      accessor: type === 'batch' ? '' : newAccessor(),
      policies: [...spec.policies],
      parent: spec.parent,
      path: spec.path,
      displayName: spec.displayName,
      meta: spec.meta ?? null,
      numUses: spec.numUses ?? 0,
      creation: stampAt(nowMs),
      creationTtlSeconds: spec.ttlSeconds,
      ttlSeconds: spec.ttlSeconds,
      expireMs: spec.ttlSeconds > 0 ? nowMs + spec.ttlSeconds * 1000 : null,
      explicitMaxTtlSeconds: spec.explicitMaxTtlSeconds ?? 0,
      periodSeconds: spec.periodSeconds ?? 0,
      renewable: spec.renewable && spec.ttlSeconds > 0 && type === 'service',
      lastRenewal: null,
      hasLease: spec.hasLease ?? true,
      type,
      role: spec.role ?? '',
      entityId: spec.entityId ?? '',
      renewFrom: spec.renewFrom,
      children: new Set(),
    };
    this.byId.set(id, entry);
    if (entry.accessor !== '') this.byAccessor.set(entry.accessor, id);
    if (entry.parent !== '') this.byId.get(entry.parent)?.children.add(id);
    return entry;
  }

  /** Revokes every token whose TTL has run out (with its children), as the expiration manager does. */
  sweep(): void {
    const nowMs = this.now();
    for (const entry of [...this.byId.values()]) {
      if (entry.expireMs !== null && entry.expireMs <= nowMs) this.revokeTree(entry.id);
    }
  }

  /** A live token, or undefined for unknown, revoked or expired ones. */
  lookup(id: string | undefined): TokenEntry | undefined {
    if (!id) return undefined;
    this.sweep();
    const entry = this.byId.get(id);
    return entry?.numUses === REVOCATION_PENDING ? undefined : entry;
  }

  /** Takes a token out of the store without revoking it (a login held back for MFA, or one that failed it). */
  detach(entry: TokenEntry): void {
    this.byId.delete(entry.id);
    if (entry.accessor !== '') this.byAccessor.delete(entry.accessor);
  }

  /** Puts a detached token back (a held login that passed sys/mfa/validate). */
  attach(entry: TokenEntry): void {
    this.byId.set(entry.id, entry);
    if (entry.accessor !== '') this.byAccessor.set(entry.accessor, entry.id);
  }

  /** lookupInternal(tainted=true): a live token, also during its last use (revocation pending). */
  lookupTainted(id: string | undefined): TokenEntry | undefined {
    if (!id) return undefined;
    this.sweep();
    return this.byId.get(id);
  }

  lookupByAccessor(accessor: string): TokenEntry | undefined {
    const id = this.byAccessor.get(accessor);
    return id === undefined ? undefined : this.lookup(id);
  }

  all(): TokenEntry[] {
    this.sweep();
    return [...this.byId.values()];
  }

  /** Revokes a token and, recursively, all its non-orphan descendants. */
  revokeTree(id: string): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    for (const child of [...entry.children]) this.revokeTree(child);
    this.remove(entry);
  }

  /**
   * Revokes only this token; its service-token children become orphans. Batch children carry
   * their parent inside them and stop validating once it is gone, so they go too.
   */
  revokeOrphan(id: string): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    for (const childId of [...entry.children]) {
      const child = this.byId.get(childId);
      if (!child) continue;
      if (child.type === 'batch') this.revokeTree(child.id);
      else child.parent = '';
    }
    entry.children.clear();
    this.remove(entry);
  }

  private remove(entry: TokenEntry): void {
    this.byId.delete(entry.id);
    if (entry.accessor !== '') this.byAccessor.delete(entry.accessor);
    if (entry.parent !== '') this.byId.get(entry.parent)?.children.delete(entry.id);
    for (const hook of this.revokeHooks) hook(entry);
  }

  /**
   * UseToken: counts one use of a limited-use token; true when this was its last use. The token
   * then shows `num_uses: -1` (revocation pending) for the rest of the request, other lookups
   * no longer find it, and the caller revokes it after the request.
   */
  use(entry: TokenEntry): boolean {
    if (entry.numUses <= 0) return false;
    if (entry.numUses === 1) {
      entry.numUses = REVOCATION_PENDING;
      return true;
    }
    entry.numUses -= 1;
    return false;
  }

  /** ExpirationManager.RenewToken: extends the lease, never beyond the max TTL. */
  renew(entry: TokenEntry, incrementSeconds: number, req?: SimRequest): RenewResult {
    const bad = (message: string, status = 400, wrapped = false): RenewResult => ({ ok: false, status, message, wrapped });
    if (!entry.hasLease) return bad('invalid lease ID');
    if (entry.expireMs === null || !entry.renewable) return bad('lease is not renewable');
    let lease: BackendLease = { ttlSeconds: entry.ttlSeconds, maxTtlSeconds: 0, periodSeconds: entry.periodSeconds };
    if (entry.renewFrom) {
      const fromBackend = entry.renewFrom(req);
      if (typeof fromBackend === 'string') return bad(fromBackend, 500, true);
      if ('refused' in fromBackend) return bad(fromBackend.refused);
      lease = fromBackend;
    }
    const nowMs = this.now();
    const result = calculateTtl({
      incrementSeconds,
      backendTtlSeconds: lease.ttlSeconds,
      periodSeconds: lease.periodSeconds,
      backendMaxTtlSeconds: lease.maxTtlSeconds,
      explicitMaxTtlSeconds: entry.explicitMaxTtlSeconds,
      startMs: entry.creation.ms,
      nowMs,
    });
    if ('error' in result) return bad(result.error, 500, true);
    entry.ttlSeconds = result.ttlSeconds;
    entry.expireMs = nowMs + result.ttlSeconds * 1000;
    entry.lastRenewal = stampAt(nowMs);
    return { ok: true, warnings: result.warnings };
  }

  /** Seconds left before expiry, rounded like leaseEntry.ttl(). */
  remainingSeconds(entry: TokenEntry): number {
    if (entry.expireMs === null) return 0;
    return Math.max(0, Math.trunc((entry.expireMs - Math.round(this.now() / 1000) * 1000) / 1000));
  }
}

/** The `auth` block for a token. */
export function authInfoOf(entry: TokenEntry, clientToken: string = entry.id): AuthInfo {
  return {
    clientToken,
    accessor: entry.accessor,
    policies: entry.policies,
    tokenPolicies: entry.policies,
    metadata: entry.meta,
    leaseDurationSeconds: entry.ttlSeconds,
    renewable: entry.renewable,
    entityId: entry.entityId,
    tokenType: entry.type,
    orphan: entry.parent === '',
    numUses: entry.numUses,
  };
}

/** `data` of auth/token/lookup*, as token_store.go handleLookup builds it. */
export function lookupDataOf(store: TokenStore, entry: TokenEntry, showId: boolean): Record<string, unknown> {
  const data: Record<string, unknown> = {
    id: showId ? entry.id : '',
    accessor: entry.accessor,
    policies: entry.policies,
    path: entry.path,
    meta: entry.meta,
    display_name: entry.displayName,
    num_uses: entry.numUses,
    orphan: entry.parent === '',
    creation_time: Math.floor(entry.creation.ms / 1000),
    creation_ttl: entry.creationTtlSeconds,
    expire_time: null,
    ttl: 0,
    explicit_max_ttl: entry.explicitMaxTtlSeconds,
    entity_id: entry.entityId,
    type: entry.type,
  };
  if (entry.role !== '') data['role'] = entry.role;
  if (entry.periodSeconds > 0) data['period'] = entry.periodSeconds;
  if (entry.hasLease) {
    if (entry.lastRenewal) {
      data['last_renewal_time'] = Math.floor(entry.lastRenewal.ms / 1000);
      data['last_renewal'] = entry.lastRenewal.text;
    }
    if (entry.expireMs !== null) {
      data['expire_time'] = formatTime(entry.expireMs);
      data['ttl'] = store.remainingSeconds(entry);
    }
    data['renewable'] = entry.renewable && entry.expireMs !== null;
    data['issue_time'] = entry.creation.text;
  }
  return data;
}
