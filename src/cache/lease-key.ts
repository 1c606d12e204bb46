import { hash } from 'node:crypto';
import { bodyFields } from '../vault/request.js';

/**
 * The lease cache key: method, path (exactly as Vault reads it, a trailing slash kept), sorted
 * query, the body's fields as Vault reads them (JSON or form, by Vault's content-type rule),
 * namespace and the effective token. Unlike Vault Agent's hash of the whole serialized request,
 * headers (tracing, x-forwarded-*, user-agent …), query order and JSON key order do not change it.
 */
export interface LeaseRequest {
  method: string;
  /** The decoded path below /v1/, e.g. `database/creds/app`. */
  rel: string;
  /** The decoded query pairs. */
  query: ReadonlyArray<[string, string]>;
  body: Buffer | undefined;
  /** The request's Content-Type: Vault reads a form body only when it says so. */
  contentType?: string | undefined;
  /** The namespace prefix Vault applies ('' for none; see namespacePrefix). */
  namespace: string;
  tokenHash: string | undefined;
}

/** The key, or undefined when we cannot read the body as Vault would (then nothing is cached). */
export function leaseKey(req: LeaseRequest): string | undefined {
  const body = canonicalBody(req.body, req.contentType);
  if (body === undefined) return undefined;
  // Sorted pairs (a copy: the request's own order is kept); none or one needs no sort.
  const params = req.query.length < 2 ? req.query : [...req.query].sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  const parts = [
    req.method,
    // The header's namespace apart from the path: `ns1` + `db/creds/r` is not `ns1/db/creds/r`
    // (OpenBao and Vault Enterprise answer the first 404 when no namespace covers `ns1`; the second
    // may be a root-namespace mount of that name). Without a namespace the part is the path alone.
    req.namespace === '' ? req.rel : `${req.namespace}\u0000${req.rel}`,
    JSON.stringify(params),
    body,
    req.tokenHash ?? '',
  ];
  // One-shot SHA-256 (the same digest as createHash, without a Hash object per request).
  return hash('sha256', parts.join('\n'), 'base64url');
}

/**
 * The fields Vault reads from a body, as JSON with keys sorted at every level; undefined for a body
 * we cannot read as Vault does (not JSON, trailing bytes, a form without its content type, a JSON
 * object naming a key twice).
 */
export function canonicalBody(body: Buffer | undefined, contentType?: string): string | undefined {
  if (!body || body.length === 0) return '';
  const fields = bodyFields(body, contentType);
  if (fields === undefined) return undefined;
  // A key named twice (at any depth): Vault 1.15 (Go's encoding/json) reads the last, Vault 1.21
  // refuses the request (500 "duplicate key 'k' in object", sdk jsonutil's streaming check before
  // any handler). The answer depends on the server: never one from the cache.
  // (A body beginning with '{' was read as JSON, and JSON.parse accepted it.)
  const text = body.toString('utf8');
  if (text.trimStart().startsWith('{') && hasDuplicateKey(text)) return undefined;
  return JSON.stringify(sortKeys(fields));
}

/**
 * Whether JSON text that JSON.parse accepted names a key twice in one object, at any depth (keys
 * compared decoded, as Vault's check compares them). Text JSON.parse refuses: see the caller.
 */
export function hasDuplicateKey(text: string): boolean {
  const objects: Array<Set<string> | undefined> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: a key where an object expects one, else a value
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text.charCodeAt(j) !== 0x22) {
        if (text.charCodeAt(j) === 0x5c) { escaped = true; j++; }
        j++;
      }
      const keys = objects[objects.length - 1];
      if (expectKey && keys) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) { // {
      objects.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) { // [
      objects.push(undefined);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      objects.pop();
      expectKey = false;
    } else if (c === 0x2c) { // , — in an object the next string is a key
      expectKey = objects[objects.length - 1] !== undefined && objects.length > 0;
    }
  }
  return false;
}

/**
 * The value with every object's keys in sorted order. A null-prototype object takes every key as
 * an own property (`__proto__` included, as JSON.parse and Object.fromEntries make it), and
 * JSON.stringify writes it as it would the same keys in a plain object.
 */
function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(sortKeys);
  const keys = Object.keys(v);
  if (keys.length === 0) return v;
  keys.sort();
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of keys) out[k] = sortKeys((v as Record<string, unknown>)[k]);
  return out;
}
