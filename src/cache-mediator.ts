import type { CacheConfig } from './config/types.js';
import type { StreamContext, StreamEffect } from './extproc/stream.js';
import type { Logger } from './telemetry/logger.js';
import type { Metrics } from './telemetry/metrics.js';
import type { ExtprocMessage, WorkerMessage } from './worker/protocol.js';
import type { CacheClearCommand } from './cache/cache-clear.js';
import { Inflight } from './cache/inflight.js';
import { KvMounts } from './cache/kv-mounts.js';
import { LeaseCache } from './cache/lease-cache.js';
import type { RevocationKind } from './cache/lease-rules.js';
import { StaticCache } from './cache/static-cache.js';
import { canonicalNamespace } from './cache/static-key.js';
import { MemoryStore } from './cache/store.js';
import { TokenGrants } from './cache/token-grants.js';
import { hashToken } from './cache/token-hash.js';
import { answerTemplateLookup, PendingTemplateRecords, type CacheView } from './worker/templates/cache-reads.js';
import { leaseRecordOf, mayRevokeTokens } from './cache/lease-rules.js';
import type { Persistence, RestoredState } from './persist/persistence.js';
import { recheckMessages, restoreInto, type RestoreResult } from './persist/restore.js';
import { GatedTokenGrants } from './persist/cluster-gate.js';
import type { FleetSync } from './fleet/fleet-sync.js';
import type { FleetCacheClear, FleetChange, FleetEvent } from './fleet/schema.js';
import type { SharedLease } from './fleet/shared-store.js';
import { errorMessage } from './errors.js';
import { lookupIn } from './cache/static-cache.js';
import type { StaticKey } from './cache/static-key.js';

/**
 * The mediator between both caches (src/cache/), the streams and the worker, on the ext_proc side:
 * it applies what changes the caches — the streams' effects (records, revocations, cache-clear),
 * the worker's messages (refetches, renewals that stopped) and auto-auth re-logins — and tells the
 * worker what to renew or forget. It lives beside app.ts, not in cache/: it knows the streams, the
 * worker's protocol and the persistent store, and cache/ knows none of them.
 */
export class CacheMediator {
  readonly static?: StaticCache;
  readonly lease?: LeaseCache;
  /** Which tokens may be served from the static cache now (see token-grants.ts). */
  readonly grants?: TokenGrants;
  private readonly inflight = new Inflight();
  private readonly kvMounts = new KvMounts();
  private autoAuthHash: string | undefined;
  /** Whether the Vault has namespaces: undefined until the worker asked it (sys/health). */
  private namespaces: boolean | undefined;
  private recheckSeq = 0;
  private readonly cacheLogins: boolean;
  /** Template reads recorded once their mount is known (src/worker/templates/cache-reads.ts). */
  private readonly templateRecords = new PendingTemplateRecords();
  /** The static cache's memory store, below the persistence layer (restore writes here). */
  private staticMemory: MemoryStore | undefined;
  /** Restored tokens Vault has not confirmed since the restart (src/persist/restore.ts). */
  private restoredAwaiting: RestoreResult['awaiting'] = new Map();
  /** fleet { … }: where this replica's changes go, and the shared cache it reads (src/fleet/fleet-sync.ts). */
  private fleet: FleetSync | undefined;
  /** True while a change from another replica is applied: it is not published again. */
  private remote = false;
  /** Counts every removal from the static cache: a shared record read before one is not adopted after it. */
  private removals = 0;
  /** The lookup (its start) last told to the other replicas, per token hash. */
  private readonly sharedChecks = new Map<string, number>();
  /**
   * Fleet mode: the OWNER renews every lease the fleet tracks (issue 16 step 5). Whether this
   * replica is the owner now (app.ts: Fleet 'owner' / 'lost'), which lease keys its worker renews
   * for the fleet, and counters that tell an asynchronous L2 read it was overtaken.
   */
  private fleetOwner = false;
  private readonly fleetTracked = new Set<string>();
  private ownerTerm = 0;
  private leaseEvictions = 0;
  /** True while an eviction must not be told to the fleet (a gap, another replica's lease-evicted). */
  private quietLeaseEvictions = false;
  /**
   * The owner's index of the leases it renews for other replicas (recorded elsewhere, not in its
   * L1), with their tree of ownership: a revocation or cache-clear applies to it as to L1, so a
   * lease whose recording replica is gone (or has not heard yet) still loses its shared record.
   */
  private fleetIndex: LeaseCache | undefined;
  /** True while L1 is dropped without its entries being revoked or cleared (a gap). */
  private l1Only = false;
  /**
   * Fleet mode: tokens revoked by hash, as this replica heard (oldest forgotten first). A shared
   * lease record made by or for one of them is not taken from L2: the replica that removes it may
   * not have heard of the revocation yet.
   */
  private readonly revokedTokens = new Set<string>();

