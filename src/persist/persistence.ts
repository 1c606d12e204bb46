import { readFileSync } from 'node:fs';
import { Packr } from 'msgpackr';
import { decodeEntry } from '../cache/entry.js';
import type { LeaseEntry } from '../cache/lease-cache.js';
import type { CacheStore } from '../cache/store.js';
import { loadPersistKey, type PersistConfig } from '../config/persist.js';
import type { Logger } from '../telemetry/logger.js';
import { persistSealer, type RefusedReason, type Sealer } from './seal.js';
import { SealedStore } from './store.js';

/**
 * What the persistent store holds, one sealed record each (the name's first letter, in clear, is
 * the kind; the rest is HMAC-SHA256 of what it names):
 * - `s` a static-cache entry: its canonical path and the entry as the memory store holds it
 *   (responses, and the SHA-256 hashes of the tokens that proved each form);
 * - `t` a token with cached access: the raw token (for the worker's lookups, capability checks and
 *   refetches after a restart), its accessor, until when its grant lasts, when it expires;
 * - `l` a lease-cache entry: the entry, the token that renews it, its TTL and when it was recorded;
 * - `a` the auto-auth token, its TTL and when it was obtained;
 * - `m` which Vault the store belongs to: its address as configured and its cluster id (sys/health).
 */
export type RecordKind = 's' | 't' | 'l' | 'a' | 'm';

/** The Vault a store is made against: a store of another Vault is refused whole (its tokens are not that Vault's). */
export interface VaultIdentity {
  address: string;
  /** sys/health's cluster_id, when Vault answered at start (or since). */
  clusterId?: string;
}

export interface RestoredToken {
  tokenHash: string;
  token: string;
  accessor: string;
  untilMs: number;
  expiresAtMs?: number;
}

export interface RestoredLease {
  entry: LeaseEntry;
  renewToken: string;
  /** What is left of the lease as last recorded (renewals made since are not known here). */
  expiresAtMs: number;
  ttlSeconds: number;
}

export interface RestoredAutoAuth {
  token: string;
  leaseDurationSeconds: number;
  renewable: boolean;
  obtainedAtMs: number;
}

export interface RestoredState {
  statics: Array<{ path: string; bytes: Buffer }>;
  tokens: RestoredToken[];
  leases: RestoredLease[];
  autoAuth?: RestoredAutoAuth;
  /** Records refused (wrong key, tampered, malformed) or dropped as expired. */
  refused: number;
  expired: number;
}

export interface PersistHooks {
  /** Counts a refused record by reason. */
  refused(reason: RefusedReason): void;
  /** Counts records written in a flush. */
  written(records: number): void;
  /** A token's grant as it stands (TokenGrants.snapshot). */
  grantOf(tokenHash: string): { accessor: string; untilMs: number; expiresAtMs?: number } | undefined;
}

const packr = new Packr({ useRecords: false, structuredClone: false });

type WireToken = [tokenHash: string, token: string, accessor: string, untilMs: number, expiresAtMs: number | null];
type WireLease = [entry: LeaseEntry, renewToken: string, ttlSeconds: number, recordedAtMs: number];
type WireAuto = [token: string, leaseDurationSeconds: number, renewable: boolean, obtainedAtMs: number];
type WireMeta = [address: string, clusterId: string | null];

/**
 * The cache's persistence (src/config/persist.ts for the options). Changes that add access (a new
 * answer, a token that proved access, a lease recorded) are collected as they happen and written
 * every `flushMs` in one LMDB transaction. Changes that remove access (a token forgotten or revoked,
 * every grant expired, an entry evicted or narrowed, a lease gone, a cache-clear) are written
 * synchronously — with whatever else is pending — before the caller's answer goes out
 * (`flushUrgent`, called by CacheMediator after each stream effect), and at the latest at the end of the
 * current event-loop turn (a microtask), so a crash right after cannot bring the access back.
 * At start the store is loaded once.
 */
