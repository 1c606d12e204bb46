/**
 * The soak's rules for an answer given through Envoy, checked against Vault asked directly right
 * after (the no-leak suite's differential rule, test/e2e/adversarial/differential.test.ts):
 *
 *   - a 2xx answer (a HIT, or a miss that Vault answered) that Vault itself refuses is wrong,
 *     unless a change of that token's access (revocation, policy change) overlaps the window
 *     [sent − bound, checked], where bound is the documented one for how the change was made
 *     (directly in Vault: the capability refresh interval plus a round trip; through Envoy: 0);
 *   - a 2xx answer whose data differs from Vault's is wrong unless a change of that secret (a
 *     write or delete) overlaps [sent − stale bound, checked];
 *   - a lease-cache HIT (login, token creation, dynamic credentials) is wrong when Vault refuses the
 *     same request with the same token, or when the token or lease it hands out is no longer alive
 *     in Vault and no revocation of it overlaps [sent, checked] (they are revoked only through
 *     Envoy here, which evicts at once).
 *
 * Refusals through Envoy are never wrong answers (they leak nothing); they are counted apart.
 * Pure: no I/O, no clock (callers pass times).
 */

/** A change in Vault: it may explain a difference seen within `boundMs` after it ended. */
export interface Change {
  startMs: number;
  /** undefined while the change is in flight. */
  endMs: number | undefined;
  boundMs: number;
}

/** Changes by subject (`token:<accessor>`, `policy:<name>`, `secret:<path>`, `lease:<id>`). */
export class Timeline {
  private readonly bySubject = new Map<string, Change[]>();

  begin(subject: string, boundMs: number, atMs: number): Change {
    const change: Change = { startMs: atMs, endMs: undefined, boundMs };
    let list = this.bySubject.get(subject);
    if (!list) this.bySubject.set(subject, (list = []));
    list.push(change);
    return change;
  }

  /** Records a change of several subjects at once (a policy change seen by every token holding it). */
  beginAll(subjects: string[], boundMs: number, atMs: number): Change[] {
    return subjects.map((s) => this.begin(s, boundMs, atMs));
  }

  /** True when a change of one of `subjects` overlaps [sentMs − its bound, checkedMs]. */
  covers(subjects: readonly string[], sentMs: number, checkedMs: number): boolean {
    return subjects.some((s) => (this.bySubject.get(s) ?? []).some((c) => c.startMs <= checkedMs && (c.endMs ?? Infinity) >= sentMs - c.boundMs));
  }

  /** Forgets changes that ended before `beforeMs` minus their bound (they can explain nothing later). */
  prune(beforeMs: number): void {
    for (const [subject, list] of this.bySubject) {
      const kept = list.filter((c) => c.endMs === undefined || c.endMs + c.boundMs >= beforeMs);
      if (kept.length === 0) this.bySubject.delete(subject);
      else this.bySubject.set(subject, kept);
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.bySubject.values()) n += list.length;
    return n;
  }
}

export type Verdict = 'ok' | 'refused' | 'within-access-bound' | 'within-stale-bound' | 'wrong';

export interface ReadObservation {
  envoyStatus: number;
  /** `data` of Envoy's JSON answer. */
  envoyData: unknown;
  vaultStatus: number;
  vaultData: unknown;
  /** A change of the token's access overlaps the window (Timeline.covers). */
  accessChanged: boolean;
  /** A change of the secret overlaps the window. */
  secretChanged: boolean;
}

const ok2xx = (status: number): boolean => status >= 200 && status < 300;

/** A KV read through Envoy (HIT or miss) against Vault's answer to the same request right after. */
export function judgeRead(o: ReadObservation, equal: (a: unknown, b: unknown) => boolean): { verdict: Verdict; reason?: string } {
  if (!ok2xx(o.envoyStatus)) return { verdict: 'refused' };
  if (o.vaultStatus === 403) {
    return o.accessChanged ? { verdict: 'within-access-bound' } : { verdict: 'wrong', reason: `Envoy ${o.envoyStatus}, Vault 403 (no access change within the bound)` };
  }
  if (o.vaultStatus === 404) {
    return o.secretChanged ? { verdict: 'within-stale-bound' } : { verdict: 'wrong', reason: `Envoy ${o.envoyStatus}, Vault 404 (no delete within the bound)` };
  }
  if (!ok2xx(o.vaultStatus)) return { verdict: 'wrong', reason: `Envoy ${o.envoyStatus}, Vault ${o.vaultStatus}` };
  if (equal(o.envoyData, o.vaultData)) return { verdict: 'ok' };
  return o.secretChanged ? { verdict: 'within-stale-bound' } : { verdict: 'wrong', reason: 'data unlike Vault\'s (no write within the bound)' };
}

export interface LeaseHitObservation {
  /** Vault's status for the same request, same token, sent directly. */
  vaultStatus: number;
  /** The token or lease the HIT handed out is still alive in Vault (looked up with the root token). */
  alive: boolean;
  /** A revocation of that token or lease (or of the token that made it) overlaps [sent, checked]. */
  revokedInWindow: boolean;
}

export function judgeLeaseHit(o: LeaseHitObservation): { verdict: Verdict; reason?: string } {
  if (!ok2xx(o.vaultStatus)) {
    return o.revokedInWindow ? { verdict: 'within-access-bound' } : { verdict: 'wrong', reason: `HIT, Vault ${o.vaultStatus} for the same request` };
  }
  if (o.alive) return { verdict: 'ok' };
  return o.revokedInWindow ? { verdict: 'within-access-bound' } : { verdict: 'wrong', reason: 'HIT handed out a token or lease Vault had already revoked' };
}

/** The p-th percentile (0–100) by nearest rank; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** first, last and max of a series (undefined entries skipped). */
export function firstLastMax(values: ReadonlyArray<number | undefined>): { first?: number; last?: number; max?: number } {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (present.length === 0) return {};
  return { first: present[0]!, last: present[present.length - 1]!, max: Math.max(...present) };
}

/** A markdown table: header row, separator, rows; cells are stringified as given. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): string {
  const line = (cells: ReadonlyArray<string | number | undefined>): string => `| ${cells.map((c) => (c === undefined ? '' : String(c))).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** Samples of the Prometheus text format, keyed by name and labels as written (`name` or `name{a="b"}`). */
export function promValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([^ ]+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) out.set(m[1]!, value);
  }
  return out;
}
