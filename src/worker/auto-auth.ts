import { stat } from 'node:fs/promises';
import { VaultResponseError, errorMessage } from '../errors.js';
import type { FileSink } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { VaultClient } from '../vault/client.js';
import { VAULT_PATHS } from '../vault/paths.js';
import type { AuthMethod, LoginResult } from './auth/index.js';
import { Backoff } from './backoff.js';
import { SinkWriter } from './sink.js';
import { WrappedLogin } from './sinks/wrapped-login.js';
import type { WorkerMetric } from '../telemetry/metrics.js';

export interface Timers {
  now(): number;
  /** Resolves after `ms`, or early when `wake` fires. */
  sleep(ms: number, wake: Promise<void>): Promise<void>;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms, wake) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      void wake.then(() => {
        clearTimeout(t);
        resolve();
      });
    }),
};

export interface AutoAuthOptions {
  vault: VaultClient;
  method: AuthMethod;
  sinks: FileSink[];
  log: Logger;
  minBackoffMs: number;
  maxBackoffMs: number;
  exitOnError: boolean;
  exitAfterAuth: boolean;
  /** `enable_reauth_on_new_credentials`: log in again when one of the method's credentialFiles() changes. */
  reauthOnNewCredentials?: boolean;
  /**
   * The method's `wrap_ttl` (seconds) and mount path: the login is response-wrapped, the wrapping
   * token (wrap_info JSON) goes to the sinks, and the token itself is never known here.
   */
  loginWrap?: { ttlSeconds: number; mountPath: string };
  /** How often the credential files are stat'ed with reauthOnNewCredentials (default CREDENTIAL_POLL_MS). */
  credentialPollMs?: number;
  /**
   * A token to take over before the first login: a restarted worker's predecessor's (worker/supervisor.ts).
   * It is renewed at once (renew-self gives its TTL now); Vault refusing it means a login as usual.
   */
  adopt?: LoginResult & { obtainedAtMs: number };
  onToken(token: LoginResult & { obtainedAtMs: number }): void;
  /** The token was renewed (renew-self answered at obtainedAtMs): the same token, a new lease. */
  onRenewed?(renewal: { leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }): void;
  /**
   * The sinks' writers, when they outlive this AutoAuth (fleet mode: one AutoAuth per owner term,
   * and a non-owner writes the shared token through the same writers, keeping their DH state).
   */
  sinkWriters?: SinkWriter[];
  onExit(code: number, reason: string): void;
  onMetric?(update: WorkerMetric): void;
  timers?: Timers;
  random?: () => number;
}

/** Suspicions closer together than this cause one check, not a storm of renew-self calls. */
const SUSPECT_MIN_INTERVAL_MS = 5_000;

/**
 * enable_reauth_on_new_credentials: the credential files are stat'ed (following symlinks) this
 * often. Polling sees what inotify can miss: the kubelet replaces a projected token by swapping a
 * `..data` symlink, an editor or a secret agent renames a new file over the old one.
 */
export const CREDENTIAL_POLL_MS = 1_000;

/**
 * The auto-auth loop: log in (with jittered exponential backoff while Vault is down), write
 * the sinks, hand the token to ext_proc, renew it with renew-self on Vault's schedule, and log
 * in again when renewal fails, stops extending the token, or the token turns out revoked.
 */
export class AutoAuth {
  private stopped = false;
  private wakeResolve: () => void = () => undefined;
  private wake: Promise<void> = this.newWake();
  private suspected = false;
  /** A credential file changed since the last login attempt began (enable_reauth_on_new_credentials). */
  private credentialsChanged = false;
  private lastSuspectCheckMs = -Infinity;
  private readonly timers: Timers;
  /** The client the current token was obtained through (the method's authClient, else opts.vault). */
  private tokenClient: VaultClient;
  private readonly random: () => number;
  private readonly log: Logger;
  /** The token the sinks should hold (the newest login's). */
  private sinkToken: string | undefined;
  private stopResolve: () => void = () => undefined;
  /** Resolves on stop(): ends a sink retry's sleep (a suspicion does not). */
  private readonly stopWake = new Promise<void>((resolve) => { this.stopResolve = resolve; });
  private readonly sinkWriters: SinkWriter[];
  private readonly wrappedLogin: WrappedLogin | undefined;

