import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import type { BlockReader } from './reader.js';
import type { ListenerConfig } from './types.js';

type TlsVersion = NonNullable<ListenerConfig['tls']>['minVersion'];

/** Vault's tls_min_version / tls_max_version values (go-secure-stdlib tlsutil.TLSLookup) as Envoy names them. */
const TLS_VERSIONS: Record<string, TlsVersion> = { tls10: 'TLSv1_0', tls11: 'TLSv1_1', tls12: 'TLSv1_2', tls13: 'TLSv1_3' };

/**
 * Go's cipher suite names that Vault accepts in tls_cipher_suites (tlsutil.ParseCiphers), as
 * BoringSSL (Envoy) names them. `null`: Go knows it, Envoy's BoringSSL refuses it (RC4, the
 * CBC-SHA256 suite without ECDHE, 3DES with ECDHE; tried with `envoy --mode validate`).
 * `tls13`: a TLS 1.3 suite, which neither Go nor BoringSSL lets a server choose.
 */
export const CIPHER_SUITES: Record<string, string | null | 'tls13'> = {
  TLS_RSA_WITH_RC4_128_SHA: null,
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: null,
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: null,
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: null,
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'tls13',
  TLS_AES_256_GCM_SHA384: 'tls13',
  TLS_CHACHA20_POLY1305_SHA256: 'tls13',
};

/** Where Go looks for the system's CA bundle on Linux (crypto/x509 root_linux.go), in its order. */
const SYSTEM_CA_FILES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

/** Longest unix socket path (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

const TLS_KEYS = [
  'tls_cert_file', 'tls_key_file', 'tls_min_version', 'tls_max_version', 'tls_cipher_suites',
  'tls_client_ca_file', 'tls_require_and_verify_client_cert', 'tls_disable_client_certs',
] as const;
const SOCKET_KEYS = ['socket_mode', 'socket_user', 'socket_group'] as const;

/**
 * One `listener` block, as Vault Proxy 1.15.6 reads and starts it (configutil.ParseListeners,
 * cache.StartListener, listenerutil.TLSConfig), for an Envoy listener: `tcp` on an IP and port,
 * `unix` as an Envoy `pipe`; TLS on unless `tls_disable = true`, as in Vault.
 */
