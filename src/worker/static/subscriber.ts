import WebSocket from 'ws';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultConnection } from '../../vault/client.js';
import { Backoff } from '../backoff.js';

export const EVENTS_SUBSCRIBE_PATH = '/v1/sys/events/subscribe/kv*';
/** A frame larger than this is dropped (KV events are a few hundred bytes). */
const MAX_FRAME_BYTES = 1024 * 1024;

export interface SubscriberOptions {
  /** The HTTP client's own connection settings (VaultClient.connection): same origin, same TLS. */
  connection: VaultConnection;
  token(): string | undefined;
  onFrame(frame: string): void;
  /** Connected (first time or again): everything cached must be read again, events may have been missed. */
  onConnected(): void;
  onDisconnected?(): void;
  /** Events are unavailable (404 on Vault CE ≥ 1.16 / OpenBao, or no permission); called on each change of state. */
  onAvailability(available: boolean, reason?: string): void;
  onInvalidToken(): void;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Subscribes to Vault's KV events over a WebSocket with the auto-auth token (set anew on every
 * connect), reconnecting with jittered exponential backoff.
 */
export class KvEventSubscriber {
  private ws: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private available: boolean | undefined;
  private readonly backoff: Backoff;
  /** The token the current connection was opened with. */
  private connectedWith: string | undefined;

  constructor(private readonly opts: SubscriberOptions) {
    this.backoff = new Backoff(opts.minBackoffMs ?? 1_000, opts.maxBackoffMs ?? 300_000);
  }

  start(): void {
    this.connect();
  }

  /**
   * The auto-auth token changed (re-login): a subscription opened with the old token may be dead
   * (Vault drops a revoked token's events), so subscribe again now with the new one.
   */
  tokenChanged(): void {
    if (this.stopped || this.opts.token() === this.connectedWith) return;
    const old = this.ws;
    this.ws = undefined;
    old?.terminate();
    this.backoff.reset();
    if (this.timer) clearTimeout(this.timer);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.terminate();
  }

  private retry(delayMs = this.backoff.next()): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  private setAvailable(available: boolean, reason?: string): void {
    if (this.available === available) return;
    this.available = available;
    this.opts.onAvailability(available, reason);
  }

  private connect(): void {
    if (this.stopped) return;
    const token = this.opts.token();
    if (!token) {
      this.retry(250);
      return;
    }
    const { connection } = this.opts;
    const base = new URL(connection.origin);
    base.protocol = connection.secure ? 'wss:' : 'ws:';
    const url = `${base.origin}${EVENTS_SUBSCRIBE_PATH}?json=true&namespaces=*`;
    this.connectedWith = token;
    const ws = new WebSocket(url, {
      headers: { 'x-vault-token': token },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      ...(connection.secure ? connection.tls : {}),
    });
    this.ws = ws;
    const log = this.opts.log;
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.ws = undefined;
        ws.terminate();
        if (res.statusCode === 403 && body.includes('invalid token')) {
          this.opts.onInvalidToken();
          this.retry();
        } else if (res.statusCode === 403) {
          // Older Vaults say only "permission denied" for a revoked token too: have the token checked;
          // if it is fine, the policy lacks the subscribe grants.
          this.opts.onInvalidToken();
          this.setAvailable(false, 'the auto-auth token may not subscribe to KV events (403): grant read on sys/events/subscribe/kv* and subscribe on the KV paths');
          this.retry(this.opts.maxBackoffMs ?? 300_000);
        } else if (res.statusCode === 404) {
          this.setAvailable(false, 'Vault has no event endpoint (404): Vault Community ≥ 1.16 and OpenBao do not serve KV events');
          this.retry(this.opts.maxBackoffMs ?? 300_000);
        } else {
          log.warn({ status: res.statusCode }, 'subscribing to KV events failed; retrying');
          this.retry();
        }
      });
    });
    ws.on('open', () => {
      this.backoff.reset();
      this.setAvailable(true);
      log.info('subscribed to KV events');
      this.opts.onConnected();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        log.warn('skipping a binary frame on the KV event stream');
        return;
      }
      this.opts.onFrame(data.toString());
    });
    ws.on('error', (err) => {
      log.warn({ err: errorMessage(err) }, 'KV event stream error');
    });
    ws.on('close', (code) => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = undefined;
      this.opts.onDisconnected?.();
      if (this.available) log.warn({ code }, 'KV event stream closed; reconnecting');
      this.retry();
    });
  }
}