  constructor(private readonly opts: AutoAuthOptions) {
    this.timers = opts.timers ?? realTimers;
    this.tokenClient = opts.vault;
    this.random = opts.random ?? Math.random;
    this.log = opts.log.child({ component: 'auto-auth', method: opts.method.name });
    this.sinkWriters = opts.sinkWriters ?? opts.sinks.map((sink) => new SinkWriter(sink));
    this.wrappedLogin = opts.loginWrap ? new WrappedLogin(opts.loginWrap.ttlSeconds, opts.loginWrap.mountPath) : undefined;
  }

  /** Runs until stop(). */
  async run(): Promise<void> {
    const watcher = this.watchCredentials();
    try {
      await this.loop();
    } finally {
      this.stop();
      await watcher;
    }
  }

  private async loop(): Promise<void> {
    await this.keepAdopted();
    while (!this.stopped) {
      const login = await this.authenticate();
      // Stopped while the login was in flight (fleet mode: no longer the owner): the token is not handed on.
      if (!login || this.stopped) return;
      if (login.wrapped !== undefined) {
        if (!(await this.deliverWrapped(login.wrapped))) return;
        continue;
      }
      const obtainedAtMs = this.timers.now();
      // A sink that cannot be written never costs another login (Vault Agent's sink server retries
      // on its own too): the token is used at once and the sinks are retried with backoff.
      this.sinkToken = login.token;
      const written = await this.writeSinks(login.token);
      this.opts.onToken({ ...login, obtainedAtMs });
      if (this.opts.exitAfterAuth) {
        if (!written && !(await this.retrySinks(login.token))) return;
        this.log.info('authenticated; exit_after_auth is set, exiting');
        this.opts.onExit(0, 'exit_after_auth');
        return;
      }
      if (!written) void this.retrySinks(login.token);
      await this.keepAlive(login, obtainedAtMs);
      if (!this.stopped) this.log.info('re-authenticating');
    }
  }

  /** The adopted token (opts.adopt), kept alive as long as Vault honours it. */
  private async keepAdopted(): Promise<void> {
    const adopted = this.opts.adopt;
    if (!adopted || this.opts.exitAfterAuth || this.wrappedLogin || this.stopped) return;
    this.tokenClient = this.opts.method.authClient?.(this.opts.vault) ?? this.opts.vault;
    let login: LoginResult = adopted;
    let obtainedAtMs = adopted.obtainedAtMs;
    if (adopted.renewable) {
      const outcome = await this.renew(adopted.token, adopted.leaseDurationSeconds);
      if (outcome.kind === 'rejected') return;
      // Unavailable: Vault cannot say no now; keep it on its old numbers (the renewal schedule retries).
      if (outcome.kind === 'renewed') {
        login = { ...adopted, leaseDurationSeconds: outcome.ttlSeconds };
        obtainedAtMs = this.timers.now();
      }
    } else if (!(await this.stillValid(adopted.token))) return;
    if (this.stopped) return;
    this.log.info({ leaseDurationSeconds: login.leaseDurationSeconds, renewable: login.renewable }, 'took over the previous worker\'s auto-auth token');
    this.sinkToken = login.token;
    this.opts.onToken({ ...login, obtainedAtMs });
    await this.keepAlive(login, obtainedAtMs);
    if (!this.stopped) this.log.info('re-authenticating');
  }

  stop(): void {
    this.stopped = true;
    this.stopResolve();
    this.wakeUp();
  }

  /** ext_proc saw a 403 for a request carrying the auto-auth token: verify the token soon. */
  suspect(): void {
    this.suspected = true;
    this.wakeUp();
  }

