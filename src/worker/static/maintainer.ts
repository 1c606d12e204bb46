import type { CacheConfig, VaultConfig } from '../../config/types.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import type { WorkerMessage } from '../protocol.js';
import type { WorkerMetric } from '../../telemetry/metrics.js';
import { CapabilityRefresher } from './capabilities.js';
import { parseKvEvent } from './kv-event.js';
import { listMounts, lookupMount } from './mount-lookup.js';
import { refetchSecret } from './refetch.js';
import { StaticRegistry } from './registry.js';
import { KvEventSubscriber } from './subscriber.js';
import { CachedTokens } from './tokens.js';
import { VaultInfoProbe } from './vault-info.js';

const MOUNT_LIST_EVERY_MS = 2 * 60_000;
/** Refetches in flight at once. */
const MAX_REFETCHES = 16;

export interface MaintainerOptions {
  cache: CacheConfig;
  vaultConfig: VaultConfig;
  vault: VaultClient;
  log: Logger;
  send(msg: WorkerMessage): void;
  autoAuthToken(): string | undefined;
  onInvalidToken(): void;
  /** A cached secret changed or left the cache (a refetch's outcome, sent): the templates that read it re-render. */
  secretChanged?(path: string): void;
  /** Tests: a clock for the token and capability bookkeeping. */
  now?(): number;
  /**
   * Fleet mode: a KV event for a secret this worker does not hold is still announced (as
   * `static-evict`, reason gone: changed or gone in Vault), because another replica may hold it and
   * this worker holds the fleet's only subscription.
   */
  announceUnheld?: boolean;
  /**
   * Subscribe to KV events at start (default true). Fleet mode: false, and the worker calls
   * subscribe() / unsubscribe() as this replica becomes the owner or stops being it: one
   * subscription per fleet, held by the owner.
   */
  subscribeAtStart?: boolean;
}

/**
 * Keeps the static cache true: capability refresh per token, KV events (refetch or evict on
 * change, full refetch after every reconnect), and a refetch of everything every
 * static_secret_refresh_interval so staleness stays bounded: while events are unavailable, and
 * also while they flow, because Vault 1.15 does not deliver events without a `data_path` (KV
 * deletes and destroys) to a subscriber that is not root.
 */
export class StaticCacheMaintainer {
  private readonly registry: StaticRegistry;
  private readonly log: Logger;
  /** The KV event subscription while this worker holds one (always, outside fleet mode). */
  private subscriber: KvEventSubscriber | undefined;
  /** The subscription's socket is open (what the event_stream gauge was last told). */
  private eventsConnected = false;
  private readonly refresher: CapabilityRefresher;
  private readonly tokens: CachedTokens;
  private readonly vaultInfo: VaultInfoProbe;
  private pollTimer: NodeJS.Timeout | undefined;
  private mountTimer: NodeJS.Timeout | undefined;
  /** Refetches under way, and paths to refetch once more when they end. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Paths to refetch once a slot is free, in order (a Set: a path waits once). */
  private readonly waiting = new Set<string>();
  private connections = 0;
  private stopped = false;

