// What the caches of one replica say to the fleet, and read from it (issue 16 steps 2 and 4): the
// CacheMediator's port to L2 and to the invalidation stream.
//
// - addProof: a read Vault answered here is merged into the shared record (compare-and-set: one
//   proof, the one Vault just gave; never what this replica's L1 holds besides, so a proof another
//   replica removed cannot come back from here). A lost addition only costs another replica a miss.
// - lookup: the shared record of a path, for a request L1 cannot answer. Redis down: undefined at
//   once (the request goes to Vault).
// - publish: a change every replica must apply (an eviction, a revocation, a cache-clear, a lost
//   capability, a grant), with the shared records it removes. Changes go out IN ORDER through an
//   outbox: while Redis is unreachable they wait (and are retried every `retryMs`), so a revocation
//   made through a replica that lost Redis still reaches the others when it is back. An outbox
//   over `maxPending` is replaced by "drop everything, check every token again": what the others
//   would have been told cannot be vouched for, item by item, any more. Its lease removals and
//   records are kept (collapseOutbox).
//
// - shareLease: a lease recorded here (a token creation, a login, a dynamic secret), written to L2
//   with what renews it (sealed) and announced as `lease-recorded`, through the same outbox, so the
//   owner renews it (issue 16 step 5). readLease / listLeases / leaseRenewed: the owner's side.
//
// Removals delete the shared record rather than rewrite it: a deletion is always safe (a miss),
// and a rewrite could race with another replica's removal.
import type { StaticEntry, StoredResponse } from '../cache/entry.js';
import type { LeaseEntry } from '../cache/lease-cache.js';
import { withProof } from '../cache/static-cache.js';
import type { StaticKey } from '../cache/static-key.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { FleetChange, LeaseRenewal } from './schema.js';
import type { SharedLease, SharedStore } from './shared-store.js';
import type { InvalidationPublisher } from './stream-publisher.js';

export interface FleetSyncOptions {
  store: SharedStore;
  publisher: Pick<InvalidationPublisher, 'publish'>;
  /** How long a shared static record lives (its answer is at most this old when another replica adopts it). */
  staticTtlMs: number;
  /** The follower has not heard from Redis for longer than max_stale_without_redis. */
  stale: () => boolean;
  logger?: Logger;
  /** Each shared read the request path made: `hit` (taken into L1), `miss`, `raced` (a removal came meanwhile: not taken). */
  onSharedRead?: (outcome: 'hit' | 'miss' | 'raced') => void;
  /** Outbox retry period while Redis is unreachable (default 250 ms). */
  retryMs?: number;
  /** Changes the outbox holds before it collapses them (default 10,000). */
  maxPending?: number;
}

/** What a change removes from the shared store besides telling the other replicas. */
export interface SharedRemoval {
  deleteStatic?: string[];
  clearStatic?: boolean;
  deleteLeases?: string[];
  clearLeases?: boolean;
}

export interface Pending {
  change: FleetChange;
  removal: SharedRemoval;
  /** A lease record written before the change goes out (its TTL: what the lease has left then). */
  putLease?: Required<SharedLease>;
}

/**
 * An outbox that overflowed: a cache-clear of everything (every shared record goes, static and
 * lease: a lease removal it held cannot leave a revoked lease's record for another replica to
 * serve), and every token is checked again. Then the lease records it held that are still recorded
 * here (this replica's L1 keeps them; one lost would be a lease the owner never renews), newest
 * last, at most `room` of them.
 */
export function collapseOutbox(outbox: readonly Pending[], room: number): Pending[] {
  const recorded = new Map<string, Pending>();
  for (const p of outbox) {
    if (p.removal.clearLeases) recorded.clear();
    for (const key of p.removal.deleteLeases ?? []) recorded.delete(key);
    if (p.putLease) {
      recorded.delete(p.putLease.entry.key); // re-inserted: the map keeps the newest last
      recorded.set(p.putLease.entry.key, p);
    }
  }
  const records = [...recorded.values()];
  return [
    { change: { type: 'cache-cleared', clear: { type: 'all' } }, removal: { clearStatic: true, clearLeases: true } },
    { change: { type: 'revoked', kind: 'token' }, removal: {} },
    ...records.slice(Math.max(0, records.length - room)),
  ];
}

