// Shared by the adversarial suites: policies, a stack with the caches on in front of a backend,
// tokens, exact requests (rawRequest: method case, path bytes and repeated headers as written),
// and TOTP codes for login MFA. Nothing here logs a token, a secret or a body.
import { createHmac } from 'node:crypto';
import { type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { rawRequest, type RawResponse } from '../../support/raw-http.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../../support/vault-setup.js';

/** Vault Proxy's documented minimum for the auto-auth token: events, list and subscribe, no `read`. */
export const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["list", "subscribe"] subscribe_event_types = ["kv*"] }`;

/** Policies by name, written on every backend the suites start. */
export const POLICIES: Record<string, string> = {
  worker: WORKER_POLICY,
  // A: reads every KV v2 secret and its metadata (and the KV v1 mount kv1/).
  reader: `path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "secret/subkeys/*" { capabilities = ["read"] }
path "kv1/*" { capabilities = ["read"] }`,
  // Reads only under secret/data/app/.
  'reader-app': 'path "secret/data/app/*" { capabilities = ["read"] }',
  // May read the latest version only: a `version` parameter is refused.
  'no-version': `path "secret/data/*" {
  capabilities = ["read"]
  denied_parameters = { "version" = [] }
}`,
  // Must name a version.
  'need-version': `path "secret/data/*" {
  capabilities = ["read"]
  required_parameters = ["version"]
}`,
  // May name version 1 only (allowed_parameters).
  'only-v1': `path "secret/data/*" {
  capabilities = ["read"]
  allowed_parameters = { "version" = ["1"] }
}`,
  // Reads must be response-wrapped.
  'must-wrap': `path "secret/data/*" {
  capabilities = ["read"]
  min_wrapping_ttl = "1s"
}`,
  // M: its own secrets under secret/data/mine/ only.
  mine: 'path "secret/data/mine/*" { capabilities = ["read"] }',
  // The victim of finding 3: a KV v2 mount at ns1/secret.
  'ns-victim': 'path "ns1/secret/data/*" { capabilities = ["read"] }',
  // May create child tokens.
  creator: 'path "auth/token/create" { capabilities = ["update"] }',
};

export interface Res extends RawResponse {
  /** The X-Cache header, or null. */
  cache: string | null;
  json: any;
}

export function withCache(r: RawResponse): Res {
  let json: unknown;
  try { json = r.body ? JSON.parse(r.body) : undefined; } catch { json = undefined; }
  return { ...r, cache: r.headers['x-cache'] ?? null, json };
}

/** A request sent exactly as written (see rawRequest) to `baseUrl` (Envoy or Vault itself). */
export async function send(baseUrl: string, method: string, path: string, headers: Array<[string, string]> = [], body?: string): Promise<Res> {
  return withCache(await rawRequest(baseUrl, { method, path, headers, ...(body === undefined ? {} : { body }) }));
}

/** GET with X-Vault-Token (when given) plus `headers`. */
export async function read(baseUrl: string, path: string, token?: string, headers: Array<[string, string]> = []): Promise<Res> {
  return send(baseUrl, 'GET', path, [...(token ? [['x-vault-token', token] as [string, string]] : []), ...headers]);
}

export async function postJson(baseUrl: string, path: string, token: string | undefined, body: unknown, headers: Array<[string, string]> = []): Promise<Res> {
  return send(baseUrl, 'POST', path, [
    ...(token ? [['x-vault-token', token] as [string, string]] : []), ['content-type', 'application/json'], ...headers,
  ], JSON.stringify(body));
}

/** Writes every policy in POLICIES. */
export async function writePolicies(backend: Backend): Promise<void> {
  for (const [name, hcl] of Object.entries(POLICIES)) await writePolicy(backend, name, hcl);
}

export interface TokenOpts { ttl?: string; numUses?: number; meta?: Record<string, string> }

/** A token made directly in Vault with the root token. */
export async function createToken(backend: Backend, policies: string[], opts: TokenOpts = {}): Promise<{ token: string; accessor: string }> {
  const auth = (await vaultApi(backend, 'POST', 'auth/token/create', {
    policies, ttl: opts.ttl ?? '1h', ...(opts.numUses ? { num_uses: opts.numUses } : {}), ...(opts.meta ? { meta: opts.meta } : {}),
  })).json.auth;
  return { token: auth.client_token as string, accessor: auth.accessor as string };
}

export async function kvWrite(backend: Backend, path: string, data: Record<string, string>): Promise<number> {
  return (await vaultApi(backend, 'POST', `secret/data/${path}`, { data })).json.data.version as number;
}

export interface StackOpts {
  /** Keys of the cache block besides cache_static_secrets. */
  cache?: string;
  /** Off by default: dynamic secrets and logins are not cached. */
  leaseCache?: boolean;
  useAutoAuthToken?: boolean;
  /** Policies of the auto-auth token (default: the minimum, `worker`). */
  workerPolicies?: string[];
  /** Where vault-extproc and Envoy reach Vault, when not the backend's serviceUrl (a DelayGate). */
  vaultUrl?: string;
}

let roles = 0;

/**
 * Envoy + vault-extproc with the static cache on, in front of `backend`; waits for the KV event
 * subscription (or, on a backend without events, for the notice that the worker polls instead).
 */
export async function cacheStack(backend: Backend, stacks: Stack[], opts: StackOpts = {}): Promise<Stack> {
  const creds = await setupAppRole(backend, { role: `adv-worker-${++roles}`, policies: opts.workerPolicies ?? ['worker'] });
  const stack = await startStack({
    vault: { url: backend.url, rootToken: backend.rootToken, serviceUrl: opts.vaultUrl ?? backend.serviceUrl },
    hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
${opts.useAutoAuthToken ? 'api_proxy { use_auto_auth_token = true }' : ''}
cache {
  cache_static_secrets = true
  ${opts.leaseCache ? '' : 'disable_caching_dynamic_secrets = true'}
  ${opts.cache ?? ''}
}
`,
  });
  stacks.push(stack);
  await untilCacheWatching(stack, backend.kind);
  return stack;
}

/** Registers log output on failure for every stack in `stacks` and the backend. */
export function logsOnFailure(stacks: Stack[], backend: () => Backend | undefined): void {
  showLogsOnFailure(() => stacks, backend);
}

/** Reads `path` through Envoy with `token` until it is a HIT (the first read records it). */
export async function cached(stack: Stack, path: string, token?: string, headers: Array<[string, string]> = []): Promise<Res> {
  return waitFor(`a HIT on ${path}`, async () => {
    const r = await read(stack.url, path, token, headers);
    if (r.status !== 200) throw new Error(`reading ${path}: ${r.status}`);
    return r.cache === 'HIT' ? r : undefined;
  }, 5_000, 20);
}

/** The KV v2 secret in an answer (data.data), or undefined. */
export function secretOf(r: Res): unknown {
  return r.json?.data?.data;
}

/** RFC 6238 TOTP (SHA-1, 30 s, 6 digits) for a base32 secret, at `atMs`. */
export function totp(base32Secret: string, atMs = Date.now()): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32Secret.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error('not base32');
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30_000)));
  const mac = createHmac('sha1', bytes).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}
