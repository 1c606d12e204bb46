import { isImplemented, KNOWN_METHODS, readMethodConfig } from './methods/index.js';
import { checkNoListener, readListener } from './listener.js';
import { readTelemetry } from './telemetry.js';
import { readEnvoyAccessLog } from './access-log.js';
import type { BlockReader } from './reader.js';
import { readPersist, readStale } from './persist.js';
import { readFleet } from './fleet.js';
import { readTemplates, readTemplateSettings } from './template.js';
import { readApiProxyOptions, readCacheConsistency, readMethodNamespace, readNamespaceKey, withTopLevelNamespace, type ApiProxyOptions } from './api-proxy.js';
import {
  DEFAULTS,
  type AutoAuthConfig,
  type CacheConfig,
  type ExtprocConfig,
  type AutoAuthMethod,
  type Config,
  type FileSink,
  type ListenerConfig,
  type UseAutoAuthToken,
  type VaultConfig,
} from './types.js';

/** Builds the typed config from a decoded file, recording every problem in the reader's Problems. */
export function buildConfig(root: BlockReader): Config {
  const vault = withTopLevelNamespace(root, readVault(root));
  const autoAuth = readAutoAuth(root);
  const { useAutoAuthToken, cache, apiProxyOptions } = readApiProxyAndCache(root);
  const listeners = root.blocks('listener', ['type', 'address']).map(readListener).filter((l): l is ListenerConfig => l !== undefined);
  const extproc = readExtproc(root);
  const fleet = readFleet(root);

  const pidFile = root.string('pid_file') || undefined;
  const exitAfterAuth = root.bool('exit_after_auth') ?? false;

  checkWrappedLogin(root, autoAuth, useAutoAuthToken, cache);
  if (useAutoAuthToken !== false && !autoAuth) {
    // Vault refuses this; a partial config still passes `check`, but `serve` will not run it.
    root.blockServe('api_proxy', `use_auto_auth_token = ${JSON.stringify(useAutoAuthToken)} needs an auto_auth block: serve refuses to start without one`);
  }
  if (exitAfterAuth && !autoAuth) root.error('exit_after_auth', 'needs an auto_auth block');
  if (fleet && exitAfterAuth) root.error('fleet', 'cannot be combined with exit_after_auth: only the replica that owns the fleet logs in, so the others would never exit');
  if (fleet && autoAuth && autoAuth.method.type !== 'unsupported' && autoAuth.method.wrapTtlSeconds) {
    root.error('fleet', 'cannot be combined with wrap_ttl on the auto_auth method: only the owner logs in, so only its sinks would get the wrapping token');
  }
  if (fleet && cache?.persist) {
    // A replica restarted on its own store would serve what the others revoked while it was down.
    root.error('fleet', 'cannot be combined with cache { persist … }: a restored cache missed the fleet\'s changes while the replica was down; the shared cache in Redis outlives a replica instead');
  }
  if (cache?.staticSecrets && !autoAuth) {
    root.error('cache', 'cache_static_secrets = true needs an auto_auth block: its token subscribes to KV events');
  }
  // Without a listener block: as Vault Proxy judges it (an error with a cache or api_proxy).
  if (listeners.length === 0 && !root.has('listener')) checkNoListener(root);

  const telemetry = readTelemetry(root);
  const templates = readTemplates(root);
  const templateSettings = readTemplateSettings(root);
  if (templates.length > 0 && !autoAuth) root.error('template', 'templates need an auto_auth block: they are rendered with its token');
  if (templates.length > 0 && autoAuth?.method.type !== 'unsupported' && autoAuth?.method.wrapTtlSeconds) {
    root.warn('template', 'wrap_ttl on the auto_auth method leaves only a wrapping token: the templates are never rendered (Vault Agent hands them the wrapped response as a token, and their reads fail)');
  }
  for (const key of ['env_template', 'exec']) root.unimplemented(key, `the ${key} stanza`);
  for (const key of ['disable_idle_connections', 'disable_keep_alives', 'log_level', 'log_format', 'log_file']) root.unimplemented(key);
  root.finish();

  return {
    vault,
    ...(autoAuth ? { autoAuth } : {}),
    apiProxy: { useAutoAuthToken },
    ...(apiProxyOptions ? { apiProxyOptions } : {}),
    ...(cache ? { cache } : {}),
    listeners,
    extproc,
    ...(pidFile ? { pidFile } : {}),
    exitAfterAuth,
    telemetry,
    ...(templates.length > 0 ? { templates, templateSettings } : {}),
    ...(fleet ? { fleet } : {}),
  };
}

