import { isHostPort, unixSocketPath } from '../config/build.js';
import type { Config, ExtprocConfig, ListenerConfig } from '../config/types.js';
import { EXT_PROC_SERVICE_NAME, LISTENER_METADATA_KEY } from '../extproc/server.js';
import { withAccessLog } from './access-log.js';
import { withConsistencyRetry } from './consistency.js';

export interface BootstrapOptions {
  /** Envoy's admin interface (host:port); default 127.0.0.1:9901. */
  adminAddress?: string;
  /**
   * Where Envoy reaches each vault-extproc replica (`envoy-config --extproc-address`, repeatable):
   * unix:///path or host:port, the same kind as the config's `extproc.address` (which says how every
   * replica listens). Default: that address alone. Two or more: one round-robin cluster with gRPC
   * health checks and outlier detection (FLEET_HEALTH_CHECK).
   */
  extprocAddresses?: readonly string[];
}

/**
 * The ext_proc cluster of several replicas (README "Envoy in front of several replicas"):
 * - gRPC health checks (grpc.health.v1, service envoy.service.ext_proc.v3.ExternalProcessor, which a
 *   replica reports SERVING only while it is ready: ext_proc bound and, with auto-auth, a token held)
 *   every second, 1 s timeout; 2 failures take a replica out, 2 successes bring it back (at Envoy's
 *   start one success). A dead replica fails them within about 2 s (its refused connection fails
 *   each check at once; 1.5–1.7 s seen), a hung one within interval + 2 × (timeout + interval) = 5 s
 *   (about 4 s seen). The same interval applies before the cluster has had traffic (Envoy's default
 *   there is 60 s).
 * - outlier detection on local-origin failures only (connect refused, reset, timeout): 2 in a row
 *   eject a replica at once, so that a dead one costs a couple of requests rather than a third of
 *   the traffic until the checks fail it (2 against 197 in test/e2e/envoy-fleet.test.ts); a passing
 *   health check brings it back (Envoy's successful_active_health_check_uneject_host; a restarted
 *   replica got its first request about 1 s after the checks found it healthy). A hung replica's
 *   streams time out (504) without ejecting it: that is the checks' case. gRPC statuses a replica
 *   answers never eject it.
 * - healthy_panic_threshold 0: Envoy's default (50 %) would spread traffic over every replica, the
 *   dead ones included, once fewer than half are healthy; with 0 the healthy ones take it all, and
 *   with none healthy the request fails (500: the filter fails closed), never unprocessed.
 */
export const FLEET_HEALTH_CHECK = {
  interval: '1s',
  timeout: '1s',
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  consecutiveLocalOriginFailures: 2,
} as const;

/**
 * Timeouts and limits chosen on purpose (README "Envoy setup" says why):
 * - message_timeout 1 s: Envoy's 200 ms default turns a GC pause or a busy core into 504s; a
 *   second still fails a hung processor fast.
 * - failure_mode_allow false: if vault-extproc is down, requests fail (500) instead of reaching
 *   Vault without the listener rules and token choice the operator configured.
 * - ext_proc cluster circuit breakers raised from 1024: every in-flight HTTP request holds a stream.
 * - per-connection buffer 32 MiB (Vault's max_request_size): bodies ext_proc buffers must fit.
 * - ext_proc streams end with a reset, not Envoy's "graceful close": in Envoy 1.40.0 a graceful
 *   close frees the stream's callback object while the gRPC client still holds it, and the server's
 *   closing trailers then call into freed memory (a segfault, seen on requests in flight ~50 s or
 *   longer). Node's HTTP/2 answers more than 1000 stream resets on one connection (then 33/s) with
 *   GOAWAY, which fails the requests in flight, so Envoy opens a new connection to vault-extproc
 *   every EXT_PROC_STREAMS_PER_CONNECTION streams.
 */
export const EXT_PROC_MESSAGE_TIMEOUT = '1s';
export const VAULT_ROUTE_TIMEOUT = '60s';
/**
 * Vault's own max_request_size (32 MiB). A body ext_proc asks for whole (BUFFERED) must fit, and one it
 * asks for as BUFFERED_PARTIAL then always comes whole for anything Vault sends or accepts: with
 * Envoy's 1 MiB default, a 1.5 MB answer split at the limit sometimes never finished (Envoy 1.40.0).
 * It is a limit, not an allocation.
 */
export const BUFFER_LIMIT_BYTES = 32 * 1024 * 1024;
/** Well under nghttp2's burst of 1000 stream resets per connection (its rapid-reset guard). */
export const EXT_PROC_STREAMS_PER_CONNECTION = 500;
const EXT_PROC_CLUSTER = 'vault_extproc';
const VAULT_CLUSTER = 'vault';

