// Fleet mode's auto-auth in the worker (issue 16 step 5, "one elected worker"). Every replica runs
// its worker, but only the replica holding the owner lease talks to Vault for the fleet: it logs
// in, logs in again, renews the auto-auth token, and holds the KV event subscription. The others
// use the owner's token, which the app reads from L2 (src/fleet/auto-auth-share.ts) and hands on as
// `shared-token`; they never log in.
//
// - A worker starts as a non-owner. The token it starts with (a restarted worker's predecessor's,
//   or one restored from the persistent store) is its token at once, without a Vault call.
// - `fleet-role owner:true` starts an owner term: a new AutoAuth that ADOPTS the token held (the
//   path a restarted worker takes: one renew-self, or a lookup-self for a token that cannot be
//   renewed), so a take-over costs no login; only a token Vault refuses, or none, means a login.
// - `fleet-role owner:false` ends the term: no more renewals or logins (the new owner does them),
//   and the event subscription is dropped. The token stays until a shared one replaces it. A late
//   answer of the ended term (a login or renewal in flight) is ignored.
// - `shared-token` (non-owner): the token this worker uses from now on; the sinks are written with
//   it (retried with backoff while they fail). Nothing is sent back: the app knows it already.
import { errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { VaultClient } from '../vault/client.js';
import type { AutoAuth } from './auto-auth.js';
import { Backoff } from './backoff.js';
import type { AdoptedToken } from './host.js';
import type { SinkWriter } from './sink.js';

/** What an owner term's AutoAuth reports through (guarded: an ended term's callbacks are dropped). */
export interface TermHooks {
  onToken(t: AdoptedToken): void;
  onRenewed(r: Omit<AdoptedToken, 'token'>): void;
  /** Whether the term is still this worker's (its exit requests count only then). */
  current(): boolean;
}

export interface FleetAutoAuthOptions {
  /** A new owner term: an AutoAuth taking `adopt` over when given (else it logs in), reporting through `hooks`. */
  startTerm(adopt: AdoptedToken | undefined, hooks: TermHooks): AutoAuth;
  /** The token the worker starts with (opts.adopt of runWorker). */
  held?: AdoptedToken | undefined;
  /** The sinks' writers, shared with every term's AutoAuth (their DH state lives on). */
  sinkWriters: SinkWriter[];
  /** For sinks with wrap_ttl. */
  vault: VaultClient;
  log: Logger;
  /** The owner logged in (or took a token over): the token the worker uses, and the one to send to the app. */
  onToken(t: AdoptedToken): void;
  /** The owner renewed its token. */
  onRenewed(r: Omit<AdoptedToken, 'token'>): void;
  /** A token this worker uses without having logged in for it (the shared one, the held one at start): nothing is sent. */
  useToken(token: string): void;
  /** This worker became the owner (true) or stopped being it (false). */
  ownerChanged(owner: boolean): void;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export class FleetAutoAuth {
  private owner = false;
  private term: { auto: AutoAuth; id: number } | undefined;
  private terms = 0;
  private held: AdoptedToken | undefined;
  /** The token the sinks hold, or are being written with. */
  private sinkToken: string | undefined;
  private stopped = false;
  private resolveDone: () => void = () => undefined;
  private readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });
  private stopWake: () => void = () => undefined;
  private readonly stopping = new Promise<void>((resolve) => { this.stopWake = resolve; });
  private readonly log: Logger;

  constructor(private readonly opts: FleetAutoAuthOptions) {
    this.held = opts.held;
    this.log = opts.log.child({ component: 'fleet-auto-auth' });
  }

  /** Resolves on stop(), or when an owner term ends by itself (exit_after_auth, exit_on_err). */
  run(): Promise<void> {
    if (this.held && !this.stopped) {
      this.log.info({ leaseDurationSeconds: this.held.leaseDurationSeconds }, 'fleet mode: not the owner (yet); using the auto-auth token held, without logging in');
      this.opts.useToken(this.held.token);
    } else this.log.info('fleet mode: not the owner (yet); waiting for the owner\'s auto-auth token, without logging in');
    return this.done;
  }

  get isOwner(): boolean {
    return this.owner;
  }

  /** The token this worker holds now and its lease (its own login's or renewal's, or the owner's shared one). */
  get token(): AdoptedToken | undefined {
    return this.held;
  }

  /** `fleet-role`: start an owner term (adopting the token held) or end it. */
  setOwner(owner: boolean): void {
    if (this.stopped || owner === this.owner) return;
    this.owner = owner;
    if (owner) {
      this.log.info({ adopting: this.held !== undefined }, 'this replica is the fleet\'s owner: it renews the auto-auth token (or logs in) and holds the KV event subscription');
      this.startTerm();
    } else {
      this.log.info('this replica is no longer the fleet\'s owner: no more logins or renewals of the auto-auth token, no KV event subscription');
      this.endTerm();
    }
    this.opts.ownerChanged(owner);
  }

  /** `shared-token` (a non-owner): the owner's token becomes this worker's. Ignored by the owner (its token is its own). */
  shared(t: AdoptedToken): void {
    if (this.stopped) return;
    if (this.owner) {
      this.log.debug('a shared auto-auth token reached the owner; ignored');
      return;
    }
    const fresh = t.token !== this.held?.token;
    this.held = { ...t };
    if (fresh) this.opts.useToken(t.token);
    if (t.token !== this.sinkToken) void this.writeSinks(t.token);
  }

  /** A request with the auto-auth token was refused: the owner checks its token; a non-owner waits for the owner's. */
  suspect(): void {
    if (this.term) this.term.auto.suspect();
    else this.log.debug('the shared auto-auth token was refused by Vault; the owner checks it (a new one arrives through the fleet)');
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopWake();
    this.endTerm();
    this.resolveDone();
  }

  private startTerm(): void {
    const id = ++this.terms;
    const current = (): boolean => !this.stopped && this.term?.id === id;
    const auto = this.opts.startTerm(this.held, {
      current,
      onToken: (t) => {
        if (!current()) return;
        this.held = { ...t };
        this.sinkToken = t.token; // written by the term (a login), or already there (adopted)
        this.opts.onToken(t);
      },
      onRenewed: (r) => {
        if (!current() || !this.held) return;
        this.held = { ...this.held, ...r };
        this.opts.onRenewed(r);
      },
    });
    this.term = { auto, id };
    void auto.run().then(() => {
      // Ended by itself while still the term: exit_after_auth or exit_on_err (its exit message is sent).
      if (current()) this.stop();
    });
  }

  private endTerm(): void {
    const t = this.term;
    this.term = undefined;
    t?.auto.stop();
  }

  /** Writes every sink with the shared token, retrying with backoff until they take it, a newer token comes, or stop. */
  private async writeSinks(token: string): Promise<void> {
    this.sinkToken = token;
    const writers = this.opts.sinkWriters;
    if (writers.length === 0) return;
    const backoff = new Backoff(this.opts.minBackoffMs, this.opts.maxBackoffMs);
    while (!this.stopped && this.sinkToken === token) {
      let failed = 0;
      for (const w of writers) {
        try {
          await w.write(token, this.opts.vault);
        } catch (err) {
          failed++;
          this.log.error({ path: w.sink.path, err: errorMessage(err) }, 'writing the shared token to a sink failed; retrying');
        }
      }
      if (failed === 0) {
        this.log.info({ sinks: writers.length }, 'the owner\'s auto-auth token written to sinks');
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff.next());
        void this.stopping.then(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}
