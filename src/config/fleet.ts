import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { CERT, KEY, readPem } from './files.js';
import { credentialFile, fileError } from './methods/credential-file.js';
import { loadKeys } from './key-file.js';
import type { Problems } from './problems.js';
import type { BlockReader } from './reader.js';

/**
 * `fleet { … }` (ours): many vault-extproc replicas share an encrypted L2 cache in Redis, changes
 * travel on a Redis Stream, and one replica, elected with an owner lease, does the worker's duties
 * (issue 16). Without the block nothing changes: the in-process store stays the only cache.
 *
 *   fleet {
 *     redis_url           = "rediss://vxp@redis.internal:6379/0"
 *     password_file       = "/etc/vault-extproc/redis.password"
 *     tls_ca_file         = "/etc/vault-extproc/redis-ca.pem"
 *     encryption_key_file = "/etc/vault-extproc/fleet.key"   # `openssl rand -base64 32`
 *   }
 *
 * The block is ours, so unlike Vault's blocks an unknown key is an error, not a warning: a
 * misspelt TLS, auth or readiness key must not be silently ignored.
 */
export interface FleetConfig {
  redis: FleetRedisConfig;
  /**
   * encryption_key_file | encryption_key_env_var: exactly one. One key per line (or comma
   * separated), newest first: the newest seals, every key opens (rotation). src/config/key-file.ts.
   */
  keyFile?: string;
  keyEnvVar?: string;
  /** key_prefix (default "vxp:"): every Redis key of this fleet starts with it. */
  keyPrefix: string;
  /** replica_id (default hostname-pid-random): this replica's name in the owner lease and the stream. */
  replicaId: string;
  /**
   * owner_lease_ttl (default 15s, 5s–5m): the owner renews every third of it; when it dies another
   * replica takes over within two. Below 5 s one slow Redis answer (the client waits up to 2 s for
   * each) would cost the owner its lease. The same default as src/fleet/owner-lease.ts.
   */
  ownerLeaseTtlSeconds: number;
  /** required_for_ready (default false): Redis unreachable makes /readyz not-ready (else: ready, degraded). */
  requiredForReady: boolean;
  /**
   * max_stale_without_redis (default 10s, 0–5m): how long after it last heard from Redis a replica
   * still answers from its L1. After that its L1 is dropped and every request goes to Vault until
   * Redis is back. 0: no L1 answer at all while Redis is unreachable.
   */
  maxStaleWithoutRedisSeconds: number;
}

export interface FleetRedisConfig {
  /** redis_url with any password replaced by "***": the only form logs and messages may show. */
  displayUrl: string;
  host: string;
  port: number;
  /** The database number (the URL's path; default 0). */
  database: number;
  /** rediss://: TLS, with the optional files and name. Absent for redis://. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  /** The ACL user: `username`, or the user in redis_url. */
  username?: string;
  /** password_file: the password, read at start (trailing newline dropped). */
  passwordFile?: string;
  /** A password written in redis_url (allowed, with a warning). Never log it or the URL it came in. */
  urlPassword?: string;
}

export const FLEET_DEFAULTS = {
  port: 6379,
  keyPrefix: 'vxp:',
  ownerLeaseTtlSeconds: 15,
  maxStaleWithoutRedisSeconds: 10,
} as const;

export const OWNER_LEASE_TTL_BOUNDS = { min: 5, max: 300 } as const;
export const MAX_STALE_WITHOUT_REDIS_BOUNDS = { min: 0, max: 300 } as const;

const TLS_KEYS = ['tls_ca_file', 'tls_cert_file', 'tls_key_file', 'tls_server_name'] as const;

const KNOWN_KEYS = new Set([
  'redis_url', 'username', 'password_file', ...TLS_KEYS,
  'encryption_key_file', 'encryption_key_env_var',
  'key_prefix', 'replica_id', 'owner_lease_ttl', 'required_for_ready', 'max_stale_without_redis',
]);

/** Keys people will try, with what to write instead. */
const REFUSED: Record<string, string> = {
  password: 'a password is never written in the config: name a file holding it with password_file',
  encryption_key: 'the key is never written in the config: name a file holding it with encryption_key_file (or a variable with encryption_key_env_var)',
  encryption_key_files: 'one file holds every key, one per line, newest first: encryption_key_file',
  tls_skip_verify: 'not offered: give the CA that signed the Redis certificate with tls_ca_file',
};

let generatedReplicaId: string | undefined;

/**
 * This process's replica id when the config names none: the host name (a Kubernetes pod's name),
 * the pid, and a random part (a container restarted in the same pod has the same name and pid 1).
 * Made once per process, so a config reload keeps it.
 */
export function defaultReplicaId(): string {
  generatedReplicaId ??= `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'replica'}-${process.pid}-${randomBytes(3).toString('hex')}`;
  return generatedReplicaId;
}

/**
 * The URL with its password shown as `***`; a user name that is not plainly one is hidden too (it
 * says which ACL user is meant). Everything before the last `@` (after the scheme, if any) is the
 * user part, so a password holding `@`, `/` or `#`, or a URL without a scheme, shows nothing either.
 * The one redaction of a Redis URL: config messages and the Redis client's logs and errors use it.
 */
