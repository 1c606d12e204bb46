import { readFileSync } from 'node:fs';
import type { BlockReader } from './reader.js';
import type { Problems } from './problems.js';
import { fileError } from './methods/credential-file.js';
import { KEY_BYTES, loadKey } from './key-file.js';

/**
 * `cache { persist "file" { … } }` (ours, any platform) and Vault Agent's `persist "kubernetes" { … }`.
 *
 * Everything persisted is sealed with AES-256-GCM under a key that is NOT in the store: a key file
 * (32 random bytes in base64, as `openssl rand -base64 32` writes them) or an environment variable
 * holding the same. Vault Agent keeps its AES key inside the bolt file it protects (bound only to
 * the service account token as additional data); we do not, so the kubernetes flavour needs a key
 * source too (mount it from a Kubernetes Secret), and binds the data to the service account token
 * as Vault Agent does.
 */
export interface PersistConfig {
  type: 'file' | 'kubernetes';
  /** The directory holding the store (LMDB: `vault-extproc-cache.mdb` in it). */
  path: string;
  /** The key source: exactly one of a file and an environment variable. */
  keyFile?: string;
  keyEnvVar?: string;
  /**
   * After loading, keep writing to the store (true) or delete it and write nothing more (false).
   * Vault Agent's `keep_after_import` (default false, for its init-container → sidecar hand-over);
   * `persist "file"` keeps it by default.
   */
  keepAfterImport: boolean;
  /** A store that cannot be opened or read stops the process instead of starting empty (Vault Agent's `exit_on_err`). */
  exitOnErr: boolean;
  /** kubernetes: the service account token bound into every record's additional data (Vault Agent's AAD). */
  serviceAccountTokenFile?: string;
  /**
   * `readiness`: "vault" (default) — /readyz waits for Vault (an auto-auth token from Vault, or Vault
   * identified); "cache" — ready as soon as the store is loaded, so an offline start serves.
   */
  readiness: 'vault' | 'cache';
  /** How often changes are written (ms): changes are batched. */
  flushMs: number;
}

export const DEFAULT_SA_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export { KEY_BYTES };

/** Reads the single `persist` block of `cache`, labelled (`persist "file" {}`) or with `type`. */
export function readPersist(cache: BlockReader): PersistConfig | undefined {
  const blocks = cache.blocks('persist', ['type', 'path']);
  if (blocks.length === 0) return undefined;
  if (blocks.length > 1) {
    cache.error('persist', `only one persist block is allowed, found ${blocks.length}`);
    return undefined;
  }
  const b = blocks[0]!;
  const type = (b.string('type') ?? b.label ?? '').toLowerCase();
  const path = b.string('path');
  if (type !== 'file' && type !== 'kubernetes') {
    b.error(type ? 'type' : '', type ? `persistent key protection type "${type}" is not supported (supported: "file", "kubernetes")` : 'persist type must be specified');
    b.finish();
    return undefined;
  }
  if (!path) b.error('path', 'must specify persistent cache path');
  const keyFile = b.string('key_file');
  const keyEnvVar = b.string('key_env_var');
  if (!keyFile && !keyEnvVar) {
    b.error('', type === 'kubernetes'
      ? 'key_file (or key_env_var) is required: vault-extproc never keeps the encryption key in the store it protects (Vault Agent does); mount a Kubernetes Secret holding `openssl rand -base64 32` and name it here'
      : 'key_file (or key_env_var) is required: a file holding 32 random bytes in base64 (`openssl rand -base64 32`)');
  }
  if (keyFile && keyEnvVar) b.error('key_env_var', 'set key_file or key_env_var, not both');
  const keepAfterImport = b.bool('keep_after_import') ?? (type === 'file');
  const exitOnErr = b.bool('exit_on_err') ?? false;
  const saFile = b.string('service_account_token_file');
  if (saFile !== undefined && type !== 'kubernetes') b.error('service_account_token_file', 'only for persist "kubernetes"');
  const readiness = b.string('readiness') ?? 'vault';
  if (readiness !== 'vault' && readiness !== 'cache') b.error('readiness', `must be "vault" or "cache", got "${readiness}"`);
  const flush = b.duration('flush_interval');
  b.finish();
  return {
    type, path: path ?? '',
    ...(keyFile ? { keyFile } : {}), ...(keyEnvVar ? { keyEnvVar } : {}),
    keepAfterImport, exitOnErr,
    ...(type === 'kubernetes' ? { serviceAccountTokenFile: saFile || DEFAULT_SA_TOKEN_FILE } : {}),
    readiness: readiness === 'cache' ? 'cache' : 'vault',
    flushMs: flush !== undefined ? Math.max(10, Math.round(flush * 1000)) : 100,
  };
}

/** The stale-serving keys of the cache block (ours). */
export interface StaleConfig {
  /** serve_stale (default false). */
  serveStale: boolean;
  /** serve_stale_max (default 10m): how long past the end of a token's grant a stale answer may be given. */
  serveStaleMaxSeconds: number;
}

export const DEFAULT_SERVE_STALE_MAX_SECONDS = 600;

export function readStale(cache: BlockReader, staticSecrets: boolean): StaleConfig {
  const serveStale = cache.bool('serve_stale') ?? false;
  const max = cache.duration('serve_stale_max');
  if (max !== undefined && !serveStale) cache.warn('serve_stale_max', 'does nothing without serve_stale = true');
  if (serveStale && !staticSecrets) cache.warn('serve_stale', 'applies to the static secret cache only: it does nothing without cache_static_secrets = true');
  return { serveStale, serveStaleMaxSeconds: max ?? DEFAULT_SERVE_STALE_MAX_SECONDS };
}

/**
 * The 32-byte key, from its file or environment variable (src/config/key-file.ts, shared with the
 * fleet). Throws a message naming the source (never the key) when it is missing, unreadable, not
 * base64, not 32 bytes, or more than one key.
 */
export function loadPersistKey(p: Pick<PersistConfig, 'keyFile' | 'keyEnvVar'>, env: NodeJS.ProcessEnv = process.env): Buffer {
  return loadKey(p, env, 'persist');
}

/** What `check` reports about the persist block's files: the key, the service account token. */
export function checkPersistFiles(p: PersistConfig, problems: Problems): void {
  const at = `cache > persist "${p.type}"`;
  try {
    loadPersistKey(p);
  } catch (err) {
    problems.error(`${at} > ${p.keyFile ? 'key_file' : 'key_env_var'}`, (err as Error).message);
  }
  if (p.serviceAccountTokenFile) {
    try {
      readFileSync(p.serviceAccountTokenFile);
    } catch (err) {
      problems.error(`${at} > service_account_token_file`, `failed to read service account token from ${p.serviceAccountTokenFile}: ${fileError(err)}`);
    }
  }
}
