// The fleet's one Redis connection: node-redis (`redis` 6, RESP3), configured so that Redis
// trouble never takes the process down and never parks work:
// - the offline queue is off: a command while disconnected rejects at once (ClientOfflineError),
//   and commands in flight when the connection drops reject with the drop;
// - every command has a timeout (commandTimeoutMs), also once sent, so a Redis that accepts but
//   never answers cannot hold a caller forever;
// - reconnects never stop, spaced by capped exponential backoff with jitter (worker/backoff.ts), so
//   a fleet does not hammer a Redis that is coming back;
// - the `error` event always has a listener (node-redis throws an unheard `error`);
// - `up`/`down` are emitted on transitions only, for /readyz, metrics and the owner lease.
// The URL may carry a password: it is taken out of the URL, handed to the client separately and
// never logged (`target` is the redacted URL); error messages are scrubbed of it as well.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { AppError, errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { Backoff } from '../worker/backoff.js';
import { FLEET_DEFAULTS, redactRedisUrl } from '../config/fleet.js';

export interface FleetRedisTlsFiles {
  /** PEM bundle of the CAs that may sign Redis's certificate (default: the system's). */
  caFile?: string;
  /** Client certificate and key, for a Redis with `tls-auth-clients yes`. */
  certFile?: string;
  keyFile?: string;
  /** Name to verify in Redis's certificate when it differs from the URL's host. */
  serverName?: string;
}

export interface FleetRedisOptions {
  /** redis://host:port/db or rediss://host:port/db (TLS). May carry user:password (prefer the fields). */
  url: string;
  /** ACL user (Redis 6+); default: the URL's user, else Redis's `default`. */
  username?: string;
  /** The password (`requirepass` or the ACL user's); default: the URL's. */
  password?: string;
  /** TLS files; with any of them, TLS is used even for a redis:// URL. */
  tls?: FleetRedisTlsFiles;
  /** Prefix of every key this replica writes (default `vxp:`): several fleets can share one Redis. */
  keyPrefix?: string;
  /** Each command fails after this long without an answer (default 2000). */
  commandTimeoutMs?: number;
  /** A connection attempt fails after this long (default 2000). */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap (default 100 and 5000). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  logger?: Logger;
}

export const DEFAULT_KEY_PREFIX = FLEET_DEFAULTS.keyPrefix;

/** The client node-redis builds for us (RESP3, no offline queue). */
export type RedisConnection = ReturnType<typeof createClient>;

interface FleetRedisEvents {
  up: [];
  down: [reason: string];
}

export { redactRedisUrl };

/** The URL's parts node-redis needs, credentials taken out. */
function splitUrl(url: string): { bare: string; username: string | undefined; password: string | undefined; tls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('CONFIG_INVALID', `fleet redis url is not a URL: ${redactRedisUrl(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new AppError('CONFIG_INVALID', `fleet redis url must be redis:// or rediss://, not ${u.protocol}//`);
  }
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  return { bare: u.toString(), username, password, tls: u.protocol === 'rediss:' };
}

export class FleetRedis extends EventEmitter<FleetRedisEvents> {
  readonly client: RedisConnection;
  readonly keyPrefix: string;
  /** The URL without its password: what logs and errors may name. */
  readonly target: string;
  readonly commandTimeoutMs: number;
  private readonly password: string | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger | undefined;
  private up = false;
  private started = false;
  private closed = false;
  /** The last error of the current outage, scrubbed (for `down` and for the log). */
  private lastError = 'not connected yet';
  /** Whether the current outage (or the failing start) was logged at warn already. */
  private outageLogged = false;