export class FleetSync {
  private readonly outbox: Pending[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly retryMs: number;
  private readonly maxPending: number;
  private readonly log: Logger | undefined;
  /** Whether the last outbox attempt failed (logged once per outage). */
  private failing = false;

  constructor(private readonly opts: FleetSyncOptions) {
    this.retryMs = opts.retryMs ?? 250;
    this.maxPending = opts.maxPending ?? 10_000;
    this.log = opts.logger?.child({ component: 'fleet-sync' });
  }

  /** Whether L1 may answer (the stream has been heard within max_stale_without_redis). */
  get stale(): boolean {
    return this.opts.stale();
  }

  /** Changes not yet on the stream. */
  get pending(): number {
    return this.outbox.length;
  }

  addProof(key: StaticKey, tokenHash: string, response: StoredResponse, kvVersion: number | undefined): void {
    this.opts.store.updateStatic(key.path, (current) => withProof(current, key, tokenHash, response, kvVersion), this.opts.staticTtlMs)
      .catch((err: unknown) => this.log?.debug({ reason: errorMessage(err) }, 'a proof of access was not shared (Redis unreachable): other replicas miss once'));
  }

  /** The shared record of `path`; undefined when there is none or Redis cannot be asked now. */
  async lookup(path: string): Promise<StaticEntry | undefined> {
    try {
      const [entry] = await this.opts.store.getStatic([path]);
      return entry;
    } catch {
      return undefined;
    }
  }

  countRead(outcome: 'hit' | 'miss' | 'raced'): void {
    this.opts.onSharedRead?.(outcome);
  }

  /**
   * A lease recorded here: its record (with the sealed renewal) goes to L2 for what the lease has
   * left, then `lease-recorded` to the others, in the outbox's order (after any removal before it).
   */
  shareLease(lease: Required<SharedLease>): void {
    this.enqueue({ change: { type: 'lease-recorded', key: lease.entry.key }, removal: {}, putLease: lease });
  }

  /** A lease-cache entry another replica recorded, without its renewal (a request L1 cannot answer); undefined when none or Redis cannot be asked now. */
  async lookupLease(key: string): Promise<LeaseEntry | undefined> {
    try {
      const [lease] = await this.opts.store.getLeases([key]);
      return lease?.entry;
    } catch {
      return undefined;
    }
  }

  /** The owner: a lease record with its renewal; undefined when none or Redis cannot be asked now. */
  async readLease(key: string): Promise<SharedLease | undefined> {
    try {
      const [lease] = await this.opts.store.getLeases([key], { withRenewal: true });
      return lease;
    } catch (err) {
      this.log?.warn({ reason: errorMessage(err) }, 'a lease another replica recorded could not be read (Redis unreachable): it is renewed once this replica is owner again or Redis is back');
      return undefined;
    }
  }

  /** The owner, once it became the owner: every lease record, with its renewal (rejects when Redis cannot be asked). */
  listLeases(): Promise<SharedLease[]> {
    return this.opts.store.listLeases({ withRenewal: true });
  }

  /** The owner renewed a lease: its record's TTL (and renewal) follow the new lease; a record deleted meanwhile stays deleted. */
  leaseRenewed(key: string, ttlSeconds: number, nowMs = Date.now()): void {
    if (this.stopped || !(ttlSeconds > 0)) return;
    const renewed = (current: SharedLease): SharedLease => (current.renewal
      ? { entry: current.entry, renewal: { ...current.renewal, ttlSeconds, recordedAtMs: nowMs } }
      : current);
    this.opts.store.updateLease(key, renewed, Math.ceil(ttlSeconds * 1000))
      .catch((err: unknown) => this.log?.debug({ reason: errorMessage(err) }, 'a renewed lease\'s shared record keeps its old TTL (Redis unreachable)'));
  }

  publish(change: FleetChange, removal: SharedRemoval = {}): void {
    this.enqueue({ change, removal });
  }

  private enqueue(pending: Pending): void {
    if (this.stopped) return;
    if (this.outbox.length >= this.maxPending) {
      this.log?.warn({ pending: this.outbox.length }, 'the fleet outbox overflowed while Redis was unreachable: every replica will drop its cache and check every token again');
      // Half the bound for lease records, so a collapse leaves room before the next one.
      this.outbox.splice(0, this.outbox.length, ...collapseOutbox(this.outbox, Math.floor(this.maxPending / 2)));
    }
    this.outbox.push(pending);
    void this.flush();
  }

  /** Stops retrying; what is still pending is dropped (the others drop L1 on a gap or catch up from Redis's epoch). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.stopped) return;
    this.flushing = true;
    try {
      while (this.outbox.length && !this.stopped) {
        const next = this.outbox[0]!;
        // The shared records first: once the others hear the change, L2 no longer holds what it removed.
        if (next.removal.clearStatic) await this.opts.store.clearStatic();
        if (next.removal.deleteStatic?.length) await this.opts.store.deleteStatic(next.removal.deleteStatic);
        if (next.removal.deleteLeases?.length) await this.opts.store.deleteLeases(next.removal.deleteLeases);
        if (next.removal.clearLeases) await this.opts.store.clearLeases();
        if (next.putLease) {
          const leftMs = leaseLeftMs(next.putLease.renewal, Date.now());
          if (leftMs <= 0) {
            this.outbox.shift(); // expired while Redis was unreachable: nothing left to renew
            continue;
          }
          await this.opts.store.putLeases([next.putLease], leftMs);
        }
        await this.opts.publisher.publish(next.change);
        this.outbox.shift();
        if (this.failing) this.log?.info('fleet changes are reaching Redis again');
        this.failing = false;
      }
    } catch (err) {
      if (!this.failing) this.log?.warn({ reason: errorMessage(err), pending: this.outbox.length }, 'fleet changes wait for Redis (kept in order, retried)');
      this.failing = true;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.flush(), this.retryMs);
        this.timer.unref?.();
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** What a lease recorded with `renewal` has left at `nowMs` (whole ms). */
export function leaseLeftMs(renewal: LeaseRenewal, nowMs: number): number {
  return Math.floor(renewal.recordedAtMs + renewal.ttlSeconds * 1000 - nowMs);
}
