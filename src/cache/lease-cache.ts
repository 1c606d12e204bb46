import type { StoredResponse } from './entry.js';

/** A cached token-creation or leased-secret response, and who owns it. */
export interface LeaseEntry {
  key: string;
  kind: 'token' | 'lease';
  response: StoredResponse;
  /** Hash of the token that made the request (the parent, for a token entry). Undefined for orphans. */
  ownerHash?: string;
  /** Token entries: hash and accessor of the token the response created. */
  tokenHash?: string;
  accessor?: string;
  /** Lease entries: the lease id. */
  leaseId?: string;
  /** Canonical `namespace/path` of the request (cache-clear by request_path). */
  requestPath: string;
  namespace: string;
}

export type LeaseEvictionReason = 'revoked' | 'renewal_stopped' | 'parent_evicted' | 'cleared' | 'reauth';

/**
 * The lease cache: responses that created tokens or leases, with the tree of ownership Vault
 * has — evicting a token evicts the leases and non-orphan child tokens it created.
 */
export class LeaseCache {
  private readonly entries = new Map<string, LeaseEntry>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly byToken = new Map<string, string>();
  private readonly byAccessor = new Map<string, string>();
  private readonly byLease = new Map<string, string>();
  private bytesHeld = 0;

  constructor(private readonly onEvicted: (entry: LeaseEntry, reason: LeaseEvictionReason) => void = () => undefined) {}

  lookup(key: string): LeaseEntry | undefined {
    return this.entries.get(key);
  }

  /** A token we manage: created through us (cached), or the auto-auth token (checked by the caller). */
  managesToken(tokenHash: string): boolean {
    return this.byToken.has(tokenHash);
  }

  record(entry: LeaseEntry): void {
    const old = this.entries.get(entry.key);
    if (old) this.detach(old); // the same request made again: replace, children stay
    this.entries.set(entry.key, entry);
    this.bytesHeld += entry.response.body.length + 256;
    if (entry.ownerHash) {
      const set = this.byOwner.get(entry.ownerHash) ?? new Set<string>();
      set.add(entry.key);
      this.byOwner.set(entry.ownerHash, set);
    }
    if (entry.tokenHash) this.byToken.set(entry.tokenHash, entry.key);
    if (entry.accessor) this.byAccessor.set(entry.accessor, entry.key);
    if (entry.leaseId) this.byLease.set(entry.leaseId, entry.key);
  }

  /** Evicts an entry and, for a token, everything it owns. Returns the evicted entries. */
  evictKey(key: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const entry = this.entries.get(key);
    if (!entry) return [];
    this.detach(entry);
    this.onEvicted(entry, reason);
    const out = [entry];
    if (entry.tokenHash) out.push(...this.evictOwnedBy(entry.tokenHash, 'parent_evicted'));
    return out;
  }

  private detach(entry: LeaseEntry): void {
    const key = entry.key;
    this.entries.delete(key);
    this.bytesHeld -= entry.response.body.length + 256;
    if (entry.ownerHash) this.byOwner.get(entry.ownerHash)?.delete(key);
    if (entry.tokenHash && this.byToken.get(entry.tokenHash) === key) this.byToken.delete(entry.tokenHash);
    if (entry.accessor && this.byAccessor.get(entry.accessor) === key) this.byAccessor.delete(entry.accessor);
    if (entry.leaseId && this.byLease.get(entry.leaseId) === key) this.byLease.delete(entry.leaseId);
  }

  /** Everything a token created (its leases and child tokens, recursively). */
  evictOwnedBy(tokenHash: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const owned = [...(this.byOwner.get(tokenHash) ?? [])];
    this.byOwner.delete(tokenHash);
    return owned.flatMap((k) => this.evictKey(k, reason));
  }

  /** A revoked token: its own entry and everything it owns. */
  evictToken(tokenHash: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const key = this.byToken.get(tokenHash);
    return [...(key ? this.evictKey(key, reason) : []), ...this.evictOwnedBy(tokenHash, reason)];
  }

  /** revoke-orphan: the token's entry and its leases go; its child tokens stay, as orphans. */
  evictTokenOrphaningChildren(tokenHash: string): LeaseEntry[] {
    const key = this.byToken.get(tokenHash);
    const out: LeaseEntry[] = [];
    for (const k of [...(this.byOwner.get(tokenHash) ?? [])]) {
      const e = this.entries.get(k);
      if (e?.kind === 'lease') out.push(...this.evictKey(k, 'revoked'));
      else if (e) {
        this.byOwner.get(tokenHash)?.delete(k);
        delete e.ownerHash;
      }
    }
    const entry = key ? this.entries.get(key) : undefined;
    if (entry) {
      this.detach(entry);
      this.byOwner.delete(tokenHash);
      this.onEvicted(entry, 'revoked');
      out.push(entry);
    }
    return out;
  }

  evictAccessor(accessor: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const key = this.byAccessor.get(accessor);
    const entry = key ? this.entries.get(key) : undefined;
    return entry?.tokenHash ? this.evictToken(entry.tokenHash, reason) : [];
  }

  evictLease(leaseId: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const key = this.byLease.get(leaseId);
    return key ? this.evictKey(key, reason) : [];
  }

  /** revoke-prefix / revoke-force: whole path segments, like Vault (`a` never matches `ab/…`). */
  evictLeasePrefix(prefix: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const p = prefix.replace(/\/+$/, '');
    return [...this.byLease.keys()].filter((id) => id === p || id.startsWith(`${p}/`)).flatMap((id) => this.evictLease(id, reason));
  }

  /**
   * Tokens whose lease a revoke-prefix (or a lease revocation) may have named: a token's lease id
   * is the path that created it plus an id (`auth/token/create/h…`), which we do not know, so every
   * token created under the prefix — or under the path the prefix names a lease of — goes.
   */
  evictTokensCreatedUnder(prefix: string, reason: LeaseEvictionReason): LeaseEntry[] {
    const p = prefix.replace(/^\/+|\/+$/g, '');
    const under = (a: string, b: string): boolean => a === b || a.startsWith(`${b}/`) || b === '';
    return [...this.entries.values()]
      .filter((e) => e.kind === 'token' && (under(e.requestPath, p) || under(p, e.requestPath)))
      .flatMap((e) => this.evictKey(e.key, reason));
  }

  /** cache-clear request_path: a prefix of the canonical request path, in one namespace. */
  evictRequestPath(prefix: string, namespace: string): LeaseEntry[] {
    return [...this.entries.values()]
      .filter((e) => e.namespace === namespace && e.requestPath.startsWith(prefix))
      .flatMap((e) => this.evictKey(e.key, 'cleared'));
  }

  clear(): LeaseEntry[] {
    return [...this.entries.keys()].flatMap((k) => this.evictKey(k, 'cleared'));
  }

  /** Every entry now (a restarted worker is told what to renew again: CacheMediator.workerLost). */
  all(): LeaseEntry[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.bytesHeld;
  }
}
