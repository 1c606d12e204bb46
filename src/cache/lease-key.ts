import { createHash } from 'node:crypto';

/**
 * The lease cache key: method, path, sorted query, canonical JSON body, namespace and the
 * effective token. Unlike Vault Agent's hash of the whole serialized request, headers
 * (tracing, x-forwarded-*, user-agent …), query order and JSON key order do not change it.
 */
export interface LeaseRequest {
  method: string;
  /** The decoded path below /v1/, e.g. `database/creds/app`. */
  rel: string;
  /** The decoded query pairs. */
  query: ReadonlyArray<[string, string]>;
  body: Buffer | undefined;
  /** The namespace prefix Vault applies ('' for none; see namespacePrefix). */
  namespace: string;
  tokenHash: string | undefined;
}

export function leaseKey(req: LeaseRequest): string {
  const params = [...req.query].sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  const parts = [
    req.method,
    `${req.namespace}${req.rel.replace(/\/+$/, '')}`,
    JSON.stringify(params),
    canonicalBody(req.body),
    req.tokenHash ?? '',
  ];
  return createHash('sha256').update(parts.join('\n')).digest('base64url');
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
