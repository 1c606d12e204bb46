import { rmSync, writeFileSync } from 'node:fs';
import { startAdminServer, type AdminServer } from './admin/server.js';
import type { Config } from './config/types.js';
import { AppError, errorMessage, unrouted } from './errors.js';
import { CacheMediator } from './cache-mediator.js';
import { apiProxyRulesFor, vaultKindNotices } from './extproc/api-proxy-rules.js';
import { startExtprocServer, type ExtprocServer } from './extproc/server.js';
import type { StreamEffect } from './extproc/stream.js';
import { startFleet, type Fleet, type FleetTuning } from './fleet/fleet.js';
import { FleetSync } from './fleet/fleet-sync.js';
import type { SharedAutoAuthToken } from './fleet/schema.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { Metrics } from './telemetry/metrics.js';
import { metricShowsVaultAnswered, PersistWiring } from './persist/wire.js';
import { workerThreadFactory, type AdoptedToken, type WorkerHandle } from './worker/host.js';
import { DEFAULT_RESTART_POLICY, WORKER_CRASH_EXIT_CODE, WorkerSupervisor } from './worker/supervisor.js';
import type { ExtprocMessage, RoutedWorkerMessage } from './worker/protocol.js';

/** Messages kept for a worker that has not started yet (more are dropped: their tokens prove access again). */
const MAX_BEFORE_WORKER = 10_000;

export interface AppOptions {
  config: Config;
  log?: Logger;
  logLevel?: string;
  /** Fleet timings a test shortens (the owner lease's ttl below its 5 s config minimum, the shared token's poll …). */
  fleetTuning?: FleetTuning;
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
  /** The last auto-auth token message: a restarted worker takes the token over (AdoptedToken). */
  let tokenInfo: AdoptedToken | undefined;
  /** From a worker crash until the new worker is back: /readyz says not ready. */
  let workerDown = false;
  let workerBack: (why: string) => void = () => undefined;
  let resolveExit: (v: { code: number; reason: string }) => void = () => undefined;
  const exitRequested = new Promise<{ code: number; reason: string }>((resolve) => { resolveExit = resolve; });

