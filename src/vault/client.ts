import { urlToHttpOptions } from 'node:url';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { AppError, VaultResponseError, VaultUnreachableError } from '../errors.js';
import type { VaultConfig } from '../config/types.js';
import { HEADERS } from './paths.js';
import type { VaultEnvelope } from './types.js';

export interface VaultRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST';
  /** Path below /v1/, e.g. `auth/token/renew-self` (it may end in `?query`, unless `decodedPath`). */
  path: string;
  /**
   * `path` is a decoded Vault path, as Vault reads `URL.Path` (a cached key, a template's path): it is
   * sent escaped as Go's `url.URL{Path: p}.EscapedPath()` does (`\`, `%`, `?`, `#`, spaces escaped),
   * never resolved as a URL (`..`, `\` and `%2e` are not path syntax to Vault), so Vault reads
   * exactly that path. `query` is then the query, already encoded.
   */
  decodedPath?: boolean;
  query?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** false for auto-auth's own calls: it has its own backoff, as in Vault Agent. */
  retry?: boolean;
}

export interface VaultReply<D = Record<string, unknown>> {
  status: number;
  /** Parsed JSON envelope; undefined for 204 and empty bodies. */
  body: VaultEnvelope<D> | undefined;
}

export interface RawReply {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** TLS settings for Vault, the same for its HTTP API and its event websocket. */
export interface VaultTlsOptions {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

/**
 * How to reach Vault: its origin and the `vault` block's TLS settings (ca_cert, ca_path,
 * client_cert/client_key, tls_server_name, tls_skip_verify), files read once. Both the HTTP client
 * and the KV-event websocket connect with exactly this.
 */
export interface VaultConnection {
  /** `https://host:port` (no path). */
  readonly origin: string;
  readonly secure: boolean;
  readonly tls: VaultTlsOptions;
  readonly warnings: readonly string[];
}

/** One problem with the `vault` block's TLS files: the config key and what is wrong. */
export interface VaultTlsProblem {
  key: 'ca_cert' | 'ca_path' | 'client_cert' | 'client_key';
  message: string;
}

/**
 * Reads the TLS files of the `vault` block, as Vault's client does at start: every file must be
 * readable and hold what it should (PEM certificates; a key matching the client certificate).
 * Returns the connection, or every problem found.
 */
export function readVaultConnection(config: VaultConfig): { connection: VaultConnection; problems: VaultTlsProblem[] } {
  const problems: VaultTlsProblem[] = [];
  const read = (key: VaultTlsProblem['key'], path: string): Buffer | undefined => {
    try {
      if (statSync(path).isDirectory()) {
        problems.push({ key, message: `${path} is a directory, not a file` });
        return undefined;
      }
      return readFileSync(path);
    } catch (err) {
      problems.push({ key, message: `cannot read ${path}: ${fileError(err)}` });
      return undefined;
    }
  };
  const ca: Buffer[] = [];
  if (config.caCert) {
    const pem = read('ca_cert', config.caCert);
    if (pem) {
      if (certificateCount(pem) === 0) problems.push({ key: 'ca_cert', message: `${config.caCert} holds no PEM certificate` });
      else ca.push(pem);
    }
  }
  if (config.caPath) {
    // As Vault's client: every file of the directory must hold PEM certificates.
    try {
      const files = readdirSync(config.caPath, { withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => e.name).sort();
      for (const name of files) {
        const pem = read('ca_path', join(config.caPath, name));
        if (pem && certificateCount(pem) === 0) problems.push({ key: 'ca_path', message: `${join(config.caPath, name)} holds no PEM certificate` });
        else if (pem) ca.push(pem);
      }
      if (files.length === 0) problems.push({ key: 'ca_path', message: `${config.caPath} holds no certificate file` });
    } catch (err) {
      problems.push({ key: 'ca_path', message: `cannot read the directory ${config.caPath}: ${fileError(err)}` });
    }
  }
  const cert = config.clientCert ? read('client_cert', config.clientCert) : undefined;
  const key = config.clientKey ? read('client_key', config.clientKey) : undefined;
  if (cert && key) {
    try {
      tls.createSecureContext({ cert, key });
    } catch (err) {
      problems.push({ key: 'client_key', message: `${config.clientKey} is not the key of the client certificate ${config.clientCert}, or either is not PEM: ${errorMessageOf(err)}` });
    }
  }
  const base = new URL(config.address);
  const warnings: string[] = [];
  const secure = base.protocol === 'https:';
  if (secure && config.tlsSkipVerify) warnings.push('tls_skip_verify is set: Vault\'s certificate is not verified');
  return {
    connection: {
      origin: base.origin,
      secure,
      tls: {
        ...(ca.length ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
        rejectUnauthorized: !config.tlsSkipVerify,
      },
      warnings,
    },
    problems,
  };
}

/** The connection for a config; throws (CONFIG_INVALID) naming every unreadable or invalid TLS file. */
export function vaultConnection(config: VaultConfig): VaultConnection {
  const { connection, problems } = readVaultConnection(config);
  if (problems.length > 0) {
    throw new AppError('CONFIG_INVALID', problems.map((p) => `vault > ${p.key}: ${p.message}`).join('; '));
  }
  return connection;
}

function certificateCount(pem: Buffer): number {
  return (pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
}

function fileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return errorMessageOf(err);
}

function errorMessageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The worker's HTTP client to Vault: keep-alive, TLS per the vault stanza, typed errors. */
export class VaultClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly maxRetries: number;
  /** Where and how to connect; the KV-event websocket uses the same. */
  readonly connection: VaultConnection;

  /** Throws (CONFIG_INVALID) when a TLS file of the vault block cannot be read or is not what it should be. */
  constructor(
    config: VaultConfig,
    private readonly defaultTimeoutMs = 30_000,
    /** Retries wait attempt × 1–1.5 × this (Vault's linear jitter backoff). */
    private readonly retryBaseMs = 1_000,
  ) {
    this.connection = vaultConnection(config);
    this.base = new URL(this.connection.origin);
    this.maxRetries = Math.max(0, config.numRetries);
    this.agent = this.connection.secure
      ? new https.Agent({ keepAlive: true, ...this.connection.tls })
      : new http.Agent({ keepAlive: true });
  }

  get address(): string {
    return this.base.origin;
  }

  /** Headers sent on every request of this client (withHeaders), before the request's own. */
  private fixedHeaders: Record<string, string> = {};

  /**
   * The same client (connection, agent, retries) sending these headers on every request: the
   * auto-auth method's X-Vault-Namespace on its login and renewals, as Vault Proxy's client.
   */
  withHeaders(headers: Record<string, string>): VaultClient {
    const view = Object.create(this) as VaultClient;
    view.fixedHeaders = { ...this.fixedHeaders, ...headers };
    return view;
  }

  /** `other` sending this client's fixed headers too: a method's own login client keeps the namespace (Vault Agent's cert method copies it). */
  headersOnto(other: VaultClient): VaultClient {
    return Object.keys(this.fixedHeaders).length > 0 ? other.withHeaders(this.fixedHeaders) : other;
  }

  get warnings(): readonly string[] {
    return this.connection.warnings;
  }

  /** Sends a request; resolves for 2xx, rejects with VaultResponseError or VaultUnreachableError. */
  async request<D = Record<string, unknown>>(req: VaultRequest): Promise<VaultReply<D>> {
    const reply = await this.send<D>(req);
    if (reply.status >= 200 && reply.status < 300) return reply;
    const errors = Array.isArray((reply.body as { errors?: unknown } | undefined)?.errors)
      ? ((reply.body as unknown as { errors: unknown[] }).errors.map(String))
      : [];
    throw new VaultResponseError(reply.status, errors, req.path);
  }

  /** Sends a request and resolves with whatever Vault answered; rejects only when Vault is unreachable. */
  async send<D = Record<string, unknown>>(req: VaultRequest): Promise<VaultReply<D>> {
    const raw = await this.raw(req);
    const text = raw.body.toString('utf8');
    if (text.trim() === '') return { status: raw.status, body: undefined };
    try {
      return { status: raw.status, body: JSON.parse(text) as VaultEnvelope<D> };
    } catch {
      throw new AppError('VAULT_BAD_RESPONSE', `Vault answered ${raw.status} with a body that is not JSON for ${req.path}`);
    }
  }

  /**
   * The response as bytes, with lower-case header names. Retried up to `vault { retry { num_retries } }`
   * times on 5xx except 501, and on 412 (Vault Enterprise's stale read), as Vault's own client does.
   */
  async raw(req: VaultRequest): Promise<RawReply> {
    const retries = req.retry === false ? 0 : this.maxRetries;
    for (let attempt = 1; ; attempt++) {
      const reply = await this.rawOnce(req);
      const retryable = (reply.status >= 500 && reply.status !== 501) || reply.status === 412;
      if (!retryable || attempt > retries) return reply;
      await new Promise((r) => setTimeout(r, attempt * this.retryBaseMs * (1 + Math.random() / 2)));
    }
  }

  private rawOnce(req: VaultRequest): Promise<RawReply> {
    const url = { ...urlToHttpOptions(this.base), path: requestTarget(req) };
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { [HEADERS.vaultRequest]: 'true', ...this.fixedHeaders, ...req.headers };
    if (req.token) headers[HEADERS.vaultToken] = req.token;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const transport = this.base.protocol === 'https:' ? https : http;
    const timeoutMs = req.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const r = transport.request({ ...url, method: req.method ?? 'GET', headers, agent: this.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new VaultUnreachableError(req.path, err)));
        res.on('end', () => {
          const out = new Map<string, string>();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
        });
      });
      r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      r.on('error', (err) => reject(new VaultUnreachableError(req.path, err)));
      r.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The request target (path and query) for a request, as it goes on the wire. */
export function requestTarget(req: Pick<VaultRequest, 'path' | 'decodedPath' | 'query'>): string {
  if (req.decodedPath) {
    return `/v1/${goEscapedPath(req.path.replace(/^\/+/, ''))}${req.query ? `?${req.query}` : ''}`;
  }
  const url = new URL(`/v1/${req.path.replace(/^\/+/, '')}`, 'http://vault');
  return `${url.pathname}${url.search}`;
}

/** Go's `(&url.URL{Path: p}).EscapedPath()`: every byte but unreserved characters and `$&+,/:;=@` escaped. */
export function goEscapedPath(p: string): string {
  let out = '';
  for (const byte of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
