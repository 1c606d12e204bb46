/**
 * What the templates read from Vault, each read kept until it is due again, as consul-template's
 * watcher keeps one view per dependency (so two templates that read the same `pki/issue` with the
 * same arguments get the same certificate and key, as with Vault Agent). When a read is due, it is
 * dropped and the templates that used it render again (which reads it anew):
 * - a renewable lease is renewed on Vault's lifetime-watcher schedule (⅔ of what is left plus a
 *   third of a 10–20 % grace) and is due when renewal no longer extends it (max TTL) or fails;
 * - a non-renewable lease (or a certificate's expiry, an AppRole secret_id's TTL, a rotating
 *   secret's TTL) is due at `lease_renewal_threshold` (± 0.05) of it, as consul-template's leaseCheckWait;
 * - a read without a lease is due after `static_secret_render_interval` × the same fraction;
 * - a KV read the static cache holds is also due as soon as the cache's maintainer saw it change
 *   (KV event or refetch): `changed(canonicalPath)`.
 */
import type { VaultAnswer } from '../../template/functions/index.js';
import { renewalDelayMs } from '../auto-auth.js';

export type Method = 'GET' | 'LIST' | 'PUT' | 'POST';

export interface Fetched {
  answer: VaultAnswer;
  /** The static cache's canonical path, when the read is one the cache keeps (`ns/secret/data/app`). */
  canonicalPath?: string;
}

export interface DependencyIo {
  fetch(method: Method, path: string, body: unknown): Promise<Fetched>;
  /** sys/leases/renew; resolves with the new lease duration (seconds), rejects when Vault refuses or cannot be reached. */
  renew(leaseId: string, incrementSeconds: number): Promise<number>;
}

export interface DependencyTiming {
  staticSecretRenderIntervalSeconds: number;
  leaseRenewalThreshold: number;
}

interface Entry {
  key: string;
  /** The read, shared by concurrent renders until it settles. */
  answer: Promise<Fetched>;
  canonicalPath?: string;
  timer?: NodeJS.Timeout;
  leaseId?: string;
  incrementSeconds?: number;
  graceMs?: number;
  priorTtlMs?: number;
}

export function dependencyKey(method: Method, path: string, body: unknown): string {
  return `${method} ${path.replace(/^\/+/, '')}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`;
}