  let worker: WorkerHandle | undefined;
  /** fleet { … }: started first thing in the try below. */
  let fleet: Fleet | undefined;
  /** The caches' port to the fleet (stopped before the fleet closes its connections). */
  let fleetSync: FleetSync | undefined;
  /**
   * The owner shares its auto-auth token with the other replicas through L2 (sealed): at each new
   * token, after each renewal (the record's TTL follows the token's), and when it becomes the owner.
   */
  const shareAutoAuthToken = (): void => {
    const f = fleet;
    if (!f?.isOwner || !tokenInfo || tokenRestored) return;
    f.autoAuth.share(tokenInfo).catch((err: unknown) => log.warn({ component: 'fleet', reason: errorMessage(err) }, 'the auto-auth token could not be shared through Redis; the next token or change of owner shares it'));
  };
  /** What the caches tell the worker before it runs (after an offline start it waits for the cluster check). */
  const beforeWorker: ExtprocMessage[] = [];
  /** A message for the worker: kept until it runs (the supervisor keeps them across a restart). */
  const toWorker = (msg: ExtprocMessage): void => {
    if (worker) worker.send(msg);
    else if (beforeWorker.length < MAX_BEFORE_WORKER) beforeWorker.push(msg);
  };
  /**
   * Fleet mode, not the owner: the owner's auto-auth token, heard from L2 (Fleet.autoAuth), becomes
   * this replica's as a worker's new token does (injected for use_auto_auth_token, SERVING), but is
   * not shared again; the worker takes it too (templates, sinks) and never logs in itself.
   */
  const sharedAutoAuthToken = (t: SharedAutoAuthToken): void => {
    if (!fleet || fleet.isOwner) return;
    persist.autoAuthToken(t);
    c.autoAuthToken(t.token);
    token = t.token;
    tokenRestored = false;
    tokenInfo = { token: t.token, leaseDurationSeconds: t.leaseDurationSeconds, renewable: t.renewable, obtainedAtMs: t.obtainedAtMs };
    extproc?.setServing(true);
    toWorker({ type: 'shared-token', ...tokenInfo });
  };
  /**
   * Fleet mode: the worker logs in, renews and subscribes only while this replica is the owner —
   * or while it is alone: Redis unreachable for longer than two owner lease periods (no replica can
   * be the owner then, and the auto-auth token must not run out for want of one). Each replica then
   * keeps its token alive itself, as a single Vault Proxy does, until Redis is back and one owner again.
   */
  let alone = false;
  const tellFleetRole = (): void => {
    if (fleet) toWorker({ type: 'fleet-role', owner: fleet.isOwner || alone });
  };
  let redisDownSince: number | undefined;
  let aloneTimer: NodeJS.Timeout | undefined;
  const watchAlone = (f: Fleet, afterMs: number): void => {
    aloneTimer = setInterval(() => {
      const now = Date.now();
      if (f.redisUp) {
        redisDownSince = undefined;
        if (!alone) return;
        alone = false;
        log.info({ component: 'fleet' }, 'Redis is back: the owner lease decides again which replica logs in, renews and subscribes');
        tellFleetRole();
        // The owner's token may have been heard while the worker was still alone (and ignored it then).
        if (!f.isOwner && tokenInfo) toWorker({ type: 'shared-token', ...tokenInfo });
        return;
      }
      redisDownSince ??= now;
      if (alone || now - redisDownSince < afterMs) return;
      alone = true;
      log.warn({ component: 'fleet', downForMs: now - redisDownSince }, 'Redis unreachable: this replica keeps its auto-auth token alive itself (renews, logs in if refused) and subscribes to KV events until Redis is back');
      tellFleetRole();
    }, Math.min(1000, Math.max(50, Math.floor(afterMs / 4))));
    aloneTimer.unref();
  };
  let caches: CacheMediator | undefined;
  const m = new Metrics(() => caches?.stats() ?? [], config.telemetry, config.autoAuth !== undefined);
  // cache { persist … } and serve_stale (src/persist/wire.ts): loaded before any stream is served.
  const persist = new PersistWiring(config, log, m);
  caches = new CacheMediator(config.cache, m, (msg) => {
    if (worker) worker.send(msg);
    else if (beforeWorker.length < MAX_BEFORE_WORKER) beforeWorker.push(msg);
  }, log, persist.persistence);
  const c = caches;
  await persist.restore(c);
  persist.start(c);
  /** The auto-auth token is the one restored from the store (no worker has handed one on yet). */
  let tokenRestored = false;
  if (persist.restoredAutoAuth) {
    token = persist.restoredAutoAuth.token;
    tokenInfo = { ...persist.restoredAutoAuth };
    tokenRestored = true;
  }
  // After an offline start the worker waits until Vault's cluster id matches the store's (src/persist/cluster-gate.ts).
  const clusterConfirmed = persist.clusterConfirmed();
  // prepend_configured_namespace and enforce_consistency: the rules and the required X-Vault-Index states.
  const proxyRules = apiProxyRulesFor(config);

