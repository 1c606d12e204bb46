import { VaultResponseError, VaultUnreachableError, errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import { Backoff } from '../backoff.js';
import type { WorkerMessage } from '../protocol.js';
import { Confirmations } from './confirmations.js';
import { DueHeap } from './due-heap.js';
import { RefreshStats, type WindowStats } from './refresh-stats.js';
import type { StaticRegistry } from './registry.js';

export type { WindowStats } from './refresh-stats.js';

const CAPABILITIES_SELF = 'sys/capabilities-self';

/**
 * Vault calls in flight at once, at most. 128 keep-alive connections are little for a Vault
 * server (a capability check is an in-memory ACL evaluation; Vault sets no per-client limit) and
 * for this process, and at a 100 ms round trip they check 1,280 tokens a second: 10,000 tokens in
 * 8 s, 380,000 within the default 5 min interval. The pool stays far smaller while it keeps up.
 */
export const MAX_IN_FLIGHT = 128;
/** Checks this late (or later) open the whole pool until they are caught up. */
const BEHIND_MS = 100;
/**
 * A token is checked every 0.9 interval after its previous check started: a check that starts up
 * to a tenth of an interval late (a slow or busy Vault, a burst of new tokens) still keeps the
 * bound of one interval plus one round trip, for 11 % more checks.
 */
const PERIOD_OF_INTERVAL = 0.9;
/** The pool never shrinks below this, whatever the estimate (a round trip can grow suddenly). */
const MIN_IN_FLIGHT = 4;
/**
 * While checks are due, first lookups of new tokens take at most a quarter of the slots: a burst
 * of new tokens (a restart of the ext_proc side, a fleet rollout) never makes checks late.
 */
const MAX_LOOKUPS_WHILE_CHECKS_DUE = MAX_IN_FLIGHT / 4;
/** The round trip assumed before one is measured. */
const INITIAL_RTT_MS = 100;
/** Answers that say Vault itself cannot serve (not this token): the pool stops and probes. */
const VAULT_DOWN_STATUSES = new Set([412, 429]);

/** What the worker knows of a token with cached access; `confirmedAtMs` moves with each confirmation. */
export interface KnownToken {
  accessor: string;
  confirmedAtMs: number;
}

/** A `recheck` under way: how many of its checks have not ended. */
interface Recheck {
  seq: number;
  left: number;
  failed: number;
}

interface Entry {
  hash: string;
  known: KnownToken;
  state: 'waiting' | 'urgent' | 'running';
  /** Queued items with another ticket are stale (the entry moved on). */
  ticket: number;
  /** When the current (or queued) check was due. */
  dueAtMs: number;
  /** A recheck came while this check ran: run once more as soon as it ends. */
  again: boolean;
  /** Rechecks that end when the current (or queued) check ends, and those waiting for the next one. */
  waiters: Recheck[];
  next: Recheck[];
}

/** `gone`: Vault answered but the token had left meanwhile; `skipped`: it had left before (no call). */
type Outcome = 'ok' | 'lost_paths' | 'revoked' | 'error' | 'down' | 'gone' | 'skipped';

export interface RefresherOptions {
  vault: VaultClient;
  registry: StaticRegistry;
  log: Logger;
  send(msg: WorkerMessage): void;
  intervalMs: number;
  count?(outcome: 'ok' | 'revoked' | 'lost_paths' | 'error'): void;
  /** Vault answered again after a time it could not be reached. */
  onVaultBack?(): void;
  now?(): number;
  /** Where in its first interval a new token's first check falls (tests pin it). */
  random?(): number;
  maxInFlight?: number;
}

/**
 * Checks every token with cached access with `sys/capabilities-self` at a fixed cadence of its
 * own: its first check falls at a random moment within one period of its lookup, and each next
 * one is due one period (0.9 interval) after the previous one started, whatever the others do.
 * Rounds are not sequential: tokens that arrive together are checked spread over the period ever
 * after, and a slow check delays no other token. A token is never queued twice.
 * The pool of calls is sized from the number of tokens, the measured round trip and the interval
 * (enough to check every token in half an interval) within [MIN_IN_FLIGHT, MAX_IN_FLIGHT], and
 * opens fully while checks run late. So a direct revocation in Vault ends cached access within
 * one interval plus one round trip, as long as checks start less than a tenth of an interval late
 * (a warning says when they do not).
 *
 * A check that answers confirms the token (`tokens-confirmed`, batched, `atMs` = when the request
 * was sent); paths without `read` are revoked for that token; a 403 revokes all of its paths.
 * When Vault cannot serve (unreachable, timeout, 5xx, 412, 429) nothing is confirmed and the
 * pool stops: one call probes Vault again after a backoff (from 0.5 s up to one interval), and
 * the rest waits, the failed checks first in line. The client never retries a check: a check
 * lasts at most one interval (10 s at most).
 *
 * The first lookups of new tokens go through the same pool: due checks first, lookups in the free
 * slots and in a quarter of the pool at least.
 */
export class CapabilityRefresher {
  private readonly entries = new Map<string, Entry>();
  private readonly due = new DueHeap<Entry>();
  private readonly urgent: Array<{ entry: Entry; ticket: number }> = [];
  private urgentHead = 0;
  private readonly jobs: Array<() => Promise<void>> = [];
  private jobsHead = 0;
  private running = 0;
  private lookupsRunning = 0;
  private rttMs = INITIAL_RTT_MS;
  private healthy = true;
  private probeAtMs = 0;
  private readonly backoff: Backoff;
  private wake: NodeJS.Timeout | undefined;
  private wakeAtMs = Infinity;
  private windowTimer: NodeJS.Timeout | undefined;
  private readonly figures: RefreshStats;
  private readonly confirmations: Confirmations;
  private stopped = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly periodMs: number;
  private readonly maxInFlight: number;

  constructor(private readonly opts: RefresherOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.maxInFlight = opts.maxInFlight ?? MAX_IN_FLIGHT;
    // A check that has not answered within an interval is useless: the next one is due.
    this.periodMs = opts.intervalMs * PERIOD_OF_INTERVAL;
    this.timeoutMs = Math.min(10_000, Math.max(1_000, opts.intervalMs));
    this.backoff = new Backoff(500, Math.max(500, opts.intervalMs));
    this.figures = new RefreshStats(this.now);
    this.confirmations = new Confirmations(opts.send, (hash) => this.entries.has(hash));
  }

  start(): void {
    this.windowTimer = setInterval(() => this.figures.close(this.poolState(), this.opts.log, this.opts.intervalMs), this.opts.intervalMs);
    this.windowTimer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake);
    if (this.windowTimer) clearInterval(this.windowTimer);
    this.confirmations.stop();
    this.entries.clear();
    this.due.clear();
    this.urgent.length = 0;
    this.jobs.length = 0;
  }

  /**
   * A token with cached access, confirmed at `atMs`: its first check is due at a random moment
   * within one period (never later), so that tokens that arrive together (a restart, a burst of
   * new clients) are checked spread evenly over the interval ever after, not all at once.
   */
  track(hash: string, known: KnownToken, atMs: number): void {
    const old = this.entries.get(hash);
    if (old) this.release(old);
    const firstDue = atMs + Math.max(1, Math.floor(this.random() * this.periodMs));
    const entry: Entry = { hash, known, state: 'waiting', ticket: 0, dueAtMs: firstDue, again: false, waiters: [], next: [] };
    this.entries.set(hash, entry);
    this.due.push({ dueAtMs: entry.dueAtMs, ticket: entry.ticket, value: entry });
    this.pump();
  }

  /** The token left (revoked, expired, no paths): no more checks, and a check under way confirms nothing. */
  untrack(hash: string): void {
    const entry = this.entries.get(hash);
    if (!entry) return;
    this.entries.delete(hash);
    entry.ticket++;
    this.release(entry);
  }

  /**
   * Runs `job` (a first lookup) in the pool (see the class comment). `job` handles its own outcome;
   * what it throws only tells whether Vault could serve (see isVaultDown).
   */
  submit(job: () => Promise<void>): void {
    this.jobs.push(job);
    this.pump();
  }

  /**
   * Checks every token now (ahead of their cadence) and sends `recheck-done` when each check has
   * ended, failed ones included. A check already under way does not count (it may have been
   * answered before the revocation): the token is checked once more after it.
   */
  recheck(seq: number): void {
    const r: Recheck = { seq, left: 0, failed: 0 };
    for (const entry of this.entries.values()) {
      r.left++;
      if (entry.state === 'running') {
        entry.again = true;
        entry.next.push(r);
      } else {
        entry.waiters.push(r);
        if (entry.state === 'waiting') this.queueUrgent(entry);
      }
    }
    if (r.left === 0) this.finishRecheck(r);
    this.pump();
  }

  /** The figures of the intervals so far (the current one last). */
  stats(): WindowStats[] {
    return this.figures.all(this.poolState());
  }

  private poolState(): { limit: number; rttMs: number; tokens: number } {
    return { limit: this.limit(), rttMs: Math.round(this.rttMs), tokens: this.entries.size };
  }

  get tokenCount(): number {
    return this.entries.size;
  }

  /** How many calls may be in flight now. */
  private limit(): number {
    if (!this.healthy) return this.now() >= this.probeAtMs && this.running === 0 ? 1 : 0;
    // Checks fall behind their cadence (a burst of new tokens, a slower Vault): every slot.
    const head = this.peekDue();
    if (head && this.now() - head.dueAtMs > BEHIND_MS) return this.maxInFlight;
    const backlog = (this.jobs.length - this.jobsHead) + (this.urgent.length - this.urgentHead);
    const steady = Math.ceil((this.entries.size * this.rttMs) / (this.opts.intervalMs / 2));
    return Math.min(this.maxInFlight, Math.max(MIN_IN_FLIGHT, steady, backlog));
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    const limit = this.limit();
    while (this.running < limit) {
      // Due checks first; lookups take the free slots, and a quarter of them at least.
      const lookupWaits = this.jobsHead < this.jobs.length;
      if (lookupWaits && this.lookupsRunning < MAX_LOOKUPS_WHILE_CHECKS_DUE) {
        this.startJob(this.jobs[this.jobsHead++]!);
        this.compactJobs();
        continue;
      }
      const entry = this.nextDue(now);
      if (entry) {
        this.startCheck(entry, now);
        continue;
      }
      if (!lookupWaits) break;
      this.startJob(this.jobs[this.jobsHead++]!);
      this.compactJobs();
    }
    this.arm(now);
  }

  /** Sets the one timer to when something can start next (a due check, or the probe). */
  private arm(now: number): void {
    let at = Infinity;
    if (!this.healthy) {
      const work = this.earliestWork();
      if (this.running === 0 && work !== undefined) at = Math.max(this.probeAtMs, work);
    } else if (this.running < this.limit()) {
      const head = this.peekDue();
      if (head) at = head.dueAtMs;
    }
    if (at === this.wakeAtMs) return;
    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
    this.wakeAtMs = at;
    if (at === Infinity) return;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.wakeAtMs = Infinity;
      this.pump();
    }, Math.max(0, at - now));
  }

  /** When the next call could start, limits aside: now for queued lookups and rechecks, else the next due check. */
  private earliestWork(): number | undefined {
    if (this.jobsHead < this.jobs.length || this.urgentHead < this.urgent.length) return 0;
    return this.peekDue()?.dueAtMs;
  }

  private peekDue(): { dueAtMs: number } | undefined {
    for (;;) {
      const head = this.due.peek();
      if (!head) return undefined;
      if (head.ticket === head.value.ticket && head.value.state === 'waiting' && this.entries.get(head.value.hash) === head.value) return head;
      this.due.pop();
    }
  }

  private nextDue(now: number): Entry | undefined {
    while (this.urgentHead < this.urgent.length) {
      const { entry, ticket } = this.urgent[this.urgentHead++]!;
      if (this.urgentHead === this.urgent.length) {
        this.urgent.length = 0;
        this.urgentHead = 0;
      }
      if (ticket === entry.ticket && entry.state === 'urgent' && this.entries.get(entry.hash) === entry) return entry;
    }
    const head = this.peekDue();
    if (!head || head.dueAtMs > now) return undefined;
    return this.due.pop()!.value;
  }

  private queueUrgent(entry: Entry): void {
    entry.state = 'urgent';
    entry.ticket++;
    entry.dueAtMs = this.now();
    this.urgent.push({ entry, ticket: entry.ticket });
  }

  private startJob(job: () => Promise<void>): void {
    this.running++;
    this.lookupsRunning++;
    this.figures.current.lookups++;
    const probing = !this.healthy;
    this.figures.inFlight(this.running);
    job().then(() => this.vaultAnswered(), (err: unknown) => {
      if (isVaultDown(err)) this.vaultDown(err, probing);
      else this.vaultAnswered();
    }).finally(() => {
      this.running--;
      this.lookupsRunning--;
      this.pump();
    });
  }

  private startCheck(entry: Entry, now: number): void {
    entry.state = 'running';
    entry.ticket++;
    this.running++;
    this.figures.inFlight(this.running);
    this.figures.started(now, entry.dueAtMs);
    const probing = !this.healthy;
    void this.check(entry, now).then((outcome) => this.finish(entry, outcome, now, probing));
  }

  private async check(entry: Entry, sentAtMs: number): Promise<{ outcome: Outcome; err?: unknown }> {
    const { registry, vault, send } = this.opts;
    const token = registry.tokenOf(entry.hash);
    const paths = registry.pathsOf(entry.hash);
    if (token === undefined || paths.length === 0) return { outcome: 'skipped' };
    const asked = [...new Set(paths.map(vaultPath))];
    let data: Record<string, unknown>;
    try {
      const reply = await vault.request<Record<string, unknown>>({ method: 'POST', path: CAPABILITIES_SELF, token, body: { paths: asked }, timeoutMs: this.timeoutMs, retry: false });
      this.rttMs = 0.8 * this.rttMs + 0.2 * (this.now() - sentAtMs);
      data = (reply.body?.data ?? reply.body ?? {}) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof VaultResponseError && err.status === 403) {
        if (!this.current(entry)) return { outcome: 'gone' };
        // The static cache applies it and answers `static-drop`: the registry follows then.
        send({ type: 'static-revoke', tokenHash: entry.hash, paths: registry.pathsOf(entry.hash) });
        return { outcome: 'revoked' };
      }
      return { outcome: isVaultDown(err) ? 'down' : 'error', err };
    }
    if (!this.current(entry)) return { outcome: 'gone' };
    const lost = paths.filter((p) => {
      const caps = data[vaultPath(p)];
      return !(Array.isArray(caps) && (caps.includes('read') || caps.includes('root')));
    });
    if (lost.length) send({ type: 'static-revoke', tokenHash: entry.hash, paths: lost });
    if (this.current(entry)) this.confirm(entry, sentAtMs);
    return { outcome: lost.length ? 'lost_paths' : 'ok' };
  }

  private finish(entry: Entry, result: { outcome: Outcome; err?: unknown }, sentAtMs: number, probing: boolean): void {
    this.running--;
    const { outcome } = result;
    const w = this.figures.current;
    w.lastEndMs = this.now();
    if (outcome === 'ok') w.ok++;
    else if (outcome === 'lost_paths') w.lostPaths++;
    else if (outcome === 'revoked') w.revoked++;
    else if (outcome === 'error' || outcome === 'down') this.figures.failed(errorMessage(result.err));
    if (outcome !== 'gone' && outcome !== 'skipped') this.opts.count?.(outcome === 'down' ? 'error' : outcome);
    const failed = outcome === 'error' || outcome === 'down';
    for (const r of entry.waiters.splice(0)) this.ended(r, failed);
    if (this.entries.get(entry.hash) === entry && entry.state === 'running') {
      if (entry.again) {
        entry.again = false;
        entry.waiters = entry.next;
        entry.next = [];
        this.queueUrgent(entry);
      } else {
        entry.state = 'waiting';
        // A check Vault could not serve is due again at once: it waits for the pool to reopen
        // (the probe), not for a whole period.
        entry.dueAtMs = outcome === 'down' ? this.now() : sentAtMs + this.periodMs;
        this.due.push({ dueAtMs: entry.dueAtMs, ticket: entry.ticket, value: entry });
      }
    }
    if (outcome === 'down') this.vaultDown(result.err, probing);
    else if (outcome !== 'skipped') this.vaultAnswered();
    this.pump();
  }

  private vaultDown(err: unknown, probing: boolean): void {
    // Calls that were in flight when Vault went away fail too: only the first, or a failed probe, counts.
    if (!this.healthy && !probing) return;
    if (this.healthy) {
      this.healthy = false;
      this.opts.log.warn({ err: errorMessage(err) }, 'Vault cannot serve capability checks; no cached access is confirmed until it answers again');
    }
    this.probeAtMs = this.now() + this.backoff.next();
    // Rechecks end now, as failed: their tokens wait for Vault with the others.
    while (this.urgentHead < this.urgent.length) {
      const { entry, ticket } = this.urgent[this.urgentHead++]!;
      if (ticket !== entry.ticket || entry.state !== 'urgent' || this.entries.get(entry.hash) !== entry) continue;
      for (const r of entry.waiters.splice(0)) this.ended(r, true);
      entry.state = 'waiting';
      entry.ticket++;
      this.due.push({ dueAtMs: entry.dueAtMs, ticket: entry.ticket, value: entry });
    }
    this.urgent.length = 0;
    this.urgentHead = 0;
  }

  private vaultAnswered(): void {
    if (this.healthy) return;
    this.healthy = true;
    this.backoff.reset();
    this.opts.log.info('Vault answers capability checks again');
    this.opts.onVaultBack?.();
  }

  private current(entry: Entry): boolean {
    return !this.stopped && this.entries.get(entry.hash) === entry;
  }

  private confirm(entry: Entry, atMs: number): void {
    entry.known.confirmedAtMs = Math.max(entry.known.confirmedAtMs, atMs);
    this.confirmations.add(entry.hash, atMs);
  }

  private ended(r: Recheck, failed: boolean): void {
    if (failed) r.failed++;
    if (--r.left === 0) this.finishRecheck(r);
  }

  private finishRecheck(r: Recheck): void {
    if (this.stopped) return;
    // Confirmations first, so that the other side sees them before the end of the recheck.
    this.confirmations.flush();
    if (r.failed) this.opts.log.warn({ seq: r.seq, failed: r.failed }, 'a recheck ended with tokens Vault could not check');
    this.opts.send({ type: 'recheck-done', seq: r.seq });
  }

  /** An entry that leaves: rechecks waiting for it end (it has no access left to check). */
  private release(entry: Entry): void {
    for (const r of [...entry.waiters.splice(0), ...entry.next.splice(0)]) this.ended(r, false);
    entry.again = false;
  }

  private compactJobs(): void {
    if (this.jobsHead === this.jobs.length) {
      this.jobs.length = 0;
      this.jobsHead = 0;
    }
  }
}

/** The Vault path of a cached path: capabilities are asked without a query. */
function vaultPath(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

/** Unreachable, timed out, any 5xx, or a 412/429: Vault (not this token) cannot serve now. */
function isVaultDown(err: unknown): boolean {
  return err instanceof VaultUnreachableError || (err instanceof VaultResponseError && (err.status >= 500 || VAULT_DOWN_STATUSES.has(err.status)));
}
