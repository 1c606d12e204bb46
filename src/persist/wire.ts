import type { CacheMediator } from '../cache-mediator.js';
import type { Config } from '../config/types.js';
import { AppError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { WorkerMetric } from '../telemetry/metrics.js';
import type { ExtprocMessage } from '../worker/protocol.js';
import { Persistence, type RestoredAutoAuth } from './persistence.js';
import { VaultReachability, vaultClusterId } from './reachability.js';
import { ClusterGate, GatedTokenGrants } from './cluster-gate.js';

/**
 * The persistent cache and stale answers, as the app wires them (src/app.ts calls these hooks):
 * open and load the store before the caches serve, hand the worker what it must renew and look
 * up again, write the auto-auth token, answer readiness, close on stop.
 */
export class PersistWiring {
  readonly persistence: Persistence | undefined;
  private readonly reachability: VaultReachability | undefined;
  private workerMessages: ExtprocMessage[] = [];
  /** The auto-auth token loaded from the store (used until the worker has one from Vault). */
  restoredAutoAuth: RestoredAutoAuth | undefined;
  /** Something was loaded: the default readiness waits for Vault to answer again. */
  private restoredAnything = false;
  private vaultAnswered = false;
  private lastRecheckMs = 0;
  private stopped = false;
  /** After an offline start, until Vault's cluster id is compared with the store's (src/persist/cluster-gate.ts). */
  private gate: ClusterGate | undefined;
  private confirmed: Promise<boolean> | undefined;

  constructor(private readonly config: Config, private readonly log: Logger, private readonly metrics: Metrics) {
    const p = config.cache?.persist;
    if (p) {
      try {
        this.persistence = new Persistence(p, log.child({ component: 'persist' }));
      } catch (err) {
        throw new AppError('CONFIG_INVALID', `cache > persist "${p.type}": ${(err as Error).message}`);
      }
    }
    const stale = config.cache?.stale;
    if (stale?.serveStale) this.reachability = new VaultReachability(config.vault, log.child({ component: 'vault-reachability' }));
  }

  /** Loads the store into the caches (before any stream is served). */
  async restore(caches: CacheMediator): Promise<void> {
    const p = this.persistence;
    const cache = this.config.cache;
    if (!p || !cache) return;
    const m = this.metrics;
    p.setHooks({
      refused: (reason) => m.persistRefused.inc({ reason }),
      written: (n) => m.persistWrites.inc(n),
      grantOf: (h) => caches.grants?.snapshot(h),
    });
    const t0 = Date.now();
    // A token's record is kept while a stale answer could still be given for it.
    const staleMs = cache.stale?.serveStale ? cache.stale.serveStaleMaxSeconds * 1000 : 0;
    // The store belongs to one Vault: its address, and its cluster id when it answers now (1.5 s at most).
    const clusterId = await vaultClusterId(this.config.vault, 1_500);
    let state;
    try {
      state = p.load({ staleMs, vault: { address: this.config.vault.address, ...(clusterId ? { clusterId } : {}) } });
    } catch (err) {
      if (p.config.exitOnErr) throw new AppError('CONFIG_INVALID', `the persistent cache at ${p.config.path} cannot be read: ${(err as Error).message} (exit_on_err = true)`);
      this.log.error({ err: (err as Error).message, path: p.config.path }, 'the persistent cache cannot be read; starting empty');
      return;
    }
    if (state.refused > 0) {
      this.log.warn({ refused: state.refused }, 'persisted records that did not open (another key, changed bytes, moved records) were refused and deleted');
      if (p.config.exitOnErr) throw new AppError('CONFIG_INVALID', `${state.refused} persisted records were refused (exit_on_err = true)`);
    }
    const result = caches.restore(state);
    this.workerMessages = result.workerMessages;
    if (state.autoAuth && this.config.autoAuth) this.restoredAutoAuth = state.autoAuth;
    m.persistLoaded.inc({ kind: 'secret' }, result.counts.secrets);
    m.persistLoaded.inc({ kind: 'token' }, result.counts.tokens);
    m.persistLoaded.inc({ kind: 'lease' }, result.counts.leases);
    m.persistLoaded.inc({ kind: 'auto_auth' }, this.restoredAutoAuth ? 1 : 0);
    m.persistLoaded.inc({ kind: 'expired' }, state.expired);
    this.restoredAnything = result.counts.secrets + result.counts.leases + (this.restoredAutoAuth ? 1 : 0) > 0;
    this.log.info({
      ...result.counts, autoAuthToken: this.restoredAutoAuth !== undefined, expired: state.expired, refused: state.refused, ms: Date.now() - t0,
    }, 'loaded the persistent cache');
    await p.afterImport();
    if (!clusterId) this.holdUntilClusterKnown(caches);
  }

  /**
   * After an offline start: nothing restored reaches the network until Vault's cluster id (the first
   * sys/health that answers with one: a background probe every 250 ms, or the probe a read from a
   * restored grant waits for) is compared with the store's. The same cluster (or a store that never
   * learnt one) releases the worker with what was restored; another Vault behind the same address
   * drops everything restored — caches, grants, tokens awaiting a re-check, lease renewals, the
   * auto-auth token (memory and disk) — and the worker logs in afresh. The store is rebound to the
   * cluster that answered.
   */
  private holdUntilClusterKnown(caches: CacheMediator): void {
    const p = this.persistence;
    if (!p) return;
    let resolve!: (same: boolean) => void;
    this.confirmed = new Promise<boolean>((r) => { resolve = r; });
    const grants = caches.grants instanceof GatedTokenGrants ? caches.grants : undefined;
    const gate = new ClusterGate((timeoutMs) => vaultClusterId(this.config.vault, timeoutMs), (id) => {
      if (this.stopped) return;
      const stored = p.clusterId;
      const same = !stored || stored === id;
      if (!same) {
        this.log.error({ stored, now: id }, 'the Vault at this address is another cluster than the one the persistent cache was made against; everything restored is dropped and auto-auth logs in afresh');
        this.metrics.persistRefused.inc({ reason: 'other_vault' });
        this.workerMessages = [];
        this.restoredAutoAuth = undefined;
        this.restoredAnything = false;
        p.autoAuthForgotten();
        caches.forgetRestored();
      } else this.log.info('Vault answered with the cluster id the persistent cache was made against; resuming renewals and look-ups of what was restored');
      p.clusterIdLearnt(id);
      if (grants) grants.gate = undefined;
      this.gate = undefined;
      resolve(same);
    });
    this.gate = gate;
    if (grants) grants.gate = gate;
    this.log.info('Vault did not answer at start: nothing restored is sent to Vault until its cluster id matches the persistent cache\'s');
    gate.start();
  }

  /**
   * After an offline start, settles once Vault's cluster id was compared with the store's: true for
   * the same Vault, false for another (everything restored was dropped). Undefined: nothing to wait for.
   * The worker starts only then (src/app.ts).
   */
  clusterConfirmed(): Promise<boolean> | undefined {
    return this.confirmed;
  }

  /** The auto-auth token restored from the store may be injected into a request now (see ClusterGate.offlineRecently). */
  mayInjectRestoredToken(): boolean {
    return !this.gate || this.gate.offlineRecently();
  }

  /** Stale answers: TokenGrants learns when Vault is down. Called once the caches exist. */
  start(caches: CacheMediator): void {
    const stale = this.config.cache?.stale;
    const r = this.reachability;
    if (r && stale && caches.grants) {
      caches.grants.serveStale(stale.serveStaleMaxSeconds * 1000, () => r.down(), () => this.metrics.staleAnswers.inc());
      r.start();
    }
  }

  /** What the worker needs once it runs (renewals of the restored leases, tokens to look up). */
  takeWorkerMessages(): ExtprocMessage[] {
    const out = this.workerMessages;
    this.workerMessages = [];
    return out;
  }

  /**
   * Vault answered the worker (src/app.ts's router says when: its health, a token lookup or
   * capability check, a login or renewal — not a bare `token` message: a restored token taken over
   * while Vault is unreachable is one too). The restored tokens not yet looked up are asked for again.
   */
  sawVaultAnswer(caches: CacheMediator): void {
    this.vaultAnswered = true;
    // At most every 2 s: the restored tokens not yet looked up are asked for again.
    const now = Date.now();
    if (now - this.lastRecheckMs >= 2_000) {
      this.lastRecheckMs = now;
      caches.vaultSeen();
    }
  }

  /** A new auto-auth token: persisted. */
  autoAuthToken(token: RestoredAutoAuth): void {
    this.persistence?.autoAuth(token);
  }

  /** Envoy answered instead of Vault (Vault unreachable). */
  upstreamFailed(): void {
    this.reachability?.failedUpstream();
  }

  /** readiness = "vault" (default): after a restart with something loaded, not ready until Vault answered. */
  readinessReasons(): string[] {
    const p = this.persistence;
    if (!p || p.config.readiness === 'cache' || !this.restoredAnything || this.vaultAnswered) return [];
    return ['Vault has not answered since the persisted cache was loaded (persist readiness = "vault")'];
  }

  /** readiness = "cache": the restored auto-auth token counts as held. */
  get readyFromCache(): boolean {
    return this.persistence?.config.readiness === 'cache';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.gate?.stop();
    this.reachability?.stop();
    await this.persistence?.close();
  }
}

/** A worker metric that means Vault answered the worker: a login, or a renewal that succeeded. */
export function metricShowsVaultAnswered(update: WorkerMetric): boolean {
  return update.metric === 'auth_success' || (update.metric === 'renewal' && update.outcome === 'success');
}