  constructor(
    config: CacheConfig | undefined,
    private readonly metrics: Metrics,
    private readonly toWorker: (msg: ExtprocMessage) => void,
    private readonly log: Logger,
    /** The persistent store (cache { persist … }): every change is written through. */
    private readonly persist?: Persistence,
  ) {
    this.cacheLogins = config?.cacheLogins ?? true;
    if (config?.staticSecrets) {
      this.staticMemory = new MemoryStore(config.maxBytes);
      this.static = new StaticCache(persist ? persist.wrapStaticStore(this.staticMemory) : this.staticMemory, (path, reason) => {
        metrics.evictions.inc({ cache: 'static', reason });
        toWorker({ type: 'static-forget', path });
      });
      const windowMs = (config.capabilityRefreshSeconds + config.maxStaleSeconds) * 1000;
      // With a persistent store, restored grants wait for the store's Vault to be confirmed (src/persist/cluster-gate.ts).
      this.grants = persist ? new GatedTokenGrants(windowMs) : new TokenGrants(windowMs);
    }
    if (config?.leaseCache) {
      this.lease = new LeaseCache((entry, reason) => {
        metrics.evictions.inc({ cache: 'lease', reason });
        toWorker({ type: 'lease-untrack', key: entry.key });
        persist?.leaseGone(entry.key);
        // A token the lease cache let go of (revoked, its parent revoked, expired, cleared) reads
        // nothing from the static cache until it proves access again.
        if (entry.kind === 'token' && entry.tokenHash) this.dropToken(entry.tokenHash);
        this.leaseEvictions++;
        this.fleetTracked.delete(entry.key);
        // Fleet mode: whatever took it from this replica (a revocation, also one another replica
        // told of; a cache-clear; a re-login; renewal stopped), the owner stops renewing it and the
        // shared record goes. Only the replica that holds the entry in L1 tells.
        if (this.fleet && !this.quietLeaseEvictions) {
          this.fleet.publish({ type: 'lease-evicted', key: entry.key, reason }, { deleteLeases: [entry.key] });
        }
        // A token's children recorded elsewhere go with it (the owner's index), unless L1 alone is
        // being dropped (a gap: the leases are still Vault's, and the owner keeps renewing them).
        if (entry.kind === 'token' && entry.tokenHash && !this.l1Only) this.fleetIndex?.evictOwnedBy(entry.tokenHash, 'parent_evicted');
      });
      this.fleetIndex = new LeaseCache((entry, reason) => {
        if (!this.fleetTracked.delete(entry.key)) return;
        this.toWorker({ type: 'lease-untrack', key: entry.key });
        this.leaseEvictions++;
        if (this.fleet && !this.quietLeaseEvictions) {
          this.fleet.publish({ type: 'lease-evicted', key: entry.key, reason }, { deleteLeases: [entry.key] });
        }
        if (entry.kind === 'token' && entry.tokenHash) this.lease?.evictOwnedBy(entry.tokenHash, 'parent_evicted');
      });
    }
  }

  /** What the streams see of the caches. */
  streamContext(): Pick<StreamContext, 'staticCache' | 'leaseCache'> {
    const lease = this.lease;
    const namespaces = (): boolean | undefined => this.namespaces;
    return {
      ...(this.static && this.grants ? {
        staticCache: {
          cache: this.static, grants: this.grants, inflight: this.inflight, mounts: this.kvMounts, namespaces,
          ...(this.fleet ? { shared: { stale: () => this.fleet?.stale ?? false, lookup: (key: StaticKey, tokenHash: string, token: string) => this.sharedLookup(key, tokenHash, token) } } : {}),
        },
      } : {}),
      ...(lease ? {
        leaseCache: {
          cache: lease, inflight: this.inflight, managed: (h: string) => h === this.autoAuthHash || lease.managesToken(h), namespaces, cacheLogins: this.cacheLogins,
          ...(this.fleet ? { stale: () => this.fleet?.stale ?? false, shared: (key: string) => this.sharedLeaseLookup(key) } : {}),
        },
      } : {}),
    };
  }

  stats(): Array<{ cache: string; entries: number; bytes: number }> {
    return [
      ...(this.static ? [{ cache: 'static', entries: this.static.size, bytes: this.static.bytes }] : []),
      ...(this.lease ? [{ cache: 'lease', entries: this.lease.size, bytes: this.lease.bytes }] : []),
    ];
  }

  /** A new auto-auth token: a re-login retires what hung off the old one (Vault Agent's cancelPreviousAutoAuthToken). */
  autoAuthToken(token: string): void {
    const hash = hashToken(token);
    if (this.autoAuthHash && this.autoAuthHash !== hash) this.lease?.evictOwnedBy(this.autoAuthHash, 'reauth');
    this.autoAuthHash = hash;
  }

