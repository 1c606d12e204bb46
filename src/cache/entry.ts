import { Packr } from 'msgpackr';

/** A Vault response as stored: what is replayed on a hit. */
export interface StoredResponse {
  status: number;
  /** Replayed headers (lower-case names), without framing, Date or cache headers. */
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** When Vault produced it (its Date header): `Age` counts from here. */
  storedAtMs: number;
}

/**
 * One cached KV secret: the latest response, version sub-entries, and for each form the tokens
 * that proved it — `tokens` read the latest (no query), `versionTokens[N]` read `?version=N`.
 */
export interface StaticEntry {
  path: string;
  tokens: string[];
  versionTokens: Record<string, string[]>;
  latest?: StoredResponse;
  /** The KV v2 version `latest` is, so `?version=N` of the latest is served without a second copy. */
  latestVersion?: number;
  versions: Record<string, StoredResponse>;
  /**
   * The header namespaces (canonical, `ns1/`) whose header form of this path Vault answered with
   * 2xx since the answer last changed: only those are served from the entry (see StaticKey.header).
   */
  headerNamespaces: string[];
}

const packr = new Packr({ useRecords: false, structuredClone: false });

/** Stored positionally: field names would be ~80 bytes of every entry, and the path is the key. */
type WireResponse = [status: number, headers: Array<[string, string]>, body: Uint8Array, storedAtMs: number];
type WireEntry = [tokens: string[], latest: WireResponse | null, latestVersion: number | null, versions: Record<string, WireResponse>, versionTokens: Record<string, string[]>, headerNamespaces?: string[]];

/**
 * Entries live encoded: compact, and no parsed JSON kept around. The result is a view into
 * msgpackr's shared buffer: hand it to a store (which copies it), do not keep it.
 */
export function encodeEntry(entry: StaticEntry): Uint8Array {
  const versions: Record<string, WireResponse> = {};
  for (const [v, r] of Object.entries(entry.versions)) versions[v] = toWire(r);
  const wire: WireEntry = [entry.tokens, entry.latest ? toWire(entry.latest) : null, entry.latestVersion ?? null, versions, entry.versionTokens, entry.headerNamespaces];
  return packr.pack(wire);
}

/** The entry stored under `path`. Bodies are views into `bytes`. */
export function decodeEntry(path: string, bytes: Uint8Array): StaticEntry {
  // An entry persisted before headerNamespaces has none: its header forms answer again first.
  const [tokens, latest, latestVersion, wireVersions, versionTokens, headerNamespaces] = packr.unpack(bytes) as WireEntry;
  const versions: Record<string, StoredResponse> = {};
  for (const [v, r] of Object.entries(wireVersions)) versions[v] = fromWire(r);
  return {
    path, tokens, versions, versionTokens: versionTokens ?? {}, headerNamespaces: headerNamespaces ?? [],
    ...(latest ? { latest: fromWire(latest) } : {}),
    ...(latestVersion !== null ? { latestVersion } : {}),
  };
}

function toWire(r: StoredResponse): WireResponse {
  return [r.status, r.headers, r.body, r.storedAtMs];
}

function fromWire([status, headers, body, storedAtMs]: WireResponse): StoredResponse {
  return { status, headers, body, storedAtMs };
}

/** Headers never replayed from the cache: framing, hop-by-hop, and what a hit sets itself. */
const NOT_REPLAYED = new Set([
  'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'age', 'x-cache', 'server',
  'x-envoy-upstream-service-time',
  // Vault echoes the request's X-Vault-Namespace (Community too): a hit echoes the request's own.
  'x-vault-namespace',
]);

export function replayableHeaders(headers: Map<string, string>): Array<[string, string]> {
  return [...headers].filter(([k]) => !k.startsWith(':') && !NOT_REPLAYED.has(k));
}
