// What the simulator's gcp and azure auth methods share: role token fields (sdk/helper/tokenutil),
// the login token, RS256 JWTs, and outbound HTTP the way Vault's Go client makes it (HTTPS_PROXY
// and SSL_CERT_FILE honoured, as net/http and crypto/x509 do for a real Vault).
import { createPublicKey, createVerify, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { boolField, durationField, hasField, intField, sanitizePolicies, stringField, stringListField } from './fields.js';
import type { MountEntry } from './mount-table.js';
import { authInfoOf, calculateTtl } from './tokens.js';
import { failWrapped, respond, type Call, type Outcome } from './types.js';

export interface RoleTokenFields {
  tokenPolicies: string[];
  tokenTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  tokenPeriodSeconds: number;
  tokenExplicitMaxTtlSeconds: number;
  tokenNumUses: number;
  tokenNoDefaultPolicy: boolean;
  tokenType: string;
}

export function defaultTokenFields(): RoleTokenFields {
  return {
    tokenPolicies: [], tokenTtlSeconds: 0, tokenMaxTtlSeconds: 0, tokenPeriodSeconds: 0, tokenExplicitMaxTtlSeconds: 0,
    tokenNumUses: 0, tokenNoDefaultPolicy: false, tokenType: 'default',
  };
}

/** tokenutil.ParseTokenFields with the deprecated names (policies, ttl, max_ttl, period, num_uses). */
export function applyTokenFields(p: RoleTokenFields, d: Record<string, unknown>): string | undefined {
  const pick = (modern: string, old: string): string | undefined => (hasField(d, modern) ? modern : hasField(d, old) ? old : undefined);
  const policies = pick('token_policies', 'policies');
  if (policies) p.tokenPolicies = sanitizePolicies(stringListField(d, policies), false);
  const ttl = pick('token_ttl', 'ttl');
  if (ttl) p.tokenTtlSeconds = durationField(d, ttl);
  const maxTtl = pick('token_max_ttl', 'max_ttl');
  if (maxTtl) p.tokenMaxTtlSeconds = durationField(d, maxTtl);
  const period = pick('token_period', 'period');
  if (period) p.tokenPeriodSeconds = durationField(d, period);
  if (hasField(d, 'token_explicit_max_ttl')) p.tokenExplicitMaxTtlSeconds = durationField(d, 'token_explicit_max_ttl');
  const uses = pick('token_num_uses', 'num_uses');
  if (uses) p.tokenNumUses = intField(d, uses, 0);
  if (p.tokenNumUses < 0) return 'token num uses cannot be negative';
  if (hasField(d, 'token_no_default_policy')) p.tokenNoDefaultPolicy = boolField(d, 'token_no_default_policy', false);
  if (hasField(d, 'token_type')) p.tokenType = stringField(d, 'token_type');
  return undefined;
}

/** tokenutil PopulateTokenData. */
export function tokenFieldsData(p: RoleTokenFields): Record<string, unknown> {
  return {
    token_bound_cidrs: [],
    token_explicit_max_ttl: p.tokenExplicitMaxTtlSeconds,
    token_max_ttl: p.tokenMaxTtlSeconds,
    token_no_default_policy: p.tokenNoDefaultPolicy,
    token_num_uses: p.tokenNumUses,
    token_period: p.tokenPeriodSeconds,
    token_policies: p.tokenPolicies,
    token_ttl: p.tokenTtlSeconds,
    token_type: p.tokenType,
  };
}

export interface CloudLogin {
  role: string;
  fields: RoleTokenFields;
  /** The role as it is now (renewal reads it again), or undefined once deleted. */
  current: () => RoleTokenFields | undefined;
  aliasName: string;
  displayName: string;
  metadata: Record<string, string>;
}

/** The login token: an orphan with the role's policies and TTLs, the auth metadata, an entity per alias. */
export function issueCloudLogin(call: Call, mount: MountEntry, l: CloudLogin): Outcome {
  const { state } = call;
  const nowMs = state.now();
  const f = l.fields;
  const result = calculateTtl({
    incrementSeconds: 0, backendTtlSeconds: f.tokenTtlSeconds, periodSeconds: f.tokenPeriodSeconds,
    backendMaxTtlSeconds: f.tokenMaxTtlSeconds, explicitMaxTtlSeconds: f.tokenExplicitMaxTtlSeconds, startMs: nowMs, nowMs,
  });
  if ('error' in result) return failWrapped(500, result.error);
  const entry = state.tokens.create({
    policies: sanitizePolicies(f.tokenPolicies, !f.tokenNoDefaultPolicy),
    parent: '',
    path: `${mount.routePrefix}login`,
    displayName: `${mount.path.replace(/\//g, '-')}${l.displayName}`,
    meta: Object.fromEntries(Object.entries(l.metadata).sort(([a], [b]) => (a < b ? -1 : 1))),
    numUses: f.tokenNumUses,
    ttlSeconds: result.ttlSeconds,
    explicitMaxTtlSeconds: f.tokenExplicitMaxTtlSeconds,
    periodSeconds: f.tokenPeriodSeconds,
    renewable: true,
    type: f.tokenType === 'batch' || f.tokenType === 'default-batch' ? 'batch' : 'service',
    entityId: state.identity.entityForAlias(mount, l.aliasName).id,
    renewFrom: () => {
      const now = l.current();
      if (!now) return `role "${l.role}" no longer exists`;
      return { ttlSeconds: now.tokenTtlSeconds, maxTtlSeconds: now.tokenMaxTtlSeconds, periodSeconds: now.tokenPeriodSeconds };
    },
  });
  return respond({ auth: authInfoOf(entry), warnings: result.warnings });
}

export interface Jws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** A compact JWS, or the number of parts it has when it is not one. */
export function parseJws(token: string): Jws | number {
  const parts = token.split('.');
  if (parts.length !== 3) return parts.length;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return -1;
  }
}

