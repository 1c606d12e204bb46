import type { Logger } from '../../telemetry/logger.js';

/** Figures of one interval of the capability refresh, for the log and for tests. */
export interface WindowStats {
  startedAtMs: number;
  checks: number;
  ok: number;
  lostPaths: number;
  revoked: number;
  errors: number;
  lookups: number;
  peakInFlight: number;
  /** The pool size at the end of the window, and the round trip it was sized with. */
  limit: number;
  rttMs: number;
  /** The longest wait between a check's due time and its start. */
  maxLagMs: number;
  firstStartMs: number | undefined;
  lastEndMs: number | undefined;
  tokens: number;
}

/** What the pool is at the end of a window. */
export interface PoolState {
  limit: number;
  rttMs: number;
  tokens: number;
}

/**
 * The refresh's figures, one window per interval: one log line per interval at most for failed
 * checks (not one per token), and one when checks started late enough to stretch the bound.
 */
export class RefreshStats {
  current: WindowStats;
  private readonly closed: WindowStats[] = [];
  private firstError: string | undefined;

  constructor(private readonly now: () => number) {
    this.current = this.fresh();
  }

  failed(err: string): void {
    this.current.errors++;
    this.firstError ??= err;
  }

  inFlight(running: number): void {
    this.current.peakInFlight = Math.max(this.current.peakInFlight, running);
  }

  started(nowMs: number, dueAtMs: number): void {
    const w = this.current;
    w.checks++;
    w.firstStartMs ??= nowMs;
    w.maxLagMs = Math.max(w.maxLagMs, nowMs - dueAtMs);
  }

  /** The closed windows (the last 16) and the current one. */
  all(pool: PoolState): WindowStats[] {
    return [...this.closed, { ...this.current, ...pool }];
  }

  close(pool: PoolState, log: Logger, intervalMs: number): void {
    const w = { ...this.current, ...pool };
    this.closed.push(w);
    if (this.closed.length > 16) this.closed.shift();
    if (w.errors) log.warn({ checks: w.checks, failed: w.errors, err: this.firstError }, 'capability checks failed this interval; tokens not confirmed lose cached access after static_secret_max_stale');
    if (w.maxLagMs > intervalMs / 10) {
      log.warn({ tokens: w.tokens, inFlight: w.limit, rttMs: w.rttMs, lateMs: w.maxLagMs },
        'capability checks start late: the refresh bound grows by that much (raise the interval, or make Vault answer faster)');
    }
    this.firstError = undefined;
    this.current = this.fresh();
  }

  private fresh(): WindowStats {
    return {
      startedAtMs: this.now(), checks: 0, ok: 0, lostPaths: 0, revoked: 0, errors: 0, lookups: 0, peakInFlight: 0,
      limit: 0, rttMs: 0, maxLagMs: 0, firstStartMs: undefined, lastEndMs: undefined, tokens: 0,
    };
  }
}
