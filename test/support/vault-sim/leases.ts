// The expiration manager for secret leases: register, renew, revoke (by id, prefix or owning
// token), lookup, wall-clock expiry (vault/expiration.go).
import { newLeaseSuffix } from './ids.js';
import { listUnder } from './kv1.js';
import { stampAt, type Stamp } from './time.js';
import { calculateTtl, type BackendLease, type TokenEntry, type TokenStore, type TokenType } from './tokens.js';

export interface LeaseEntry {
  /** `<request path>/<24 base62>`, e.g. `database/creds/ro/Fq8LkYz3mN0pQrS5tUvWxY1z`. */
  readonly id: string;
  readonly issue: Stamp;
  /** Wall-clock expiry in ms. */
  expireMs: number;
  expire: Stamp;
  lastRenewal: Stamp | null;
  readonly renewable: boolean;
  /** The token that read the secret, and its type and accessor ('' for batch tokens). */
  readonly clientToken: string;
  readonly clientTokenType: TokenType;
  readonly tokenAccessor: string;
  /** The token whose revocation revokes this lease: the client token, a batch token's parent, or '' (orphan batch). */
  readonly indexToken: string;
  /** The backend's renew handler: the lease parameters to apply, or a Go error text. */
  readonly renewFrom: () => BackendLease | string;
}

export interface NewLease {
  /** The request path the secret was read from, without a trailing slash. */
  readonly path: string;
  readonly token: TokenEntry;
  /** The backend's TTL and max TTL (0 = the system defaults). */
  readonly ttlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly renewable: boolean;
  readonly renewFrom: () => BackendLease | string;
}

export type RegisterResult =
  | { readonly lease: LeaseEntry; readonly ttlSeconds: number; readonly warnings: string[] }
  | { readonly error: string };

export type LeaseRenewResult =
  | { readonly ok: true; readonly lease: LeaseEntry; readonly ttlSeconds: number; readonly warnings: string[] }
  | { readonly ok: false; readonly message: string };

export class LeaseStore {
  private readonly byId = new Map<string, LeaseEntry>();
  /** Test switch: renew endpoints answer this status while set (see VaultSim.leases.failRenewals). */
  renewFailure: number | null = null;

  constructor(private readonly now: () => number, private readonly tokens: TokenStore) {
    tokens.onRevoke((entry) => this.revokeByToken(entry.id));
  }

  /** The core's request handling plus ExpirationManager.Register for a response with a secret. */
  register(spec: NewLease): RegisterResult {
    const nowMs = this.now();
    const ttl = calculateTtl({
      incrementSeconds: 0, backendTtlSeconds: spec.ttlSeconds, periodSeconds: 0, backendMaxTtlSeconds: spec.maxTtlSeconds,
      explicitMaxTtlSeconds: 0, startMs: nowMs, nowMs,
    });
    if ('error' in ttl) return { error: ttl.error };
    const token = spec.token;
    let expireMs = nowMs + ttl.ttlSeconds * 1000;
    // A batch token's leases never outlive it.
    if (token.type === 'batch' && token.expireMs !== null && token.expireMs < expireMs) expireMs = token.expireMs;
    const lease: LeaseEntry = {
      id: `${spec.path}/${newLeaseSuffix()}`,
      issue: stampAt(nowMs),
      expireMs,
      expire: stampAt(expireMs),
      lastRenewal: null,
      renewable: spec.renewable,
      clientToken: token.id,
      clientTokenType: token.type,
      tokenAccessor: token.accessor,
      indexToken: token.type === 'batch' ? token.parent : token.id,
      renewFrom: spec.renewFrom,
    };
    this.byId.set(lease.id, lease);
    return { lease, ttlSeconds: Math.round((expireMs - nowMs) / 1000), warnings: ttl.warnings };
  }