  /**
   * The worker thread crashed and what it kept is gone (worker/supervisor.ts). What a new worker
   * needs is sent again (it waits for the new thread): a lease-track (renew now) for every lease-cache
   * entry whose renewing token we hold, and a static-access for every proof of access of a token we
   * hold. The raw tokens this side holds: the auto-auth token and the tokens in the lease cache's
   * token entries. Any other token's cached access ends here (it proves it again on its next miss):
   * nobody could re-check it. A lease we cannot name the token of is evicted (nobody could renew it).
   */
  workerLost(autoAuthToken: string | undefined): { leasesTracked: number; leasesEvicted: number; tokensKept: number; tokensDropped: number } {
    // Fleet mode: leases are renewed by the owner from their shared records (with their renewal
    // tokens), not from L1: an owner lists them again for its new worker; a non-owner renews none.
    const fleetLeases = this.fleet !== undefined && this.lease !== undefined;
    if (fleetLeases) {
      this.quietly(() => this.fleetIndex?.clear());
      this.fleetTracked.clear();
      if (this.fleetOwner) void this.trackEverySharedLease();
    }
    const raw = new Map<string, string>();
    if (autoAuthToken) raw.set(hashToken(autoAuthToken), autoAuthToken);
    const entries = (this.lease?.all() ?? []).map((entry) => ({ entry, record: leaseRecordOf(Buffer.from(entry.response.body)) }));
    for (const { record } of entries) if (record?.kind === 'token') raw.set(hashToken(record.clientToken), record.clientToken);
    let leasesTracked = 0;
    const unrenewable: string[] = [];
    for (const { entry, record } of fleetLeases ? [] : entries) {
      const token = record?.kind === 'token' ? record.clientToken : entry.ownerHash ? raw.get(entry.ownerHash) : undefined;
      if (!record || !token) {
        unrenewable.push(entry.key);
        continue;
      }
      this.toWorker({
        type: 'lease-track', key: entry.key, kind: entry.kind, token, ttlSeconds: record.ttlSeconds, renewNow: true,
        ...(entry.leaseId ? { leaseId: entry.leaseId } : {}),
      });
      leasesTracked++;
    }
    for (const key of unrenewable) this.lease?.evictKey(key, 'renewal_stopped');
    const kept = new Set<string>();
    const dropped = new Set<string>();
    if (this.static && this.grants) {
      for (const path of this.static.paths()) {
        for (const tokenHash of this.static.provers(path)) {
          const token = raw.get(tokenHash);
          if (token) {
            kept.add(tokenHash);
            this.toWorker({ type: 'static-access', path, token });
          } else dropped.add(tokenHash);
        }
      }
      for (const tokenHash of this.grants.known()) if (!raw.has(tokenHash)) dropped.add(tokenHash);
      for (const tokenHash of dropped) {
        this.static.revokeEverywhere(tokenHash);
        this.grants.forget(tokenHash);
      }
    }
    return { leasesTracked, leasesEvicted: unrenewable.length, tokensKept: kept.size, tokensDropped: dropped.size };
  }

  /**
   * Puts what the persistent store held back into the caches (src/persist/restore.ts); returns the
   * messages the worker needs once it runs (renew the leases, look the tokens up again).
   */
  restore(state: RestoredState, nowMs = Date.now()): RestoreResult {
    const result = restoreInto({
      ...(this.staticMemory ? { staticMemory: this.staticMemory } : {}),
      ...(this.grants ? { grants: this.grants } : {}),
      ...(this.lease ? { lease: this.lease } : {}),
    }, state, nowMs);
    this.restoredAwaiting = result.awaiting;
    return result;
  }

  /**
   * The store was made against another Vault than the one now at its address (found after an
   * offline start): everything restored — and anything else cached meanwhile — goes, on disk at once,
   * and no restored token is looked up again.
   */
  forgetRestored(): void {
    this.restoredAwaiting.clear();
    this.grants?.expireAll();
    this.static?.clear();
    this.lease?.clear();
    this.persist?.allTokensChanged();
    this.persist?.flushUrgent();
  }

  /** Vault answered the worker again: restored tokens not yet confirmed are looked up again. */
  vaultSeen(): void {
    for (const msg of recheckMessages(this.restoredAwaiting)) this.toWorker(msg);
  }

  // The stream effects that concern the caches, one method each; src/app.ts routes every effect
  // (routeStreamEffect) and calls effectApplied() after each.

  /**
   * After each stream effect: what it took away (a revocation, a cache-clear, an eviction) is on
   * disk before the answer goes out.
   */
  effectApplied(): void {
    this.persist?.flushUrgent();
  }

  inflightBegin(key: string): void {
    this.inflight.begin(key);
  }

  inflightEnd(key: string): void {
    this.inflight.end(key);
  }

  /** A client's (or a template's) read Vault answered: the entry and the token's proof of access. */
  staticRecorded(effect: Extract<StreamEffect, { type: 'static-record' }>): void {
    if (!this.static || !this.grants || this.grants.isIneligible(effect.tokenHash)) return;
    const newOnPath = this.static.record(effect.key, effect.tokenHash, effect.response, effect.kvVersion);
    this.fleet?.addProof(effect.key, effect.tokenHash, effect.response, effect.kvVersion);
    this.persist?.tokenSeen(effect.tokenHash, effect.token);
    // Vault answered this token: a known token is confirmed; an unknown one is looked up first.
    const tell = this.grants.sawRead(effect.tokenHash, effect.sentAtMs);
    if (newOnPath || (tell && !this.grants.allows(effect.tokenHash, Date.now()))) {
      this.toWorker({ type: 'static-access', path: effect.key.path, token: effect.token });
    }
  }

  leaseRecorded(effect: Extract<StreamEffect, { type: 'lease-record' }>): void {
    if (!this.lease) return;
    this.lease.record(effect.entry);
    this.persist?.leaseRecorded(effect.entry, effect.renewToken, effect.ttlSeconds);
    if (this.fleet && effect.ttlSeconds > 0) {
      // Fleet mode: shared with its renewal (sealed) and announced; the owner renews it — this
      // replica's worker only when it is the owner (the owner does not hear its own events).
      this.fleet.shareLease({ entry: effect.entry, renewal: { renewToken: effect.renewToken, ttlSeconds: effect.ttlSeconds, recordedAtMs: Date.now() } });
      if (!this.fleetOwner) return;
      this.fleetTracked.add(effect.entry.key);
    }
    this.toWorker({
      type: 'lease-track', key: effect.entry.key, kind: effect.entry.kind, token: effect.renewToken, ttlSeconds: effect.ttlSeconds,
      ...(effect.entry.leaseId ? { leaseId: effect.entry.leaseId } : {}),
    });
  }

