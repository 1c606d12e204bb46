import { TokenGrants } from '../cache/token-grants.js';

/** How long one sys/health probe may take: below the streams' 700 ms wait (stream-processor.ts), so a waiting read is re-stepped with its answer. */
export const PROBE_TIMEOUT_MS = 600;
/** The background probe's pace while the cluster is not confirmed. */
export const PROBE_EVERY_MS = 250;
/** The auto-auth token restored from the store is injected only while a probe that ended this recently found Vault unreachable. */
export const OFFLINE_FRESH_MS = 1_000;

/**
 * After an OFFLINE start (the store loaded while Vault did not answer sys/health), nothing restored
 * may reach the network before Vault's cluster id is compared with the store's: the Vault at this
 * address may be another one (a rebuilt cluster behind the same name), and the restored tokens are
 * the old Vault's. Until `sys/health` answers with a cluster id:
 * - a read served from a restored grant waits for a probe that STARTS after the read arrived, and is
 *   served only if that probe finds Vault unreachable (GatedTokenGrants): so no answer goes out from
 *   the store once another Vault answers at the address;
 * - the restored auto-auth token is injected only while the last probe (at most OFFLINE_FRESH_MS old)
 *   found Vault unreachable (`offlineRecently`), and the worker is not started at all (src/app.ts):
 *   no take-over, renewal, lookup, lease renewal or event stream with a restored token.
 * The first cluster id decides (`decide`, once): the same cluster (or a store that never learnt
 * one) releases everything; another drops everything restored.
 */
export class ClusterGate {
  private current: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** True only while the microtasks of a probe that found Vault unreachable run (its waiters' re-steps). */
  private openForWaiters = false;
  private lastOfflineAtMs = -Infinity;
  private decided = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    /** One sys/health call: the cluster id, or undefined when Vault did not answer with one. */
    private readonly healthClusterId: (timeoutMs: number) => Promise<string | undefined>,
    /** The first cluster id seen (called once). */
    private readonly decide: (clusterId: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get closed(): boolean {
    return !this.decided;
  }

  /** Probes in the background until a cluster id decides. */
  start(): void {
    const tick = (): void => {
      if (this.stopped || this.decided) return;
      void this.probe().then(() => {
        if (this.stopped || this.decided) return;
        this.timer = setTimeout(tick, PROBE_EVERY_MS);
        this.timer.unref?.();
      });
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** A read from a restored grant may be answered now: the probe it waited for found Vault unreachable. */
  mayServe(): boolean {
    return this.decided || this.openForWaiters;
  }

  /** The last probe, at most OFFLINE_FRESH_MS ago, found Vault unreachable. */
  offlineRecently(): boolean {
    return this.now() - this.lastOfflineAtMs <= OFFLINE_FRESH_MS;
  }

  /**
   * A probe that starts now, or — when one is under way (it began before the caller arrived) — the
   * next one, shared by every caller that arrives meanwhile. Settles once that probe is done.
   */
  probe(): Promise<void> {
    if (this.decided || this.stopped) return Promise.resolve();
    if (!this.current) {
      this.current = this.once().finally(() => { this.current = undefined; });
      return this.current;
    }
    this.queued ??= this.current.then(() => {
      this.queued = undefined;
      return this.probe();
    });
    return this.queued;
  }

  private async once(): Promise<void> {
    const id = await this.healthClusterId(PROBE_TIMEOUT_MS).catch(() => undefined);
    if (this.decided || this.stopped) return;
    if (id) {
      this.decided = true;
      if (this.timer) clearTimeout(this.timer);
      this.decide(id);
      return;
    }
    this.lastOfflineAtMs = this.now();
    // Whoever waited for this probe re-steps in the microtasks that follow (stream-processor.ts);
    // a read arriving later (a new I/O event, a macrotask) waits for a probe of its own.
    this.openForWaiters = true;
    setImmediate(() => { this.openForWaiters = false; });
  }
}

/**
 * TokenGrants with the cluster gate: while a ClusterGate is closed, a grant (they are all restored:
 * the worker, which makes new ones, does not run yet) is served only to a read that waited for a
 * probe finding Vault unreachable.
 */
export class GatedTokenGrants extends TokenGrants {
  gate: ClusterGate | undefined;

  override servable(tokenHash: string, nowMs: number): 'fresh' | 'stale' | undefined {
    const g = this.gate;
    if (g?.closed && !g.mayServe()) return undefined;
    return super.servable(tokenHash, nowMs);
  }

  override pendingFor(tokenHash: string): Promise<void> | undefined {
    const g = this.gate;
    if (g?.closed && this.knows(tokenHash)) return g.probe();
    return super.pendingFor(tokenHash);
  }
}
