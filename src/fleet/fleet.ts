// Fleet mode's parts, put together for one replica (issue 16; plan step 1). `startFleet` is what
// app.ts calls when the config has a `fleet` block, and what the tests start directly:
//
//   commands  one FleetRedis: the owner lease, the L2 store (RedisSharedStore), the publisher
//   stream    one FleetRedis of its own: the InvalidationFollower's blocking XREAD holds it
//   lease     OwnerLease (owner_lease_ttl): 'acquired' / 'lost' are re-emitted as 'owner' / 'lost'
//   store     RedisSharedStore (the fleet keys; refusals counted)
//   publisher InvalidationPublisher, follower InvalidationFollower (keys, prefix, replica id)
//
// Redis down is never fatal: both connections reconnect by themselves, the lease steps down, and
// /readyz reports it (degraded, or not ready with required_for_ready). Nothing here logs a password
// or a token: the URL shown is config.redis.displayUrl, and FleetRedis scrubs its errors.
//
// The owner shares its auto-auth token through L2 (`autoAuth`, src/fleet/auto-auth-share.ts);
// the others hear it (deps.onSharedAutoAuthToken).
// app.ts gates the worker's Vault-facing duties on 'owner' / 'lost': only the owner's worker logs
// in, renews the auto-auth token and holds the KV event subscription (src/worker/fleet-auto-auth.ts).
// The caches (src/fleet/fleet-sync.ts, src/cache-mediator.ts) read L2 and publish through `store`
// and `publisher`; `handlers` applies the other replicas' events to L1 (app.ts).
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { loadFleetKeys, loadFleetPassword, type FleetConfig } from '../config/fleet.js';
import { SEAL_DOMAINS } from '../crypto/keyring.js';
import { Sealer } from '../crypto/sealer.js';
import { AppError, errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { FleetMetrics } from '../telemetry/metrics.js';
import { AutoAuthShare } from './auto-auth-share.js';
import { InvalidationFollower, type GapReason, type InvalidationHandlers } from './invalidation-stream.js';
import { OwnerLease, type OwnerLostReason } from './owner-lease.js';
import { FleetRedis } from './redis-client.js';
import { RedisSharedStore } from './redis-store.js';
import type { SharedAutoAuthToken } from './schema.js';
import type { SharedStore } from './shared-store.js';
import { InvalidationPublisher } from './stream-publisher.js';

export interface FleetDeps {
  /** Where the fleet's series go: the process's Metrics.registry (a test gives each fleet its own). */
  registry: Registry;
  logger?: Logger;
  /** What to do with the stream's events (app.ts: CacheMediator.applyFleetEvent, fleetGap); default: nothing is applied. */
  handlers?: Partial<InvalidationHandlers>;
  /** A non-owner heard a new auto-auth token from the owner (through L2); default: ignored. */
  onSharedAutoAuthToken?: (token: SharedAutoAuthToken) => void;
  /** For encryption_key_env_var (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Timings tests shorten; production uses the config's and the parts' defaults. */
  tuning?: FleetTuning;
}

export interface FleetTuning {
  /** Overrides owner_lease_ttl (whose config minimum is 5 s). */
  ownerLeaseTtlMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  commandTimeoutMs?: number;
  /** The follower's XREAD BLOCK time (default 1000 ms): also how long stop() may wait for it. */
  streamBlockMs?: number;
  /** How often a non-owner reads the shared auto-auth token (default 2000 ms). */
  autoAuthPollMs?: number;
}

/** What a fleet adds to /readyz: reasons that make the replica not ready, and reasons it is ready but degraded. */
export interface FleetReadiness {
  notReady: string[];
  degraded: string[];
}

interface FleetEvents {
  /** This replica became the owner: it may start the fleet's Vault-facing work. */
  owner: [];
  /** It stopped being the owner: that work must stop now. */
  lost: [reason: OwnerLostReason];
}

export class Fleet extends EventEmitter<FleetEvents> {
  readonly replicaId: string;
  readonly store: SharedStore;
  readonly publisher: InvalidationPublisher;
  readonly metrics: FleetMetrics;
  /** The owner shares its auto-auth token here; the others hear it (deps.onSharedAutoAuthToken). */
  readonly autoAuth: AutoAuthShare;
  private readonly commands: FleetRedis;
  private readonly stream: FleetRedis;
  private readonly lease: OwnerLease;
  private readonly follower: InvalidationFollower;
  private readonly log: Logger | undefined;
  private readonly requiredForReady: boolean;
  private readonly displayUrl: string;
  private stopping: Promise<void> | undefined;

  /** Use startFleet. */
  constructor(private readonly config: FleetConfig, deps: FleetDeps) {
    super();
    const t = deps.tuning ?? {};
    // Read the files first: a missing key or password throws before any connection is opened.
    let keys: Buffer[];
    let password: string | undefined;
    try {
      keys = loadFleetKeys(config, deps.env);
      password = loadFleetPassword(config.redis);
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `fleet: ${errorMessage(err)}`, { cause: err });
    }
    this.replicaId = config.replicaId;
    this.requiredForReady = config.requiredForReady;
    this.displayUrl = config.redis.displayUrl;
    this.log = deps.logger?.child({ component: 'fleet', replica: config.replicaId });

    const redisOpts = {
      url: redisUrl(config),
      ...(config.redis.username !== undefined ? { username: config.redis.username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(config.redis.tls ? { tls: config.redis.tls } : {}),
      keyPrefix: config.keyPrefix,
      ...(t.commandTimeoutMs !== undefined ? { commandTimeoutMs: t.commandTimeoutMs } : {}),
      ...(t.reconnectMinMs !== undefined ? { reconnectMinMs: t.reconnectMinMs } : {}),
      ...(t.reconnectMaxMs !== undefined ? { reconnectMaxMs: t.reconnectMaxMs } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    };
    this.commands = new FleetRedis(redisOpts);
    this.stream = new FleetRedis(redisOpts);

    this.metrics = new FleetMetrics(deps.registry, {
      redisUp: () => this.redisUp,
      owner: () => this.isOwner,
      stale: () => this.follower.isStale,
    });
    const sealer = new Sealer(keys, { domain: SEAL_DOMAINS.fleet });
    this.store = new RedisSharedStore({
      redis: this.commands,
      keys,
      onRefused: (kind, reason) => {
        this.metrics.refused.inc({ kind, reason });
        this.log?.warn({ kind, reason }, 'a fleet cache value was refused and deleted (never served)');
      },
    });
    this.publisher = new InvalidationPublisher({ redis: this.commands, sealer, replicaId: config.replicaId });
    const h = deps.handlers ?? {};
    this.follower = new InvalidationFollower({
      redis: this.stream,
      sealer,
      replicaId: config.replicaId,
      maxStaleMs: config.maxStaleWithoutRedisSeconds * 1000,
      ...(t.streamBlockMs !== undefined ? { blockMs: t.streamBlockMs } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
      handlers: {
        apply: (event, id) => h.apply?.(event, id),
        onGap: (reason: GapReason, detail) => {
          this.metrics.streamGaps.inc({ reason });
          h.onGap?.(reason, detail);
        },
        onStale: () => h.onStale?.(),
        onCaughtUp: () => h.onCaughtUp?.(),
      },
    });
    this.lease = new OwnerLease({
      redis: this.commands,
      replicaId: config.replicaId,
      ttlMs: t.ownerLeaseTtlMs ?? config.ownerLeaseTtlSeconds * 1000,
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    this.autoAuth = new AutoAuthShare({
      store: this.store,
      isOwner: () => this.lease.isOwner,
      onToken: (token) => deps.onSharedAutoAuthToken?.(token),
      ...(t.autoAuthPollMs !== undefined ? { pollMs: t.autoAuthPollMs } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    this.lease.on('acquired', () => this.emit('owner'));
    this.lease.on('lost', (reason) => {
      this.emit('lost', reason);
      // Another replica may own it now and have logged in: hear its token soon.
      if (reason !== 'stopped') void this.autoAuth.readNow();
    });
  }

  /** Both connections up (the lease and the store use one, the follower the other). */
  get redisUp(): boolean {
    return this.commands.isUp && this.stream.isUp;
  }

  /** This replica holds the owner lease now, by its own clock. */
  get isOwner(): boolean {
    return this.lease.isOwner;
  }

  /** The follower has not heard from Redis for longer than max_stale_without_redis. */
  get isStale(): boolean {
    return this.follower.isStale;
  }

  /** Connects (in the background: a Redis down at start is retried) and starts the lease and the follower. */
  start(): void {
    this.log?.info({ redis: this.displayUrl, prefix: this.config.keyPrefix, ownerLeaseTtlMs: this.lease.ttlMs, requiredForReady: this.requiredForReady }, 'fleet starting');
    this.commands.start();
    this.stream.start();
    this.lease.start();
    this.follower.start();
    this.autoAuth.start();
  }

  /**
   * Redis unreachable — a connection down, or (a hung Redis keeps its connections open) the stream
   * unheard for longer than max_stale_without_redis: not ready with required_for_ready, else ready
   * and degraded.
   */
  readiness(): FleetReadiness {
    let reason: string | undefined;
    if (!this.redisUp) reason = `fleet: Redis at ${this.displayUrl} is unreachable (no shared cache, no invalidation from other replicas, not the owner)`;
    else if (this.follower.isStale) reason = `fleet: Redis at ${this.displayUrl} has not answered for longer than max_stale_without_redis (${this.config.maxStaleWithoutRedisSeconds}s)`;
    if (reason === undefined) return { notReady: [], degraded: [] };
    return this.requiredForReady ? { notReady: [reason], degraded: [] } : { notReady: [], degraded: [reason] };
  }

  /**
   * Stops contending (an owner steps down, then releases the lease so another replica takes over
   * within one retry period), stops following, and closes both connections. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Bounded by the command timeout even when Redis hangs (the in-flight renew, then the release).
      await this.lease.stop();
      // The follower's XREAD BLOCK is exempt from the command timeout: on a hung Redis only closing
      // its connection ends it (close() gives pending replies 1 s, then destroys the socket).
      await Promise.all([this.follower.stop(), this.autoAuth.stop(), this.stream.close()]);
      await this.commands.close();
      this.log?.info('fleet stopped');
    })();
    return this.stopping;
  }
}

/** Builds a Fleet for `config.fleet` and starts it (connecting in the background). Throws only for an unreadable key or password file. */
export function startFleet(config: FleetConfig, deps: FleetDeps): Fleet {
  const fleet = new Fleet(config, deps);
  fleet.start();
  return fleet;
}

/** redis[s]://host:port/db, without credentials (they go to the client separately). */
function redisUrl(config: FleetConfig): string {
  const { host, port, database, tls } = config.redis;
  return `${tls ? 'rediss' : 'redis'}://${host.includes(':') ? `[${host}]` : host}:${port}/${database}`;
}
