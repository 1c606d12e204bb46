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
import { hashToken } from './cache/token-hash.js';

/**
 * Both caches on the ext_proc side, and everything that changes them: the streams' effects
 * (records, revocations, cache-clear), the worker's messages (refetches, renewals that stopped)
 * and auto-auth re-logins. Tells the worker what to renew or forget.
 */
export class Caches {
  readonly static?: StaticCache;
  readonly lease?: LeaseCache;
  private readonly inflight = new Inflight();
  private readonly kvMounts = new KvMounts();
  private autoAuthHash: string | undefined;

  constructor(
    config: CacheConfig | undefined,
    private readonly metrics: Metrics,
    private readonly toWorker: (msg: ExtprocMessage) => void,
    private readonly log: Logger,
  ) {
    if (config?.staticSecrets) {
      this.static = new StaticCache(new MemoryStore(config.maxBytes), (path, reason) => {
        metrics.evictions.inc({ cache: 'static', reason });
        toWorker({ type: 'static-forget', path });
      });
    }
    if (config?.leaseCache) {
      this.lease = new LeaseCache((entry, reason) => {
        metrics.evictions.inc({ cache: 'lease', reason });
        toWorker({ type: 'lease-untrack', key: entry.key });
      });
    }
  }

  /** What the streams see of the caches. */
  streamContext(): Pick<StreamContext, 'staticCache' | 'leaseCache'> {
    const lease = this.lease;
    return {
      ...(this.static ? { staticCache: { cache: this.static, inflight: this.inflight, mounts: this.kvMounts } } : {}),
      ...(lease ? { leaseCache: { cache: lease, inflight: this.inflight, managed: (h: string) => h === this.autoAuthHash || lease.managesToken(h) } } : {}),
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

  /** Applies a stream effect that concerns the caches; returns false for the others. */
  onEffect(effect: StreamEffect): boolean {
    switch (effect.type) {
      case 'inflight-begin':
        this.inflight.begin(effect.key);
        return true;
      case 'inflight-end':
        this.inflight.end(effect.key);
        return true;
      case 'static-record':
        if (this.static?.record(effect.key, effect.tokenHash, effect.response, effect.kvVersion)) {
          this.toWorker({ type: 'static-access', path: effect.key.path, token: effect.token });
        }
        return true;
      case 'lease-record':
        if (!this.lease) return true;
        this.lease.record(effect.entry);
        this.toWorker({
          type: 'lease-track', key: effect.entry.key, kind: effect.entry.kind, token: effect.renewToken, ttlSeconds: effect.ttlSeconds,
          ...(effect.entry.leaseId ? { leaseId: effect.entry.leaseId } : {}),
        });
        return true;
      case 'revoked':
        this.onRevoked(effect.kind, effect.value);
        return true;
      case 'cache-clear':
        this.onCacheClear(effect.command);
        return true;
      case 'mount-unknown':
        if (this.static && this.kvMounts.shouldAsk(effect.path)) this.toWorker({ type: 'mount-lookup', path: effect.path });
        return true;
      case 'cache-hit':
        this.metrics.cacheHit.inc();
        return true;
      case 'cache-miss':
        this.metrics.cacheMiss.inc();
        return true;
      default:
        return false;
    }
  }

  /** Applies a worker message that concerns the caches; returns false for the others. */
  onWorkerMessage(msg: WorkerMessage): boolean {
    switch (msg.type) {
      case 'lease-evict':
        this.lease?.evictKey(msg.key, 'renewal_stopped');
        return true;
      case 'static-update':
        this.static?.update(msg.path, msg.response, msg.failedTokens, msg.kvVersion);
        return true;
      case 'static-evict':
        this.static?.evict(msg.path, msg.reason);
        return true;
      case 'static-drop-versions':
        this.static?.dropVersions(msg.path, msg.versions);
        return true;
      case 'static-revoke':
        this.static?.revoke(msg.tokenHash, msg.paths);
        return true;
      case 'mount-info':
        this.kvMounts.learn(msg.mountPrefix, msg.kind);
        return true;
      default:
        return false;
    }
  }

  /** Evictions for a revocation Vault confirmed (2xx) through Envoy. */
  private onRevoked(kind: RevocationKind, value: string): void {
    switch (kind) {
      case 'token':
      case 'token-self':
        this.lease?.evictToken(hashToken(value), 'revoked');
        this.static?.revokeEverywhere(hashToken(value));
        break;
      case 'orphan':
        this.lease?.evictTokenOrphaningChildren(hashToken(value));
        this.static?.revokeEverywhere(hashToken(value));
        break;
      case 'accessor':
        this.lease?.evictAccessor(value, 'revoked');
        break;
      case 'lease':
        this.lease?.evictLease(value, 'revoked');
        break;
      case 'lease-prefix':
        this.lease?.evictLeasePrefix(value, 'revoked');
        break;
    }
  }

  private onCacheClear(c: CacheClearCommand): void {
    this.log.info({ type: c.type }, 'cache-clear');
    switch (c.type) {
      case 'request_path': {
        const prefix = c.value.replace(/^\/+/, '').replace(/^v1\//, '');
        this.lease?.evictRequestPath(prefix, canonicalNamespace(c.namespace));
        this.static?.evictPrefix(`${canonicalNamespace(c.namespace)}${prefix}`);
        break;
      }
      case 'token':
        this.lease?.evictToken(hashToken(c.value), 'cleared');
        this.static?.revokeEverywhere(hashToken(c.value));
        break;
      case 'token_accessor':
        this.lease?.evictAccessor(c.value, 'cleared');
        break;
      case 'lease':
        this.lease?.evictLease(c.value, 'cleared');
        break;
      case 'all':
        // The auto-auth token stays managed: it is not an entry, the streams know it.
        this.lease?.clear();
        this.static?.clear();
        break;
    }
  }
}