export class Persistence {
  private store: SealedStore | undefined;
  private readonly sealer: Sealer;
  private readonly dirtyStatic = new Map<string, Buffer | null>();
  private readonly dirtyTokens = new Set<string>();
  /** Raw tokens of tokens with cached access (the static cache holds only their hashes). */
  private readonly rawTokens = new Map<string, string>();
  private readonly dirtyLeases = new Map<string, WireLease | null>();
  private dirtyAuto: WireAuto | null | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A change that removes access is pending: written synchronously (flushUrgent), never on the timer only. */
  private urgentPending = false;
  private hooks: PersistHooks | undefined;
  private active = true;
  private vault: VaultIdentity | undefined;

  constructor(readonly config: PersistConfig, private readonly log: Logger, private readonly now: () => number = Date.now) {
    const key = loadPersistKey(config);
    // Vault Agent's kubernetes flavour binds the store to the pod's service account token (its AAD).
    const binding = config.serviceAccountTokenFile ? readFileSync(config.serviceAccountTokenFile) : Buffer.alloc(0);
    this.sealer = persistSealer(key, binding);
  }

  setHooks(hooks: PersistHooks): void {
    this.hooks = hooks;
  }

  /** Opens the store and reads every record. Throws when the store cannot be opened or read. */
  load(opts: { staleMs: number; vault?: VaultIdentity }): RestoredState {
    const store = SealedStore.open(this.config.path, this.sealer, { flushMs: this.config.flushMs, onWritten: (n) => this.hooks?.written(n) });
    this.store = store;
    const state: RestoredState = { statics: [], tokens: [], leases: [], refused: 0, expired: 0 };
    const refuse = (reason: RefusedReason): void => {
      state.refused++;
      this.hooks?.refused(reason);
    };
    const now = this.now();
    const records = store.load(refuse);
    // Which Vault the store belongs to: another address, or another cluster id when both are known,
    // and every record is refused (a store copied between environments, a Vault migrated). A store
    // with records but no such record is refused too.
    if (opts.vault) {
      const metaName = this.sealer.name('m', 'vault');
      const meta = records.find((r) => r.name === metaName);
      let other = records.length > 0 && !meta;
      if (meta) {
        try {
          const [address, clusterId] = packr.unpack(meta.plain) as WireMeta;
          other = address !== opts.vault.address || (clusterId !== null && opts.vault.clusterId !== undefined && clusterId !== opts.vault.clusterId);
          if (!opts.vault.clusterId && clusterId) opts.vault.clusterId = clusterId;
        } catch {
          other = true;
        }
      }
      if (other) {
        for (const r of records) {
          refuse('other_vault');
          store.remove(r.name);
        }
        records.length = 0;
      }
      this.vault = { ...opts.vault };
      store.put(metaName, packr.pack([opts.vault.address, opts.vault.clusterId ?? null] satisfies WireMeta));
    }
    for (const { name, plain } of records) {
      try {
        const kind = name[0] as RecordKind;
        if (kind === 's') {
          const [path, bytes] = packr.unpack(plain) as [string, Uint8Array];
          if (name !== this.sealer.name('s', path)) throw new Error('name');
          state.statics.push({ path, bytes: Buffer.from(bytes) });
        } else if (kind === 't') {
          const [tokenHash, token, accessor, untilMs, expiresAtMs] = packr.unpack(plain) as WireToken;
          if (name !== this.sealer.name('t', tokenHash)) throw new Error('name');
          // Kept while a fresh or stale answer could still be given; the others prove access again.
          if ((expiresAtMs !== null && expiresAtMs <= now) || untilMs + opts.staleMs <= now) {
            state.expired++;
            store.remove(name);
            continue;
          }
          this.rawTokens.set(tokenHash, token);
          state.tokens.push({ tokenHash, token, accessor, untilMs, ...(expiresAtMs !== null ? { expiresAtMs } : {}) });
        } else if (kind === 'l') {
          const [entry, renewToken, ttlSeconds, recordedAtMs] = packr.unpack(plain) as WireLease;
          if (name !== this.sealer.name('l', entry.key)) throw new Error('name');
          const expiresAtMs = recordedAtMs + ttlSeconds * 1000;
          if (expiresAtMs <= now) {
            state.expired++;
            store.remove(name);
            continue;
          }
          entry.response.body = Buffer.from(entry.response.body);
          state.leases.push({ entry, renewToken, expiresAtMs, ttlSeconds });
        } else if (kind === 'm') {
          continue;
        } else if (kind === 'a') {
          const [token, leaseDurationSeconds, renewable, obtainedAtMs] = packr.unpack(plain) as WireAuto;
          if (name !== this.sealer.name('a', 'auto-auth')) throw new Error('name');
          if (leaseDurationSeconds > 0 && obtainedAtMs + leaseDurationSeconds * 1000 <= now) {
            state.expired++;
            store.remove(name);
            continue;
          }
          state.autoAuth = { token, leaseDurationSeconds, renewable, obtainedAtMs };
        } else {
          throw new Error('kind');
        }
      } catch {
        refuse('malformed');
        store.remove(name);
      }
    }
    return state;
  }