export function redactRedisUrl(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  const userinfo = text.slice(scheme.length, at);
  const colon = userinfo.indexOf(':');
  const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
  const shownUser = /^[A-Za-z0-9._~%-]*$/.test(user) ? user : '***';
  return `${scheme}${colon >= 0 ? `${shownUser}:***` : shownUser}@${text.slice(at + 1)}`;
}

/** Reads the `fleet` block; undefined without one, or when it is too broken to use (errors recorded). */
export function readFleet(root: BlockReader): FleetConfig | undefined {
  const b = root.block('fleet');
  if (!b) return undefined;
  let ok = true;
  const fail = (key: string, message: string): void => {
    b.error(key, message);
    ok = false;
  };

  const url = b.string('redis_url');
  let redis: FleetRedisConfig | undefined;
  if (url === undefined || url === '') fail(url === undefined ? '' : 'redis_url', 'redis_url is required: redis://host:6379/0, or rediss://host:6379/0 for TLS');
  else redis = parseRedisUrl(url, (m) => fail('redis_url', m));

  // Auth: a user in the URL or `username`; a password in the URL (warned) or in password_file.
  const username = b.string('username') || undefined;
  const passwordFile = b.string('password_file') || undefined;
  if (redis) {
    if (username !== undefined && redis.username !== undefined) fail('username', 'the user is named in both redis_url and username; keep one');
    if (passwordFile !== undefined && redis.urlPassword !== undefined) fail('password_file', 'redis_url holds a password and password_file names another; keep one (password_file keeps it out of the config)');
    if (redis.urlPassword !== undefined && passwordFile === undefined) {
      b.warn('redis_url', `holds a password (${redis.displayUrl}): it is written in the config file; password_file keeps it out`);
    }
    if (username !== undefined) redis.username = username;
    if (passwordFile !== undefined) redis.passwordFile = passwordFile;
    if (redis.username !== undefined && redis.urlPassword === undefined && passwordFile === undefined) {
      fail(username !== undefined ? 'username' : 'redis_url', 'a Redis user needs its password: name a file holding it with password_file');
    }
  }

  // TLS: only with rediss://, which turns it on (the system's CAs unless tls_ca_file is given).
  const tls: NonNullable<FleetRedisConfig['tls']> = {};
  const tlsFiles: Partial<Record<(typeof TLS_KEYS)[number], string>> = {};
  for (const key of TLS_KEYS) {
    const v = b.string(key);
    if (v !== undefined && v !== '') tlsFiles[key] = v;
  }
  if (tlsFiles.tls_ca_file) tls.caFile = tlsFiles.tls_ca_file;
  if (tlsFiles.tls_cert_file) tls.certFile = tlsFiles.tls_cert_file;
  if (tlsFiles.tls_key_file) tls.keyFile = tlsFiles.tls_key_file;
  if (tlsFiles.tls_server_name) tls.serverName = tlsFiles.tls_server_name;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    fail(tls.certFile ? 'tls_key_file' : 'tls_cert_file', 'tls_cert_file and tls_key_file (the client certificate for Redis) must be set together');
  }
  if (redis) {
    const named = Object.keys(tlsFiles);
    if (redis.tls) redis.tls = tls;
    else if (named.length > 0) fail(named[0]!, `TLS to Redis needs a rediss:// URL; redis_url is ${redis.displayUrl}`);
  }

  // The key: a file or a variable, never the config itself.
  const keyFile = b.string('encryption_key_file') || undefined;
  const keyEnvVar = b.string('encryption_key_env_var') || undefined;
  if (!keyFile && !keyEnvVar) fail('', 'encryption_key_file (or encryption_key_env_var) is required: a file holding 32 random bytes in base64 (`openssl rand -base64 32`)');
  if (keyFile && keyEnvVar) fail('encryption_key_env_var', 'set encryption_key_file or encryption_key_env_var, not both');

  const keyPrefix = b.string('key_prefix') ?? FLEET_DEFAULTS.keyPrefix;
  if (!/^[\x21-\x7e]{1,64}$/.test(keyPrefix) || /[*?[\]\\]/.test(keyPrefix)) {
    fail('key_prefix', `must be 1 to 64 printable characters without spaces or the glob characters * ? [ ] \\ (Redis ACLs match it as ~prefix*), got ${JSON.stringify(keyPrefix)}`);
  }
  const replicaId = b.string('replica_id') ?? defaultReplicaId();
  if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(replicaId)) {
    fail('replica_id', `must be 1 to 128 letters, digits or . _ : @ -, got ${JSON.stringify(replicaId)}`);
  }
  const ownerLeaseTtlSeconds = bounded(b, 'owner_lease_ttl', FLEET_DEFAULTS.ownerLeaseTtlSeconds, OWNER_LEASE_TTL_BOUNDS, fail);
  const maxStaleWithoutRedisSeconds = bounded(b, 'max_stale_without_redis', FLEET_DEFAULTS.maxStaleWithoutRedisSeconds, MAX_STALE_WITHOUT_REDIS_BOUNDS, fail);
  const requiredForReady = b.bool('required_for_ready') ?? false;

  for (const key of Object.keys(b.raw)) {
    if (KNOWN_KEYS.has(key)) continue;
    fail(key, REFUSED[key] ?? `unknown key (fleet takes ${[...KNOWN_KEYS].join(', ')})`);
    b.accept(key);
  }
  b.finish();
  if (!ok || !redis) return undefined;
  return {
    redis,
    ...(keyFile ? { keyFile } : {}), ...(keyEnvVar ? { keyEnvVar } : {}),
    keyPrefix, replicaId, ownerLeaseTtlSeconds, requiredForReady, maxStaleWithoutRedisSeconds,
  };
}