export function envoyBootstrap(config: Config, opts: BootstrapOptions = {}): Record<string, unknown> {
  const admin = splitHostPort(opts.adminAddress ?? '127.0.0.1:9901');
  return {
    node: { id: 'vault-extproc', cluster: 'vault-extproc' },
    admin: { address: socketAddress(admin.host, admin.port) },
    layered_runtime: {
      layers: [{
        name: 'static',
        static_layer: {
          // Off on purpose: Envoy 1.40.0's graceful close of ext_proc streams uses freed memory
          // when vault-extproc's closing trailers arrive (a segfault). Streams end with a reset;
          // EXT_PROC_STREAMS_PER_CONNECTION keeps the resets within Node's rapid-reset budget.
          'envoy.reloadable_features.ext_proc_graceful_grpc_close': false,
        },
      }],
    },
    static_resources: {
      listeners: config.listeners.map((l, i) => withConsistencyRetry(withAccessLog(listener(l, i), config.extproc), config)),
      clusters: [extprocCluster(config.extproc, opts.extprocAddresses), vaultCluster(config)],
    },
  };
}

function listener(l: ListenerConfig, index: number): Record<string, unknown> {
  return {
    name: `vault_listener_${index}`,
    address: listenerAddress(l),
    per_connection_buffer_limit_bytes: BUFFER_LIMIT_BYTES,
    filter_chains: [{
      ...(l.tls ? { transport_socket: downstreamTls(l.tls) } : {}),
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: `vault_listener_${index}`,
          codec_type: 'AUTO',
          // Vault's LIST verb (the vault CLI, hvac) is not a standard HTTP method.
          http_protocol_options: { allow_custom_methods: true },
          route_config: {
            name: 'vault',
            virtual_hosts: [{
              name: 'vault',
              domains: ['*'],
              routes: [{ match: { prefix: '/' }, route: { cluster: VAULT_CLUSTER, timeout: VAULT_ROUTE_TIMEOUT } }],
            }],
          },
          http_filters: [
            {
              name: 'envoy.filters.http.ext_proc',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
                grpc_service: {
                  envoy_grpc: { cluster_name: EXT_PROC_CLUSTER },
                  // Tells vault-extproc which listener (and so which listener rules) a stream is for.
                  initial_metadata: [{ key: LISTENER_METADATA_KEY, value: String(index) }],
                },
                failure_mode_allow: false,
                message_timeout: EXT_PROC_MESSAGE_TIMEOUT,
                allow_mode_override: true,
                processing_mode: {
                  request_header_mode: 'SEND',
                  response_header_mode: 'SEND',
                  request_body_mode: 'NONE',
                  response_body_mode: 'NONE',
                  request_trailer_mode: 'SKIP',
                  response_trailer_mode: 'SKIP',
                },
              },
            },
            {
              name: 'envoy.filters.http.router',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
            },
          ],
        },
      }],
    }],
  };
}

/** A tcp listener's IP and port, or a unix listener's socket as an Envoy `pipe` (with socket_mode). */
function listenerAddress(l: ListenerConfig): Record<string, unknown> {
  if (l.type === 'unix') return { pipe: { path: l.address, ...(l.socketMode !== undefined ? { mode: l.socketMode } : {}) } };
  const { host, port } = splitHostPort(l.address);
  return socketAddress(host, port);
}

/**
 * Vault's listener TLS (listenerutil.TLSConfig) as Envoy's: the certificate and key, TLS versions,
 * the TLS 1.0–1.2 cipher suites, and with tls_require_and_verify_client_cert a client certificate
 * the CA file verifies. ALPN offers h2 and http/1.1, as Vault's listener does.
 */
function downstreamTls(tls: NonNullable<ListenerConfig['tls']>): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      ...(tls.clientCaFile ? { require_client_certificate: true } : {}),
      common_tls_context: {
        alpn_protocols: ['h2', 'http/1.1'],
        tls_params: {
          tls_minimum_protocol_version: tls.minVersion,
          tls_maximum_protocol_version: tls.maxVersion,
          ...(tls.cipherSuites ? { cipher_suites: tls.cipherSuites } : {}),
        },
        tls_certificates: [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }],
        ...(tls.clientCaFile ? { validation_context: { trusted_ca: { filename: tls.clientCaFile } } } : {}),
      },
    },
  };
}

/**
 * What is wrong with `--extproc-address` values for this config, or undefined. Each must be a
 * unix:///absolute/path or host:port, named once, and of the kind the config's `extproc.address` is:
 * the config says how every replica listens (and, over TCP, the TLS Envoy uses for all of them).
 */
export function extprocAddressesProblem(channel: ExtprocConfig, addresses: readonly string[]): string | undefined {
  const unix = unixSocketPath(channel.address) !== undefined;
  const seen = new Set<string>();
  for (const a of addresses) {
    const isUnix = unixSocketPath(a) !== undefined;
    if (!isUnix && !isHostPort(a)) return `must be unix:///path/to/socket or host:port, got "${a}"`;
    if (isUnix !== unix) {
      return unix
        ? `"${a}" is host:port, but the config's extproc address is a unix socket (${channel.address}): name each replica's socket as Envoy sees it (unix:///…), or give the config a TCP address with mutual TLS`
        : `"${a}" is a unix socket, but the config's extproc address is TCP (${channel.address}): name each replica as host:port`;
    }
    const key = isUnix ? unixSocketPath(a)! : a;
    if (seen.has(key)) return `"${a}" is named twice`;
    seen.add(key);
  }
  return undefined;
}