  let vaultKnown = false;
  /**
   * The one router of the worker's messages in the main thread (all but the heartbeat's pong, which
   * the supervisor consumes): a kind added to WorkerMessage without a case here does not compile.
   */
  const routeWorkerMessage = (msg: RoutedWorkerMessage): void => {
    switch (msg.type) {
      case 'token':
        persist.autoAuthToken({ token: msg.token, leaseDurationSeconds: msg.leaseDurationSeconds, renewable: msg.renewable, obtainedAtMs: msg.obtainedAtMs });
        c.autoAuthToken(msg.token);
        token = msg.token;
        tokenRestored = false;
        tokenInfo = { token: msg.token, leaseDurationSeconds: msg.leaseDurationSeconds, renewable: msg.renewable, obtainedAtMs: msg.obtainedAtMs };
        shareAutoAuthToken();
        extproc?.setServing(true);
        if (workerDown) workerBack('its auto-auth token is held again');
        return;
      case 'token-renewed':
        // The same token, a new lease: the owner shares it again, so the L2 record's TTL follows it.
        if (!tokenInfo || tokenRestored) return;
        tokenInfo = { ...tokenInfo, leaseDurationSeconds: msg.leaseDurationSeconds, renewable: msg.renewable, obtainedAtMs: msg.obtainedAtMs };
        persist.autoAuthToken(tokenInfo);
        shareAutoAuthToken();
        return;
      case 'exit':
        resolveExit({ code: msg.code, reason: msg.reason });
        return;
      case 'metric':
        if (metricShowsVaultAnswered(msg.update)) persist.sawVaultAnswer(c);
        m.apply(msg.update);
        return;
      case 'vault-info':
        persist.sawVaultAnswer(c);
        if (!vaultKnown) {
          vaultKnown = true;
          for (const notice of vaultKindNotices(config, msg)) log.warn({ version: msg.version }, notice);
        }
        c.vaultIdentified(msg);
        return;
      case 'token-info':
        if (msg.eligible) persist.sawVaultAnswer(c);
        c.tokenInfo(msg);
        return;
      case 'tokens-confirmed':
        persist.sawVaultAnswer(c);
        c.tokensConfirmed(msg);
        return;
      case 'lease-evict':
        c.leaseRenewalStopped(msg.key);
        return;
      case 'lease-renewed':
        c.leaseRenewed(msg.key, msg.ttlSeconds);
        return;
      case 'static-update':
        c.staticRefetched(msg);
        return;
      case 'static-evict':
        c.staticGone(msg);
        return;
      case 'static-drop-versions':
        c.staticVersionsDropped(msg);
        return;
      case 'static-revoke':
        c.staticRevoked(msg);
        return;
      case 'mount-info':
        for (const effect of c.mountLearned(msg)) routeStreamEffect(effect);
        return;
      case 'template-lookup':
        c.templateLookup(msg);
        return;
      case 'template-record':
        for (const effect of c.templateRecorded(msg)) routeStreamEffect(effect);
        return;
      case 'recheck-done':
        c.recheckDone(msg.seq);
        return;
      default:
        log.warn({ type: unrouted(msg) }, 'a worker message of a kind no router case handles; ignored');
    }
  };

  /** The one router of the streams' effects (and of the template reads recorded as a client's would be). */
  const routeStreamEffect = (effect: StreamEffect): void => {
    switch (effect.type) {
      case 'inflight-begin':
        c.inflightBegin(effect.key);
        break;
      case 'inflight-end':
        c.inflightEnd(effect.key);
        break;
      case 'static-record':
        c.staticRecorded(effect);
        break;
      case 'lease-record':
        c.leaseRecorded(effect);
        break;
      case 'revoked':
        c.revoked(effect.kind, effect.value);
        break;
      case 'cache-clear':
        c.cacheClear(effect.command);
        break;
      case 'kv-changed':
        c.kvChanged(effect);
        break;
      case 'mount-unknown':
        c.mountUnknown(effect.path);
        break;
      case 'cache-hit':
        m.cacheHit.inc();
        break;
      case 'cache-miss':
        m.cacheMiss.inc();
        break;
      case 'token-suspect':
        worker?.send({ type: 'token-suspect' });
        break;
      case 'index-state':
        proxyRules.record(effect.value);
        break;
      case 'quit':
        log.info('quit requested through the agent API');
        resolveExit({ code: 0, reason: 'quit endpoint' });
        break;
      case 'proxied':
        if (effect.failed) persist.upstreamFailed();
        (effect.failed ? m.proxyError : effect.status < 400 ? m.proxySuccess : m.proxyClientError).inc();
        break;
      default:
        log.warn({ type: unrouted(effect) }, 'a stream effect of a kind no router case handles; ignored');
    }
    c.effectApplied();
  };