/** A duration within bounds (seconds), else the default after an error. */
function bounded(b: BlockReader, key: string, def: number, bounds: { min: number; max: number }, fail: (key: string, m: string) => void): number {
  const s = b.duration(key);
  // Not a duration, or negative: the reader has said so.
  if (s === undefined || s < 0) return def;
  if (s < bounds.min || s > bounds.max) {
    fail(key, `must be between ${seconds(bounds.min)} and ${seconds(bounds.max)}, got ${seconds(s)}`);
    return def;
  }
  return s;
}

function seconds(s: number): string {
  return s >= 60 && s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/**
 * redis://[user[:password]@]host[:port][/db] or rediss://… (TLS). Every message shows the URL with
 * its password redacted.
 */
function parseRedisUrl(text: string, fail: (message: string) => void): FleetRedisConfig | undefined {
  const shown = redactRedisUrl(text);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    fail(`must start with redis:// (or rediss:// for TLS), got "${shown}"`);
    return undefined;
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    fail(`must be a URL such as redis://127.0.0.1:6379/0, got "${shown}"`);
    return undefined;
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== 'redis' && scheme !== 'rediss') {
    fail(`must start with redis:// (or rediss:// for TLS), got "${shown}"`);
    return undefined;
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') {
    fail(`names no host, got "${shown}"`);
    return undefined;
  }
  if (u.search !== '' || u.hash !== '') {
    fail(`takes no query or fragment (TLS and auth are keys of the fleet block), got "${shown}"`);
    return undefined;
  }
  const path = u.pathname;
  const db = path === '' || path === '/' ? '0' : /^\/(\d{1,9})$/.exec(path)?.[1];
  if (db === undefined) {
    fail(`the path is the database number (/0, /1, …), got "${shown}"`);
    return undefined;
  }
  const port = u.port === '' ? FLEET_DEFAULTS.port : Number(u.port);
  if (port === 0) {
    fail(`port 0 is not a Redis port, got "${shown}"`);
    return undefined;
  }
  const username = u.username !== '' ? decodeURIComponent(u.username) : undefined;
  const urlPassword = u.password !== '' ? decodeURIComponent(u.password) : undefined;
  return {
    displayUrl: shown,
    host, port, database: Number(db),
    ...(scheme === 'rediss' ? { tls: {} } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(urlPassword !== undefined ? { urlPassword } : {}),
  };
}

/** The fleet's keys, newest first (the first seals, all open). Throws a message naming the source. */
export function loadFleetKeys(fleet: Pick<FleetConfig, 'keyFile' | 'keyEnvVar'>, env: NodeJS.ProcessEnv = process.env): Buffer[] {
  return loadKeys(fleet, env);
}

/** The Redis password: password_file's content (trailing newline dropped), or the URL's; undefined without one. */
export function loadFleetPassword(redis: FleetRedisConfig): string | undefined {
  if (redis.passwordFile === undefined) return redis.urlPassword;
  try {
    return readFileSync(redis.passwordFile, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new Error(`cannot read the Redis password from ${redis.passwordFile}: ${fileError(err)}`);
  }
}

/** What `check` (and `serve`, before starting) reports about the files the fleet block names. */
export function checkFleetFiles(fleet: FleetConfig, problems: Problems, env: NodeJS.ProcessEnv = process.env): void {
  try {
    loadFleetKeys(fleet, env);
  } catch (err) {
    problems.error(`fleet > ${fleet.keyFile ? 'encryption_key_file' : 'encryption_key_env_var'}`, (err as Error).message);
  }
  const { passwordFile, tls } = fleet.redis;
  if (passwordFile !== undefined) {
    const state = credentialFile(passwordFile);
    if (state !== 'ok') problems.error('fleet > password_file', `cannot read the Redis password from ${passwordFile}: ${state}`);
  }
  if (!tls) return;
  if (tls.caFile) readPem('fleet > tls_ca_file', tls.caFile, CERT, problems);
  const cert = tls.certFile ? readPem('fleet > tls_cert_file', tls.certFile, CERT, problems) : undefined;
  const key = tls.keyFile ? readPem('fleet > tls_key_file', tls.keyFile, KEY, problems) : undefined;
  if (cert && key) {
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      problems.error('fleet > tls_key_file', `${tls.keyFile} is not the key of ${tls.certFile} (or is encrypted): ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
