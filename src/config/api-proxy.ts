/**
 * Vault Proxy's namespace and consistency settings (Proxy 1.16+ for namespaces):
 * - `vault { namespace }` (or a top-level `namespace`), the auto-auth method's `namespace` and
 *   `VAULT_NAMESPACE`: as Vault Proxy sets its client's namespace — the environment wins, then the
 *   method's, then the vault block's. The auto-auth login and the token's renewals carry it.
 * - `api_proxy { prepend_configured_namespace }`: proxied requests go to that namespace, the
 *   client's own `X-Vault-Namespace` appended below it (`ns1` + `ns2` = `ns1/ns2/`). Without it, a
 *   proxied request keeps the client's namespace header as it came (Vault Proxy's SetHeaders).
 * - `api_proxy { enforce_consistency, when_inconsistent }`: Vault Enterprise's X-Vault-Index.
 */
import type { BlockReader } from './reader.js';
import type { Config } from './types.js';

export type EnforceConsistency = 'always' | 'never';
export type WhenInconsistent = 'fail' | 'retry' | 'forward';

export interface ApiProxyOptions {
  /** `prepend_configured_namespace` (default false). */
  prependConfiguredNamespace: boolean;
  /** `enforce_consistency` (default "never"). */
  enforceConsistency: EnforceConsistency;
  /** `when_inconsistent` (default "fail"). */
  whenInconsistent: WhenInconsistent;
}

declare module './types.js' {
  interface VaultConfig {
    /** `vault { namespace }` (Vault Proxy 1.16+) or a top-level `namespace`, as written. */
    namespace?: string;
  }
  interface Config {
    /** The api_proxy keys beyond use_auto_auth_token (absent: every default). */
    apiProxyOptions?: ApiProxyOptions;
  }
}

const ENTERPRISE_ONLY = 'acts only on a Vault that answers with X-Vault-Index (Vault Enterprise: performance standbys, performance replication); '
  + 'Vault Community never sends it, so there every request goes to Vault unchanged (check does not ask Vault which it is)';

export const API_PROXY_DEFAULTS: ApiProxyOptions = { prependConfiguredNamespace: false, enforceConsistency: 'never', whenInconsistent: 'fail' };

/** Vault's namespace.Canonicalize: no leading `/` (one removed), a trailing `/`; '' stays ''. */
export function canonicalizeNamespace(ns: string): string {
  if (ns === '') return '';
  const p = ns.startsWith('/') ? ns.slice(1) : ns;
  return p.endsWith('/') ? p : `${p}/`;
}

/**
 * The namespace of Vault Proxy's own client, canonical ('' for none): VAULT_NAMESPACE, else the
 * auto-auth method's `namespace`, else the vault block's (Proxy 1.16+ sets the method's after the
 * vault block's, so the method's wins). The auto-auth login and renewals carry it, and
 * prepend_configured_namespace puts it in front of every proxied request's namespace.
 */
export function configuredNamespace(config: Pick<Config, 'vault' | 'autoAuth'>, env: NodeJS.ProcessEnv = process.env): string {
  const method = config.autoAuth?.method;
  const methodNs = method && method.type !== 'unsupported' ? method.namespace : undefined;
  return canonicalizeNamespace(env['VAULT_NAMESPACE'] || methodNs || config.vault.namespace || '');
}