  /** A KV write, delete or unmount through Envoy that Vault confirmed. */
  kvChanged(effect: { evictPaths?: string[]; evictPrefix?: string[] }): void {
    this.removals++;
    for (const path of effect.evictPaths ?? []) this.static?.evict(path, 'gone');
    for (const prefix of effect.evictPrefix ?? []) {
      this.static?.evictPrefix(prefix, 'gone');
      this.kvMounts.forget(prefix);
    }
    const paths = effect.evictPaths ?? [];
    const prefixes = effect.evictPrefix ?? [];
    if (this.static && (paths.length || prefixes.length)) {
      this.share({ type: 'kv-changed', paths, prefixes }, { deleteStatic: paths, clearStatic: prefixes.length > 0 });
    }
  }

  mountUnknown(path: string): void {
    if (this.static && this.kvMounts.shouldAsk(path)) this.toWorker({ type: 'mount-lookup', path });
  }

  // The worker messages that concern the caches, one method each; src/app.ts routes every worker
  // message (routeWorkerMessage). Those that return effects have them routed as the streams' are.

  /** A cached token or lease stopped renewing. */
  leaseRenewalStopped(key: string): void {
    const held = this.lease?.evictKey(key, 'renewal_stopped') ?? [];
    // Fleet mode: the owner renewed it for another replica (not in this L1): every replica evicts
    // its copy and the shared record goes (when L1 or the owner's index held it, its eviction told
    // the fleet already; the index takes the lease's children with it).
    if (held.length === 0 && (this.fleetIndex?.evictKey(key, 'renewal_stopped').length ?? 0) > 0) return;
    if (this.fleet && this.lease && held.length === 0) {
      this.fleetTracked.delete(key);
      this.leaseEvictions++;
      this.fleet.publish({ type: 'lease-evicted', key, reason: 'renewal_stopped' }, { deleteLeases: [key] });
    }
  }

  /** The worker renewed a cached token or lease (`ttlSeconds`: its new lease). Fleet mode: the shared record's TTL follows. */
  leaseRenewed(key: string, ttlSeconds: number): void {
    if (this.fleet && this.fleetOwner && this.fleetTracked.has(key)) this.fleet.leaseRenewed(key, ttlSeconds);
  }

  // The worker's verdicts on who reads what: applied here, the owner of the relation, and sent back
  // as the deltas its registry follows (see ExtprocMessage in src/worker/protocol.ts).

  staticRefetched(msg: Extract<WorkerMessage, { type: 'static-update' }>): void {
    const outcome = this.static?.update(msg.path, msg.response, msg.failedTokens, msg.kvVersion);
    for (const tokenHash of msg.failedTokens) this.toWorker({ type: 'static-drop', tokenHash, paths: [msg.path] });
    if (outcome === 'changed' || outcome === 'evicted') {
      this.removals++;
      this.share({
        type: 'static-refetched', path: msg.path, failedTokenHashes: msg.failedTokens, ...(msg.kvVersion !== undefined ? { kvVersion: msg.kvVersion } : {}),
      }, { deleteStatic: [msg.path] });
    }
  }

  staticGone(msg: Extract<WorkerMessage, { type: 'static-evict' }>): void {
    // An entry already gone told the worker when it went; told again, the worker forgets it all the same.
    this.removals++;
    if (!this.static?.evict(msg.path, msg.reason)) this.toWorker({ type: 'static-forget', path: msg.path });
    // Also when this replica did not hold it: another may (the owner hears every KV event).
    if (this.static) this.share({ type: 'static-evicted', path: msg.path, reason: msg.reason }, { deleteStatic: [msg.path] });
  }

  staticVersionsDropped(msg: Extract<WorkerMessage, { type: 'static-drop-versions' }>): void {
    this.removals++;
    this.static?.dropVersions(msg.path, msg.versions);
    if (this.static) this.share({ type: 'static-versions-dropped', path: msg.path, versions: msg.versions }, { deleteStatic: [msg.path] });
  }

  staticRevoked(msg: Extract<WorkerMessage, { type: 'static-revoke' }>): void {
    this.removals++;
    this.static?.revoke(msg.tokenHash, msg.paths);
    if (msg.paths.length) this.toWorker({ type: 'static-drop', tokenHash: msg.tokenHash, paths: msg.paths });
    if (this.static && msg.paths.length) this.share({ type: 'access-lost', tokenHash: msg.tokenHash, paths: msg.paths }, { deleteStatic: msg.paths });
  }

  /** What a mount is; returns the template reads now recorded (effects for the router). */
  mountLearned(msg: Extract<WorkerMessage, { type: 'mount-info' }>): StreamEffect[] {
    this.kvMounts.learn(msg.mountPrefix, msg.kind, msg.kvVersion);
    return this.templateRecords.retry(this.templateView());
  }