export function readListener(l: BlockReader): ListenerConfig | undefined {
  const type = (l.string('type') ?? l.label ?? '').toLowerCase();
  if (type !== 'tcp' && type !== 'unix') {
    l.error(l.has('type') ? 'type' : '', type ? `unsupported listener type "${type}": Vault has "tcp" and "unix"` : 'listener type must be specified ("tcp" or "unix")');
    for (const key of Object.keys(l.raw)) l.accept(key);
    return undefined;
  }
  const address = type === 'tcp' ? readTcpAddress(l) : readSocketPath(l);
  const socketMode = readSocketKeys(l, type);
  const tls = readTls(l);
  const role = l.string('role') ?? 'default';
  if (role !== 'default' && role !== 'metrics_only') l.error('role', `must be "default" or "metrics_only", got "${role}"`);
  const api = l.block('agent_api') ?? l.block('proxy_api');
  const enableQuit = api?.bool('enable_quit') ?? false;
  api?.finish();
  const requireRequestHeader = l.bool('require_request_header') ?? false;
  reportServerListenerKeys(l);
  l.finish();
  if (address === undefined) return undefined;
  return {
    type,
    address,
    requireRequestHeader,
    enableQuit,
    role: role === 'metrics_only' ? 'metrics_only' : 'default',
    ...(socketMode !== undefined ? { socketMode } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * Keys of Vault's shared listener stanza that only Vault's server applies: Vault Proxy and Agent
 * 1.15.6 parse them and start their listeners with the address, TLS and socket keys alone, behind
 * an http.Server of fixed timeouts (command/proxy.go). Accepted with that reason, as they accept them.
 */
const SERVER_LISTENER_KEYS = [
  'purpose', 'cluster_address', 'max_request_size', 'max_request_duration', 'tls_prefer_server_cipher_suites',
  'http_read_timeout', 'http_read_header_timeout', 'http_write_timeout', 'http_idle_timeout',
  'proxy_protocol_behavior', 'proxy_protocol_authorized_addrs',
  'x_forwarded_for_authorized_addrs', 'x_forwarded_for_hop_skips', 'x_forwarded_for_reject_not_present', 'x_forwarded_for_reject_not_authorized',
  'cors_enabled', 'cors_allowed_origins', 'cors_allowed_headers', 'chroot_namespace', 'disable_replication_status_endpoints',
  'telemetry', 'profiling', 'inflight_requests_logging', 'custom_response_headers',
];

function reportServerListenerKeys(l: BlockReader): void {
  for (const key of SERVER_LISTENER_KEYS) {
    if (!l.has(key)) continue;
    l.accept(key);
    l.warn(key, 'not applicable: a Vault server listener key; Vault Proxy and Vault Agent read it and ignore it (their listeners apply only the address, TLS and socket keys), and so does vault-extproc (Envoy\'s listener limits are set by envoy-config)');
  }
}

/**
 * A config without a listener block, as Vault Proxy 1.15.6 judges it (config.ValidateConfig): an
 * error with a cache or an api_proxy block, or with nothing else at all; otherwise auto-auth and
 * its sinks run alone and the generated Envoy config has no listener.
 */
export function checkNoListener(root: BlockReader): void {
  if (root.has('cache')) root.error('cache', 'enabling the cache requires at least 1 listener to be defined');
  else if (root.has('api_proxy')) root.error('api_proxy', 'configuring the api_proxy requires at least 1 listener to be defined');
  else if (!root.has('auto_auth')) root.error('', 'no auto_auth, cache, or listener block found in config');
  // Otherwise Vault Proxy starts auto-auth and its sinks alone and says nothing; so do we.
}

/**
 * `host:port` as Go's net.Listen("tcp") takes it, narrowed to what an Envoy listener binds: an IP
 * (or `localhost`, or an empty host for every interface) and a port number. Returns the address
 * Envoy binds, or undefined after reporting why there is none.
 */
function readTcpAddress(l: BlockReader): string | undefined {
  const raw = l.string('address');
  if (raw === undefined || raw.trim() === '') {
    l.error(raw === undefined ? '' : 'address', `a tcp listener needs an address such as "127.0.0.1:8100" (Vault Proxy would listen on its default 127.0.0.1:8200; vault-extproc wants it written out)`);
    return undefined;
  }
  if (raw.includes('{{')) {
    l.error('address', `go-sockaddr templates are not supported by vault-extproc; write the IP and port, got "${raw}"`);
    return undefined;
  }
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(raw);
  if (!m) {
    l.error('address', `must be host:port, got "${raw}" (Vault Proxy: listen tcp: address ${raw}: ${raw.includes(':') ? 'too many colons in address' : 'missing port in address'}; an IPv6 host goes in brackets)`);
    return undefined;
  }
  const host = m[1] ?? m[2] ?? '';
  const portText = m[3]!;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    l.error('address', `the port must be a number from 0 to 65535, got "${portText}" in "${raw}"`);
    return undefined;
  }
  const port = Number(portText);
  // Go listens on every interface for an empty host; Envoy binds IPv4's 0.0.0.0 for it.
  const ip = host === '' ? '0.0.0.0' : host.toLowerCase() === 'localhost' ? '127.0.0.1' : host;
  const family = isIP(ip);
  if (family === 0) {
    l.error('address', `Envoy listens on an IP address, not on a host name: got "${host}" in "${raw}"`);
    return undefined;
  }
  if (m[1] !== undefined && family !== 6) {
    l.error('address', `only an IPv6 address goes in brackets, got "${raw}"`);
    return undefined;
  }
  return family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The unix listener's socket path: absolute (Envoy's working directory is not ours), or `@name` (abstract). */
function readSocketPath(l: BlockReader): string | undefined {
  const raw = l.string('address');
  if (raw === undefined || raw === '') {
    l.error(raw === undefined ? '' : 'address', 'a unix listener needs the socket\'s path in address, such as "/run/vault-proxy/proxy.sock" (Vault Proxy would bind an unnamed socket no client can find)');
    return undefined;
  }
  if (!raw.startsWith('@') && !isAbsolute(raw)) {
    l.error('address', `must be an absolute path (Envoy, not vault-extproc, creates the socket, from its own working directory), got "${raw}"`);
    return undefined;
  }
  if (Buffer.byteLength(raw) > MAX_SOCKET_PATH_BYTES) {
    l.error('address', `a unix socket path has at most ${MAX_SOCKET_PATH_BYTES} bytes, got ${Buffer.byteLength(raw)}`);
    return undefined;
  }
  return raw;
}

/**
 * socket_mode, socket_user, socket_group: Vault applies them only when all three are set
 * (listenerutil.UnixSocketListener). Envoy sets the mode (pipe.mode); it cannot change the owner.
 */
function readSocketKeys(l: BlockReader, type: 'tcp' | 'unix'): number | undefined {
  const values = Object.fromEntries(SOCKET_KEYS.map((k) => [k, l.string(k)])) as Record<(typeof SOCKET_KEYS)[number], string | undefined>;
  const given = SOCKET_KEYS.filter((k) => values[k] !== undefined && values[k] !== '');
  if (given.length === 0) return undefined;
  if (type === 'tcp') {
    for (const k of given) l.warn(k, 'is for unix listeners; ignored on a tcp listener, as Vault does');
    return undefined;
  }
  if (given.length < 3) {
    l.warn(given[0]!, `Vault applies socket_mode, socket_user and socket_group only when all three are set; ${given.join(', ')} ignored, as Vault does`);
    return undefined;
  }
  const modeText = values.socket_mode!;
  if (!/^[0-7]+$/.test(modeText) || parseInt(modeText, 8) > 0o777) {
    l.error('socket_mode', `must be an octal file mode from 0 to 0777 (Envoy's pipe mode), got "${modeText}"`);
    return undefined;
  }
  l.warn('socket_user', `Envoy cannot change the socket's owner: it belongs to the user and group Envoy runs as, not ${values.socket_user}:${values.socket_group}; only socket_mode = "${modeText}" is applied (run Envoy as that user or group)`);
  return parseInt(modeText, 8);
}

/** The TLS keys, as listenerutil.TLSConfig reads them. Undefined with tls_disable or after an error. */
function readTls(l: BlockReader): ListenerConfig['tls'] {
  const disabled = l.bool('tls_disable') ?? false;
  if (disabled) {
    const ignored = TLS_KEYS.filter((k) => l.has(k));
    for (const k of ignored) l.accept(k);
    if (ignored.length > 0) l.warn(ignored[0]!, `${ignored.join(', ')} ignored: tls_disable = true`);
    return undefined;
  }
  const certFile = l.string('tls_cert_file') ?? '';
  const keyFile = l.string('tls_key_file') ?? '';
  let ok = true;
  if (certFile === '' || keyFile === '') {
    const missing = [certFile === '' ? 'tls_cert_file' : '', keyFile === '' ? 'tls_key_file' : ''].filter(Boolean).join(' and ');
    l.error(certFile === '' && l.has('tls_cert_file') ? 'tls_cert_file' : '', `TLS is on (Vault's default) and ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set: set tls_cert_file and tls_key_file, or tls_disable = true (Vault Proxy: "Error starting listener: error loading TLS cert: open : no such file or directory")`);
    ok = false;
  }
  const version = (key: 'tls_min_version' | 'tls_max_version', fallback: string): TlsVersion | undefined => {
    const v = l.string(key) || fallback;
    const mapped = TLS_VERSIONS[v];
    if (!mapped) l.error(key, `'${key}' value "${v}" not supported, please specify one of [tls10,tls11,tls12,tls13]`);
    return mapped;
  };
  const minVersion = version('tls_min_version', 'tls12');
  const maxVersion = version('tls_max_version', 'tls13');
  if (!minVersion || !maxVersion) ok = false;
  else if (maxVersion < minVersion) {
    l.error('tls_max_version', "'tls_max_version' must be greater than or equal to 'tls_min_version'");
    ok = false;
  }
  const cipherSuites = readCipherSuites(l);
  if (cipherSuites === null) ok = false;

  const requireClientCert = l.bool('tls_require_and_verify_client_cert') ?? false;
  const disableClientCerts = l.bool('tls_disable_client_certs') ?? false;
  let clientCaFile = l.string('tls_client_ca_file') || undefined;
  if (requireClientCert && disableClientCerts) {
    l.error('tls_disable_client_certs', "'tls_disable_client_certs' and 'tls_require_and_verify_client_cert' are mutually exclusive");
    ok = false;
  }
  if (!requireClientCert && clientCaFile !== undefined) {
    l.warn('tls_client_ca_file', 'is used only with tls_require_and_verify_client_cert = true (as in Vault); ignored');
    clientCaFile = undefined;
  }
  if (requireClientCert && clientCaFile === undefined) {
    // Go verifies client certificates against the system's roots then; Envoy needs a file.
    clientCaFile = SYSTEM_CA_FILES.find((f) => existsSync(f));
    if (clientCaFile) {
      l.warn('tls_require_and_verify_client_cert', `without tls_client_ca_file, client certificates are verified against the system's CA bundle, as Vault does: ${clientCaFile} on this machine`);
    } else {
      l.error('tls_require_and_verify_client_cert', `needs tls_client_ca_file: no system CA bundle found (looked for ${SYSTEM_CA_FILES.join(', ')})`);
      ok = false;
    }
  }
  if (!ok || !minVersion || !maxVersion) return undefined;
  return {
    certFile,
    keyFile,
    minVersion,
    maxVersion,
    ...(cipherSuites && cipherSuites.length > 0 ? { cipherSuites } : {}),
    ...(requireClientCert && clientCaFile ? { clientCaFile } : {}),
  };
}

/** tls_cipher_suites as BoringSSL names; undefined when unset, null after an error. */
function readCipherSuites(l: BlockReader): string[] | undefined | null {
  const raw = l.string('tls_cipher_suites');
  if (raw === undefined || raw.trim() === '') return undefined;
  const names = raw.trim().split(',').map((s) => s.trim());
  const out: string[] = [];
  const tls13: string[] = [];
  for (const name of names) {
    const mapped = Object.hasOwn(CIPHER_SUITES, name) ? CIPHER_SUITES[name] : undefined;
    if (mapped === undefined) {
      l.error('tls_cipher_suites', `invalid value for tls_cipher_suites: unsupported cipher "${name}"`);
      return null;
    }
    if (mapped === null) {
      l.error('tls_cipher_suites', `${name} is not offered by Envoy (BoringSSL); choose another suite`);
      return null;
    }
    if (mapped === 'tls13') tls13.push(name);
    else if (!out.includes(mapped)) out.push(mapped);
  }
  if (tls13.length > 0) l.warn('tls_cipher_suites', `${tls13.join(', ')}: TLS 1.3 suites cannot be chosen (in Go as in Envoy); all of them stay on, ignored`);
  return out;
}
