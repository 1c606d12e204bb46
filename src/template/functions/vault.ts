/**
 * consul-template's Vault functions as Vault Agent 1.15.6 runs them (dependency/vault_*.go):
 * - `secret "path"` reads (KV version preflight `sys/internal/ui/mounts/<path>`, /data/ inserted
 *   for KV v2 unless the path has data/ or metadata/), `secret "path" "k=v" …` writes;
 * - `secrets "path"` lists (metadata/ inserted for KV v2), keys sorted;
 * - `pkiCert` is in pki.ts.
 * Vault's answers are decoded as its Go client decodes them (numbers as json.Number).
 */
import { createHash } from 'node:crypto';
import { GoStruct } from '../types.js';
import { parseVaultJson } from '../vault-json.js';
import { argString, argStrings, goQuote, isPlainObject, nilStringSlice, stringSlice, GoFuncError } from './go.js';
import { compareBytes } from './encoding.js';
import type { RenderContext, TemplateDependency, VaultAnswer } from './index.js';

/** consul-template's dependency.SecretAuth. */
export class SecretAuth extends GoStruct {
  /** Go types of the fields that may be nil (the engine prints and ranges them as Go's nil). */
  static readonly goFields = { Policies: '[]string', Metadata: 'map[string]string' };
  readonly goTypeName = '*dependency.SecretAuth';
  ClientToken = '';
  Accessor = '';
  Policies: string[] | null = null;
  Metadata: Record<string, string> | null = null;
  LeaseDuration = 0;
  Renewable = false;
}

/** consul-template's dependency.SecretWrapInfo (CreationTime as Vault sent it). */
export class SecretWrapInfo extends GoStruct {
  readonly goTypeName = '*dependency.SecretWrapInfo';
  Token = '';
  TTL = 0;
  CreationTime = '';
  WrappedAccessor = '';
}

/** A failed read/write/list: the template is not rendered (consul-template logs it and retries). */
export class VaultDependencyError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'VaultDependencyError';
  }
}