function readVault(root: BlockReader): VaultConfig {
  const b = root.block('vault');
  const config: VaultConfig = {
    address: DEFAULTS.vaultAddress,
    tlsSkipVerify: false,
    numRetries: DEFAULTS.numRetries,
  };
  if (!b) return config;
  const address = b.string('address');
  if (address) {
    if (!/^https?:\/\/[^/]+/.test(address)) b.error('address', `must be a URL such as https://127.0.0.1:8200, got "${address}"`);
    config.address = address.replace(/\/+$/, '');
  }
  assignIf(config, 'caCert', b.string('ca_cert'));
  assignIf(config, 'caPath', b.string('ca_path'));
  assignIf(config, 'clientCert', b.string('client_cert'));
  assignIf(config, 'clientKey', b.string('client_key'));
  assignIf(config, 'tlsServerName', b.string('tls_server_name'));
  config.tlsSkipVerify = b.bool('tls_skip_verify') ?? false;
  const retry = b.block('retry');
  if (retry) {
    const n = retry.int('num_retries');
    // Vault: 0 means the default (12); -1 disables retries.
    if (n !== undefined) {
      if (n < -1) retry.error('num_retries', `must be -1 (off), 0 (default) or more, got ${n}`);
      else config.numRetries = n === 0 ? DEFAULTS.numRetries : n;
    }
    retry.finish();
  }
  if ((config.clientCert === undefined) !== (config.clientKey === undefined)) {
    b.error(config.clientCert ? 'client_key' : 'client_cert', 'client_cert and client_key must be set together');
  }
  assignIf(config, 'namespace', readNamespaceKey(b));
  b.finish();
  return config;
}

function readAutoAuth(root: BlockReader): AutoAuthConfig | undefined {
  const b = root.block('auto_auth');
  if (!b) return undefined;
  const methods = b.blocks('method', ['type', 'config', 'mount_path', 'namespace', 'wrap_ttl']);
  if (methods.length !== 1) {
    b.error('method', methods.length === 0 ? 'auto_auth needs a method block' : `only one method block is allowed, found ${methods.length}`);
  }
  const method = methods[0] ? readMethod(methods[0]) : undefined;
  const sinkBlocks = b.blocks('sink', SINK_KEYS);
  const sinks = sinkBlocks.map(readSink).filter((s): s is FileSink => s !== undefined);
  const enableReauthOnNewCredentials = b.bool('enable_reauth_on_new_credentials') ?? false;
  if (method && method.type !== 'unsupported' && method.wrapTtlSeconds) {
    // Vault Agent's rules: the wrapping token goes to exactly one sink, which does not wrap it again.
    if (sinkBlocks.length !== 1) {
      b.error('sink', `wrap_ttl on the method needs exactly one sink (the wrapping token can be unwrapped once), found ${sinkBlocks.length}`);
    } else if (sinks[0]?.wrapTtlSeconds) {
      b.error('sink', 'wrap_ttl is set on both the method and the sink; set it on one of them');
    }
  }
  b.finish();
  return method ? { method, sinks, enableReauthOnNewCredentials } : undefined;
}

