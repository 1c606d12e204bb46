/** The validated configuration. Durations are seconds; file modes are numbers (0o640). */

import type { AppRoleMethod } from './methods/approle.js';
import type { AwsMethod } from './methods/aws.js';
import type { AzureMethod } from './methods/azure.js';
import type { CertMethod } from './methods/cert.js';
import type { GcpMethod } from './methods/gcp.js';
import type { JwtMethod } from './methods/jwt.js';
import type { KubernetesMethod } from './methods/kubernetes.js';
import type { LdapMethod } from './methods/ldap.js';
import type { TokenFileMethod } from './methods/token-file.js';

export type UseAutoAuthToken = false | true | 'force';

export interface VaultConfig {
  address: string;
  caCert?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  tlsSkipVerify: boolean;
  tlsServerName?: string;
  /** `vault { retry { num_retries } }`: 12 by default, -1 disables retries. */
  numRetries: number;
}


export type { MethodCommon } from './methods/common.js';
export type { AppRoleMethod, AwsMethod, AzureMethod, CertMethod, GcpMethod, JwtMethod, KubernetesMethod, LdapMethod, TokenFileMethod };

/** A method Vault knows that we do not implement yet: `check` warns, `serve` refuses. */
export interface UnsupportedMethod {
  type: 'unsupported';
  name: string;
}

export type AutoAuthMethod =
  | AppRoleMethod | TokenFileMethod | KubernetesMethod | JwtMethod | CertMethod | LdapMethod | AwsMethod | GcpMethod | AzureMethod
  | UnsupportedMethod;

/** A `sink "file"` as Vault Agent writes it: response-wrapped first, then encrypted, when asked. */
export interface FileSink {
  path: string;
  /** `mode` (default 0640); 0 creates the file with no permission bits, as Vault's sink does. */
  mode: number;
  /** `uid`/`gid` (Vault 1.18): the owner set on the temp file before the rename; unset or -1 leaves it. */
  uid?: number;
  gid?: number;
  /** `wrap_ttl` (seconds): the token wrapped with sys/wrapping/wrap, Vault's wrap_info JSON written. */
  wrapTtlSeconds?: number;
  /** `dh_type = "curve25519"` with `dh_path`, `aad` (or `aad_env_var`, read at start) and `derive_key`. */
  dh?: { type: 'curve25519'; path: string; aad: string; deriveKey: boolean };
}

export interface AutoAuthConfig {
  method: AutoAuthMethod;
  sinks: FileSink[];
  /** `enable_reauth_on_new_credentials` (Vault 1.19): log in again when a credential file changes. */
  enableReauthOnNewCredentials: boolean;
}

/** A Vault Proxy listener, served by an Envoy listener (src/config/listener.ts reads it). */
export interface ListenerConfig {
  type: 'tcp' | 'unix';
  /** tcp: `ip:port` as Envoy binds it (`[::1]:8100` for IPv6); unix: the socket's path (`@name`: abstract). */
  address: string;
  requireRequestHeader: boolean;
  enableQuit: boolean;
  role: 'default' | 'metrics_only';
  /** unix: the socket file's mode (Envoy's `pipe.mode`), from socket_mode; absent: as Envoy creates it. */
  socketMode?: number;
  /** Downstream TLS (Vault's default); absent with `tls_disable = true`. */
  tls?: {
    certFile: string;
    keyFile: string;
    /** Envoy's names: TLSv1_0 … TLSv1_3 (Vault's tls10 … tls13; Vault's defaults tls12 and tls13). */
    minVersion: 'TLSv1_0' | 'TLSv1_1' | 'TLSv1_2' | 'TLSv1_3';
    maxVersion: 'TLSv1_0' | 'TLSv1_1' | 'TLSv1_2' | 'TLSv1_3';
    /** BoringSSL names of the TLS 1.0–1.2 suites; absent: Envoy's defaults. */
    cipherSuites?: string[];
    /** tls_require_and_verify_client_cert: clients must present a certificate this CA file verifies. */
    clientCaFile?: string;
  };
}

/**
 * The ext_proc channel is authenticated: a unix socket whose file mode admits only Envoy's user
 * (or group), or TCP with mutual TLS. Plain TCP only with `tls_disable = true` written out.
 */