/** Whether an RS256 signature verifies with a PEM certificate/key or a JWK. */
export function rs256Verifies(jws: Jws, key: string | JsonWebKey): boolean {
  try {
    const pub = typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key, format: 'jwk' });
    const v = createVerify('RSA-SHA256');
    v.update(jws.signingInput);
    return v.verify(pub, jws.signature);
  } catch {
    return false;
  }
}

export interface GoReply {
  status: number;
  text: string;
}

/**
 * A GET or POST as a real Vault's Go HTTP client makes it: plain fetch for http and loopback;
 * for https elsewhere, through HTTPS_PROXY (a CONNECT tunnel) when set, trusting SSL_CERT_FILE's
 * CAs when set. Throws on network failures.
 */
export async function goHttp(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<GoReply> {
  const u = new URL(url);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  const proxy = process.env['HTTPS_PROXY'] || process.env['https_proxy'];
  const caFile = process.env['SSL_CERT_FILE'];
  if (u.protocol === 'http:' || loopback || (!proxy && !caFile)) {
    const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, text: await res.text() };
  }
  const ca = caFile ? readFileSync(caFile) : undefined;
  const port = Number(u.port || 443);
  let socket: import('node:net').Socket | undefined;
  if (proxy) {
    socket = await new Promise((resolve, reject) => {
      const p = new URL(proxy);
      const req = http.request({ host: p.hostname, port: Number(p.port || 80), method: 'CONNECT', path: `${u.hostname}:${port}`, timeout: 10_000 });
      req.on('connect', (res, s) => (res.statusCode === 200 ? resolve(s) : reject(new Error(`proxyconnect tcp: ${res.statusCode}`))));
      req.on('error', reject);
      req.end();
    });
  }
  // One connection for this request: over the tunnel when there is one.
  const agent = new https.Agent({ keepAlive: false, ...(ca ? { ca } : {}) });
  if (socket) {
    const tunnel = socket;
    (agent as unknown as { createConnection: () => tls.TLSSocket }).createConnection = () => tls.connect({ socket: tunnel, servername: u.hostname, ...(ca ? { ca } : {}) });
  }
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: u.hostname, port, path: `${u.pathname}${u.search}`, method: init.method ?? 'GET', headers: init.headers,
      servername: u.hostname, ...(ca ? { ca } : {}), timeout: 10_000, agent,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { agent.destroy(); resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    req.on('error', (err) => { agent.destroy(); reject(err); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(init.body);
  });
}