  tokenInfo(msg: Extract<WorkerMessage, { type: 'token-info' }>): void {
    this.grants?.info(msg.tokenHash, msg.accessor, msg.eligible, msg.atMs, msg.expiresAtMs);
    if (!msg.eligible) {
      this.removals++;
      this.static?.revokeEverywhere(msg.tokenHash);
    }
    // Told to the others once per lookup: the worker repeats a known token's info at each new path it reads.
    if (this.grants && this.fleet && !this.remote && this.sharedChecks.get(msg.tokenHash) !== msg.atMs) {
      if (this.sharedChecks.size >= MAX_SHARED_CHECKS) this.sharedChecks.delete(this.sharedChecks.keys().next().value as string);
      this.sharedChecks.set(msg.tokenHash, msg.atMs);
      this.share({
        type: 'token-checked', tokenHash: msg.tokenHash, accessor: msg.accessor, eligible: msg.eligible, atMs: msg.atMs,
        ...(msg.expiresAtMs !== undefined ? { expiresAtMs: msg.expiresAtMs } : {}),
      });
    }
    this.restoredAwaiting.delete(msg.tokenHash);
    if (msg.eligible) this.persist?.tokenChanged(msg.tokenHash);
    else this.persist?.tokenForgotten(msg.tokenHash);
  }

  tokensConfirmed(msg: Extract<WorkerMessage, { type: 'tokens-confirmed' }>): void {
    this.grants?.confirmed(msg.tokenHashes, msg.atMs);
    for (const h of msg.tokenHashes) this.persist?.tokenChanged(h);
    if (this.grants && msg.tokenHashes.length) this.share({ type: 'tokens-confirmed', tokenHashes: msg.tokenHashes, atMs: msg.atMs });
  }

  vaultIdentified(msg: Extract<WorkerMessage, { type: 'vault-info' }>): void {
    if (this.namespaces !== msg.namespaces) this.log.info({ version: msg.version, namespaces: msg.namespaces }, 'Vault identified');
    this.namespaces = msg.namespaces;
  }

  templateLookup(msg: Extract<WorkerMessage, { type: 'template-lookup' }>): void {
    this.toWorker(answerTemplateLookup(this.templateView(), msg));
  }

  /** A template's read after a miss; returns its effects (static-record or mount-unknown) for the router. */
  templateRecorded(msg: Extract<WorkerMessage, { type: 'template-record' }>): StreamEffect[] {
    return this.templateRecords.record(this.templateView(), msg);
  }

  recheckDone(seq: number): void {
    this.log.debug({ seq }, 'every token with cached access was checked again');
  }

  /**
   * Evictions for a revocation Vault confirmed (2xx) through Envoy. `value` is undefined when we
   * could not read what was revoked (a body Vault reads and we do not): then everything of that kind goes.
   * For the token kinds `value` is the raw token: only its hash is kept, and shared.
   */
  revoked(kind: RevocationKind, value: string | undefined): void {
    const tokenHash = value !== undefined && TOKEN_VALUED.has(kind) ? hashToken(value) : undefined;
    const other = TOKEN_VALUED.has(kind) ? undefined : value;
    this.applyRevocation(kind, other, tokenHash);
    this.share({ type: 'revoked', kind, ...(other !== undefined ? { value: other } : {}), ...(tokenHash !== undefined ? { tokenHash } : {}) });
  }

  /**
   * Runs `f` with lease evictions kept from the fleet (what they remove is gone, or told, already).
   * `l1Only`: only L1 is dropped (the leases are still Vault's): the owner's index keeps their children.
   */
  private quietly(f: () => void, l1Only = false): void {
    const was = [this.quietLeaseEvictions, this.l1Only] as const;
    this.quietLeaseEvictions = true;
    this.l1Only = l1Only || was[1];
    try {
      f();
    } finally {
      [this.quietLeaseEvictions, this.l1Only] = was;
    }
  }

  /** The lease caches a revocation or cache-clear applies to: L1, and the owner's index of leases recorded elsewhere. */
  private eachLeaseCache(f: (cache: LeaseCache) => void): void {
    if (this.lease) f(this.lease);
    if (this.fleetIndex?.size) f(this.fleetIndex);
  }