export interface ExtprocConfig {
  /** gRPC ext_proc server address: `unix:///path/extproc.sock` or host:port. */
  address: string;
  /** Admin HTTP (healthz, readyz, metrics). */
  adminAddress: string;
  /** File mode of the unix socket: 0600 (Envoy runs as our user) by default, 0660 to admit a group. */
  socketMode: number;
  /** TCP with mutual TLS; undefined for a unix socket or with tls_disable. */
  tls?: ExtprocTlsConfig;
  /** `tls_disable = true`: plain TCP, accepted only when written out (check warns). */
  tlsDisable: boolean;
}

export interface ExtprocTlsConfig {
  /** vault-extproc's server certificate and key. */
  certFile: string;
  keyFile: string;
  /** The CA that signed Envoy's client certificate: only clients with such a certificate get a stream. */
  clientCaFile: string;
  /** Envoy's client certificate and key (paths as Envoy sees them), for `envoy-config`. */
  envoyClientCertFile: string;
  envoyClientKeyFile: string;
  /** The CA Envoy checks vault-extproc's certificate with (paths as Envoy sees them); default clientCaFile. */
  caFile: string;
  /** SNI Envoy sends, and the name vault-extproc's certificate must carry (optional). */
  serverName?: string;
}

export interface CacheConfig {
  /** The lease cache (Vault Agent's): on unless disable_caching_dynamic_secrets = true. */
  leaseCache: boolean;
  /** cache_static_secrets: KV v1/v2 GETs answered from the cache for tokens that proved read access. */
  staticSecrets: boolean;
  /** static_secret_token_capability_refresh_interval (default 5m). */
  capabilityRefreshSeconds: number;
  /** static_secret_refresh_interval (ours, default 1m): refetch cached secrets when KV events are unavailable. */
  staticRefreshSeconds: number;
  /**
   * static_secret_max_stale (ours, default one capability refresh interval): how long past a due
   * confirmation a token keeps cached access while the worker cannot confirm it (Vault unreachable,
   * slow or sealed). A token's access lasts at most capabilityRefreshSeconds + maxStaleSeconds after
   * Vault last confirmed it.
   */
  maxStaleSeconds: number;
  /**
   * Vault Agent caches logins (tokens created by an auth method's login) and hands the cached
   * token to whoever sends the same credentials. disable_caching_logins = true (ours) stops that.
   */
  cacheLogins: boolean;
  /** max_bytes (ours, default 64 MiB): the in-memory store's budget; least recently used entries go first. */
  maxBytes: number;
  /** `persist "file" | "kubernetes" { … }`: the sealed persistent store (src/config/persist.ts). */
  persist?: import('./persist.js').PersistConfig;
  /** serve_stale / serve_stale_max (ours): bounded stale answers while Vault is unreachable or sealed. */
  stale?: import('./persist.js').StaleConfig;
}

export interface Config {
  vault: VaultConfig;
  autoAuth?: AutoAuthConfig;
  apiProxy: { useAutoAuthToken: UseAutoAuthToken };
  cache?: CacheConfig;
  listeners: ListenerConfig[];
  extproc: ExtprocConfig;
  pidFile?: string;
  exitAfterAuth: boolean;
  /** The telemetry stanza (always set by the reader; absent only in configs built by hand). */
  telemetry?: import('./telemetry.js').TelemetryConfig;
  /** Vault Agent's `template` blocks (src/config/template.ts), rendered by the worker. */
  templates?: import('./template.js').TemplateConfig[];
  /** `template_config` with its defaults (set whenever there are templates). */
  templateSettings?: import('./template.js').TemplateSettings;
  /** `fleet { redis_url, encryption_key_file, … }` (src/config/fleet.ts): absent without the block. */
  fleet?: import('./fleet.js').FleetConfig;
}

export const DEFAULTS = {
  vaultAddress: 'https://127.0.0.1:8200',
  listenerAddress: '127.0.0.1:8100',
  extprocAddress: 'unix:///run/vault-extproc/extproc.sock',
  extprocSocketMode: 0o600,
  adminAddress: '127.0.0.1:9002',
  numRetries: 12,
  sinkMode: 0o640,
  minBackoffSeconds: 1,
  maxBackoffSeconds: 300,
  capabilityRefreshSeconds: 300,
  staticRefreshSeconds: 60,
  cacheMaxBytes: 64 * 1024 * 1024,
} as const;
