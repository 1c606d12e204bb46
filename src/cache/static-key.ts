/**
 * Static (KV) cache keys, as Vault Proxy builds them: the canonical `namespace/path` of a GET
 * under /v1/, so `/v1/ns1/secret/data/a` and `/v1/secret/data/a` with `X-Vault-Namespace: ns1`
 * are the same secret. `?version=N` selects a sub-entry; the rest of the query is not part of it.
 */

export interface StaticKey {
  /** Canonical path, e.g. `ns1/secret/data/app` or `secret/data/app` (root namespace). */
  path: string;
  /** KV v2 version asked for; 0 = latest. */
  version: number;
}

export function canonicalNamespace(ns: string | undefined): string {
  const trimmed = (ns ?? '').trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' || trimmed === 'root' ? '' : `${trimmed}/`;
}

/** The static key of a request, or undefined when it can never be a cached KV read. */
export function staticKeyOf(method: string, path: string, query: string, namespaceHeader: string | undefined): StaticKey | undefined {
  if (method !== 'GET' || !path.startsWith('/v1/')) return undefined;
  let version = 0;
  if (query !== '') {
    const params = new URLSearchParams(query);
    // LIST results are never cached: KV events name secrets, not the folders that list them.
    const list = params.get('list');
    if (list !== null && ['1', 't', 'true'].includes(list.toLowerCase())) return undefined;
    const v = Number(params.get('version') ?? '0');
    version = Number.isInteger(v) && v > 0 ? v : 0;
  }
  let rel = path.slice(4);
  if (rel.includes('%')) {
    try {
      rel = decodeURIComponent(rel);
    } catch {
      return undefined;
    }
  }
  rel = rel.replace(/^\/+/, '').replace(/\/+$/, '');
  if (rel === '' || rel.includes('/.') || rel.startsWith('.')) {
    if (rel === '' || rel.split('/').some((seg) => seg === '..' || seg === '.')) return undefined;
  }
  return { path: `${canonicalNamespace(namespaceHeader)}${rel}`, version };
}