  /** A revocation, by what it names: a token by its hash (`tokenHash`), anything else by `value`; neither: unknown. */
  private applyRevocation(kind: RevocationKind, value: string | undefined, tokenHash: string | undefined): void {
    this.removals++;
    if (this.fleet && tokenHash !== undefined && (kind === 'token' || kind === 'token-self' || kind === 'orphan')) {
      if (this.revokedTokens.size >= MAX_SHARED_CHECKS) this.revokedTokens.delete(this.revokedTokens.values().next().value as string);
      this.revokedTokens.add(tokenHash);
    }
    const known = value !== undefined || tokenHash !== undefined;
    switch (kind) {
      case 'token':
      case 'token-self':
        if (tokenHash === undefined) this.eachLeaseCache((l) => l.clear());
        else {
          this.eachLeaseCache((l) => l.evictToken(tokenHash, 'revoked'));
          this.dropToken(tokenHash, true);
        }
        break;
      case 'orphan':
        if (tokenHash === undefined) this.eachLeaseCache((l) => l.clear());
        else {
          this.eachLeaseCache((l) => l.evictTokenOrphaningChildren(tokenHash));
          this.dropToken(tokenHash, true);
        }
        break;
      case 'accessor': {
        if (value === undefined) {
          this.eachLeaseCache((l) => l.clear());
          break;
        }
        this.eachLeaseCache((l) => l.evictAccessor(value, 'revoked'));
        const revokedHash = this.grants?.tokenOfAccessor(value);
        if (revokedHash) this.dropToken(revokedHash, true);
        break;
      }
      case 'lease':
        if (value === undefined) this.eachLeaseCache((l) => l.clear());
        else {
          this.eachLeaseCache((l) => l.evictLease(value, 'revoked'));
          if (mayRevokeTokens({ kind }, value)) this.eachLeaseCache((l) => l.evictTokensCreatedUnder(value, 'revoked'));
        }
        break;
      case 'renew':
      case 'renew-self':
        // A renewal may shorten the TTL: the token is looked up again before it is served again.
        if (tokenHash === undefined) this.dropAllTokens();
        else this.dropToken(tokenHash);
        break;
      case 'renew-accessor': {
        const tokenHash = value === undefined ? undefined : this.grants?.tokenOfAccessor(value);
        if (tokenHash) this.dropToken(tokenHash);
        else if (value === undefined) this.dropAllTokens();
        break;
      }
      case 'auth-disable':
        if (value !== undefined) this.eachLeaseCache((l) => l.evictTokensCreatedUnder(value, 'revoked'));
        break;
      case 'privileges':
        break; // the recheck below
      case 'lease-renew':
        // A token's lease (auth/…): we cannot tell which token it is.
        if (mayRevokeTokens({ kind: 'lease' }, value)) this.dropAllTokens();
        break;
      case 'lease-prefix':
        if (value === undefined) this.eachLeaseCache((l) => l.clear());
        else {
          this.eachLeaseCache((l) => l.evictLeasePrefix(value, 'revoked'));
          // Token leases are named by the path that created them (auth/token/create/<id>).
          this.eachLeaseCache((l) => l.evictTokensCreatedUnder(value, 'revoked'));
        }
        break;
    }
    // Children of a revoked token, tokens under a revoked prefix: we cannot name them all, so every
    // token's cached access waits for a confirmation begun after this moment.
    if (this.grants && mayRevokeTokens({ kind }, known ? (value ?? '') : undefined)) {
      this.grants.expireAll();
      this.persist?.allTokensChanged();
      this.toWorker({ type: 'recheck', seq: ++this.recheckSeq });
    }
  }

  /** What a template's read needs of the caches (src/worker/templates/cache-reads.ts). */
  private templateView(): CacheView {
    return { static: this.static, grants: this.grants, mounts: this.kvMounts, autoAuthHash: this.autoAuthHash, namespaces: this.namespaces, metrics: this.metrics, nowMs: Date.now() };
  }

  /** Every token with cached access is looked up again before it is served again. */
  private dropAllTokens(): void {
    for (const tokenHash of this.grants?.known() ?? []) this.dropToken(tokenHash);
  }

  /**
   * A token Vault no longer honours: out of every static entry, no grant, and the worker forgets it.
   * `forGood` (a revocation): the token is never granted again, even by a confirmation from another
   * replica that raced with the revocation.
   */
  private dropToken(tokenHash: string, forGood = false): void {
    if (forGood) this.grants?.revokedForGood(tokenHash);
    if (!this.static || !this.grants?.knows(tokenHash)) return;
    this.static.revokeEverywhere(tokenHash);
    this.grants?.forget(tokenHash);
    this.restoredAwaiting.delete(tokenHash);
    this.persist?.tokenForgotten(tokenHash);
    this.toWorker({ type: 'token-revoked', tokenHash });
  }

  cacheClear(c: CacheClearCommand): void {
    this.log.info({ type: c.type }, 'cache-clear');
    // The request's raw token never leaves this replica: the others are told its hash.
    const clear: FleetCacheClear = c.type === 'token' ? { type: 'token', tokenHash: hashToken(c.value) }
      : c.type === 'all' ? { type: 'all' }
      : c.type === 'request_path' ? { type: 'request_path', value: c.value, namespace: c.namespace ?? '' }
      : { type: c.type, value: c.value };
    this.applyCacheClear(clear);
    // Shared records are named by HMACs: a prefix cannot be matched there, so every static one goes.
    // Everything: the lease records too (a lease whose recorder is gone is in no L1 to evict it).
    this.share({ type: 'cache-cleared', clear }, { clearStatic: clear.type === 'all' || clear.type === 'request_path', clearLeases: clear.type === 'all' });
  }

