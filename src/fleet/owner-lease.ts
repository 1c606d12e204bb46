// The fleet's owner election: one replica at a time holds `<prefix>owner` in Redis and does the
// fleet's single-writer work (log in, renew tokens and leases, hold the event subscription). The
// single-instance lock of Redis's "Distributed Locks with Redis":
//   acquire  SET <prefix>owner <replicaId> NX PX <ttl>
//   renew    compare-and-PEXPIRE (Lua: only while the value is still ours)
//   release  compare-and-DEL     (Lua: never deletes another replica's lease)
// Timing (ttl = ttlMs, period = ttl/3):
// - the owner renews every period; a non-owner tries to acquire every period (one command per
//   period and replica, 80–100 % of it with jitter so replicas drift apart);
// - the owner counts itself owner only until `sent + ttl - margin`, where `sent` is when its last
//   successful SET/renew was SENT (Redis started the key's ttl no earlier), by its own monotonic
//   clock, and margin = 1 % + 2 ms (clock-rate drift) + ttl/10 (late timers). When Redis stops
//   answering it therefore steps down before the key can expire in Redis, so before anyone else
//   can acquire it: never two owners. Two renews in a row may fail before it steps down;
// - a dropped connection makes the owner step down at once (an empty Redis restart would let
//   another acquire before the owner's next renew). After that or an expiry, its next attempt is a
//   compare-renew: it takes the key back only if the key still names it, else contends like everyone;
// - a dead owner's key expires at most ttl after its last renew, and a contender asks within one
//   period after that: a takeover within ttl + period < 2·ttl. A graceful stop() releases the key,
//   so the next contender's attempt (within one period) wins.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../telemetry/logger.js';
import type { FleetRedis } from './redis-client.js';
import { FLEET_DEFAULTS } from '../config/fleet.js';

/** Extends the key's ttl only while it still names this replica (KEYS[1], ARGV[1] id, ARGV[2] ttl ms). */
export const RENEW_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/** Deletes the key only while it still names this replica. */
export const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export const DEFAULT_OWNER_TTL_MS = FLEET_DEFAULTS.ownerLeaseTtlSeconds * 1000;

/** Why a replica stopped being the owner. */
export type OwnerLostReason =
  /** Our clock says the lease is about to expire: no successful renew for ttl - margin (Redis hung or slow). */
  | 'expired'
  /** A renew found the key gone or naming another replica (Redis restarted empty, or taken after a pause). */
  | 'taken'
  /**
   * The connection to Redis dropped. A Redis that restarts may come back without the key (no
   * persistence) and let another replica acquire at once, so the owner steps down without waiting
   * for its clock; once reconnected it first tries to reclaim the key if it still names it.
   */
  | 'redis-down'
  /** stop() was called. */
  | 'stopped';

interface OwnerLeaseEvents {
  acquired: [];
  lost: [reason: OwnerLostReason];
  /** Each successful renew (for metrics and tests). */
  renewed: [];
}

export interface OwnerLeaseOptions {
  redis: FleetRedis;
  /** This replica's unique id (the key's value); must differ between replicas. */
  replicaId: string;
  /** Lease time to live (default 15000 ms); renew and acquire every ttl/3. */
  ttlMs?: number;
  /** Key name under the fleet's prefix (default `owner`). */
  name?: string;
  logger?: Logger;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
  random?: () => number;
}

export class OwnerLease extends EventEmitter<OwnerLeaseEvents> {
  readonly ttlMs: number;
  readonly periodMs: number;
  readonly key: string;
  readonly replicaId: string;
  /**
   * How long before the key can expire in Redis the owner steps down: clock-rate drift between us
   * and Redis ("Distributed Locks with Redis": 1 % + 2 ms) plus a tenth of the ttl, so that the
   * step-down reaches the work in time even when timers run late on a loaded host.
   */
  readonly marginMs: number;
  private readonly redis: FleetRedis;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private owned = false;
  private validUntil = -Infinity;
  private lastRenew = -Infinity;
  private tickTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  /** After a step-down on 'expired' or 'redis-down': the next attempt is a compare-renew (the key may still be ours). */
  private reclaim = false;
  private readonly onRedisDown = (): void => {
    this.stepDown('redis-down');
  };

