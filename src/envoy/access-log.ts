/**
 * Envoy's HTTP access log for `extproc { envoy_access_log = "<path>" }`: one JSON line per request
 * on every listener's connection manager. The format names each field on purpose and never a token
 * header (X-Vault-Token, Authorization), a cookie, the query string (Vault reads `?token=` on
 * auth/token/lookup) or a body. `response_code_details` carries vault-extproc's own answer
 * (`vault_extproc_cache_hit`, `vault_extproc_missing_request_header` …) and `request_id` the
 * x-request-id that vault-extproc's debug request log uses too, so the two can be joined. What a
 * client controls is filtered as that log filters it (Envoy's CEL formatter): a request id that is
 * not a UUID is "-", and a path with a token-shaped segment is "[path with a token]".
 * Envoy writes buffered lines out every 10 s unless started with `--file-flush-interval-msec`
 * (Envoy 1.40's bootstrap has no field for it).
 */
import { envoyAccessLogOf } from '../config/access-log.js';
import type { ExtprocConfig } from '../config/types.js';

/** A UUID (the shape of the ids Envoy generates). */
const UUID_RE = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** A path segment shaped like a Vault token: hvs./hvb./hvr. (1.10+) or s./b./r., then the token's characters. */
const TOKEN_SEGMENT_RE = '(^|/)(hv[sbr]|[sbr])[.][A-Za-z0-9_-]{8,}(/|$)';

export const ACCESS_LOG_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  // Envoy's own ids (and a client's UUID) as they are; anything else a client put there is "-".
  request_id: `%CEL(request.headers["x-request-id"].matches("${UUID_RE}") ? request.headers["x-request-id"] : "-")%`,
  method: '%REQ(:METHOD)%',
  // The path without its query string; one with a token-shaped segment is not written at all.
  path: `%CEL(request.url_path.matches("${TOKEN_SEGMENT_RE}") ? "[path with a token]" : request.url_path)%`,
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  response_flags: '%RESPONSE_FLAGS%',
  x_cache: '%RESP(X-CACHE)%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration_ms: '%DURATION%',
  upstream_service_time_ms: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  upstream_host: '%UPSTREAM_HOST%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
};

/**
 * The connection manager's `access_log` entry writing ACCESS_LOG_FORMAT to `path`. /dev/stdout and
 * /dev/stderr use Envoy's stream loggers, which write to the process's own descriptors: opening
 * /dev/stdout fails (ENXIO) when Envoy's stdout is a socket, as under some process managers.
 */
export function fileAccessLog(path: string): Record<string, unknown> {
  const log_format = { json_format: ACCESS_LOG_FORMAT };
  if (path === '/dev/stdout' || path === '/dev/stderr') {
    const stream = path === '/dev/stdout' ? 'Stdout' : 'Stderr';
    return {
      name: `envoy.access_loggers.${stream.toLowerCase()}`,
      typed_config: { '@type': `type.googleapis.com/envoy.extensions.access_loggers.stream.v3.${stream}AccessLog`, log_format },
    };
  }
  return {
    name: 'envoy.access_loggers.file',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path, log_format },
  };
}

const HCM = 'envoy.filters.network.http_connection_manager';

/**
 * The listener with the access log added to each of its HTTP connection managers when the
 * extproc block names one; the listener unchanged otherwise.
 */
export function withAccessLog<T extends Record<string, unknown>>(listener: T, extproc: ExtprocConfig): T {
  const path = envoyAccessLogOf(extproc);
  if (path === undefined) return listener;
  const chains = (listener['filter_chains'] as Array<{ filters?: Array<{ name?: string; typed_config?: Record<string, unknown> }> }> | undefined) ?? [];
  for (const chain of chains) {
    for (const filter of chain.filters ?? []) {
      if (filter.name !== HCM || !filter.typed_config) continue;
      const existing = (filter.typed_config['access_log'] as unknown[] | undefined) ?? [];
      filter.typed_config['access_log'] = [...existing, fileAccessLog(path)];
    }
  }
  return listener;
}