  private applyCacheClear(c: FleetCacheClear): void {
    this.removals++;
    switch (c.type) {
      case 'request_path': {
        const prefix = c.value.replace(/^\/+/, '').replace(/^v1\//, '');
        this.eachLeaseCache((l) => l.evictRequestPath(prefix, canonicalNamespace(c.namespace)));
        this.static?.evictPrefix(`${canonicalNamespace(c.namespace)}${prefix}`);
        break;
      }
      case 'token':
        this.eachLeaseCache((l) => l.evictToken(c.tokenHash, 'cleared'));
        this.dropToken(c.tokenHash);
        break;
      case 'token_accessor':
        this.eachLeaseCache((l) => l.evictAccessor(c.value, 'cleared'));
        break;
      case 'lease':
        this.eachLeaseCache((l) => l.evictLease(c.value, 'cleared'));
        break;
      case 'all':
        // The auto-auth token stays managed: it is not an entry, the streams know it.
        this.lease?.clear();
        this.static?.clear();
        // Fleet: the owner renews none of the leases recorded elsewhere any more (the clear deletes
        // every shared lease record: nothing more to tell).
        this.quietly(() => this.fleetIndex?.clear());
        for (const key of this.fleetTracked) this.toWorker({ type: 'lease-untrack', key });
        this.fleetTracked.clear();
        break;
    }
  }

  // fleet { … }: what this replica tells the others, and what it applies from them.

  /** From now on, changes are shared and the shared cache is read (app.ts, when config.fleet is set). */
  attachFleet(sync: FleetSync): void {
    this.fleet = sync;
  }

  /**
   * This replica became the owner (or stopped being it): the owner's worker renews EVERY lease the
   * fleet tracks, read with its renewal from L2 — all of them now, renewed at once since nobody
   * knows what is left of them — and each one another replica records from now on (lease-recorded).
   * A replica that lost the lease stops renewing all of them: no lease renewed by two replicas.
   */
  fleetOwnerChanged(owner: boolean): void {
    if (!this.fleet || !this.lease) return;
    if (owner === this.fleetOwner) return;
    this.fleetOwner = owner;
    this.ownerTerm++;
    if (owner) {
      void this.trackEverySharedLease();
      return;
    }
    this.quietly(() => this.fleetIndex?.clear());
    for (const key of this.fleetTracked) this.toWorker({ type: 'lease-untrack', key });
    this.fleetTracked.clear();
  }

  private async trackEverySharedLease(): Promise<void> {
    const fleet = this.fleet;
    if (!fleet) return;
    const term = this.ownerTerm;
    const evictions = this.leaseEvictions;
    let leases;
    try {
      leases = await fleet.listLeases();
    } catch (err) {
      this.log.warn({ component: 'fleet', reason: errorMessage(err) }, 'the new owner could not list the fleet\'s leases (Redis unreachable); those recorded elsewhere are not renewed by it');
      return;
    }
    if (term !== this.ownerTerm || !this.fleetOwner) return;
    // An eviction while Redis was asked: its record may have been listed before it went; read again.
    if (evictions !== this.leaseEvictions) return this.trackEverySharedLease();
    let tracked = 0;
    for (const lease of leases) if (this.trackShared(lease, true)) tracked++;
    this.log.info({ component: 'fleet', leases: tracked }, 'the owner renews every lease the fleet tracks');
  }

  /** The owner heard `lease-recorded` from another replica: its worker renews it too. */
  private async trackRecordedElsewhere(key: string): Promise<void> {
    const fleet = this.fleet;
    if (!fleet) return;
    const term = this.ownerTerm;
    for (let attempt = 0; attempt < 3; attempt++) {
      const evictions = this.leaseEvictions;
      const lease = await fleet.readLease(key);
      if (term !== this.ownerTerm || !this.fleetOwner || !lease) return;
      if (evictions === this.leaseEvictions) {
        this.trackShared(lease, false);
        return;
      }
    }
  }

  /** Tells the worker to renew a shared lease; false when it cannot be (no renewal in the record). */
  private trackShared(lease: SharedLease, renewNow: boolean): boolean {
    const { entry, renewal } = lease;
    if (!renewal) return false;
    const elapsedMs = Date.now() - renewal.recordedAtMs;
    this.fleetTracked.add(entry.key);
    if (!this.lease?.lookup(entry.key)) this.fleetIndex?.record(entry);
    this.toWorker({
      type: 'lease-track', key: entry.key, kind: entry.kind, token: renewal.renewToken, ttlSeconds: renewal.ttlSeconds,
      ...(entry.leaseId ? { leaseId: entry.leaseId } : {}),
      // Heard late (more than a tenth of the lease): the schedule from now would be too late.
      ...(renewNow || elapsedMs > renewal.ttlSeconds * 100 ? { renewNow: true } : {}),
    });
    return true;
  }

  /** A change for the other replicas; nothing while one of theirs is being applied. */
  private share(change: FleetChange, removal?: Parameters<FleetSync['publish']>[1]): void {
    if (!this.remote) this.fleet?.publish(change, removal);
  }

  /**
   * A request L1 cannot answer for a token that holds a grant: the shared record, when it holds
   * this token's proof of exactly this form of the request, is taken into L1 (the request is then
   * stepped again and answered from there). Not when any removal happened while Redis was asked:
   * the record may hold what it removed. This replica's worker is told of the proof (with the raw
   * token, which only this replica holds) so it checks the token's capabilities on the path too.
   */
  async sharedLookup(key: StaticKey, tokenHash: string, token: string): Promise<void> {
    const fleet = this.fleet;
    if (!fleet || !this.static) return;
    const before = this.removals;
    const entry = await fleet.lookup(key.path);
    const response = entry && lookupIn(entry, key, tokenHash);
    if (!entry || !response) return fleet.countRead('miss');
    if (this.removals !== before || this.grants?.isIneligible(tokenHash)) return fleet.countRead('raced');
    if (this.static.record(key, tokenHash, response, key.version === 0 ? entry.latestVersion : undefined)) {
      this.toWorker({ type: 'static-access', path: key.path, token });
    }
    fleet.countRead('hit');
  }

  /**
   * A lease-cache request L1 cannot answer: the entry another replica recorded for exactly this
   * request (the key holds the token's hash, the namespace, the body) is taken into L1, unless an
   * eviction came while Redis was asked. The owner renews it; its eviction anywhere reaches every
   * replica (lease-evicted). This replica does not renew it.
   */
  async sharedLeaseLookup(key: string): Promise<void> {
    const fleet = this.fleet;
    if (!fleet || !this.lease) return;
    const before = this.leaseEvictions;
    const entry = await fleet.lookupLease(key);
    if (!entry || entry.key !== key) return fleet.countRead('miss');
    if (this.leaseEvictions !== before || this.lease.lookup(key)) return fleet.countRead('raced');
    if ([entry.ownerHash, entry.tokenHash].some((h) => h !== undefined && this.revokedTokens.has(h))) return fleet.countRead('raced');
    this.lease.record(entry);
    fleet.countRead('hit');
  }

  /** One change from another replica's stream entry (src/fleet/invalidation-stream.ts), applied to L1. */
  applyFleetEvent(event: FleetEvent): void {
    this.remote = true;
    try {
      this.applyChange(event.change);
    } finally {
      this.remote = false;
    }
    this.persist?.flushUrgent();
  }

  /** The stream cannot vouch for what L1 holds (trimmed, Redis restarted empty, an entry refused): drop it. */
  fleetGap(): void {
    this.remote = true;
    // L1's leases go here only: their shared records stay, and the owner keeps renewing them.
    try {
      this.quietly(() => this.dropEverything(), true);
    } finally {
      this.remote = false;
    }
  }

  private dropEverything(): void {
    this.removals++;
    this.static?.clear();
    this.lease?.clear();
    if (this.grants) {
      this.grants.expireAll();
      this.toWorker({ type: 'recheck', seq: ++this.recheckSeq });
    }
  }

  private applyChange(c: FleetChange): void {
    switch (c.type) {
      case 'static-recorded':
        return; // a proof added in L2 takes nothing from anyone
      case 'lease-recorded':
        // The same request made through another replica: its lease replaced ours in L2 (one lease
        // per cache key in the fleet, as LeaseCache.record replaces in one process), so our copy
        // goes from L1 without touching the shared record, and its renewal ends here.
        const lease = this.lease;
        if (lease?.lookup(c.key)) this.quietly(() => lease.evictKey(c.key, 'cleared'), true);
        // The owner renews it (its worker reads the renewal from L2); the others only hear of it.
        if (this.fleetOwner) void this.trackRecordedElsewhere(c.key);
        return;
      case 'static-refetched':
        this.removals++;
        this.static?.evict(c.path, 'gone');
        return;
      case 'static-evicted':
        this.removals++;
        this.static?.evict(c.path, c.reason === 'other' || c.reason === 'budget' ? 'cleared' : c.reason);
        return;
      case 'static-versions-dropped':
        this.staticVersionsDropped({ type: 'static-drop-versions', path: c.path, versions: c.versions });
        return;
      case 'access-lost':
        this.staticRevoked({ type: 'static-revoke', tokenHash: c.tokenHash, paths: c.paths });
        return;
      case 'token-revoked':
        this.removals++;
        this.dropToken(c.tokenHash, true);
        return;
      case 'cache-cleared':
        this.applyCacheClear(c.clear);
        return;
      case 'lease-evicted':
        // Told by the replica that evicted it (its shared record is gone already): not told again.
        this.leaseEvictions++;
        this.quietly(() => {
          this.lease?.evictKey(c.key, 'cleared');
          this.fleetIndex?.evictKey(c.key, 'cleared');
        });
        if (this.fleetTracked.delete(c.key)) this.toWorker({ type: 'lease-untrack', key: c.key });
        return;
      case 'token-checked':
        this.tokenInfo({ type: 'token-info', tokenHash: c.tokenHash, accessor: c.accessor, eligible: c.eligible, atMs: c.atMs, ...(c.expiresAtMs !== undefined ? { expiresAtMs: c.expiresAtMs } : {}) });
        return;
      case 'tokens-confirmed':
        this.tokensConfirmed({ type: 'tokens-confirmed', tokenHashes: c.tokenHashes, atMs: c.atMs });
        return;
      case 'revoked':
        this.applyRevocation(c.kind, c.value, c.tokenHash);
        return;
      case 'kv-changed':
        this.kvChanged({ evictPaths: c.paths, evictPrefix: c.prefixes });
        return;
      case 'unknown':
        // A kind a newer release appended: what it changes cannot be known, so nothing is vouched for.
        this.dropEverything();
        return;
      default: {
        const never: never = c;
        throw new Error(`unrouted fleet change ${JSON.stringify(never)}`);
      }
    }
  }
}

/** Revocation kinds whose value is a raw token (kept and shared as its hash only). */
const TOKEN_VALUED: ReadonlySet<RevocationKind> = new Set<RevocationKind>(['token', 'token-self', 'orphan', 'renew', 'renew-self']);

/** Token lookups remembered as told to the fleet, and revoked tokens remembered (oldest forgotten first). */
const MAX_SHARED_CHECKS = 100_000;