export interface ApiSecret {
  request_id?: unknown; lease_id?: unknown; lease_duration?: unknown; renewable?: unknown;
  data?: unknown; warnings?: unknown; auth?: unknown; wrap_info?: unknown;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const int = (v: unknown): number => {
  const n = Number(v === undefined || v === null ? 0 : String(v));
  return Number.isFinite(n) ? Math.trunc(n) : 0;
};

function vaultErrorText(method: string, path: string, answer: VaultAnswer): string {
  let errors: string[] = [];
  try {
    const body = JSON.parse(answer.text) as { errors?: unknown };
    if (Array.isArray(body.errors)) errors = body.errors.map(String);
  } catch { /* not JSON */ }
  const head = `Error making API request.\n\nURL: ${method} /v1/${path}\nCode: ${answer.status}.`;
  if (errors.length === 0) return `${head} Raw Message:\n\n${answer.text}`;
  return `${head} Errors:\n\n${errors.map((e) => `* ${e}`).join('\n')}`;
}

/** api.ParseSecret: an empty body is no secret. */
function parseSecretBody(text: string): ApiSecret | null {
  if (text.trim() === '') return null;
  const v = parseVaultJson(text);
  return isPlainObject(v) ? (v as ApiSecret) : null;
}

const hasContent = (s: ApiSecret | null): boolean =>
  s !== null && ((Array.isArray(s.warnings) && s.warnings.length > 0) || (isPlainObject(s.data) && Object.keys(s.data).length > 0));

/** api.Logical's read/list: a 404 is no secret unless its body carries data or warnings. */
function readAnswer(method: string, path: string, answer: VaultAnswer): ApiSecret | null {
  if (answer.status === 404) {
    const s = parseSecretBody(answer.text);
    return hasContent(s) ? s : null;
  }
  if (answer.status >= 400) throw new VaultDependencyError(vaultErrorText(method, path, answer), answer.status);
  return parseSecretBody(answer.text);
}

/** api.Logical's write: a 404 is an error (a 404 body with data is returned with the error too). */
export function writeAnswer(path: string, answer: VaultAnswer): ApiSecret | null {
  if (answer.status >= 400) throw new VaultDependencyError(vaultErrorText('PUT', path, answer), answer.status);
  return parseSecretBody(answer.text);
}

/** dependency.transformSecret. */
export function toSecret(s: ApiSecret): Secret {
  const out = new Secret();
  out.RequestID = str(s.request_id);
  out.LeaseID = str(s.lease_id);
  out.LeaseDuration = int(s.lease_duration);
  out.Renewable = s.renewable === true;
  if (isPlainObject(s.data) && Object.keys(s.data).length > 0) out.Data = s.data;
  if (Array.isArray(s.warnings) && s.warnings.length > 0) out.Warnings = stringSlice(s.warnings.map(str));
  if (isPlainObject(s.auth)) {
    const a = s.auth;
    const auth = new SecretAuth();
    auth.ClientToken = str(a['client_token']);
    auth.Accessor = str(a['accessor']);
    if (Array.isArray(a['policies']) && a['policies'].length > 0) auth.Policies = stringSlice(a['policies'].map(str));
    if (isPlainObject(a['metadata']) && Object.keys(a['metadata']).length > 0) auth.Metadata = Object.fromEntries(Object.entries(a['metadata']).map(([k, v]) => [k, str(v)]));
    auth.LeaseDuration = int(a['lease_duration']);
    auth.Renewable = a['renewable'] === true;
    out.Auth = auth;
  }
  if (isPlainObject(s.wrap_info)) {
    const w = s.wrap_info;
    const wrap = new SecretWrapInfo();
    wrap.Token = str(w['token']);
    wrap.TTL = int(w['ttl']);
    wrap.CreationTime = str(w['creation_time']);
    wrap.WrappedAccessor = str(w['wrapped_accessor']);
    out.WrapInfo = wrap;
  }
  return out;
}

/** consul-template's dependency.Secret (the value `secret` returns). */
export class Secret extends GoStruct {
  /** Go types of the fields that may be nil (a secret without data has a nil Data map, as in Go). */
  static readonly goFields = {
    Data: 'map[string]interface {}', Warnings: '[]string', Auth: '*dependency.SecretAuth', WrapInfo: '*dependency.SecretWrapInfo',
  };
  readonly goTypeName = '*dependency.Secret';
  RequestID = '';
  LeaseID = '';
  LeaseDuration = 0;
  Renewable = false;
  Data: Record<string, unknown> | null = null;
  Warnings: string[] | null = null;
  Auth: SecretAuth | null = null;
  WrapInfo: SecretWrapInfo | null = null;
}

// --- paths ---

/** path.Join of Go (clean: no empty, "." or ".." segments, no trailing slash). */
function goPathJoin(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  if (joined === '') return '';
  const rooted = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') { if (out.length > 0 && out[out.length - 1] !== '..') out.pop(); else if (!rooted) out.push('..'); continue; }
    out.push(seg);
  }
  const s = out.join('/');
  return rooted ? '/' + s : s || '.';
}

/** dependency.shimKVv2Path: insert data/ after the mount unless data/ or metadata/ is there. */
export function shimKVv2Path(rawPath: string, mountPath: string): string {
  if (rawPath === mountPath || rawPath === mountPath.replace(/\/$/, '')) return goPathJoin(mountPath, 'data');
  const p = rawPath.startsWith(mountPath) ? rawPath.slice(mountPath.length) : rawPath;
  if (p.startsWith('data/') || p.startsWith('metadata/')) return rawPath;
  return goPathJoin(mountPath, 'data', p);
}

/** dependency.shimKvV2ListPath: insert metadata/ after the mount unless it is there. */
export function shimKvV2ListPath(rawPath: string, mountPath: string): string {
  const mount = mountPath.replace(/\/$/, '');
  if (rawPath.startsWith(goPathJoin(mount, 'metadata'))) return rawPath;
  if (rawPath === mount) return goPathJoin(mount, 'metadata');
  return goPathJoin(mount, 'metadata', rawPath.startsWith(mount) ? rawPath.slice(mount.length) : rawPath);
}

/** dependency.isKVv2: the mount of `path` and whether it is KV version 2. Any failure is "not v2". */
async function kvMount(ctx: RenderContext, path: string): Promise<{ mountPath: string; v2: boolean }> {
  let answer: VaultAnswer;
  try {
    answer = await ctx.vault.request('GET', `sys/internal/ui/mounts/${path}`);
  } catch {
    return { mountPath: '', v2: false };
  }
  if (answer.status >= 400) return { mountPath: '', v2: false };
  let s: ApiSecret | null;
  try { s = parseSecretBody(answer.text); } catch { return { mountPath: '', v2: false }; }
  if (s === null || !isPlainObject(s.data)) return { mountPath: '', v2: false };
  const mountPath = str(s.data['path']);
  const type = str(s.data['type']);
  const options = s.data['options'];
  const version = isPlainObject(options) ? options['version'] : undefined;
  return { mountPath, v2: version === '2' && type === 'kv' };
}