/**
 * A method with wrap_ttl hands out only a wrapping token: vault-extproc cannot use the token
 * itself (Vault Agent refuses use_auto_auth_token with it too), so nothing that needs it combines.
 */
function checkWrappedLogin(root: BlockReader, autoAuth: AutoAuthConfig | undefined, useAutoAuthToken: UseAutoAuthToken, cache: CacheConfig | undefined): void {
  const method = autoAuth?.method;
  if (!method || method.type === 'unsupported' || !method.wrapTtlSeconds) return;
  if (useAutoAuthToken !== false) {
    root.error(root.has('api_proxy') ? 'api_proxy' : 'cache', `use_auto_auth_token = ${JSON.stringify(useAutoAuthToken)} cannot work with wrap_ttl on the auto_auth method: only the wrapping token is known, never the token itself`);
  }
  if (cache?.staticSecrets) {
    root.error('cache', 'cache_static_secrets = true needs the auto-auth token, but wrap_ttl on the auto_auth method leaves only a wrapping token; remove one of them');
  }
}

function readMethod(m: BlockReader): AutoAuthMethod | undefined {
  const type = m.string('type') ?? m.label;
  if (!type) {
    m.error('type', 'the auth method needs a type (method "approle" { ... } or type = "approle")');
    return undefined;
  }
  if (!KNOWN_METHODS.has(type)) {
    m.error('type', `unknown auth method "${type}"`);
    return undefined;
  }
  if (!isImplemented(type)) {
    m.blockServe('', `auth method "${type}" is not implemented by vault-extproc yet: serve refuses to start`);
    for (const key of Object.keys(m.raw)) m.accept(key);
    return { type: 'unsupported', name: type };
  }
  // wrap_ttl: the login response is wrapped (X-Vault-Wrap-TTL) and only the wrapping token reaches the sink.
  const wrapTtlSeconds = m.duration('wrap_ttl');
  if (wrapTtlSeconds && type === 'token_file') {
    m.error('wrap_ttl', 'token_file does not log in (the token is read from its file), so there is no login response to wrap; remove wrap_ttl');
  }
  const common = {
    mountPath: (m.string('mount_path') ?? `auth/${type}`).replace(/^\/+|\/+$/g, ''),
    minBackoffSeconds: m.duration('min_backoff') || DEFAULTS.minBackoffSeconds,
    maxBackoffSeconds: m.duration('max_backoff') || DEFAULTS.maxBackoffSeconds,
    exitOnError: m.bool('exit_on_err') ?? false,
    ...(wrapTtlSeconds ? { wrapTtlSeconds } : {}),
  };
  const namespace = readMethodNamespace(m);
  const config = m.map('config');
  if (!config) {
    m.error('config', `auth method "${type}" needs a config block`);
    m.finish();
    return undefined;
  }
  const method = readMethodConfig(type, config, namespace ? { ...common, namespace } : common);
  config.finish();
  m.finish();
  return method;
}

const SINK_KEYS = ['type', 'config', 'wrap_ttl', 'dh_type', 'dh_path', 'derive_key', 'aad', 'aad_env_var'];

