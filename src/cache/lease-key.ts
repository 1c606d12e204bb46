import { createHash } from 'node:crypto';
import { canonicalNamespace } from './static-key.js';

/**
 * The lease cache key: method, path, sorted query, canonical JSON body, namespace and the
 * effective token. Unlike Vault Agent's hash of the whole serialized request, headers
 * (tracing, x-forwarded-*, user-agent …), query order and JSON key order do not change it.
 */
export interface LeaseRequest {
  method: string;
  /** Path without query, e.g. `/v1/database/creds/app`. */
  path: string;
  query: string;
  body: Buffer | undefined;
  namespace: string | undefined;
  tokenHash: string | undefined;
}

export function leaseKey(req: LeaseRequest): string {
  const params = [...new URLSearchParams(req.query)].sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  const parts = [
    req.method.toUpperCase(),
    canonicalPath(req.path, req.namespace),
    JSON.stringify(params),
    canonicalBody(req.body),
    req.tokenHash ?? '',
  ];
  return createHash('sha256').update(parts.join('\n')).digest('base64url');
}

/** `namespace/path` without /v1/, so a namespace in the path or in X-Vault-Namespace is the same. */
export function canonicalPath(path: string, namespace: string | undefined): string {
  return `${canonicalNamespace(namespace)}${path.replace(/^\/v1\/+/, '').replace(/\/+$/, '')}`;
}

/** JSON with keys sorted at every level; a body that is not JSON counts as its bytes. */
export function canonicalBody(body: Buffer | undefined): string {
  if (!body || body.length === 0) return '';
  try {
    return JSON.stringify(sortKeys(JSON.parse(body.toString('utf8'))));
  } catch {
    return `raw:${body.toString('base64')}`;
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}
