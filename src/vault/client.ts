import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { AppError, VaultResponseError, VaultUnreachableError } from '../errors.js';
import type { VaultConfig } from '../config/types.js';
import { HEADERS } from './paths.js';
import type { VaultEnvelope } from './types.js';

export interface VaultRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST';
  /** Path below /v1/, e.g. `auth/token/renew-self`. */
  path: string;
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

/** The worker's HTTP client to Vault: keep-alive, TLS per the vault stanza, typed errors. */
export class VaultClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly tlsWarnings: string[] = [];

  private readonly maxRetries: number;

  constructor(
    config: VaultConfig,
    private readonly defaultTimeoutMs = 30_000,
    /** Retries wait attempt × 1–1.5 × this (Vault's linear jitter backoff). */
    private readonly retryBaseMs = 1_000,
  ) {
    this.base = new URL(config.address);
    this.maxRetries = Math.max(0, config.numRetries);
    if (this.base.protocol === 'https:') {
      this.agent = new https.Agent({ keepAlive: true, ...tlsOptions(config) });
      if (config.tlsSkipVerify) this.tlsWarnings.push('tls_skip_verify is set: Vault\'s certificate is not verified');
    } else {
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  get address(): string {
    return this.base.origin;
  }

  get warnings(): readonly string[] {
    return this.tlsWarnings;
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
    const url = new URL(`/v1/${req.path.replace(/^\/+/, '')}`, this.base);
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { [HEADERS.vaultRequest]: 'true', ...req.headers };
    if (req.token) headers[HEADERS.vaultToken] = req.token;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const transport = this.base.protocol === 'https:' ? https : http;
    const timeoutMs = req.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const r = transport.request(url, { method: req.method ?? 'GET', headers, agent: this.agent, timeout: timeoutMs }, (res) => {
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

function tlsOptions(config: VaultConfig): https.AgentOptions {
  const ca: Buffer[] = [];
  if (config.caCert) ca.push(readFileSync(config.caCert));
  if (config.caPath) {
    for (const name of readdirSync(config.caPath)) {
      if (/\.(pem|crt|cer)$/i.test(name)) ca.push(readFileSync(join(config.caPath, name)));
    }
  }
  return {
    ...(ca.length ? { ca } : {}),
    ...(config.clientCert ? { cert: readFileSync(config.clientCert) } : {}),
    ...(config.clientKey ? { key: readFileSync(config.clientKey) } : {}),
    ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
    rejectUnauthorized: !config.tlsSkipVerify,
  };
}