  constructor(opts: OwnerLeaseOptions) {
    super();
    this.ttlMs = opts.ttlMs ?? DEFAULT_OWNER_TTL_MS;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 300) throw new RangeError(`owner lease ttl must be an integer of at least 300 ms, not ${this.ttlMs}`);
    if (!opts.replicaId) throw new RangeError('owner lease needs a replica id');
    this.periodMs = Math.floor(this.ttlMs / 3);
    this.marginMs = Math.ceil(this.ttlMs * 0.01) + 2 + Math.ceil(this.ttlMs / 10);
    this.redis = opts.redis;
    this.replicaId = opts.replicaId;
    this.key = opts.redis.key(opts.name ?? 'owner');
    this.log = opts.logger?.child({ component: 'owner-lease', replica: opts.replicaId });
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
  }

  /** Whether this replica is the owner now: it holds the lease and its own clock says it is still valid. */
  get isOwner(): boolean {
    return this.owned && this.now() < this.validUntil;
  }

  /** When (by `now`) the last successful acquire or renew was sent; -Infinity before. */
  get lastRenewAt(): number {
    return this.lastRenew;
  }

  /** Starts contending (the first attempt at once). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.redis.on('down', this.onRedisDown);
    this.schedule(0);
  }

  /**
   * Stops contending. An owner steps down first (`lost` with 'stopped': its work stops before
   * anyone else may start), then releases the key, so another replica takes over at its next attempt.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.redis.off('down', this.onRedisDown);
    clearTimeout(this.tickTimer);
    await this.inflight;
    this.stepDown('stopped');
    if (!this.started || !this.redis.isUp) return;
    try {
      // Also when we stepped down by our clock: the key may still be ours, and the compare keeps others' safe.
      await this.redis.client.eval(RELEASE_SCRIPT, { keys: [this.key], arguments: [this.replicaId] });
    } catch (err) {
      this.log?.debug({ reason: this.redis.scrub(err) }, 'owner lease release failed; it expires by itself');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.tickTimer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const began = this.now();
    this.inflight = this.owned || this.reclaim ? this.renew() : this.acquire();
    await this.inflight;
    this.inflight = undefined;
    const period = this.owned ? this.periodMs : this.periodMs * (0.8 + 0.2 * this.random());
    this.schedule(Math.max(0, period - (this.now() - began)));
  }

  private async acquire(): Promise<void> {
    if (!this.redis.isUp) return; // the command would fail at once; nothing to send
    const sent = this.now();
    try {
      const reply = await this.redis.client.set(this.key, this.replicaId, { condition: 'NX', expiration: { type: 'PX', value: this.ttlMs } });
      if (reply === 'OK') this.extend(sent);
    } catch (err) {
      this.log?.debug({ reason: this.redis.scrub(err) }, 'owner lease acquire failed');
    }
  }

  /** Renews our lease, or (reclaim) takes it back if it still names us after a dropped connection. */
  private async renew(): Promise<void> {
    if (!this.redis.isUp) return; // keep the lease until our clock says it expired
    const sent = this.now();
    const reclaiming = !this.owned;
    try {
      const reply = await this.redis.client.eval(RENEW_SCRIPT, { keys: [this.key], arguments: [this.replicaId, String(this.ttlMs)] });
      if (reclaiming) this.reclaim = false;
      if (this.stopped) return;
      if (reply === 1) this.extend(sent);
      else this.stepDown('taken');
    } catch (err) {
      this.log?.debug({ reason: this.redis.scrub(err) }, 'owner lease renew failed; still owner until it would expire');
    }
  }

  /** Redis holds the key for us from no earlier than `sent`: we may count on it until sent + ttl - margin. */
  private extend(sent: number): void {
    if (this.stopped) return;
    const until = sent + this.ttlMs - this.marginMs;
    if (until <= this.now()) {
      this.stepDown('expired');
      return;
    }
    this.validUntil = until;
    this.lastRenew = sent;
    if (!this.owned) {
      this.owned = true;
      this.log?.info({ ttlMs: this.ttlMs }, 'owner lease acquired');
      this.emit('acquired');
    } else {
      this.emit('renewed');
    }
    this.armExpiry();
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => {
      if (!this.owned) return;
      if (this.now() >= this.validUntil) this.stepDown('expired');
      else this.armExpiry();
    }, Math.max(0, Math.ceil(this.validUntil - this.now())));
  }

  private stepDown(reason: OwnerLostReason): void {
    clearTimeout(this.expiryTimer);
    if (!this.owned) return;
    this.owned = false;
    this.validUntil = -Infinity;
    // The key may still name us (Redis slow, a connection blip): take it back if so, before it expires.
    this.reclaim = reason === 'expired' || reason === 'redis-down';
    this.log?.warn({ reason }, 'owner lease lost');
    this.emit('lost', reason);
  }
}