  constructor(opts: FleetRedisOptions) {
    super();
    const parts = splitUrl(opts.url);
    if (opts.password !== undefined && parts.password !== undefined) {
      throw new AppError('CONFIG_INVALID', 'fleet redis password is given twice (in the url and as a setting); keep one');
    }
    this.password = opts.password ?? parts.password;
    const username = opts.username ?? parts.username;
    this.target = redactRedisUrl(opts.url);
    this.keyPrefix = opts.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 2_000;
    this.backoff = new Backoff(opts.reconnectMinMs ?? 100, opts.reconnectMaxMs ?? 5_000);
    this.log = opts.logger?.child({ component: 'fleet-redis' });
    const tlsFiles = opts.tls;
    const useTls = parts.tls || (tlsFiles !== undefined && Object.values(tlsFiles).some((v) => v !== undefined));
    const read = (f: string | undefined): Buffer | undefined => (f === undefined ? undefined : readFileSync(f));
    const connectTimeout = opts.connectTimeoutMs ?? 2_000;
    const reconnectStrategy = (): number => this.backoff.next();

    this.client = createClient({
      url: parts.bare,
      ...(username !== undefined ? { username } : {}),
      ...(this.password !== undefined ? { password: this.password } : {}),
      RESP: 3,
      disableOfflineQueue: true,
      // rejectInFlight: the timeout also covers a command already sent (node-redis times out only
      // unsent ones by default), so a Redis that hangs with the connection open cannot park a
      // caller; the late reply is discarded. Blocking commands (BLPOP, XREAD BLOCK) are exempt.
      commandOptions: { timeout: this.commandTimeoutMs, rejectInFlight: true },
      socket: useTls
        ? {
          tls: true,
          connectTimeout,
          reconnectStrategy,
          ...(tlsFiles?.caFile ? { ca: read(tlsFiles.caFile) } : {}),
          ...(tlsFiles?.certFile ? { cert: read(tlsFiles.certFile) } : {}),
          ...(tlsFiles?.keyFile ? { key: read(tlsFiles.keyFile) } : {}),
          ...(tlsFiles?.serverName ? { servername: tlsFiles.serverName } : {}),
        }
        : { connectTimeout, reconnectStrategy },
    }) as RedisConnection;

    this.client.on('error', (err: unknown) => this.onError(err));
    this.client.on('ready', () => this.onReady());
    this.client.on('reconnecting', () => this.markDown());
    this.client.on('end', () => this.markDown('closed'));
  }

  /** Whether the connection is ready for commands now. */
  get isUp(): boolean {
    return this.up;
  }

  /** `name` under this fleet's prefix. */
  key(name: string): string {
    return `${this.keyPrefix}${name}`;
  }

  /**
   * Starts connecting and returns at once: a Redis that is down at start is retried in the
   * background (`up` says when it is there). Never throws for a Redis problem.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.client.connect().catch((err: unknown) => {
      // Only a close() during the first attempt ends connect() with an error; the error was heard.
      if (!this.closed) this.log?.warn({ target: this.target, reason: this.scrub(err) }, 'redis connect ended');
    });
  }

  /** Resolves true when up, false after `timeoutMs` without it. */
  async untilUp(timeoutMs: number): Promise<boolean> {
    if (this.up) return true;
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this.off('up', onUp);
        resolve(v);
      };
      const onUp = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.on('up', onUp);
    });
  }

  /** `err`'s message with the password (if any) cut out: what may be logged or passed on. */
  scrub(err: unknown): string {
    const msg = errorMessage(err);
    return this.password ? msg.split(this.password).join('[redacted]') : msg;
  }

  /** Closes the connection (pending commands get `closeTimeoutMs` to finish) and stops reconnecting. */
  async close(closeTimeoutMs = 1_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.started) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.close(),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, closeTimeoutMs); }),
      ]);
    } catch {
      // closing an already closed client: nothing to do
    } finally {
      clearTimeout(timer);
      this.client.destroy();
    }
    this.markDown('closed');
  }

  private onReady(): void {
    this.backoff.reset();
    if (this.up) return;
    this.up = true;
    this.outageLogged = false;
    this.log?.info({ target: this.target }, 'redis up');
    this.emit('up');
  }

  private onError(err: unknown): void {
    this.lastError = this.scrub(err);
    if (this.up) {
      this.markDown();
    } else if (!this.outageLogged && !this.closed) {
      this.outageLogged = true;
      this.log?.warn({ target: this.target, reason: this.lastError }, 'redis unreachable');
    } else {
      this.log?.debug({ target: this.target, reason: this.lastError }, 'redis still down');
    }
  }

  private markDown(reason = this.lastError): void {
    if (!this.up) return;
    this.up = false;
    this.outageLogged = true;
    this.log?.warn({ target: this.target, reason }, 'redis down');
    this.emit('down', reason);
  }
}
