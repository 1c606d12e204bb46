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

/** One cached KV secret: the latest response, version sub-entries and the tokens allowed to read it. */
export interface StaticEntry {
  path: string;
  tokens: string[];
  latest?: StoredResponse;
  /** The KV v2 version `latest` is, so `?version=N` of the latest is served without a second copy. */
  latestVersion?: number;
  versions: Record<string, StoredResponse>;
}

const packr = new Packr({ useRecords: false, structuredClone: false });

/** Entries live encoded: compact, and no parsed JSON kept around. */
export function encodeEntry(entry: StaticEntry): Buffer {
  // A copy of exactly its size: pack() returns a view into a large shared buffer.
  return Buffer.from(packr.pack(entry));
}

export function decodeEntry(bytes: Buffer): StaticEntry {
  return packr.unpack(bytes) as StaticEntry;
}

/** Headers never replayed from the cache: framing, hop-by-hop, and what a hit sets itself. */
const NOT_REPLAYED = new Set([
  'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'age', 'x-cache', 'server',
  'x-envoy-upstream-service-time',
]);

export function replayableHeaders(headers: Map<string, string>): Array<[string, string]> {
  return [...headers].filter(([k]) => !k.startsWith(':') && !NOT_REPLAYED.has(k));
}