export class DependencyStore {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(
    private readonly io: DependencyIo,
    private readonly timing: DependencyTiming,
    /** Reads that became due: the templates that used them render again. */
    private readonly onDue: (keys: string[], why: string) => void,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** A read as a template asks it: the kept answer while it is not due, else a new read. */
  request(method: Method, path: string, body: unknown): Promise<VaultAnswer> {
    const key = dependencyKey(method, path, body);
    let entry = this.entries.get(key);
    if (!entry) {
      const fresh: Entry = { key, answer: this.io.fetch(method, path, body) };
      entry = fresh;
      this.entries.set(key, fresh);
      fresh.answer.then((f) => {
        if (this.entries.get(key) !== fresh) return;
        if (f.answer.status < 200 || f.answer.status >= 300) {
          // An error is not kept: the next render asks again (after the renderer's backoff).
          this.entries.delete(key);
          return;
        }
        if (f.canonicalPath) fresh.canonicalPath = f.canonicalPath;
        this.schedule(fresh, f.answer.text);
      }, () => {
        if (this.entries.get(key) === fresh) this.entries.delete(key);
      });
    }
    return entry.answer.then((f) => f.answer);
  }

  /** A KV secret the static cache holds changed (or left the cache): the reads of it are due now. */
  changed(canonicalPath: string): string[] {
    const due = [...this.entries.values()].filter((e) => e.canonicalPath === canonicalPath).map((e) => e.key);
    for (const key of due) this.drop(key);
    if (due.length) this.onDue(due, 'changed');
    return due;
  }

  /** Forget reads no template uses any more. */
  retain(used: ReadonlySet<string>): void {
    for (const key of [...this.entries.keys()]) if (!used.has(key)) this.drop(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    clearTimeout(e.timer);
    this.entries.delete(key);
  }

  private due(e: Entry, why: string): void {
    if (this.entries.get(e.key) !== e || this.stopped) return;
    this.drop(e.key);
    this.onDue([e.key], why);
  }

  private after(e: Entry, ms: number, fn: () => void): void {
    clearTimeout(e.timer);
    e.timer = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    e.timer.unref?.();
  }

  private schedule(e: Entry, text: string): void {
    const s = parseSecret(text);
    if (s.leaseId && s.renewable && s.leaseDuration > 0) {
      const ttlMs = s.leaseDuration * 1000;
      e.leaseId = s.leaseId;
      e.incrementSeconds = s.leaseDuration;
      e.graceMs = ttlMs * (0.1 + 0.1 * this.random());
      e.priorTtlMs = ttlMs;
      this.scheduleRenewal(e, ttlMs);
      return;
    }
    this.after(e, checkWaitMs(s, this.timing, this.random, this.now()), () => this.due(e, 'lease'));
  }

  private scheduleRenewal(e: Entry, ttlMs: number): void {
    const delay = renewalDelayMs(ttlMs, e.graceMs!);
    // What is left is within the grace (renewal stopped extending it: max TTL): Vault's lifetime
    // watcher is done, and consul-template reads the secret anew at once.
    if (delay === undefined) this.due(e, 'lease-end');
    else this.after(e, delay, () => void this.renew(e));
  }

  private async renew(e: Entry): Promise<void> {
    if (this.entries.get(e.key) !== e) return;
    let newTtlSeconds: number;
    try {
      newTtlSeconds = await this.io.renew(e.leaseId!, e.incrementSeconds!);
    } catch {
      // consul-template: the renewer is done (maybe the lease expired), the secret is read anew.
      this.due(e, 'renew-failed');
      return;
    }
    if (this.entries.get(e.key) !== e) return;
    const newTtlMs = newTtlSeconds * 1000;
    // Vault's lifetime watcher: the grace is drawn again while the lease grows.
    if (newTtlMs > e.priorTtlMs!) e.graceMs = newTtlMs * (0.1 + 0.1 * this.random());
    e.priorTtlMs = newTtlMs;
    this.scheduleRenewal(e, newTtlMs);
  }
}

interface SecretShape {
  leaseId: string;
  leaseDuration: number;
  renewable: boolean;
  data: Record<string, unknown>;
  auth?: { lease_duration?: number; renewable?: boolean };
}

function parseSecret(text: string): SecretShape {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const auth = (j['auth'] && typeof j['auth'] === 'object') ? j['auth'] as SecretShape['auth'] : undefined;
    return {
      leaseId: typeof j['lease_id'] === 'string' ? j['lease_id'] : '',
      leaseDuration: typeof j['lease_duration'] === 'number' ? j['lease_duration'] : 0,
      renewable: auth ? auth.renewable === true : j['renewable'] === true,
      data: (j['data'] && typeof j['data'] === 'object') ? j['data'] as Record<string, unknown> : {},
      ...(auth ? { auth } : {}),
    };
  } catch {
    return { leaseId: '', leaseDuration: 0, renewable: false, data: {} };
  }
}

/** consul-template's leaseCheckWait for a secret that is not renewed: ms until it is read again. */
export function checkWaitMs(s: SecretShape, timing: DependencyTiming, random: () => number, nowMs: number): number {
  let base = s.leaseDuration;
  if (s.auth && typeof s.auth.lease_duration === 'number' && s.auth.lease_duration > 0) base = s.auth.lease_duration;
  if ('certificate' in s.data && s.leaseId === '' && typeof s.data['expiration'] === 'number') {
    base = Math.trunc(s.data['expiration'] - nowMs / 1000);
  }
  if ('secret_id' in s.data && s.leaseId === '' && typeof s.data['secret_id_ttl'] === 'number' && s.data['secret_id_ttl'] > 0) {
    base = s.data['secret_id_ttl'] + 1;
  }
  let rotating = false;
  if ('rotation_period' in s.data && s.leaseId === '' && typeof s.data['ttl'] === 'number') {
    base = s.data['ttl'] + 1;
    rotating = true;
  }
  if (base <= 0) base = timing.staticSecretRenderIntervalSeconds;
  let ms = base * 1000;
  if (!rotating) {
    let fraction = timing.leaseRenewalThreshold + (random() - 0.5) * 0.1;
    if (fraction >= 1 || fraction <= 0) fraction = timing.leaseRenewalThreshold;
    ms *= fraction;
  }
  return ms;
}
