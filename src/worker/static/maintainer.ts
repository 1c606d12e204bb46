import type { CacheConfig, VaultConfig } from '../../config/types.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import type { ExtprocMessage, WorkerMessage } from '../protocol.js';
import type { WorkerMetric } from '../../telemetry/metrics.js';
import { refreshCapabilities } from './capabilities.js';
import { parseKvEvent } from './kv-event.js';
import { listMounts, lookupMount } from './mount-lookup.js';
import { refetchSecret } from './refetch.js';
import { StaticRegistry } from './registry.js';
import { KvEventSubscriber } from './subscriber.js';
import { TokenExpiry } from './token-expiry.js';

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
}

/**
 * Keeps the static cache true: capability refresh per token, KV events (refetch or evict on
 * change, full refetch after every reconnect), and a refetch of everything every
 * static_secret_refresh_interval so staleness stays bounded: while events are unavailable, and
 * also while they flow, because Vault 1.15 does not deliver events without a `data_path` (KV
 * deletes and destroys) to a subscriber that is not root.
 */
export class StaticCacheMaintainer {
  private readonly registry = new StaticRegistry();
  private readonly log: Logger;
  private readonly subscriber: KvEventSubscriber;
  private capabilityTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private mountTimer: NodeJS.Timeout | undefined;
  /** Refetches under way, and paths to refetch once more when they end. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Paths to refetch once a slot is free, in order (a Set: a path waits once). */
  private readonly waiting = new Set<string>();
  private readonly expiry: TokenExpiry;
  private connections = 0;

  constructor(private readonly opts: MaintainerOptions) {
    this.log = opts.log.child({ component: 'static-cache' });
    this.expiry = new TokenExpiry(opts.vault, this.log, (tokenHash, why) => {
      const paths = this.registry.dropToken(tokenHash);
      if (paths.length) {
        this.log.info({ why, secrets: paths.length }, 'a token lost its cached access');
        opts.send({ type: 'static-revoke', tokenHash, paths });
      }
    });
    this.subscriber = new KvEventSubscriber({
      connection: opts.vault.connection,
      token: opts.autoAuthToken,
      onFrame: (frame) => this.onFrame(frame),
      onConnected: () => {
        this.metric({ metric: 'event_stream', connected: true, reconnect: this.connections++ > 0 });
        this.refetchAll('reconnect');
      },
      onDisconnected: () => this.metric({ metric: 'event_stream', connected: false }),
      onAvailability: (available, reason) => this.onAvailability(available, reason),
      onInvalidToken: () => {
        this.log.warn('the event stream refused the auto-auth token; checking it');
        opts.onInvalidToken();
      },
      log: this.log,
    });
  }

  start(): void {
    this.subscriber.start();
    this.scheduleCapabilities();
    this.pollTimer = setInterval(() => this.refetchAll('poll'), this.opts.cache.staticRefreshSeconds * 1000);
    this.mountTimer = setInterval(() => this.loadMounts(), MOUNT_LIST_EVERY_MS);
  }

  /** The secrets mounts, for Vaults whose answers do not name the mount type (kept 5 min on the other side). */
  private loadMounts(): void {
    void listMounts(this.opts.vault, this.opts.autoAuthToken(), this.log).then((out) => out.forEach((m) => this.opts.send(m)));
  }

  stop(): void {
    this.subscriber.stop();
    if (this.capabilityTimer) clearTimeout(this.capabilityTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.mountTimer) clearInterval(this.mountTimer);
    this.waiting.clear();
    this.expiry.stop();
  }

  /** The auto-auth token changed: the event subscription follows it. */
  tokenChanged(): void {
    this.subscriber.tokenChanged();
    this.loadMounts();
  }

  handle(msg: ExtprocMessage): void {
    if (msg.type === 'static-access') {
      this.registry.add(msg.path, msg.token);
      void this.expiry.watch(msg.token);
    } else if (msg.type === 'static-forget') {
      this.registry.forget(msg.path);
    } else if (msg.type === 'mount-lookup') {
      void lookupMount(this.opts.vault, msg.path, this.opts.autoAuthToken(), this.log).then((out) => out.forEach((m) => this.opts.send(m)));
    }
  }

  private scheduleCapabilities(): void {
    this.capabilityTimer = setTimeout(async () => {
      try {
        for (const m of await refreshCapabilities(this.opts.vault, this.registry, this.log, (outcome) => this.metric({ metric: 'capability_refresh', outcome }))) this.opts.send(m);
      } finally {
        this.scheduleCapabilities();
      }
    }, this.opts.cache.capabilityRefreshSeconds * 1000);
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
    if (!this.registry.has(path)) return;
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
        for (const m of await refetchSecret(this.opts.vault, this.registry, path, this.log)) this.opts.send(m);
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