  let extproc: ExtprocServer | undefined;
  let admin: AdminServer | undefined;
  let stopWorker: () => Promise<void> = async () => undefined;
  try {
    // fleet { … } (src/fleet/fleet.ts): Redis, the owner lease, L2 and the invalidation stream. It
    // connects in the background (Redis down at start is not fatal); only an unreadable key or
    // password file throws here. Only the owner's worker logs in, renews the auto-auth token and
    // holds the KV event subscription (fleet-role); the others take its token from L2. The caches
    // share what they record and every change through FleetSync, and apply the others' changes.
    if (config.fleet) {
      const c = caches;
      fleet = startFleet(config.fleet, {
        registry: m.registry, logger: log, onSharedAutoAuthToken: sharedAutoAuthToken,
        ...(opts.fleetTuning ? { tuning: opts.fleetTuning } : {}),
        // Every other replica's change is applied to L1 here; a gap drops L1 (src/cache-mediator.ts).
        // So does catching up after max_stale_without_redis: a change another replica made while
        // Redis was away waits in that replica's outbox until it reconnects (its backoff, up to
        // 5 s), so the stream read now cannot vouch for L1, and every token is checked again first.
        handlers: {
          apply: (event) => c.applyFleetEvent(event),
          onGap: () => c.fleetGap(),
          onCaughtUp: () => {
            log.info('fleet: caught up with Redis after max_stale_without_redis: L1 dropped, every token is checked again before it is served');
            c.fleetGap();
          },
        },
      });
      const f = fleet;
      c.attachFleet(fleetSync = new FleetSync({
        store: f.store, publisher: f.publisher, logger: log,
        stale: () => f.isStale,
        // A shared answer is at most one static_secret_refresh_interval old (each replica refetches what it holds as often).
        staticTtlMs: (config.cache?.staticRefreshSeconds ?? 60) * 1000,
        onSharedRead: (outcome) => f.metrics.sharedReads.inc({ outcome }),
      }));
      fleet.on('owner', () => {
        tellFleetRole();
        shareAutoAuthToken();
        // The owner's worker renews every lease the fleet tracks; a replica that lost it, none.
        c.fleetOwnerChanged(true);
      });
      fleet.on('lost', () => {
        tellFleetRole();
        c.fleetOwnerChanged(false);
      });
      watchAlone(f, 2 * (opts.fleetTuning?.ownerLeaseTtlMs ?? config.fleet.ownerLeaseTtlSeconds * 1000));
    }
    const fl = fleet;
    extproc = await startExtprocServer(config.extproc, {
      listeners: config.listeners,
      context: {
        useAutoAuthToken: config.apiProxy.useAutoAuthToken,
        // The restored token is not injected while the store's Vault is unconfirmed, unless Vault is unreachable (a HIT from the cache).
        autoAuthToken: () => (tokenRestored && !persist.mayInjectRestoredToken() ? undefined : token),
        vaultMetrics: (req) => m.vaultAnswer(req),
        ...c.streamContext(),
        ...(proxyRules.rules ? { apiProxy: proxyRules.rules } : {}),
      },
      onEffect: routeStreamEffect,
      onStreamEnd: (state, seconds) => {
        // Forwarded, yet no response came back: Envoy could not reach Vault, or the client left.
        if (state.phase === 'response' && state.answeredBy === undefined) m.proxyError.inc();
        m.streamDuration.observe({ answer: state.answeredBy ?? 'none' }, seconds);
      },
      log,
    });
    // A method with wrap_ttl gives only a wrapping token (for the sink): nothing here waits for a token.
    const authMethod = config.autoAuth?.method;
    const waitsForToken = authMethod !== undefined && !('wrapTtlSeconds' in authMethod && authMethod.wrapTtlSeconds);
    if (!waitsForToken || token !== undefined) extproc.setServing(true);
    // Without its worker, tokens are not renewed and the cache is not kept true: a crash is restarted
    // with backoff, and the caches hand the new worker what the old one knew (worker/supervisor.ts).
    const wlog = log.child({ component: 'worker-supervisor' });
    workerBack = (why) => {
      workerDown = false;
      m.workerUp.set(1);
      wlog.info({ why }, 'the restarted worker thread is back; ready again');
    };
    // Every worker thread takes over tokenInfo: the last token a worker handed on, or the auto-auth
    // token restored from the persistent store (Vault Agent reuses its persisted token), so the leases
    // and child tokens restored with it stay its own.
    let supervisor: WorkerSupervisor | undefined;
    let stopped = false;
    stopWorker = async () => {
      stopped = true;
      await supervisor?.stop();
    };
    const startWorker = (): void => {
      if (stopped) return;
      const sup = new WorkerSupervisor(workerThreadFactory(config, log, opts.logLevel, () => tokenInfo), {
        message: routeWorkerMessage,
        crashed: (info) => {
          workerDown = true;
          m.workerUp.set(0);
          const rebuilt = c.workerLost(token);
          wlog.error({ ...info, ...rebuilt }, 'the worker thread crashed; restarting it (not ready until it is back)');
        },
        restarted: (generation) => {
          m.workerRestarts.inc();
          wlog.info({ generation }, 'worker thread restarted');
          // A new thread starts as a non-owner: tell it what this replica is now.
          tellFleetRole();
        },
        online: () => {
          // Without a token to wait for, a running thread is back; so is a fleet non-owner's (its token comes from the owner).
          if ((!waitsForToken || (fleet !== undefined && !fleet.isOwner)) && workerDown) workerBack('the thread runs');
        },
        gaveUp: (info) => {
          m.workerUp.set(0);
          const reason = `the worker thread crashed ${info.crashesInWindow} times within ${DEFAULT_RESTART_POLICY.crashWindowMs / 1000} s; exiting (code ${WORKER_CRASH_EXIT_CODE})`;
          wlog.fatal({ ...info }, reason);
          resolveExit({ code: WORKER_CRASH_EXIT_CODE, reason });
        },
      });
      supervisor = sup;
      worker = sup;
      for (const msg of persist.takeWorkerMessages()) sup.send(msg);
      for (const msg of beforeWorker.splice(0)) sup.send(msg);
      tellFleetRole();
      m.workerUp.set(1);
    };
    if (!clusterConfirmed) startWorker();
    else {
      void clusterConfirmed.then((same) => {
        if (!same) {
          // Another Vault: the restored auto-auth token is not its own; the worker logs in afresh.
          if (tokenRestored) {
            token = undefined;
            tokenInfo = undefined;
            tokenRestored = false;
          }
        }
        startWorker();
      });
    }
    const ext = extproc;
    admin = await startAdminServer(config.extproc.adminAddress, () => {
      const reasons = [
        ...(waitsForToken && token === undefined ? ['no auto-auth token yet'] : []),
        ...(workerDown ? ['the worker thread crashed and is not back yet'] : []),
        ...persist.readinessReasons(),
        ...(fl?.readiness().notReady ?? []),
      ];
      return { ready: reasons.length === 0 && ext.port > 0, reasons, degraded: fl?.readiness().degraded ?? [] };
    }, m, log, process.env['VAULT_EXTPROC_TEST_HOOKS'] === '1' ? { crashWorker: () => supervisor?.crash() ?? false, hangWorker: () => supervisor?.hang() ?? false } : undefined);

    if (config.pidFile) writeFileSync(config.pidFile, `${process.pid}\n`);
  } catch (err) {
    await stopWorker();
    await extproc?.shutdown(0);
    await admin?.close();
    await persist.stop();
    clearInterval(aloneTimer);
    fleetSync?.stop();
    await fleet?.stop();
    throw err;
  }

  const ext = extproc;
  const adm = admin;
  const fl = fleet;
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
        await stopWorker();
        await persist.stop();
        clearInterval(aloneTimer);
        fleetSync?.stop();
        await fl?.stop();
        await adm.close();
        if (config.pidFile) rmSync(config.pidFile, { force: true });
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