/** `sink "file"`: Vault Agent's keys and rules (agent config parseSinks). */
function readSink(s: BlockReader): FileSink | undefined {
  const type = s.string('type') ?? s.label;
  if (type !== 'file') {
    s.warn('', `sink type ${JSON.stringify(type ?? '')} is not implemented by vault-extproc yet; it is ignored`);
    for (const key of Object.keys(s.raw)) s.accept(key);
    return undefined;
  }
  let ok = true;
  const wrapTtlSeconds = s.duration('wrap_ttl');
  const dhType = s.string('dh_type') ?? '';
  const dhPath = s.string('dh_path') ?? '';
  const deriveKey = s.bool('derive_key') ?? false;
  let aad = s.string('aad') ?? '';
  const aadEnvVar = s.string('aad_env_var');
  // As Vault Agent: aad_env_var, when named, replaces aad with the variable's value (read at start).
  if (aadEnvVar) aad = process.env[aadEnvVar] ?? '';
  if (dhType !== '' && dhType !== 'curve25519') {
    s.error('dh_type', `must be "curve25519", got ${JSON.stringify(dhType)}`);
    ok = false;
  }
  if (dhType === '' && dhPath === '') {
    if (aad !== '') { s.error(s.has('aad') ? 'aad' : 'aad_env_var', 'additional authenticated data (aad) needs dh_type and dh_path'); ok = false; }
    if (deriveKey) { s.error('derive_key', 'derive_key needs dh_type and dh_path'); ok = false; }
  } else if (dhType === '' || dhPath === '') {
    s.error(dhType === '' ? 'dh_type' : 'dh_path', 'dh_type and dh_path must be set together');
    ok = false;
  }
  const config = s.map('config');
  if (!config) {
    s.error('config', 'a file sink needs config = { path = "..." }');
    s.finish();
    return undefined;
  }
  const path = config.string('path');
  if (!path) config.error('path', 'is required');
  const mode = readMode(config);
  const uid = readOwner(config, 'uid');
  const gid = readOwner(config, 'gid');
  config.finish();
  s.finish();
  if (!path || !ok) return undefined;
  return {
    path,
    mode,
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    ...(wrapTtlSeconds ? { wrapTtlSeconds } : {}),
    ...(dhType === 'curve25519' ? { dh: { type: 'curve25519' as const, path: dhPath, aad, deriveKey } } : {}),
  };
}

/** `uid`/`gid` of a file sink (Vault 1.18): a numeric id; -1 (or unset) leaves the owner as created. */
function readOwner(config: BlockReader, key: 'uid' | 'gid'): number | undefined {
  const id = config.int(key);
  if (id === undefined || id === -1) return undefined;
  if (id < 0 || id > 0xffffffff - 1) {
    config.error(key, `must be a numeric ${key === 'uid' ? 'user' : 'group'} id (or -1 to leave it), got ${id}`);
    return undefined;
  }
  return id;
}

/** `mode = 0644` arrives already octal-decoded from HCL; a string is read as octal. */
function readMode(config: BlockReader): number {
  if (!config.has('mode')) return DEFAULTS.sinkMode;
  const raw = config.raw['mode'];
  config.accept('mode');
  const mode = typeof raw === 'string' && /^0?[0-7]{1,4}$/.test(raw) ? parseInt(raw, 8) : raw;
  if (typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) return mode;
  config.error('mode', `must be a file mode such as 0640, got ${JSON.stringify(raw)}`);
  return DEFAULTS.sinkMode;
}

function readApiProxyAndCache(root: BlockReader): { useAutoAuthToken: UseAutoAuthToken; cache: CacheConfig | undefined; apiProxyOptions?: ApiProxyOptions } {
  const apiProxy = root.block('api_proxy');
  const cacheBlock = root.block('cache');
  const fromApiProxy = apiProxy ? readUseFlag(apiProxy) : undefined;
  const fromCache = cacheBlock ? readUseFlag(cacheBlock) : undefined;
  // prepend_configured_namespace, enforce_consistency, when_inconsistent: src/config/api-proxy.ts
  const apiProxyOptions = readCacheConsistencyIf(cacheBlock, apiProxy ? readApiProxyOptions(apiProxy) : undefined);
  if (apiProxy) {
    apiProxy.finish();
  }
  const cache = cacheBlock ? readCache(cacheBlock) : undefined;
  if (fromApiProxy !== undefined && fromCache !== undefined) {
    root.error('cache', 'use_auto_auth_token is set in both api_proxy and cache; remove it from the cache block');
  }
  return { useAutoAuthToken: fromApiProxy ?? fromCache ?? false, cache, ...(apiProxyOptions ? { apiProxyOptions } : {}) };
}