/** What consul-template's NewVault*Query does to a path: trim spaces and slashes. */
export function cleanPath(s: string): string {
  return s.trim().replace(/^\/+|\/+$/g, '');
}

/** url.Parse of a secret path: the path (unescaped) and the raw query. */
export function splitQuery(s: string): { path: string; query: string } {
  const q = s.indexOf('?');
  const rawPath = q < 0 ? s : s.slice(0, q);
  let query = q < 0 ? '' : s.slice(q + 1);
  const hash = query.indexOf('#');
  if (hash >= 0) query = query.slice(0, hash);
  let path = rawPath.split('#')[0]!;
  try { path = decodeURIComponent(path); } catch { throw new GoFuncError(`parse ${goQuote(s)}: invalid URL escape ${goQuote(/%.{0,2}/.exec(path)?.[0] ?? '%')}`); }
  return { path, query: encodeQuery(query) };
}

/** url.Values.Encode: keys sorted, values escaped. */
function encodeQuery(raw: string): string {
  if (raw === '') return '';
  const params = new URLSearchParams(raw);
  const keys = [...new Set([...params.keys()])].sort(compareBytes);
  const esc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keys.flatMap((k) => params.getAll(k).map((v) => `${esc(k)}=${esc(v)}`)).join('&');
}

/** The k=v arguments of secret/pkiCert. */
export function kvArgs(rest: string[]): Record<string, string> {
  const data: Record<string, string> = {};
  for (const s of rest) {
    if (s === '') continue;
    const eq = s.indexOf('=');
    if (eq < 0) throw new GoFuncError(`not k=v pair ${goQuote(s)}`);
    Object.defineProperty(data, s.slice(0, eq).trim(), { value: s.slice(eq + 1).trim(), enumerable: true, writable: true, configurable: true });
  }
  return data;
}

function deletedKVv2(s: ApiSecret, nowMs: number): boolean {
  if (!isPlainObject(s.data)) return false;
  const md = s.data['metadata'];
  if (!isPlainObject(md)) return false;
  const dt = md['deletion_time'];
  if (typeof dt !== 'string' || dt === '') return false;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(dt)) return false;
  const t = Date.parse(dt);
  return Number.isFinite(t) && nowMs > t;
}

function dependencyOf(kind: TemplateDependency['kind'], path: string, secret: Secret, kvVersion?: 1 | 2): TemplateDependency {
  const d: TemplateDependency = { kind, path, leaseId: secret.LeaseID, leaseDurationSeconds: secret.LeaseDuration, renewable: secret.Renewable };
  if (kvVersion !== undefined) d.kvVersion = kvVersion;
  return d;
}

/** dependency.sha1Map: the first 4 bytes of SHA-1 over sorted `k="v"` pairs, in hex. */
function sha1Map(m: Record<string, string>): string {
  const h = createHash('sha1');
  for (const k of Object.keys(m).sort(compareBytes)) h.update(`${k}=${goQuote(m[k]!)}`);
  return h.digest('hex').slice(0, 8);
}

// --- what a render read, for consul-template's error redaction ---

const secretsRead = new WeakMap<RenderContext, Secret[]>();

function remember(ctx: RenderContext, secret: Secret): Secret {
  const list = secretsRead.get(ctx) ?? [];
  list.push(secret);
  secretsRead.set(ctx, list);
  return secret;
}

/** The secrets `secret` returned during renders with this context, in the order they were read. */
export function secretsReadWith(ctx: RenderContext): readonly Secret[] {
  return secretsRead.get(ctx) ?? [];
}

// --- secret ---