  /** The cluster id the store was made against (its record), or the one Vault gave at this start. */
  get clusterId(): string | undefined {
    return this.vault?.clusterId;
  }

  /** Vault's cluster id, learnt after an offline start: recorded (the store's Vault is known from now on). */
  clusterIdLearnt(clusterId: string): void {
    if (!this.vault || this.vault.clusterId === clusterId) return;
    this.vault.clusterId = clusterId;
    if (!this.store || !this.active) return;
    this.store.put(this.sealer.name('m', 'vault'), packr.pack([this.vault.address, clusterId] satisfies WireMeta));
  }

  /** keep_after_import = false: the store is deleted once read and nothing more is written. */
  async afterImport(): Promise<void> {
    // Vault Agent: a new store is written to (the init container's run); one that existed is imported, then deleted.
    if (this.config.keepAfterImport || !this.store?.existed) return;
    this.active = false;
    await this.store.destroy();
    this.store = undefined;
    this.log.info('the persistent cache was imported and deleted (keep_after_import = false)');
  }

  /** The static cache's store, with every change written through to the persistent store. */
  wrapStaticStore(inner: CacheStore): CacheStore {
    const dirty = (path: string, bytes: Buffer | null, removesAccess: boolean): void => {
      if (!this.active) return;
      this.dirtyStatic.set(path, bytes);
      if (removesAccess) this.urgent();
      else this.schedule();
    };
    // The memory budget, not Vault, let the entry go: its access was never taken away.
    inner.onBudgetEviction?.((path) => dirty(path, null, false));
    return {
      get: (key) => inner.get(key),
      set: (key, value) => {
        const old = inner.get(key);
        const oldCopy = old ? Buffer.from(old) : undefined;
        inner.set(key, value);
        // Too big to keep: the memory store dropped it (and the old value) at once.
        const kept = inner.size > 0 && inner.get(key) ? Buffer.from(value) : null;
        dirty(key, kept, oldCopy !== undefined && (kept === null || narrows(key, oldCopy, kept)));
      },
      delete: (key) => {
        const had = inner.delete(key);
        if (had) dirty(key, null, true);
        return had;
      },
      keys: () => inner.keys(),
      get bytes() { return inner.bytes; },
      get size() { return inner.size; },
      onBudgetEviction: (listener) => inner.onBudgetEviction?.(listener),
    };
  }

  /** A token that proved access (its raw form, for the worker after a restart). */
  tokenSeen(tokenHash: string, token: string): void {
    if (!this.active) return;
    if (this.rawTokens.get(tokenHash) !== token) this.rawTokens.set(tokenHash, token);
    this.tokenChanged(tokenHash);
  }

  /**
   * A token's grant changed (confirmed, looked up, revoked): a grant that goes on is written at the
   * next flush; one that is gone (expireAll, a revocation) is removed synchronously.
   */
  tokenChanged(tokenHash: string): void {
    if (!this.active || !this.rawTokens.has(tokenHash)) return;
    this.dirtyTokens.add(tokenHash);
    if (this.hooks?.grantOf(tokenHash) === undefined) this.urgent();
    else this.schedule();
  }

  /** Every grant changed (expireAll after a revocation through Envoy): the ended ones leave the disk at once. */
  allTokensChanged(): void {
    for (const h of this.rawTokens.keys()) this.tokenChanged(h);
  }

