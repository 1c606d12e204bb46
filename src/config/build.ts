import type { BlockReader } from './reader.js';
import {
  DEFAULTS,
  type AutoAuthConfig,
  type CacheConfig,
  type AutoAuthMethod,
  type Config,
  type FileSink,
  type ListenerConfig,
  type UseAutoAuthToken,
  type VaultConfig,
} from './types.js';

/** Auth methods Vault Agent/Proxy know. Only some are implemented; the rest are warned about. */
const IMPLEMENTED_METHODS = new Set(['approle', 'token_file']);
const KNOWN_METHODS = new Set([
  'alicloud', 'approle', 'aws', 'azure', 'cert', 'cf', 'gcp', 'jwt', 'kerberos', 'kubernetes', 'ldap', 'oci', 'token_file',
]);

/** Builds the typed config from a decoded file, recording every problem in the reader's Problems. */
export function buildConfig(root: BlockReader): Config {
  const vault = readVault(root);
  const autoAuth = readAutoAuth(root);
  const { useAutoAuthToken, cache } = readApiProxyAndCache(root);
  const listeners = root.blocks('listener', ['type', 'address']).map(readListener).filter((l): l is ListenerConfig => l !== undefined);
  const extproc = root.block('extproc');
  const extprocAddress = extproc?.string('address') ?? DEFAULTS.extprocAddress;
  const adminAddress = extproc?.string('admin_address') ?? DEFAULTS.adminAddress;
  for (const [key, value] of [['address', extprocAddress], ['admin_address', adminAddress]] as const) {
    if (extproc && !isHostPort(value)) extproc.error(key, `must be host:port, got "${value}"`);
  }
  extproc?.finish();

  const pidFile = root.string('pid_file') || undefined;
  const exitAfterAuth = root.bool('exit_after_auth') ?? false;

  if (useAutoAuthToken !== false && !autoAuth) {
    // Vault refuses this; a partial config still passes `check`, but `serve` will not run it.
    root.blockServe('api_proxy', `use_auto_auth_token = ${JSON.stringify(useAutoAuthToken)} needs an auto_auth block: serve refuses to start without one`);
  }
  if (exitAfterAuth && !autoAuth) root.error('exit_after_auth', 'needs an auto_auth block');
  if (cache?.staticSecrets && !autoAuth) {
    root.error('cache', 'cache_static_secrets = true needs an auto_auth block: its token subscribes to KV events');
  }
  // Without a listener block Envoy listens on the documented default address.
  if (listeners.length === 0) listeners.push(defaultListener());

  for (const key of ['telemetry', 'template', 'template_config', 'env_template', 'exec']) root.unimplemented(key, `the ${key} stanza`);
  for (const key of ['disable_idle_connections', 'disable_keep_alives', 'log_level', 'log_format', 'log_file']) root.unimplemented(key);
  root.finish();

  return {
    vault,
    ...(autoAuth ? { autoAuth } : {}),
    apiProxy: { useAutoAuthToken },
    ...(cache ? { cache } : {}),
    listeners,
    extproc: { address: extprocAddress, adminAddress },
    ...(pidFile ? { pidFile } : {}),
    exitAfterAuth,
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
  b.unimplemented('namespace', 'vault.namespace');
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
  const sinks = b.blocks('sink', ['type', 'config', 'wrap_ttl']).map(readSink).filter((s): s is FileSink => s !== undefined);
  b.unimplemented('enable_reauth_on_new_credentials');
  b.finish();
  return method ? { method, sinks } : undefined;
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
  if (!IMPLEMENTED_METHODS.has(type)) {
    m.blockServe('', `auth method "${type}" is not implemented by vault-extproc yet (implemented: approle, token_file): serve refuses to start`);
    for (const key of Object.keys(m.raw)) m.accept(key);
    return { type: 'unsupported', name: type };
  }
  const common = {
    mountPath: (m.string('mount_path') ?? `auth/${type}`).replace(/^\/+|\/+$/g, ''),
    minBackoffSeconds: m.duration('min_backoff') || DEFAULTS.minBackoffSeconds,
    maxBackoffSeconds: m.duration('max_backoff') || DEFAULTS.maxBackoffSeconds,
    exitOnError: m.bool('exit_on_err') ?? false,
  };
  const namespace = m.string('namespace');
  if (namespace) m.warn('namespace', 'namespaces are not implemented by vault-extproc yet; it is ignored');
  m.unimplemented('wrap_ttl', 'wrap_ttl (response-wrapped auto-auth tokens)');
  const config = m.map('config');
  if (!config) {
    m.error('config', `auth method "${type}" needs a config block`);
    m.finish();
    return undefined;
  }
  let method: AutoAuthMethod | undefined;
  if (type === 'approle') {
    const roleIdFilePath = config.string('role_id_file_path');
    if (!roleIdFilePath) config.error('role_id_file_path', 'is required');
    const secretIdFilePath = config.string('secret_id_file_path') || undefined;
    const secretIdResponseWrappingPath = config.string('secret_id_response_wrapping_path') || undefined;
    if (secretIdResponseWrappingPath && !secretIdFilePath) {
      config.error('secret_id_response_wrapping_path', 'needs secret_id_file_path');
    }
    method = roleIdFilePath === undefined ? undefined : {
      type: 'approle',
      ...common,
      roleIdFilePath,
      ...(secretIdFilePath ? { secretIdFilePath } : {}),
      removeSecretIdFileAfterReading: config.bool('remove_secret_id_file_after_reading') ?? true,
      ...(secretIdResponseWrappingPath ? { secretIdResponseWrappingPath: secretIdResponseWrappingPath.replace(/^\/+|\/+$/g, '') } : {}),
    };
  } else {
    const tokenFilePath = config.string('token_file_path');
    if (!tokenFilePath) config.error('token_file_path', 'is required');
    method = tokenFilePath ? { type: 'token_file', ...common, tokenFilePath } : undefined;
  }
  config.finish();
  m.finish();
  return method;
}

function readSink(s: BlockReader): FileSink | undefined {
  const type = s.string('type') ?? s.label;
  if (type !== 'file') {
    s.warn('', `sink type ${JSON.stringify(type ?? '')} is not implemented by vault-extproc yet; it is ignored`);
    for (const key of Object.keys(s.raw)) s.accept(key);
    return undefined;
  }
  const protectedBy = ['wrap_ttl', 'dh_type', 'dh_path', 'derive_key', 'aad', 'aad_env_var'].filter((k) => s.has(k));
  if (protectedBy.length > 0) {
    // Writing a plain token where the user asked for a wrapped or encrypted one would downgrade it: skip the sink.
    s.warn('', `wrapped or encrypted file sinks (${protectedBy.join(', ')}) are not implemented by vault-extproc yet; this sink is not written`);
    for (const key of Object.keys(s.raw)) s.accept(key);
    return undefined;
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
  config.finish();
  s.finish();
  return path ? { path, mode } : undefined;
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

function readApiProxyAndCache(root: BlockReader): { useAutoAuthToken: UseAutoAuthToken; cache: CacheConfig | undefined } {
  const apiProxy = root.block('api_proxy');
  const cacheBlock = root.block('cache');
  const fromApiProxy = apiProxy ? readUseFlag(apiProxy) : undefined;
  const fromCache = cacheBlock ? readUseFlag(cacheBlock) : undefined;
  if (apiProxy) {
    apiProxy.unimplemented('enforce_consistency', 'enforce_consistency (Vault Enterprise consistency)');
    apiProxy.unimplemented('when_inconsistent', 'when_inconsistent (Vault Enterprise consistency)');
    apiProxy.finish();
  }
  const cache = cacheBlock ? readCache(cacheBlock) : undefined;
  if (fromApiProxy !== undefined && fromCache !== undefined) {
    root.error('cache', 'use_auto_auth_token is set in both api_proxy and cache; remove it from the cache block');
  }
  return { useAutoAuthToken: fromApiProxy ?? fromCache ?? false, cache };
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
  b.unimplemented('persist', 'the persist stanza (persistent cache)');
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

function readListener(l: BlockReader): ListenerConfig | undefined {
  const type = l.string('type') ?? l.label;
  if (type === 'unix') {
    l.warn('', 'unix socket listeners are not implemented by vault-extproc yet; this listener is ignored');
    for (const key of Object.keys(l.raw)) l.accept(key);
    return undefined;
  }
  if (type !== 'tcp') {
    l.error('type', `listener type must be "tcp" or "unix", got ${JSON.stringify(type ?? '')}`);
    return undefined;
  }
  const address = l.string('address') || DEFAULTS.listenerAddress;
  if (!isHostPort(address)) l.error('address', `must be host:port, got "${address}"`);
  const tlsDisable = l.bool('tls_disable') ?? false;
  if (!tlsDisable) {
    l.warn('tls_disable', 'TLS on the Envoy listener is not generated by vault-extproc yet: the listener serves plain HTTP (set tls_disable = true to silence this)');
  }
  for (const key of ['tls_cert_file', 'tls_key_file', 'tls_min_version', 'tls_client_ca_file', 'tls_require_and_verify_client_cert']) l.unimplemented(key, `listener ${key}`);
  const role = l.string('role') ?? 'default';
  if (role !== 'default' && role !== 'metrics_only') l.error('role', `must be "default" or "metrics_only", got "${role}"`);
  const api = l.block('agent_api') ?? l.block('proxy_api');
  const enableQuit = api?.bool('enable_quit') ?? false;
  api?.finish();
  const listener: ListenerConfig = {
    type: 'tcp',
    address,
    requireRequestHeader: l.bool('require_request_header') ?? false,
    enableQuit,
    role: role === 'metrics_only' ? 'metrics_only' : 'default',
  };
  l.finish();
  return listener;
}

function defaultListener(): ListenerConfig {
  return { type: 'tcp', address: DEFAULTS.listenerAddress, requireRequestHeader: false, enableQuit: false, role: 'default' };
}

export function isHostPort(value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return m !== null && Number(m[2]) <= 65535;
}

function assignIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined && value !== '') target[key] = value;
}