/** Vault Agent's cache-block consistency keys, merged into api_proxy's (src/config/api-proxy.ts). */
function readCacheConsistencyIf(cacheBlock: BlockReader | undefined, options: ApiProxyOptions | undefined): ApiProxyOptions | undefined {
  return cacheBlock ? readCacheConsistency(cacheBlock, options) : options;
}

function readCache(b: BlockReader): CacheConfig {
  const disableDynamic = b.bool('disable_caching_dynamic_secrets') ?? false;
  const cache: CacheConfig = {
    leaseCache: !disableDynamic,
    staticSecrets: b.bool('cache_static_secrets') ?? false,
    capabilityRefreshSeconds: b.duration('static_secret_token_capability_refresh_interval') || DEFAULTS.capabilityRefreshSeconds,
    staticRefreshSeconds: b.duration('static_secret_refresh_interval') || DEFAULTS.staticRefreshSeconds,
    maxStaleSeconds: 0,
    cacheLogins: !(b.bool('disable_caching_logins') ?? false),
    maxBytes: DEFAULTS.cacheMaxBytes,
  };
  // Unset means one capability refresh interval; 0 written out is allowed (no grace at all).
  const maxStale = b.duration('static_secret_max_stale');
  cache.maxStaleSeconds = maxStale ?? cache.capabilityRefreshSeconds;
  const maxBytes = b.int('max_bytes');
  if (maxBytes !== undefined) {
    if (maxBytes < 1024) b.error('max_bytes', `must be at least 1024, got ${maxBytes}`);
    else cache.maxBytes = maxBytes;
  }
  if (!cache.staticSecrets && disableDynamic) {
    b.error('', 'the cache must cache static secrets or dynamic secrets: set cache_static_secrets = true or drop disable_caching_dynamic_secrets');
  }
  // persist "file" | "kubernetes", serve_stale, serve_stale_max: src/config/persist.ts
  const persist = readPersist(b);
  if (persist) cache.persist = persist;
  const stale = readStale(b, cache.staticSecrets);
  if (stale.serveStale) cache.stale = stale;
  for (const key of ['cache_static_secrets_ttl', 'static_secret_refresh_interval_jitter']) b.unimplemented(key);
  b.finish();
  return cache;
}

function readUseFlag(b: BlockReader): UseAutoAuthToken | undefined {
  if (!b.has('use_auto_auth_token')) return undefined;
  const raw = b.raw['use_auto_auth_token'];
  b.accept('use_auto_auth_token');
  if (typeof raw === 'string' && raw.trim().toLowerCase() === 'force') return 'force';
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && ['true', 'false'].includes(raw.trim().toLowerCase())) return raw.trim().toLowerCase() === 'true';
  b.error('use_auto_auth_token', `must be true, false or "force", got ${JSON.stringify(raw)}`);
  return undefined;
}

/** A unix socket address, `unix:///abs/path` (or `unix:/abs/path`): the path, else undefined. */
export function unixSocketPath(address: string): string | undefined {
  const path = address.startsWith('unix://') ? address.slice('unix://'.length) : address.startsWith('unix:') ? address.slice('unix:'.length) : undefined;
  return path !== undefined && path.startsWith('/') && !path.startsWith('//') ? path : undefined;
}

const EXTPROC_TLS_KEYS = ['tls_cert_file', 'tls_key_file', 'tls_client_ca_file', 'envoy_client_cert_file', 'envoy_client_key_file', 'tls_ca_file', 'tls_server_name'] as const;

/**
 * The extproc block. Whoever can open an ext_proc stream can have requests sent with the auto-auth
 * token, so the channel is authenticated: a unix socket (file mode 0600 or 0660), or TCP with
 * mutual TLS; plain TCP only with `tls_disable = true` written out, as Vault's listeners do.
 */
