import { rmSync, writeFileSync } from 'node:fs';
import { startAdminServer, type AdminServer } from './admin/server.js';
import type { Config } from './config/types.js';
import { AppError } from './errors.js';
import type { CacheClearCommand } from './cache/cache-clear.js';
import { Inflight } from './cache/inflight.js';
import { LeaseCache } from './cache/lease-cache.js';
import type { RevocationKind } from './cache/lease-rules.js';
import { canonicalNamespace } from './cache/static-key.js';
import { hashToken } from './cache/token-hash.js';
import { StaticCache } from './cache/static-cache.js';
import { MemoryStore } from './cache/store.js';
import { startExtprocServer, type ExtprocServer } from './extproc/server.js';
import type { StreamEffect } from './extproc/stream.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { Metrics } from './telemetry/metrics.js';
import { startWorkerThread, type WorkerHandle } from './worker/host.js';
import type { WorkerMessage } from './worker/protocol.js';

export interface AppOptions {
  config: Config;
  log?: Logger;
  logLevel?: string;
}

export interface App {
  readonly extprocPort: number;
  readonly adminPort: number;
  /** Resolves when the worker asks the process to exit (exit_after_auth, exit_on_err). */
  readonly exitRequested: Promise<{ code: number; reason: string }>;
  hasToken(): boolean;
  /** Drains in-flight streams until the deadline, then stops everything. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Wires the ext_proc server, the worker and the admin server for one config. Tests start this. */
export async function startApp(opts: AppOptions): Promise<App> {
  const { config } = opts;
  const log = opts.log ?? createLogger({ base: { role: 'extproc' }, ...(opts.logLevel ? { level: opts.logLevel } : {}) });
  if (config.autoAuth?.method.type === 'unsupported') {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auto_auth method "${config.autoAuth.method.name}" is not implemented by vault-extproc yet (implemented: approle, token_file); serve refuses to start`);
  }
  let token: string | undefined;
  let resolveExit: (v: { code: number; reason: string }) => void = () => undefined;
  const exitRequested = new Promise<{ code: number; reason: string }>((resolve) => { resolveExit = resolve; });

  let worker: WorkerHandle | undefined;
  let metrics: Metrics | undefined;
  const staticCache = config.cache?.staticSecrets
    ? new StaticCache(new MemoryStore(config.cache.maxBytes), (path, reason) => {
        metrics?.evictions.inc({ cache: 'static', reason });
        worker?.send({ type: 'static-forget', path });
      })
    : undefined;
  const leaseCache = config.cache?.leaseCache
    ? new LeaseCache((entry, reason) => {
        metrics?.evictions.inc({ cache: 'lease', reason });
        worker?.send({ type: 'lease-untrack', key: entry.key });
      })
    : undefined;
  metrics = new Metrics(() => [
    ...(staticCache ? [{ cache: 'static', entries: staticCache.size, bytes: staticCache.bytes }] : []),
    ...(leaseCache ? [{ cache: 'lease', entries: leaseCache.size, bytes: leaseCache.bytes }] : []),
  ]);
  const m = metrics;
  let autoAuthHash: string | undefined;

  /** Evictions for a revocation Vault confirmed (2xx), through Envoy. */
  const onRevoked = (kind: RevocationKind, value: string): void => {
    switch (kind) {
      case 'token':
      case 'token-self':
        leaseCache?.evictToken(hashToken(value), 'revoked');
        staticCache?.revokeEverywhere(hashToken(value));
        break;
      case 'orphan':
        leaseCache?.evictTokenOrphaningChildren(hashToken(value));
        staticCache?.revokeEverywhere(hashToken(value));
        break;
      case 'accessor':
        leaseCache?.evictAccessor(value, 'revoked');
        break;
      case 'lease':
        leaseCache?.evictLease(value, 'revoked');
        break;
      case 'lease-prefix':
        leaseCache?.evictLeasePrefix(value, 'revoked');
        break;
    }
  };

  const onCacheClear = (c: CacheClearCommand): void => {
    log.info({ type: c.type }, 'cache-clear');
    switch (c.type) {
      case 'request_path': {
        const prefix = c.value.replace(/^\/+/, '').replace(/^v1\//, '');
        leaseCache?.evictRequestPath(prefix, canonicalNamespace(c.namespace));
        staticCache?.evictPrefix(`${canonicalNamespace(c.namespace)}${prefix}`);
        break;
      }
      case 'token':
        leaseCache?.evictToken(hashToken(c.value), 'cleared');
        staticCache?.revokeEverywhere(hashToken(c.value));
        break;
      case 'token_accessor':
        leaseCache?.evictAccessor(c.value, 'cleared');
        break;
      case 'lease':
        leaseCache?.evictLease(c.value, 'cleared');
        break;
      case 'all':
        // The auto-auth token stays managed: it is not an entry, it is known to the streams.
        leaseCache?.clear();
        staticCache?.clear();
        break;
    }
  };
  const inflight = new Inflight();

  const onWorkerMessage = (msg: WorkerMessage): void => {
    switch (msg.type) {
      case 'token': {
        // A re-login retires what hung off the old auto-auth token (Vault Agent's cancelPreviousAutoAuthToken).
        const newHash = hashToken(msg.token);
        if (autoAuthHash && autoAuthHash !== newHash) leaseCache?.evictOwnedBy(autoAuthHash, 'reauth');
        autoAuthHash = newHash;
        token = msg.token;
        extproc?.setServing(true);
        break;
      }
      case 'lease-evict':
        leaseCache?.evictKey(msg.key, 'renewal_stopped');
        break;
      case 'exit':
        resolveExit({ code: msg.code, reason: msg.reason });
        break;
      case 'static-update':
        staticCache?.update(msg.path, { ...msg.response, body: msg.response.body }, msg.failedTokens, msg.kvVersion);
        break;
      case 'static-evict':
        staticCache?.evict(msg.path, msg.reason);
        break;
      case 'metric':
        m.apply(msg.update);
        break;
      case 'static-drop-versions':
        staticCache?.dropVersions(msg.path, msg.versions);
        break;
      case 'static-revoke':
        staticCache?.revoke(msg.tokenHash, msg.paths);
        break;
    }
  };

  const onEffect = (effect: StreamEffect): void => {
    switch (effect.type) {
      case 'token-suspect':
        worker?.send({ type: 'token-suspect' });
        break;
      case 'inflight-begin':
        inflight.begin(effect.key);
        break;
      case 'inflight-end':
        inflight.end(effect.key);
        break;
      case 'static-record':
        if (staticCache?.record(effect.key, effect.tokenHash, effect.response, effect.kvVersion)) {
          worker?.send({ type: 'static-access', path: effect.key.path, token: effect.token });
        }
        break;
      case 'cache-hit':
        m.cacheHit.inc();
        break;
      case 'cache-miss':
        m.cacheMiss.inc();
        break;
      case 'lease-record':
        leaseCache?.record(effect.entry);
        worker?.send({
          type: 'lease-track', key: effect.entry.key, kind: effect.entry.kind, token: effect.renewToken, ttlSeconds: effect.ttlSeconds,
          ...(effect.entry.leaseId ? { leaseId: effect.entry.leaseId } : {}),
        });
        break;
      case 'revoked':
        onRevoked(effect.kind, effect.value);
        break;
      case 'cache-clear':
        onCacheClear(effect.command);
        break;
      case 'quit':
        log.info('quit requested through the agent API');
        resolveExit({ code: 0, reason: 'quit endpoint' });
        break;
      case 'proxied':
        (effect.failed ? m.proxyError : effect.status < 400 ? m.proxySuccess : m.proxyClientError).inc();
        break;
    }
  };

  let extproc: ExtprocServer | undefined;
  let admin: AdminServer | undefined;
  try {
    extproc = await startExtprocServer(config.extproc.address, {
      listeners: config.listeners,
      context: {
        useAutoAuthToken: config.apiProxy.useAutoAuthToken,
        autoAuthToken: () => token,
        metricsText: () => m.text(),
        ...(staticCache ? { staticCache: { cache: staticCache, inflight } } : {}),
        ...(leaseCache ? { leaseCache: { cache: leaseCache, inflight, managed: (h: string) => h === autoAuthHash || leaseCache.managesToken(h) } } : {}),
      },
      onEffect,
      onStreamEnd: (state, seconds) => {
        // Forwarded, yet no response came back: Envoy could not reach Vault, or the client left.
        if (state.phase === 'response' && state.answeredBy === undefined) m.proxyError.inc();
        m.streamDuration.observe({ answer: state.answeredBy ?? 'none' }, seconds);
      },
      log,
    });
    if (!config.autoAuth) extproc.setServing(true);
    worker = startWorkerThread(config, log, onWorkerMessage, opts.logLevel);
    const ext = extproc;
    admin = await startAdminServer(config.extproc.adminAddress, () => {
      const reasons = config.autoAuth && token === undefined ? ['no auto-auth token yet'] : [];
      return { ready: reasons.length === 0 && ext.port > 0, reasons };
    }, m, log);
    if (config.pidFile) writeFileSync(config.pidFile, `${process.pid}\n`);
  } catch (err) {
    await worker?.stop();
    await extproc?.shutdown(0);
    await admin?.close();
    throw err;
  }

  const ext = extproc;
  const adm = admin;
  const wrk = worker;
  let stopping: Promise<void> | undefined;
  return {
    extprocPort: ext.port,
    adminPort: adm.port,
    exitRequested,
    hasToken: () => token !== undefined,
    stop(deadlineMs = 10_000) {
      stopping ??= (async () => {
        log.info({ activeStreams: ext.activeStreams }, 'shutting down');
        await ext.shutdown(deadlineMs);
        await wrk.stop();
        await adm.close();
        if (config.pidFile) rmSync(config.pidFile, { force: true });
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
