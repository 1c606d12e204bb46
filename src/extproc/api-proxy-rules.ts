/**
 * Vault Proxy's api_proxy rules that change the request Vault receives (command/agentproxyshared/
 * cache/api_proxy.go, Proxy 1.16+): the configured namespace put in front of the client's, and
 * Vault Enterprise's consistency headers. The canonical request is rewritten to what Vault will
 * read, so the caches key the namespace Vault sees.
 */
import { API_PROXY_DEFAULTS, canonicalizeNamespace, configuredNamespace, type WhenInconsistent } from '../config/api-proxy.js';
import type { Config } from '../config/types.js';
import { ReplicationStates } from '../vault/consistency.js';
import type { VaultRequest } from '../vault/request.js';
import type { RequestDecision } from './decisions.js';
import type { StreamEffect, StreamState } from './stream-types.js';

export const INDEX_HEADER = 'x-vault-index';
const INCONSISTENT_HEADER = 'x-vault-inconsistent';
const FORWARD_HEADER = 'x-vault-forward';
/** http.VaultInconsistentForward */
export const FORWARD_ACTIVE_NODE = 'forward-active-node';

export interface ApiProxyRules {
  /** prepend_configured_namespace with a configured namespace: that namespace, canonical (`ns1/`). */
  prependNamespace?: string;
  /** enforce_consistency = "always": the states to require and what to do when Vault lags. */
  consistency?: { whenInconsistent: WhenInconsistent; states(): readonly string[] };
}

type Continue = Extract<RequestDecision, { kind: 'continue' }>;

/**
 * The request as Vault will receive it, after the namespace and consistency headers are set on
 * `decision` (set and appended headers). `next.managesIndex` is set when the answer's
 * X-Vault-Index is to be remembered.
 */
export function applyApiProxyRules(req: VaultRequest, decision: Continue, rules: ApiProxyRules | undefined, next: StreamState): VaultRequest {
  if (!rules) return req;
  let sent = req;
  if (rules.prependNamespace) {
    // Canonicalize(configured + Canonicalize(client's first X-Vault-Namespace)), set as the only line.
    const namespace = canonicalizeNamespace(rules.prependNamespace + canonicalizeNamespace(req.namespace ?? ''));
    decision.setHeaders['x-vault-namespace'] = namespace;
    sent = { ...sent, namespace };
  }
  const c = rules.consistency;
  // Vault Proxy manages the state only for requests that carry none of the consistency headers.
  if (c && ![INDEX_HEADER, FORWARD_HEADER, INCONSISTENT_HEADER].some((h) => req.answerHeaders.includes(h))) {
    next.managesIndex = true;
    const states = c.states();
    if (states.length > 0) {
      decision.appendHeaders = [...(decision.appendHeaders ?? []), ...states.map((s): [string, string] => [INDEX_HEADER, s])];
      if (c.whenInconsistent === 'forward') decision.setHeaders[INCONSISTENT_HEADER] = FORWARD_ACTIVE_NODE;
    }
  }
  return sent;
}

/** The answer's X-Vault-Index, to be merged into the required states (any status, as RecordState). */
export function indexStateEffects(state: StreamState, headers: ReadonlyMap<string, string>): StreamEffect[] {
  if (!state.managesIndex) return [];
  // Go's Header.Get: the first line (repeated lines arrive joined with ', '; a state has no comma).
  const value = headers.get(INDEX_HEADER)?.split(',')[0]!.trim();
  return value ? [{ type: 'index-state', value }] : [];
}

/** The rules for a config, and where the answers' states are merged (one set per process, as Vault Proxy). */
export function apiProxyRulesFor(config: Config): { rules: ApiProxyRules | undefined; record(value: string): void } {
  const options = config.apiProxyOptions ?? API_PROXY_DEFAULTS;
  const states = new ReplicationStates();
  const prependNamespace = options.prependConfiguredNamespace ? configuredNamespace(config) : '';
  const consistency = options.enforceConsistency === 'always'
    ? { whenInconsistent: options.whenInconsistent, states: () => states.current }
    : undefined;
  const rules: ApiProxyRules | undefined = prependNamespace || consistency
    ? { ...(prependNamespace ? { prependNamespace } : {}), ...(consistency ? { consistency } : {}) }
    : undefined;
  return { rules, record: (value) => states.record(value) };
}

/**
 * Once the worker knows which Vault it is (sys/health, asked when the static cache is on): a
 * configured namespace on a Vault without namespaces is ignored there, as Vault Community ignores
 * X-Vault-Namespace; enforce_consistency too acts only on Vault Enterprise. Said once, as a warning.
 */
export function vaultKindNotices(config: Config, vault: { namespaces: boolean; version: string }): string[] {
  if (vault.namespaces) return [];
  const notices: string[] = [];
  if (configuredNamespace(config)) notices.push(`Vault ${vault.version} has no namespaces: the configured namespace is sent, and Vault ignores it (every request runs in the root namespace)`);
  if ((config.apiProxyOptions ?? API_PROXY_DEFAULTS).enforceConsistency === 'always') notices.push(`Vault ${vault.version} is not Vault Enterprise: it sends no X-Vault-Index, so enforce_consistency changes nothing`);
  return notices;
}