  /** A token Vault no longer honours (revoked, refused, cleared): its record is removed synchronously. */
  tokenForgotten(tokenHash: string): void {
    if (!this.active || !this.rawTokens.delete(tokenHash)) return;
    this.dirtyTokens.add(tokenHash);
    this.urgent();
  }

  leaseRecorded(entry: LeaseEntry, renewToken: string, ttlSeconds: number): void {
    if (!this.active) return;
    this.dirtyLeases.set(entry.key, [entry, renewToken, ttlSeconds, this.now()]);
    this.schedule();
  }

  /** A lease-cache entry evicted (revoked, renewal stopped, cleared, re-login): removed synchronously. */
  leaseGone(key: string): void {
    if (!this.active) return;
    this.dirtyLeases.set(key, null);
    this.urgent();
  }

  autoAuth(token: { token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }): void {
    if (!this.active) return;
    this.dirtyAuto = [token.token, token.leaseDurationSeconds, token.renewable, token.obtainedAtMs];
    this.schedule();
  }

  /** The restored auto-auth token belongs to another Vault: its record is removed at once. */
  autoAuthForgotten(): void {
    if (!this.active) return;
    this.dirtyAuto = null;
    this.urgent();
  }

  /** Writes every pending change now (asynchronously: one LMDB transaction). */
  flush(): Promise<void> {
    const store = this.stage();
    if (!store) return Promise.resolve();
    if (this.urgentPending) {
      this.urgentPending = false;
      store.flushSync();
    }
    return store.flush();
  }

  /**
   * When a change that removes access is pending: writes every pending change synchronously (on disk
   * when this returns). Cheap otherwise. CacheMediator calls it after each stream effect, before the answer
   * goes out; a microtask calls it for every other caller.
   */
  flushUrgent(): void {
    if (!this.urgentPending) return;
    this.urgentPending = false;
    this.stage()?.flushSync();
  }

  /** Moves the pending changes into the store's batch (sealed). */
  private stage(): SealedStore | undefined {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const store = this.store;
    if (!store || !this.active) return undefined;
    for (const [path, bytes] of this.dirtyStatic) {
      const name = this.sealer.name('s', path);
      if (bytes) store.put(name, packr.pack([path, bytes]));
      else store.remove(name);
    }
    this.dirtyStatic.clear();
    for (const h of this.dirtyTokens) {
      const name = this.sealer.name('t', h);
      const token = this.rawTokens.get(h);
      const grant = token ? this.hooks?.grantOf(h) : undefined;
      if (token && grant) store.put(name, packr.pack([h, token, grant.accessor, grant.untilMs, grant.expiresAtMs ?? null] satisfies WireToken));
      else store.remove(name);
    }
    this.dirtyTokens.clear();
    for (const [key, wire] of this.dirtyLeases) {
      const name = this.sealer.name('l', key);
      if (wire) store.put(name, packr.pack(wire));
      else store.remove(name);
    }
    this.dirtyLeases.clear();
    if (this.dirtyAuto !== undefined) {
      const name = this.sealer.name('a', 'auto-auth');
      if (this.dirtyAuto) store.put(name, packr.pack(this.dirtyAuto));
      else store.remove(name);
      this.dirtyAuto = undefined;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.store?.close();
    this.store = undefined;
  }

  /** A change that removes access: written synchronously before this event-loop turn ends. */
  private urgent(): void {
    if (this.urgentPending) return;
    this.urgentPending = true;
    queueMicrotask(() => this.flushUrgent());
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.config.flushMs);
    this.timer.unref?.();
  }
}

/** The new entry takes away a proof of access the old one had (a token or a version proof gone). */
function narrows(path: string, oldBytes: Buffer, newBytes: Buffer): boolean {
  try {
    const before = decodeEntry(path, oldBytes);
    const after = decodeEntry(path, newBytes);
    if (before.tokens.some((t) => !after.tokens.includes(t))) return true;
    for (const [v, list] of Object.entries(before.versionTokens)) {
      const now = after.versionTokens[v] ?? [];
      if (list.some((t) => !now.includes(t))) return true;
    }
    return false;
  } catch {
    return true;
  }
}