/**
 * The cluster Envoy reaches vault-extproc on, matching how vault-extproc listens: a unix socket
 * (`pipe`), TCP with Envoy's client certificate (mutual TLS), or plain TCP (tls_disable). One
 * endpoint (the config's address, or one --extproc-address) is today's cluster; several are one
 * round-robin cluster, health-checked (FLEET_HEALTH_CHECK).
 */
function extprocCluster(channel: ExtprocConfig, addresses: readonly string[] | undefined): Record<string, unknown> {
  const endpoints = (addresses && addresses.length > 0 ? addresses : [channel.address]).map(extprocEndpoint);
  const tcp = endpoints.filter((e): e is { host: string; port: number } => 'host' in e);
  const cluster: Record<string, unknown> = {
    name: EXT_PROC_CLUSTER,
    type: tcp.every((e) => isIp(e.host)) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        common_http_protocol_options: { max_requests_per_connection: EXT_PROC_STREAMS_PER_CONNECTION },
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    circuit_breakers: {
      thresholds: [{ priority: 'DEFAULT', max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }],
    },
    load_assignment: {
      cluster_name: EXT_PROC_CLUSTER,
      endpoints: [{
        lb_endpoints: endpoints.map((e) => ({ endpoint: { address: 'path' in e ? { pipe: { path: e.path } } : socketAddress(e.host, e.port) } })),
      }],
    },
  };
  const tls = channel.tls;
  if (tcp.length > 0 && tls) {
    cluster['transport_socket'] = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        ...(tls.serverName ? { sni: tls.serverName } : {}),
        common_tls_context: {
          // gRPC is HTTP/2; Node's TLS server refuses a connection that does not negotiate h2.
          alpn_protocols: ['h2'],
          tls_certificates: [{ certificate_chain: { filename: tls.envoyClientCertFile }, private_key: { filename: tls.envoyClientKeyFile } }],
          validation_context: {
            trusted_ca: { filename: tls.caFile },
            ...(tls.serverName ? { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: tls.serverName } }] } : {}),
          },
        },
      },
    };
  }
  if (endpoints.length > 1) Object.assign(cluster, fleetBalancing(tcp.length > 0 && tls !== undefined));
  return cluster;
}

/** Round robin over healthy replicas: gRPC health checks, outlier detection, no panic mode (FLEET_HEALTH_CHECK). */
function fleetBalancing(tls: boolean): Record<string, unknown> {
  const h = FLEET_HEALTH_CHECK;
  return {
    lb_policy: 'ROUND_ROBIN',
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    health_checks: [{
      interval: h.interval,
      timeout: h.timeout,
      no_traffic_interval: h.interval,
      unhealthy_threshold: h.unhealthyThreshold,
      healthy_threshold: h.healthyThreshold,
      // Envoy logs the first failure of a replica (and its return) at warning level.
      grpc_health_check: { service_name: EXT_PROC_SERVICE_NAME },
      // The health-check connection offers h2 like the cluster's (Node refuses TLS without it).
      ...(tls ? { tls_options: { alpn_protocols: ['h2'] } } : {}),
    }],
    outlier_detection: {
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: h.consecutiveLocalOriginFailures,
      enforcing_consecutive_local_origin_failure: 100,
      // Answers (gRPC statuses) are the health checks' business, not ejections.
      enforcing_consecutive_5xx: 0,
      enforcing_success_rate: 0,
      enforcing_local_origin_success_rate: 0,
      max_ejection_percent: 100,
    },
  };
}

/** A replica's address as Envoy reaches it: a socket path, or host and port (a wildcard host is reached on loopback). */
function extprocEndpoint(address: string): { path: string } | { host: string; port: number } {
  const socketPath = unixSocketPath(address);
  if (socketPath !== undefined) return { path: socketPath };
  const { host, port } = splitHostPort(address);
  return { host: host === '0.0.0.0' || host === '::' || host === '[::]' ? '127.0.0.1' : host, port };
}

function vaultCluster(config: Config): Record<string, unknown> {
  const url = new URL(config.vault.address);
  const tls = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (tls ? 443 : 80));
  const cluster: Record<string, unknown> = {
    name: VAULT_CLUSTER,
    type: isIp(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '5s',
    per_connection_buffer_limit_bytes: BUFFER_LIMIT_BYTES,
    load_assignment: endpoint(VAULT_CLUSTER, host, port),
  };
  if (tls) {
    const v = config.vault;
    cluster['transport_socket'] = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: v.tlsServerName ?? host,
        common_tls_context: {
          ...(v.tlsSkipVerify || !v.caCert ? {} : { validation_context: { trusted_ca: { filename: v.caCert } } }),
          ...(v.clientCert && v.clientKey
            ? { tls_certificates: [{ certificate_chain: { filename: v.clientCert }, private_key: { filename: v.clientKey } }] }
            : {}),
        },
      },
    };
  }
  return cluster;
}

function endpoint(name: string, host: string, port: number): Record<string, unknown> {
  return { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }] };
}

function socketAddress(host: string, port: number): Record<string, unknown> {
  return { socket_address: { address: host.replace(/^\[|\]$/g, ''), port_value: port } };
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