  constructor(private readonly opts: MaintainerOptions) {
    this.log = opts.log.child({ component: 'static-cache' });
    this.registry = new StaticRegistry((hash) => this.tokens.lost(hash));
    this.vaultInfo = new VaultInfoProbe(opts.vault, this.log, opts.send);
    this.refresher = new CapabilityRefresher({
      vault: opts.vault, registry: this.registry, log: this.log, send: opts.send,
      intervalMs: opts.cache.capabilityRefreshSeconds * 1000,
      count: (outcome) => this.metric({ metric: 'capability_refresh', outcome }),
      onVaultBack: () => this.vaultInfo.ask(),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.tokens = new CachedTokens({
      vault: opts.vault, registry: this.registry, refresher: this.refresher, log: this.log, send: opts.send,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** A new subscription whose late callbacks, once it is replaced or stopped, are ignored. */
  private newSubscriber(): KvEventSubscriber {
    const opts = this.opts;
    const mine = (): boolean => this.subscriber === sub;
    const sub: KvEventSubscriber = new KvEventSubscriber({
      connection: opts.vault.connection,
      token: opts.autoAuthToken,
      onFrame: (frame) => { if (mine()) this.onFrame(frame); },
      onConnected: () => {
        if (!mine()) return;
        const reconnect = this.connections++ > 0;
        this.eventsConnected = true;
        this.metric({ metric: 'event_stream', connected: true, reconnect });
        this.refetchAll('reconnect');
        if (reconnect) this.vaultInfo.ask();
      },
      onDisconnected: () => {
        if (!mine()) return;
        this.eventsConnected = false;
        this.metric({ metric: 'event_stream', connected: false });
      },
      onAvailability: (available, reason) => { if (mine()) this.onAvailability(available, reason); },
      onInvalidToken: () => {
        if (!mine()) return;
        this.log.warn('the event stream refused the auto-auth token; checking it');
        opts.onInvalidToken();
      },
      log: this.log,
    });
    return sub;
  }

  /**
   * Holds the KV event subscription (fleet mode: this replica became the owner). Its first connect
   * refetches every cached secret, as every reconnect does: what changed meanwhile is read again.
   */
  subscribe(): void {
    if (this.subscriber || this.stopped) return;
    this.subscriber = this.newSubscriber();
    this.subscriber.start();
  }

  /** Drops the KV event subscription (fleet mode: another replica is the owner now). */
  unsubscribe(): void {
    const sub = this.subscriber;
    if (!sub) return;
    this.subscriber = undefined;
    sub.stop();
    if (this.eventsConnected) {
      this.eventsConnected = false;
      this.metric({ metric: 'event_stream', connected: false });
    }
    this.log.info('dropped the KV event subscription');
  }

  /** Whether this worker holds the KV event subscription (connected or trying to). */
  get subscribed(): boolean {
    return this.subscriber !== undefined;
  }

  start(): void {
    this.vaultInfo.ask();
    if (this.opts.subscribeAtStart !== false) this.subscribe();
    this.refresher.start();
    this.pollTimer = setInterval(() => this.refetchAll('poll'), this.opts.cache.staticRefreshSeconds * 1000);
    this.mountTimer = setInterval(() => this.loadMounts(), MOUNT_LIST_EVERY_MS);
  }

  /** The secrets mounts, for Vaults whose answers do not name the mount type (kept 5 min on the other side). */
  private loadMounts(): void {
    void listMounts(this.opts.vault, this.opts.autoAuthToken(), this.log).then((out) => out.forEach((m) => this.opts.send(m)));
  }

  stop(): void {
    this.stopped = true;
    this.subscriber?.stop();
    this.subscriber = undefined;
    this.vaultInfo.stop();
    this.refresher.stop();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.mountTimer) clearInterval(this.mountTimer);
    this.waiting.clear();
    this.tokens.stop();
  }

  /** The auto-auth token changed: the event subscription follows it. */
  tokenChanged(): void {
    this.subscriber?.tokenChanged();
    this.loadMounts();
  }

  // ext_proc's messages for the static cache, one method each (src/worker/run.ts routes them).

  /** `static-access`: a token proved read access on a cached path; its capabilities and the secret are refreshed. */
  access(path: string, token: string): void {
    this.tokens.access(path, token);
  }

  /** `static-forget`: the entry left the cache; it is no longer refreshed. */
  forget(path: string): void {
    this.registry.forget(path);
  }

  /** `static-drop`: the token no longer reads these paths; a token left with none is no longer checked. */
  accessLost(tokenHash: string, paths: string[]): void {
    this.registry.dropToken(tokenHash, paths);
  }

  /** `mount-lookup`: what the mount holding `path` is. */
  lookupMount(path: string): void {
    void lookupMount(this.opts.vault, path, this.opts.autoAuthToken(), this.log).then((out) => out.forEach((m) => this.opts.send(m)));
  }

  /** `recheck`: every token with cached access is checked now; `recheck-done` with `seq` follows. */
  recheck(seq: number): void {
    this.refresher.recheck(seq);
  }

  /** `token-revoked`: Vault revoked the token through Envoy; no more calls with it. */
  tokenRevoked(tokenHash: string): void {
    this.tokens.revoked(tokenHash);
  }

  /** Figures of the capability refresh (tests and the bound's measurement). */
  capabilityStats(): ReturnType<CapabilityRefresher['stats']> {
    return this.refresher.stats();
  }

  private onAvailability(available: boolean, reason?: string): void {
    // The periodic refetch runs either way (see the class comment); this only tells the operator.
    if (available) return;
    // Said once per change of state, not on every retry.
    this.log.warn({ reason, refreshIntervalSeconds: this.opts.cache.staticRefreshSeconds },
      'KV events are unavailable; cached secrets are refetched every static_secret_refresh_interval instead');
  }

  private metric(update: WorkerMetric): void {
    this.opts.send({ type: 'metric', update });
  }

  private onFrame(frame: string): void {
    this.metric({ metric: 'event_received' });
    const parsed = parseKvEvent(frame);
    if (parsed.kind === 'invalid') {
      this.log.warn({ reason: parsed.reason, bytes: frame.length }, 'skipping a malformed frame on the KV event stream');
      return;
    }
    if (parsed.kind === 'ignored') return;
    const { path, versions, eventType } = parsed.change;
    if (!this.registry.has(path)) {
      if (this.opts.announceUnheld) this.opts.send({ type: 'static-evict', path, reason: 'gone' });
      return;
    }
    this.log.debug({ eventType }, 'KV event for a cached secret');
    if (versions.length) this.opts.send({ type: 'static-drop-versions', path, versions });
    this.refetch(path);
  }

  private refetchAll(why: string): void {
    const paths = this.registry.paths();
    if (paths.length) this.log.info({ why, secrets: paths.length }, 'refetching every cached secret');
    for (const path of paths) this.refetch(path);
  }

  /**
   * One refetch per path at a time; a change during a refetch triggers one more. At most
   * MAX_REFETCHES run at once and the rest wait in order (a poll or a reconnect refetches every
   * cached secret: with 100,000 of them, one request each at once would exhaust sockets and files).
   */
  private refetch(path: string): void {
    if (this.running.has(path)) {
      this.again.add(path);
      return;
    }
    if (this.running.size >= MAX_REFETCHES) {
      this.waiting.add(path);
      return;
    }
    const run = (async () => {
      try {
        for (const m of await refetchSecret(this.opts.vault, this.registry, path, this.log)) {
          this.opts.send(m);
          this.opts.secretChanged?.(m.path);
        }
      } finally {
        this.running.delete(path);
        if (this.again.delete(path) && this.registry.has(path)) this.refetch(path);
        this.startWaiting();
      }
    })();
    this.running.set(path, run);
  }

  private startWaiting(): void {
    for (const next of this.waiting) {
      if (this.running.size >= MAX_REFETCHES) return;
      this.waiting.delete(next);
      if (this.registry.has(next)) this.refetch(next);
    }
  }
}
