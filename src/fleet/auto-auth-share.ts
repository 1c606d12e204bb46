// The auto-auth token in a fleet (plan step 2, the part both ways of gating the worker need): the
// owner, which logs in, writes it to L2 (`<prefix>a:…`, sealed like every record); every other
// replica reads it from there and uses it as its own auto-auth token, so that it can report
// SERVING (Envoy's gRPC health checks keep a NOT_SERVING replica out) and inject it for
// use_auto_auth_token without logging in itself.
//
// - share(t): only while this replica is the owner (a replica that lost the lease must not
//   overwrite the new owner's token). The record's TTL is what is left of the token's lease (a
//   token without one: NON_EXPIRING_TTL_MS), so an owner that dies without renewing leaves nothing
//   that outlives the token. The owner shares again after a renewal or a new login.
// - follow: a non-owner reads the record every `pollMs` (one MGET), and once at every change of
//   owner; `onToken` hears each token that differs from the last one heard. A read that fails
//   (Redis down) changes nothing: the replica keeps the token it has until its lease runs out.
// Nothing here logs a token.
import type { Logger } from '../telemetry/logger.js';
import { errorMessage } from '../errors.js';
import type { SharedAutoAuthToken } from './schema.js';
import type { SharedStore } from './shared-store.js';

/** The record's TTL for a token without a lease (a root or periodic-less token): the owner shares again before. */
export const NON_EXPIRING_TTL_MS = 60 * 60 * 1000;

export interface AutoAuthShareOptions {
  store: SharedStore;
  /** Whether this replica is the owner now. */
  isOwner: () => boolean;
  /** A token read from L2 that differs from the last one heard (non-owners only). */
  onToken: (token: SharedAutoAuthToken) => void;
  /** How often a non-owner reads the record (default 2000 ms). */
  pollMs?: number;
  /** Wall clock (the token's obtainedAtMs is wall-clock ms). */
  clock?: () => number;
  logger?: Logger;
}

export class AutoAuthShare {
  readonly pollMs: number;
  private readonly store: SharedStore;
  private readonly isOwner: () => boolean;
  private readonly onToken: (token: SharedAutoAuthToken) => void;
  private readonly clock: () => number;
  private readonly log: Logger | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private last: string | undefined;
  private running = false;

  constructor(opts: AutoAuthShareOptions) {
    this.store = opts.store;
    this.isOwner = opts.isOwner;
    this.onToken = opts.onToken;
    this.pollMs = opts.pollMs ?? 2_000;
    this.clock = opts.clock ?? Date.now;
    this.log = opts.logger?.child({ component: 'fleet-auto-auth' });
  }

  /** The record's TTL for `t` now; 0 when the token has expired already (it is not shared). */
  ttlMs(t: SharedAutoAuthToken): number {
    if (t.leaseDurationSeconds <= 0) return NON_EXPIRING_TTL_MS;
    return Math.max(0, Math.floor(t.obtainedAtMs + t.leaseDurationSeconds * 1000 - this.clock()));
  }

  /**
   * The owner's new (or renewed) token: written to L2. Resolves false, writing nothing, when this
   * replica is not the owner or the token has expired; rejects when Redis cannot be written
   * (SharedStoreUnavailable: the caller shares again at the next renewal, or logs it).
   */
  async share(t: SharedAutoAuthToken): Promise<boolean> {
    if (!this.isOwner()) return false;
    const ttl = this.ttlMs(t);
    if (ttl <= 0) return false;
    await this.store.putAutoAuthToken(t, ttl);
    this.last = t.token;
    return true;
  }

  /** Starts reading the record while not the owner (the first read at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Reads now (e.g. at a change of owner), unless a read is under way. */
  readNow(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.reading ??= this.read().finally(() => { this.reading = undefined; });
    return this.reading;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.reading;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.readNow().then(() => this.schedule(this.pollMs));
    }, ms);
  }

  private async read(): Promise<void> {
    if (this.isOwner()) return; // the owner's token is its worker's own
    let t: SharedAutoAuthToken | undefined;
    try {
      t = await this.store.getAutoAuthToken();
    } catch (err) {
      this.log?.debug({ reason: errorMessage(err) }, 'the shared auto-auth token could not be read; keeping the one held');
      return;
    }
    if (!this.running || !t || t.token === this.last || this.ttlMs(t) <= 0) return;
    this.last = t.token;
    this.log?.info({ leaseDurationSeconds: t.leaseDurationSeconds, renewable: t.renewable }, 'auto-auth token taken from the fleet (the owner logged in)');
    this.onToken(t);
  }
}
