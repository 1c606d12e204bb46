import { API_PROXY_DEFAULTS } from '../config/api-proxy.js';
import type { Config } from '../config/types.js';

/**
 * Vault's api client waits attempt × 1–1.5 s between retries (MinRetryWait 1 s, MaxRetryWait
 * 1.5 s, linear jitter). Envoy's back-off is exponential with full jitter, capped at max_interval:
 * the same bounds per wait, a different shape (README "Consistency").
 */
export const RETRY_BASE_INTERVAL = '1s';
export const RETRY_MAX_INTERVAL = '1.5s';

/**
 * `when_inconsistent = "retry"` with `enforce_consistency = "always"`: Vault Enterprise answers 412
 * ("required index state not present") to a request whose X-Vault-Index it has not reached yet;
 * Vault Proxy's client retries it, and so does Envoy here: a route retry policy on status 412, for
 * requests that carry an X-Vault-Index (the states vault-extproc added, or the client's own), at
 * most `vault { retry { num_retries } }` times (12 by default; -1 or VAULT_MAX_RETRIES=0: none).
 * Other modes leave the listener untouched.
 */
export function consistencyRetryPolicy(config: Config): Record<string, unknown> | undefined {
  const options = config.apiProxyOptions ?? API_PROXY_DEFAULTS;
  if (options.enforceConsistency !== 'always' || options.whenInconsistent !== 'retry') return undefined;
  const numRetries = Math.max(0, config.vault.numRetries);
  if (numRetries === 0) return undefined;
  return {
    retry_on: 'retriable-status-codes',
    retriable_status_codes: [412],
    num_retries: numRetries,
    retry_back_off: { base_interval: RETRY_BASE_INTERVAL, max_interval: RETRY_MAX_INTERVAL },
    retriable_request_headers: [{ name: 'x-vault-index', present_match: true }],
  };
}

/** The listener with the retry policy on each of its routes (unchanged when none applies). */
export function withConsistencyRetry(listener: Record<string, unknown>, config: Config): Record<string, unknown> {
  const policy = consistencyRetryPolicy(config);
  if (!policy) return listener;
  for (const chain of (listener['filter_chains'] as Array<{ filters?: Array<{ typed_config?: Record<string, unknown> }> }>) ?? []) {
    for (const filter of chain.filters ?? []) {
      const hosts = (filter.typed_config?.['route_config'] as { virtual_hosts?: Array<{ routes?: Array<{ route?: Record<string, unknown> }> }> } | undefined)?.virtual_hosts;
      for (const host of hosts ?? []) for (const r of host.routes ?? []) if (r.route) r.route['retry_policy'] = policy;
    }
  }
  return listener;
}