  /** Revokes every lease (and token) whose time is up, as the expiration manager's timers do. */
  sweep(): void {
    this.tokens.sweep();
    const nowMs = this.now();
    for (const lease of [...this.byId.values()]) if (lease.expireMs <= nowMs) this.byId.delete(lease.id);
  }

  /** A live lease, or undefined. */
  get(id: string): LeaseEntry | undefined {
    this.sweep();
    return this.byId.get(id);
  }

  /** Live leases, oldest first. */
  all(): LeaseEntry[] {
    this.sweep();
    return [...this.byId.values()];
  }

  /** ExpirationManager.Renew: the backend's renew, then CalculateTTL from the issue time. */
  renew(id: string, incrementSeconds: number): LeaseRenewResult {
    const bad = (message: string): LeaseRenewResult => ({ ok: false, message });
    const lease = this.get(id);
    if (!lease) return bad('lease not found');
    // leaseEntry.renewable(): a batch token's lease skips the renewable flag.
    if (lease.clientTokenType !== 'batch' && !lease.renewable) return bad('lease is not renewable');
    const backendFailed = (err: string): LeaseRenewResult => bad(`failed to renew entry: resp: (*logical.Response)(nil) err: ${err}`);
    const fromBackend = lease.renewFrom();
    if (typeof fromBackend === 'string') return backendFailed(fromBackend);
    const nowMs = this.now();
    const result = calculateTtl({
      incrementSeconds,
      backendTtlSeconds: fromBackend.ttlSeconds,
      periodSeconds: 0,
      backendMaxTtlSeconds: fromBackend.maxTtlSeconds,
      explicitMaxTtlSeconds: 0,
      startMs: lease.issue.ms,
      nowMs,
    });
    // The backend runs the same calculation first, so its error is the one reported.
    if ('error' in result) return backendFailed(result.error);
    let ttlMs = result.ttlSeconds * 1000;
    if (lease.clientTokenType === 'batch') {
      const token = this.tokens.lookup(lease.clientToken);
      if (!token) return bad('cannot renew lease, no valid associated token');
      if (token.expireMs !== null && nowMs + ttlMs > token.expireMs) ttlMs = token.expireMs - nowMs;
    }
    lease.expireMs = nowMs + ttlMs;
    lease.expire = stampAt(lease.expireMs);
    lease.lastRenewal = stampAt(nowMs);
    return { ok: true, lease, ttlSeconds: Math.trunc(ttlMs / 1000), warnings: result.warnings };
  }

  /** Revokes one lease; false when there was none (still a success for the API). */
  revoke(id: string): boolean {
    return this.byId.delete(id);
  }

  /**
   * revokePrefixCommon: a prefix without a trailing slash that names a lease revokes just that
   * lease; otherwise everything under `<prefix>/`. Token leases (`<token path>/<salted id>`)
   * under the prefix revoke their tokens, with children.
   */
  revokePrefix(rawPrefix: string): void {
    this.sweep();
    if (!rawPrefix.endsWith('/') && this.byId.delete(rawPrefix)) return;
    const prefix = rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
    for (const id of [...this.byId.keys()]) if (id.startsWith(prefix)) this.byId.delete(id);
    for (const token of this.tokens.all()) {
      if (token.hasLease && token.type === 'service' && `${token.path}/`.startsWith(prefix)) this.tokens.revokeTree(token.id);
    }
  }

  /** RevokeByToken: every lease indexed under this token. */
  revokeByToken(tokenId: string): void {
    for (const lease of [...this.byId.values()]) if (lease.indexToken === tokenId) this.byId.delete(lease.id);
  }

  /** Storage List under the lease view: ids and folders directly below `prefix`. */
  listKeys(prefix: string): string[] {
    this.sweep();
    return listUnder(this.byId.keys(), prefix);
  }

  /** Seconds left, rounded like leaseEntry.ttl(). */
  remainingSeconds(lease: LeaseEntry): number {
    return Math.max(0, Math.trunc((lease.expireMs - Math.round(this.now() / 1000) * 1000) / 1000));
  }
}