async function readSecret(ctx: RenderContext, arg: string, nowMs: number): Promise<Secret> {
  const cleaned = cleanPath(arg);
  if (cleaned === '') throw new GoFuncError(`vault.read: invalid format: ${goQuote(cleaned)}`);
  const { path: rawPath, query } = splitQuery(cleaned);
  const name = query.match(/(?:^|&)version=([^&]*)/) ? `vault.read(${rawPath}.v${decodeURIComponent(/(?:^|&)version=([^&]*)/.exec(query)![1]!)})` : `vault.read(${rawPath})`;
  const mount = await kvMount(ctx, rawPath);
  const secretPath = mount.v2 ? shimKVv2Path(rawPath, mount.mountPath) : rawPath;
  const requestPath = query ? `${secretPath}?${query}` : secretPath;
  const answer = await ctx.vault.request('GET', requestPath);
  let s: ApiSecret | null;
  try {
    s = readAnswer('GET', requestPath, answer);
  } catch (e) {
    throw new VaultDependencyError(`${name}: ${name}: ${(e as Error).message}`, (e as VaultDependencyError).status);
  }
  if (s === null || deletedKVv2(s, nowMs)) throw new VaultDependencyError(`${name}: no secret exists at ${secretPath}`, 404);
  const secret = toSecret(s);
  ctx.used.push(dependencyOf('secret', secretPath, secret, mount.v2 ? 2 : 1));
  return remember(ctx, secret);
}

async function writeSecret(ctx: RenderContext, arg: string, data: Record<string, string>): Promise<Secret | null> {
  const path = cleanPath(arg);
  if (path === '') throw new GoFuncError(`vault.write: invalid format: ${goQuote(path)}`);
  const name = `vault.write(${path} -> ${sha1Map(data)})`;
  const mount = await kvMount(ctx, path);
  const writePath = mount.v2 ? shimKVv2Path(path, mount.mountPath) : path;
  const body = mount.v2 ? { data } : data;
  const answer = await ctx.vault.request('PUT', writePath, body);
  let s: ApiSecret | null;
  try {
    s = writeAnswer(writePath, answer);
  } catch (e) {
    throw new VaultDependencyError(`${name}: ${name}: ${(e as Error).message}`, (e as VaultDependencyError).status);
  }
  if (s === null) {
    if (mount.v2) throw new VaultDependencyError(`${name}: no secret exists at ${path}`, answer.status);
    ctx.used.push({ kind: 'secret', path: writePath, kvVersion: 1 });
    return null;
  }
  const secret = toSecret(s);
  ctx.used.push(dependencyOf('secret', writePath, secret, mount.v2 ? 2 : 1));
  return remember(ctx, secret);
}

// --- secrets ---

async function listSecrets(ctx: RenderContext, arg: string): Promise<string[]> {
  if (arg === '') return nilStringSlice();
  const path = cleanPath(arg);
  if (path === '') throw new GoFuncError(`vault.list: invalid format: ${goQuote(path)}`);
  const name = `vault.list(${path})`;
  const mount = await kvMount(ctx, path);
  const listPath = mount.v2 ? shimKvV2ListPath(path, mount.mountPath) : path;
  const answer = await ctx.vault.request('LIST', listPath);
  let s: ApiSecret | null;
  try {
    s = readAnswer('LIST', listPath, answer);
  } catch (e) {
    throw new VaultDependencyError(`${name}: ${(e as Error).message}`, (e as VaultDependencyError).status);
  }
  ctx.used.push({ kind: 'secrets', path: listPath, ...(mount.v2 ? { kvVersion: 2 as const } : { kvVersion: 1 as const }) });
  if (s === null || !isPlainObject(s.data)) return nilStringSlice();
  if (!Object.prototype.hasOwnProperty.call(s.data, 'keys')) return nilStringSlice();
  const keys = s.data['keys'];
  if (!Array.isArray(keys)) throw new VaultDependencyError(`${name}: unexpected response`);
  if (keys.some((k) => typeof k !== 'string')) throw new VaultDependencyError(`${name}: non-string in list`);
  return keys.length === 0 ? nilStringSlice() : stringSlice([...(keys as string[])].sort(compareBytes));
}

export function vaultFuncs(ctx: RenderContext, now: () => Date) {
  return {
    secret: async (...args: unknown[]): Promise<Secret | null> => {
      const s = argStrings(args);
      if (s.length === 0) return null;
      const [path, ...rest] = s as [string, ...string[]];
      if (rest.length === 0) return readSecret(ctx, path, now().getTime());
      return writeSecret(ctx, path, kvArgs(rest));
    },
    secrets: async (path: unknown): Promise<string[]> => listSecrets(ctx, argString(path)),
  };
}