/** The api_proxy keys this module owns; every other key stays with build.ts. */
export function readApiProxyOptions(b: BlockReader): ApiProxyOptions {
  const options: ApiProxyOptions = { ...API_PROXY_DEFAULTS };
  options.prependConfiguredNamespace = b.bool('prepend_configured_namespace') ?? false;
  const enforce = b.string('enforce_consistency');
  // Vault Proxy: "never" and "" are the default; anything else is an error at start.
  if (enforce === 'always') options.enforceConsistency = 'always';
  else if (enforce !== undefined && enforce !== 'never' && enforce !== '') {
    b.error('enforce_consistency', `Unknown api_proxy setting for enforce_consistency: ${JSON.stringify(enforce)} (must be "always" or "never")`);
  }
  const when = b.string('when_inconsistent');
  if (when === 'retry' || when === 'forward') options.whenInconsistent = when;
  else if (when !== undefined && when !== 'fail' && when !== '') {
    b.error('when_inconsistent', `Unknown api_proxy setting for when_inconsistent: ${JSON.stringify(when)} (must be "fail", "retry" or "forward")`);
  }
  if (options.enforceConsistency === 'always') {
    b.warn('enforce_consistency', ENTERPRISE_ONLY);
  } else if (when === 'fail' || when === 'retry' || when === 'forward') {
    b.warn('when_inconsistent', 'has no effect without enforce_consistency = "always", as in Vault Proxy');
  }
  return options;
}

/** `namespace` of a block (vault, or the top level): a string, or an error. */
export function readNamespaceKey(b: BlockReader): string | undefined {
  const ns = b.string('namespace');
  if (ns === undefined || ns === '') return undefined;
  if (/[\s?#%]/.test(ns) || ns.split('/').some((seg) => seg === '.' || seg === '..')) {
    b.error('namespace', `is not a namespace path: ${JSON.stringify(ns)}`);
    return undefined;
  }
  return ns;
}

/**
 * The top-level `namespace` (named as Vault's changelog names Proxy 1.16's setting) next to
 * `vault { namespace }`: either one; both must agree.
 */
export function withTopLevelNamespace<V extends { namespace?: string }>(root: BlockReader, vault: V): V {
  const top = readNamespaceKey(root);
  if (top === undefined) return vault;
  if (vault.namespace !== undefined && canonicalizeNamespace(vault.namespace) !== canonicalizeNamespace(top)) {
    root.error('namespace', `differs from vault { namespace = ${JSON.stringify(vault.namespace)} }; set one of them`);
    return vault;
  }
  return { ...vault, namespace: vault.namespace ?? top };
}

/** The auto-auth method's `namespace`, canonical as Vault Proxy's config reader makes it. */
export function readMethodNamespace(m: BlockReader): string | undefined {
  const ns = readNamespaceKey(m);
  return ns === undefined ? undefined : canonicalizeNamespace(ns);
}

/**
 * Vault Agent's older spelling: `cache { enforce_consistency, when_inconsistent }`, kept by Agent
 * "for legacy reasons" and refused when api_proxy sets the same thing (agent.go).
 */
export function readCacheConsistency(cache: BlockReader, options: ApiProxyOptions | undefined): ApiProxyOptions | undefined {
  if (!cache.has('enforce_consistency') && !cache.has('when_inconsistent')) return options;
  const out: ApiProxyOptions = { ...(options ?? API_PROXY_DEFAULTS) };
  const enforce = cache.string('enforce_consistency');
  if (enforce === 'always') {
    if (out.enforceConsistency !== 'never') cache.error('enforce_consistency', 'enforce_consistency configured in both api_proxy and cache blocks. Please remove this configuration from the cache block.');
    out.enforceConsistency = 'always';
    cache.warn('enforce_consistency', ENTERPRISE_ONLY);
  } else if (enforce !== undefined && enforce !== 'never' && enforce !== '') {
    cache.error('enforce_consistency', `Unknown cache setting for enforce_consistency: ${JSON.stringify(enforce)} (must be "always" or "never")`);
  }
  const when = cache.string('when_inconsistent');
  if (when === 'retry' || when === 'forward') {
    if (out.whenInconsistent !== 'fail') cache.error('when_inconsistent', 'when_inconsistent configured in both api_proxy and cache blocks. Please remove this configuration from the cache block.');
    out.whenInconsistent = when;
  } else if (when !== undefined && when !== 'fail' && when !== '') {
    cache.error('when_inconsistent', `Unknown cache setting for when_inconsistent: ${JSON.stringify(when)} (must be "fail", "retry" or "forward")`);
  }
  return out;
}