  private newWake(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeResolve = resolve;
    });
  }

  private wakeUp(): void {
    this.wakeResolve();
    this.wake = this.newWake();
  }

  private sleep(ms: number): Promise<void> {
    return this.timers.sleep(Math.max(0, ms), this.wake);
  }

  /**
   * Vault Agent with a wrapped login: the wrapping token goes to the sinks, then auto-auth pauses —
   * no renewal, no token for ext_proc — until new credentials (enable_reauth_on_new_credentials)
   * or stop. False when done (stopped, or exit_after_auth).
   */
  private async deliverWrapped(wrapInfoJson: string): Promise<boolean> {
    this.sinkToken = wrapInfoJson;
    const written = await this.writeSinks(wrapInfoJson);
    if (this.opts.exitAfterAuth) {
      if (!written && !(await this.retrySinks(wrapInfoJson))) return false;
      this.log.info('authenticated; exit_after_auth is set, exiting');
      this.opts.onExit(0, 'exit_after_auth');
      return false;
    }
    if (!written) void this.retrySinks(wrapInfoJson);
    this.log.info('the login was response-wrapped: the wrapping token is in the sink; pausing until new credentials');
    while (!this.stopped && !this.credentialsChanged) {
      this.suspected = false; // nothing to check: the token is not ours to use
      await this.sleep(2 ** 31 - 1);
    }
    if (!this.stopped) this.log.info('the method found new credentials; logging in again');
    return !this.stopped;
  }

  /** Logs in, retrying with backoff; undefined only when stopped. */
  private async authenticate(): Promise<(LoginResult & { wrapped?: string }) | undefined> {
    const backoff = new Backoff(this.opts.minBackoffMs, this.opts.maxBackoffMs, this.random);
    while (!this.stopped) {
      // This attempt reads the credential files as they are now: a change seen before it is consumed.
      this.credentialsChanged = false;
      try {
        // A method may log in through a client of its own (cert: its client certificate); the token
        // is renewed and checked through the same client, as Vault Agent does.
        this.tokenClient = this.opts.method.authClient?.(this.opts.vault) ?? this.opts.vault;
        const result = await this.opts.method.login(this.wrappedLogin?.client(this.tokenClient) ?? this.tokenClient);
        if (this.wrappedLogin) {
          // wrap_ttl: what goes on is the wrap_info; the method's "token" is the wrapping token.
          const wrapped = this.wrappedLogin.wrapInfoJson();
          if (wrapped === undefined) throw new Error('wrap_ttl is set but the login response was not wrapped (no wrap_info)');
          this.opts.onMetric?.({ metric: 'auth_success' });
          this.log.info('authenticated; the response is wrapped');
          return { ...result, wrapped };
        }
        this.opts.onMetric?.({ metric: 'auth_success' });
        this.log.info({ leaseDurationSeconds: result.leaseDurationSeconds, renewable: result.renewable }, 'authenticated');
        return result;
      } catch (err) {
        const delayMs = backoff.next();
        this.opts.onMetric?.({ metric: 'auth_failure' });
        this.log.warn({ attempt: backoff.attempts, retryInMs: delayMs, err: describeError(err) }, 'authentication failed');
        if (this.opts.exitOnError) {
          this.opts.onExit(1, 'authentication failed and exit_on_err is set');
          return undefined;
        }
        // Only stop() ends a backoff early: neither a suspicion nor new credentials make a login storm.
        await this.timers.sleep(delayMs, this.stopWake);
      }
    }
    return undefined;
  }

  /** Writes every sink once; false when any failed (each failure is logged). */
  private async writeSinks(token: string): Promise<boolean> {
    let failed = 0;
    for (const writer of this.sinkWriters) {
      try {
        await writer.write(token, this.opts.vault);
      } catch (err) {
        failed++;
        this.log.error({ path: writer.sink.path, err: errorMessage(err) }, 'writing the token sink failed; retrying it without logging in again');
      }
    }
    if (failed === 0 && this.opts.sinks.length > 0) this.log.info({ sinks: this.opts.sinks.length }, 'token written to sinks');
    return failed === 0;
  }

  /**
   * Writes the sinks again with backoff until they take `token`; gives up (false) when a newer
   * token replaced it or on stop.
   */
  private async retrySinks(token: string): Promise<boolean> {
    const backoff = new Backoff(this.opts.minBackoffMs, this.opts.maxBackoffMs, this.random);
    while (!this.stopped && this.sinkToken === token) {
      await this.timers.sleep(backoff.next(), this.stopWake);
      if (this.stopped || this.sinkToken !== token) return false;
      if (await this.writeSinks(token)) return true;
    }
    return false;
  }

  /**
   * Keeps a token alive until a new login is needed. Renewal follows Vault's lifetime watcher:
   * a grace of 10–20 % of the lease; sleep ⅔ of what is left plus a third of the grace, then
   * renew-self. Log in again when renewal is refused, when it stops extending the token (max
   * TTL), a grace before a non-renewable token expires, or when a suspected token is invalid.
   */
  private async keepAlive(login: LoginResult, obtainedAtMs: number): Promise<void> {
    const ttlMs = login.leaseDurationSeconds * 1000;
    const renewable = login.renewable && ttlMs > 0;
    const graceMs = ttlMs * (0.1 + 0.1 * this.random());
    let expiresAtMs = ttlMs > 0 ? obtainedAtMs + ttlMs : Infinity;
    let nextAtMs: number;
    if (!renewable) {
      nextAtMs = expiresAtMs - graceMs;
    } else {
      const plan = renewalDelayMs(ttlMs, graceMs);
      if (plan === undefined) return;
      nextAtMs = obtainedAtMs + plan;
    }
    const backoff = new Backoff(this.opts.minBackoffMs, this.opts.maxBackoffMs, this.random);
    while (!this.stopped) {
      const woken = await this.sleepUntil(nextAtMs);
      if (this.stopped) return;
      if (woken) {
        if (this.credentialsChanged) {
          this.log.info('the method found new credentials; logging in again');
          return;
        }
        if (this.consumeSuspicion() && !(await this.stillValid(login.token))) {
          this.log.warn('the auto-auth token is no longer valid');
          return;
        }
        continue;
      }
      if (this.timers.now() >= expiresAtMs) {
        this.log.warn('the auto-auth token expired');
        return;
      }
      if (!renewable) return; // a grace before expiry: log in again
      const outcome = await this.renew(login.token, login.leaseDurationSeconds);
      if (outcome.kind === 'rejected') return;
      if (outcome.kind === 'unavailable') {
        nextAtMs = Math.min(this.timers.now() + backoff.next(), expiresAtMs);
        continue;
      }
      backoff.reset();
      const now = this.timers.now();
      expiresAtMs = now + outcome.ttlSeconds * 1000;
      if (!this.stopped) this.opts.onRenewed?.({ leaseDurationSeconds: outcome.ttlSeconds, renewable: login.renewable, obtainedAtMs: now });
      const plan = renewalDelayMs(outcome.ttlSeconds * 1000, graceMs);
      if (plan === undefined) {
        this.log.info({ ttlSeconds: outcome.ttlSeconds }, 'renewal no longer extends the token (max TTL near); logging in again');
        return;
      }
      nextAtMs = now + plan;
    }
  }

  /** Sleeps until `atMs`; true when woken early (suspicion or stop). */
  private async sleepUntil(atMs: number): Promise<boolean> {
    if (this.suspected || this.stopped || this.credentialsChanged) return true;
    const maxTimerMs = 2 ** 31 - 1;
    while (!this.stopped && !this.suspected && !this.credentialsChanged) {
      const left = atMs - this.timers.now();
      if (left <= 0) return false;
      await this.sleep(Math.min(left, maxTimerMs));
    }
    return true;
  }

  /**
   * enable_reauth_on_new_credentials: stats the method's credential files every credentialPollMs,
   * and polls its credentialFingerprint() (if any) every method.credentialPollMs, and flags a change
   * (then wakes keepAlive, which logs in again). A file that appears or whose identity, size or
   * times change is new; one that disappears is not (a method may remove it after reading, as
   * remove_secret_id_file_after_reading and remove_jwt_after_reading do); likewise a fingerprint
   * that becomes undefined (no credentials now) is nothing new to log in with.
   */
  private async watchCredentials(): Promise<void> {
    if (!this.opts.reauthOnNewCredentials) return;
    const method = this.opts.method;
    const watches: Array<Promise<void>> = [];
    const files = method.credentialFiles?.bind(method);
    if (files) {
      const pollMs = this.opts.credentialPollMs ?? CREDENTIAL_POLL_MS;
      this.log.info({ files: files().length, pollMs }, 'watching the credential files for changes (enable_reauth_on_new_credentials)');
      watches.push(this.pollForChanges(pollMs, async () => {
        const now = new Map<string, string | undefined>();
        for (const file of files()) now.set(file, await fileSignature(file));
        return now;
      }));
    }
    const fingerprint = method.credentialFingerprint?.bind(method);
    if (fingerprint) {
      const pollMs = method.credentialPollMs ?? this.opts.credentialPollMs ?? CREDENTIAL_POLL_MS;
      this.log.info({ pollMs }, 'polling the method\'s credentials for changes (enable_reauth_on_new_credentials)');
      watches.push(this.pollForChanges(pollMs, async () => new Map([['credentials', await fingerprint()]])));
    }
    await Promise.all(watches);
  }

  /**
   * Reads `current` every `pollMs` and flags new credentials when a value that was seen before
   * changes to another defined value. The first reading is the baseline.
   */
  private async pollForChanges(pollMs: number, current: () => Promise<Map<string, string | undefined>>): Promise<void> {
    const seen = new Map<string, string>(); // source -> signature, or '' while absent
    const scan = async (): Promise<string[]> => {
      const changed: string[] = [];
      for (const [source, value] of await current()) {
        const now = value ?? '';
        const before = seen.get(source);
        seen.set(source, now);
        if (before !== undefined && now !== '' && now !== before) changed.push(source);
      }
      return changed;
    };
    await scan().catch(() => []);
    while (!this.stopped) {
      await this.timers.sleep(pollMs, this.stopWake);
      if (this.stopped) return;
      const changed = await scan().catch(() => []);
      if (changed.length > 0) {
        this.log.info({ sources: changed }, 'new credentials');
        this.credentialsChanged = true;
        this.wakeUp();
      }
    }
  }

  private consumeSuspicion(): boolean {
    if (!this.suspected) return false;
    this.suspected = false;
    const now = this.timers.now();
    if (now - this.lastSuspectCheckMs < SUSPECT_MIN_INTERVAL_MS) return false;
    this.lastSuspectCheckMs = now;
    this.log.info('a request with the auto-auth token was refused; checking the token');
    return true;
  }

  private async renew(token: string, incrementSeconds: number): Promise<{ kind: 'renewed'; ttlSeconds: number } | { kind: 'rejected' } | { kind: 'unavailable' }> {
    try {
      const reply = await this.tokenClient.request({
        method: 'POST', path: VAULT_PATHS.renewSelf, token, body: { increment: incrementSeconds }, retry: false,
      });
      const ttlSeconds = reply.body?.auth?.lease_duration ?? 0;
      this.opts.onMetric?.({ metric: 'renewal', kind: 'auth', outcome: 'success' });
      this.log.debug({ ttlSeconds }, 'auto-auth token renewed');
      return { kind: 'renewed', ttlSeconds };
    } catch (err) {
      this.opts.onMetric?.({ metric: 'renewal', kind: 'auth', outcome: 'failure' });
      if (err instanceof VaultResponseError && err.status >= 400 && err.status < 500) {
        this.log.warn({ err: describeError(err) }, 'renewing the auto-auth token was refused');
        return { kind: 'rejected' };
      }
      this.log.warn({ err: describeError(err) }, 'renewing the auto-auth token failed; retrying');
      return { kind: 'unavailable' };
    }
  }

  /** lookup-self: false only when Vault says 403 (revoked, expired or unknown token). */
  private async stillValid(token: string): Promise<boolean> {
    return this.tokenClient.request({ path: VAULT_PATHS.lookupSelf, token, retry: false }).then(
      () => true,
      (err: unknown) => !(err instanceof VaultResponseError && err.status === 403),
    );
  }
}

/**
 * Vault's lifetime-watcher schedule: sleep ⅔ of the lease plus a third of the grace; undefined
 * when that would land inside the grace period (the lease no longer extends: log in again).
 */
export function renewalDelayMs(ttlMs: number, graceMs: number): number | undefined {
  const sleepMs = (ttlMs * 2) / 3 + graceMs / 3;
  if (ttlMs <= graceMs || ttlMs - sleepMs <= graceMs) return undefined;
  return sleepMs;
}

/** What tells a credential file's versions apart (stat follows symlinks); undefined when absent. */
async function fileSignature(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof VaultResponseError) return { code: err.code, status: err.status, message: err.message };
  if (err instanceof Error) return { code: (err as { code?: string }).code, message: err.message };
  return { message: String(err) };
}
