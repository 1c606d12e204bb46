import { VaultResponseError, errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { WorkerMetric } from '../../telemetry/metrics.js';
import type { VaultClient } from '../../vault/client.js';
import { VAULT_PATHS } from '../../vault/paths.js';
import { renewalDelayMs } from '../auto-auth.js';
import { Backoff } from '../backoff.js';
import type { ExtprocMessage, WorkerMessage } from '../protocol.js';

const LEASE_RENEW = 'sys/leases/renew';

interface Tracked {
  key: string;
  kind: 'token' | 'lease';
  token: string;
  leaseId?: string;
  /** The increment asked for on each renewal: the first lease duration, as Vault's lifetime watcher does. */
  incrementSeconds: number;
  graceMs: number;
  priorTtlMs: number;
  expiresAtMs: number;
  timer?: NodeJS.Timeout;
  backoff: Backoff;
}

/**
 * Renews cached tokens (renew-self) and leases (sys/leases/renew) on Vault's schedule: a grace of
 * 10–20 % of the lease, sleeping ⅔ of what is left plus a third of the grace. When a renewal no
 * longer extends the lease (max TTL), is refused, or fails until expiry, the entry is evicted.
 */
export class LeaseRenewer {
  private readonly tracked = new Map<string, Tracked>();
  private readonly log: Logger;

  constructor(
    private readonly vault: VaultClient,
    log: Logger,
    private readonly send: (msg: WorkerMessage) => void,
    private readonly random: () => number = Math.random,
    private readonly backoffMs: { min: number; max: number } = { min: 1_000, max: 300_000 },
  ) {
    this.log = log.child({ component: 'lease-renewer' });
  }

  stop(): void {
    for (const t of this.tracked.values()) clearTimeout(t.timer);
    this.tracked.clear();
  }

  /** A cached token or lease to renew (src/worker/run.ts routes `lease-track` here). */
  track(msg: Extract<ExtprocMessage, { type: 'lease-track' }>): void {
    this.untrack(msg.key);
    const ttlMs = msg.ttlSeconds * 1000;
    const t: Tracked = {
      key: msg.key, kind: msg.kind, token: msg.token, ...(msg.leaseId ? { leaseId: msg.leaseId } : {}),
      incrementSeconds: msg.ttlSeconds, graceMs: grace(ttlMs, this.random), priorTtlMs: ttlMs,
      expiresAtMs: Date.now() + ttlMs, backoff: new Backoff(this.backoffMs.min, this.backoffMs.max, this.random),
    };
    this.tracked.set(t.key, t);
    if (msg.renewNow) {
      // Spread over a second: a restarted worker re-tracks every cached lease at once.
      this.schedule(t, this.random() * 1_000);
      return;
    }
    const delay = renewalDelayMs(ttlMs, t.graceMs);
    if (delay === undefined) {
      this.evict(t, 'the lease is too short to renew');
      return;
    }
    this.schedule(t, delay);
  }

  /** It left the cache: stop renewing it. */
  untrack(key: string): void {
    const t = this.tracked.get(key);
    if (!t) return;
    clearTimeout(t.timer);
    this.tracked.delete(key);
  }

  private schedule(t: Tracked, delayMs: number): void {
    t.timer = setTimeout(() => void this.renew(t), Math.min(Math.max(0, delayMs), 2 ** 31 - 1));
  }

  private evict(t: Tracked, why: string): void {
    this.untrack(t.key);
    this.log.info({ kind: t.kind, why }, 'a cached lease stops renewing; evicting it');
    this.send({ type: 'lease-evict', key: t.key });
  }

  private metric(t: Tracked, outcome: 'success' | 'failure'): void {
    const update: WorkerMetric = { metric: 'renewal', kind: t.kind, outcome };
    this.send({ type: 'metric', update });
  }

  private async renew(t: Tracked): Promise<void> {
    if (this.tracked.get(t.key) !== t) return;
    let ttlSeconds: number;
    try {
      if (t.kind === 'token') {
        const reply = await this.vault.request({ method: 'POST', path: VAULT_PATHS.renewSelf, token: t.token, body: { increment: t.incrementSeconds }, retry: false, timeoutMs: 10_000 });
        ttlSeconds = reply.body?.auth?.lease_duration ?? 0;
      } else {
        const reply = await this.vault.request({ method: 'POST', path: LEASE_RENEW, token: t.token, body: { lease_id: t.leaseId, increment: t.incrementSeconds }, retry: false, timeoutMs: 10_000 });
        ttlSeconds = reply.body?.lease_duration ?? 0;
      }
    } catch (err) {
      if (this.tracked.get(t.key) !== t) return;
      this.metric(t, 'failure');
      if (err instanceof VaultResponseError && err.status >= 400 && err.status < 500) {
        this.evict(t, `renewal refused (${err.status})`);
        return;
      }
      const now = Date.now();
      if (now >= t.expiresAtMs) {
        this.evict(t, 'renewal kept failing until the lease expired');
        return;
      }
      this.log.warn({ kind: t.kind, err: errorMessage(err) }, 'renewing a cached lease failed; retrying');
      this.schedule(t, Math.min(t.backoff.next(), t.expiresAtMs - now));
      return;
    }
    if (this.tracked.get(t.key) !== t) return;
    this.metric(t, 'success');
    t.backoff.reset();
    const ttlMs = ttlSeconds * 1000;
    t.expiresAtMs = Date.now() + ttlMs;
    if (ttlMs > t.priorTtlMs) t.graceMs = grace(ttlMs, this.random); // Vault recalculates the grace while the lease grows
    t.priorTtlMs = ttlMs;
    const delay = renewalDelayMs(ttlMs, t.graceMs);
    if (delay === undefined) {
      this.evict(t, 'renewal no longer extends the lease (max TTL)');
      return;
    }
    this.send({ type: 'lease-renewed', key: t.key, ttlSeconds });
    this.schedule(t, delay);
  }
}

function grace(ttlMs: number, random: () => number): number {
  return ttlMs * (0.1 + 0.1 * random());
}