function readExtproc(root: BlockReader): ExtprocConfig {
  const b = root.block('extproc');
  const address = b?.string('address') || DEFAULTS.extprocAddress;
  const adminAddress = b?.string('admin_address') || DEFAULTS.adminAddress;
  const config: ExtprocConfig = { address, adminAddress, socketMode: DEFAULTS.extprocSocketMode, tlsDisable: false };
  if (!b) return config;
  if (!isHostPort(adminAddress)) b.error('admin_address', `must be host:port, got "${adminAddress}"`);
  const socketPath = unixSocketPath(address);
  const files: Partial<Record<(typeof EXTPROC_TLS_KEYS)[number], string>> = {};
  for (const key of EXTPROC_TLS_KEYS) assignIf(files, key, b.string(key));
  config.tlsDisable = b.bool('tls_disable') ?? false;
  if (socketPath !== undefined) {
    if (b.has('socket_mode')) config.socketMode = readSocketMode(b);
    for (const key of Object.keys(files)) b.warn(key, 'is for a TCP address; a unix socket is guarded by its file mode, so it is ignored');
    if (b.has('tls_disable')) b.warn('tls_disable', 'is for a TCP address; it is ignored for a unix socket');
  } else if (address.startsWith('unix:')) {
    b.error('address', `a unix socket address needs an absolute path, such as unix:///run/vault-extproc/extproc.sock; got "${address}"`);
  } else if (!isHostPort(address)) {
    b.error('address', `must be unix:///path/to/socket or host:port, got "${address}"`);
  } else {
    if (b.has('socket_mode')) b.warn('socket_mode', 'is for a unix socket address; it is ignored');
    const named = Object.keys(files).length > 0;
    if (config.tlsDisable) {
      if (named) b.warn('tls_disable', 'tls_disable = true: the TLS files of this block are ignored');
      b.warn('tls_disable', `ext_proc listens on plain TCP (${address}): anything that can connect to it can send requests to Vault with the auto-auth token and write into the cache; use a unix socket or mutual TLS`);
    } else {
      const missing = (['tls_cert_file', 'tls_key_file', 'tls_client_ca_file', 'envoy_client_cert_file', 'envoy_client_key_file'] as const).filter((k) => !files[k]);
      if (missing.length > 0) {
        b.error(named ? missing[0]! : 'address', named
          ? `mutual TLS on a TCP ext_proc address needs ${missing.join(', ')}`
          : `a TCP ext_proc address needs mutual TLS (tls_cert_file, tls_key_file, tls_client_ca_file for vault-extproc; envoy_client_cert_file, envoy_client_key_file for Envoy), or tls_disable = true written out; a unix:///path address needs neither`);
      } else {
        config.tls = {
          certFile: files.tls_cert_file!, keyFile: files.tls_key_file!, clientCaFile: files.tls_client_ca_file!,
          envoyClientCertFile: files.envoy_client_cert_file!, envoyClientKeyFile: files.envoy_client_key_file!,
          caFile: files.tls_ca_file ?? files.tls_client_ca_file!,
          ...(files.tls_server_name ? { serverName: files.tls_server_name } : {}),
        };
      }
    }
  }
  readEnvoyAccessLog(b, config);
  b.finish();
  return config;
}

/** The unix socket's mode: owner read/write, optionally the group; never others (they could use the auto-auth token). */
function readSocketMode(b: BlockReader): number {
  const raw = b.raw['socket_mode'];
  b.accept('socket_mode');
  const mode = typeof raw === 'string' && /^0?[0-7]{1,4}$/.test(raw) ? parseInt(raw, 8) : raw;
  if (mode === 0o600 || mode === 0o660) return mode;
  b.error('socket_mode', `must be 0600 (only Envoy running as vault-extproc's user) or 0660 (its group too), got ${JSON.stringify(raw)}`);
  return DEFAULTS.extprocSocketMode;
}

export function isHostPort(value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return m !== null && Number(m[2]) <= 65535;
}

function assignIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined && value !== '') target[key] = value;
}
