/**
 * Static (KV) cache keys, read from the canonical request. Cacheable is an allow-list: a `GET`
 * (exactly) of a clean path below /v1/ without a trailing slash, whose query is nothing or exactly
 * `version=N`, with no header that changes Vault's answer and one token header. The key is the
 * canonical `namespace/path` plus the form: the latest (no query) and `?version=N` are distinct
 * proofs of access, since a policy's parameter constraints can allow one and refuse the other.
 */
import type { VaultRequest } from '../vault/request.js';

export interface StaticKey {
  /** Canonical path, e.g. `ns1/secret/data/app` or `secret/data/app` (root namespace). */
  path: string;
  /** KV v2 version asked for with `?version=N`; 0 = the request had no query at all. */
  version: number;
  /**
   * The namespace the header named, canonical (`ns1/`), on a Vault with namespaces; '' without the
   * header or on Vault Community. The path form `ns1/secret/…` and the header form `ns1` +
   * `secret/…` share `path`, but not every answer: OpenBao and Vault Enterprise answer the header
   * form 404 when no namespace covers the header, while the path form may reach a root-namespace
   * mount named `ns1/secret`. So a header form is served only where it has answered itself
   * (StaticEntry.headerNamespaces).
   */
  header: string;
}

export function canonicalNamespace(ns: string | undefined): string {
  const trimmed = (ns ?? '').trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' || trimmed === 'root' ? '' : `${trimmed}/`;
}

/**
 * The namespace prefix Vault applies to a request: the header's on a Vault with namespaces, none
 * on one without (Vault Community ignores the header). `null` while we do not know which Vault this is
 * and the request names a namespace: such a request is not cached.
 */
export function namespacePrefix(req: VaultRequest, vaultHasNamespaces: boolean | undefined): string | null {
  if (req.namespace === undefined) return '';
  if (vaultHasNamespaces === undefined) return null;
  return vaultHasNamespaces ? canonicalNamespace(req.namespace) : '';
}

const VERSION_QUERY = /^version=([1-9][0-9]{0,8})$/;

/** The static key of a request, or undefined when it is not a cacheable KV read. */
export function staticKeyOf(req: VaultRequest, vaultHasNamespaces: boolean | undefined): StaticKey | undefined {
  if (req.method !== 'GET' || !req.exact || req.rel === undefined || req.rel === '' || req.rel.endsWith('/')) return undefined;
  if (req.tokenRepeated || req.answerHeaders.length > 0) return undefined;
  let version = 0;
  if (req.rawQuery !== '') {
    const m = VERSION_QUERY.exec(req.rawQuery);
    if (!m) return undefined;
    version = Number(m[1]);
  }
  const ns = namespacePrefix(req, vaultHasNamespaces);
  if (ns === null) return undefined;
  return { path: `${ns}${req.rel}`, version, header: ns };
}
