import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { StaticEntry, StoredResponse } from '../cache/entry.js';
import type { LeaseEntry, LeaseEvictionReason } from '../cache/lease-cache.js';
import type { RevocationKind } from '../cache/lease-rules.js';
import type { EvictionReason } from '../cache/static-cache.js';
import type { WorkerMessage } from '../worker/protocol.js';

/**
 * The fleet's records and events as bytes: our own protobuf schema (proto/vault_extproc/v1/),
 * encoded with protobufjs, converted to and from the cache's own types. These bytes are what the
 * Sealer (src/crypto/sealer.ts) seals; nothing here is stored unsealed.
 *
 * Replicas of two releases share Redis during a rolling upgrade: a reader skips fields it does not
 * know (protobuf does), a field a writer did not know decodes as absent (each conversion below says
 * what absent means), and an event of a kind this release does not know decodes as `unknown`,
 * which the applier must answer by dropping what it cannot vouch for.
 *
 * The .proto files are read at run time, from `proto/` at the package root (two levels up from
 * this module in src/ and in dist/; the package's `files` ship `proto`).
 */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/vault_extproc/v1/', import.meta.url));
export const PROTO_FILES = ['cache.proto', 'events.proto'].map((f) => join(PROTO_DIR, f));
const PKG = 'vault_extproc.v1';

/** Bytes that do not decode as the schema says (a bug, or a release far apart): never served. */
export class SchemaError extends Error {
  constructor(readonly reason: 'malformed' | 'unsupported', message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** What the elected worker renews a lease-cache entry with (the raw token travels sealed only). */
export interface LeaseRenewal {
  renewToken: string;
  ttlSeconds: number;
  recordedAtMs: number;
}

/** The auto-auth token as the worker announces it (WorkerMessage `token`), shared through L2. */
export type SharedAutoAuthToken = Omit<Extract<WorkerMessage, { type: 'token' }>, 'type'>;

/** `POST /agent/v1/cache-clear` as the fleet passes it on: a token by its hash, never raw. */
export type FleetCacheClear =
  | { type: 'request_path'; value: string; namespace: string }
  | { type: 'token'; tokenHash: string }
  | { type: 'token_accessor' | 'lease'; value: string }
  | { type: 'all' };

/** One change every replica applies to its L1 (proto InvalidationEvent's `change`). */
export type FleetChange =
  | { type: 'static-recorded'; path: string }
  | { type: 'static-refetched'; path: string; failedTokenHashes: string[]; kvVersion?: number }
  /** `other`: a reason this release does not know (or none): still an eviction. */
  | { type: 'static-evicted'; path: string; reason: EvictionReason | 'other' }
  | { type: 'static-versions-dropped'; path: string; versions: number[] }
  | { type: 'access-lost'; tokenHash: string; paths: string[] }
  | { type: 'token-revoked'; tokenHash: string }
  | { type: 'cache-cleared'; clear: FleetCacheClear }
  | { type: 'lease-recorded'; key: string }
  | { type: 'lease-evicted'; key: string; reason: LeaseEvictionReason | 'other' }
  /** A worker's lookup-self of a token (WorkerMessage token-info, by hash). */
  | { type: 'token-checked'; tokenHash: string; accessor: string; eligible: boolean; atMs: number; expiresAtMs?: number }
  | { type: 'tokens-confirmed'; tokenHashes: string[]; atMs: number }
  /** A revocation Vault confirmed through a replica; `value` undefined and no tokenHash: unknown (everything of the kind). */
  | { type: 'revoked'; kind: RevocationKind; value?: string; tokenHash?: string }
  /** KV paths and prefixes that changed (a write through a replica, a KV event the owner heard). */
  | { type: 'kv-changed'; paths: string[]; prefixes: string[] }
  /** A kind (or a cache-clear type) a newer release appended: drop what cannot be vouched for. */
  | { type: 'unknown' };

export interface FleetEvent {
  /** The replica that appended it. */
  origin: string;
  atMs: number;
  change: FleetChange;
}

// --- the schema, loaded once ---

/** A fresh Root of our schema (tests extend one to play a newer or older release). */
export function loadSchema(): protobuf.Root {
  return protobuf.loadSync(PROTO_FILES);
}

interface Types {
  staticEntry: protobuf.Type;
  leaseEntry: protobuf.Type;
  autoAuth: protobuf.Type;
  event: protobuf.Type;
}
let types: Types | undefined;

function schema(): Types {
  if (!types) {
    const root = loadSchema();
    types = {
      staticEntry: root.lookupType(`${PKG}.StaticEntry`),
      leaseEntry: root.lookupType(`${PKG}.LeaseEntry`),
      autoAuth: root.lookupType(`${PKG}.AutoAuthToken`),
      event: root.lookupType(`${PKG}.InvalidationEvent`),
    };
  }
  return types;
}

// --- the wire shapes (protobufjs messages, camelCase; absent = null) ---

type Long = { toNumber(): number };
type U64 = number | Long;
interface WireResponse { status: number; headers: Array<{ name: string; value: string }>; body: Uint8Array; storedAtMs: U64 }
interface WireStaticEntry {
  path: string;
  tokenHashes: string[];
  versionTokens: Record<string, { hashes: string[] }>;
  latest?: WireResponse | null;
  latestVersion?: number | null;
  versions: Record<string, WireResponse>;
  headerNamespaces: string[];
}
interface WireLeaseEntry {
  key: string;
  kind: number;
  response?: WireResponse | null;
  ownerHash?: string | null;
  tokenHash?: string | null;
  accessor?: string | null;
  leaseId?: string | null;
  requestPath: string;
  namespace: string;
  renewal?: { renewToken: string; ttlSeconds: number; recordedAtMs: U64 } | null;
}
interface WireAutoAuth { token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: U64 }
interface WireCacheClear {
  requestPath?: { value: string; namespace: string } | null;
  tokenHash?: string | null;
  tokenAccessor?: string | null;
  leaseId?: string | null;
  all?: boolean | null;
  target?: string;
}
interface WireEvent {
  origin: string;
  atMs: U64;
  change?: string;
  staticRecorded?: { path: string };
  staticRefetched?: { path: string; failedTokenHashes: string[]; kvVersion?: number | null };
  staticEvicted?: { path: string; reason: number };
  staticVersionsDropped?: { path: string; versions: number[] };
  accessLost?: { tokenHash: string; paths: string[] };
  tokenRevoked?: { tokenHash: string };
  cacheCleared?: WireCacheClear;
  leaseRecorded?: { key: string };
  leaseEvicted?: { key: string; reason: number };
  tokenChecked?: { tokenHash: string; accessor: string; eligible: boolean; atMs: U64; expiresAtMs?: U64 | null };
  tokensConfirmed?: { tokenHashes: string[]; atMs: U64 };
  revoked?: { kind: string; value?: string | null; tokenHash?: string | null; unknownValue: boolean };
  kvChanged?: { paths: string[]; prefixes: string[] };
}

/** Every RevocationKind this release applies (a kind from a newer release decodes as unknown). */
const REVOCATION_KINDS: ReadonlySet<string> = new Set<RevocationKind>([
  'token', 'token-self', 'orphan', 'accessor', 'lease', 'lease-prefix', 'renew', 'renew-self', 'renew-accessor', 'auth-disable', 'privileges', 'lease-renew',
]);

const LEASE_KINDS = { token: 1, lease: 2 } as const;
const STATIC_REASONS: Record<EvictionReason, number> = { budget: 1, no_reader: 2, gone: 3, cleared: 4 };
const LEASE_REASONS: Record<LeaseEvictionReason, number> = { revoked: 1, renewal_stopped: 2, parent_evicted: 3, cleared: 4, reauth: 5 };

function encode(type: protobuf.Type, message: object): Uint8Array {
  return type.encode(message).finish();
}

function decode<T>(type: protobuf.Type, bytes: Uint8Array): T {
  try {
    // protobufjs's Buffer reader cuts a string short of its announced length without a word; its
    // plain reader refuses it. So a plain view is read (bytes fields come back as views into it).
    return type.decode(new protobuf.Reader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))) as unknown as T;
  } catch (err) {
    throw new SchemaError('malformed', `not a ${type.name}: ${(err as Error).message}`);
  }
}

function num(v: U64): number {
  return typeof v === 'number' ? v : v.toNumber();
}

function versionKey(v: string): number {
  // Versions are KV v2 version numbers, kept as decimal strings by the cache.
  if (!/^(0|[1-9]\d{0,9})$/.test(v) || Number(v) > 0xffffffff) throw new Error(`not a KV version number: ${JSON.stringify(v)}`);
  return Number(v);
}

function toWireResponse(r: StoredResponse): WireResponse {
  return { status: r.status, headers: r.headers.map(([name, value]) => ({ name, value })), body: r.body, storedAtMs: r.storedAtMs };
}

function fromWireResponse(r: WireResponse): StoredResponse {
  return { status: r.status, headers: r.headers.map((h) => [h.name, h.value]), body: r.body, storedAtMs: num(r.storedAtMs) };
}

// --- static entries ---

export function encodeStaticEntry(entry: StaticEntry): Uint8Array {
  const versionTokens: Record<number, { hashes: string[] }> = {};
  for (const [v, hashes] of Object.entries(entry.versionTokens)) versionTokens[versionKey(v)] = { hashes };
  const versions: Record<number, WireResponse> = {};
  for (const [v, r] of Object.entries(entry.versions)) versions[versionKey(v)] = toWireResponse(r);
  return encode(schema().staticEntry, {
    path: entry.path,
    tokenHashes: entry.tokens,
    versionTokens,
    versions,
    headerNamespaces: entry.headerNamespaces,
    ...(entry.latest ? { latest: toWireResponse(entry.latest) } : {}),
    ...(entry.latestVersion !== undefined ? { latestVersion: entry.latestVersion } : {}),
  });
}

/** The entry; bodies are views into `bytes`. An entry written before a field existed has it empty. */
export function decodeStaticEntry(bytes: Uint8Array): StaticEntry {
  const w = decode<WireStaticEntry>(schema().staticEntry, bytes);
  const versionTokens: Record<string, string[]> = {};
  for (const [v, t] of Object.entries(w.versionTokens)) versionTokens[v] = t.hashes;
  const versions: Record<string, StoredResponse> = {};
  for (const [v, r] of Object.entries(w.versions)) versions[v] = fromWireResponse(r);
  return {
    path: w.path, tokens: w.tokenHashes, versionTokens, versions, headerNamespaces: w.headerNamespaces,
    ...(w.latest ? { latest: fromWireResponse(w.latest) } : {}),
    ...(w.latestVersion != null ? { latestVersion: w.latestVersion } : {}),
  };
}

// --- lease-cache entries ---

export function encodeLeaseEntry(entry: LeaseEntry, renewal?: LeaseRenewal): Uint8Array {
  return encode(schema().leaseEntry, {
    key: entry.key,
    kind: LEASE_KINDS[entry.kind],
    response: toWireResponse(entry.response),
    requestPath: entry.requestPath,
    namespace: entry.namespace,
    ...(entry.ownerHash !== undefined ? { ownerHash: entry.ownerHash } : {}),
    ...(entry.tokenHash !== undefined ? { tokenHash: entry.tokenHash } : {}),
    ...(entry.accessor !== undefined ? { accessor: entry.accessor } : {}),
    ...(entry.leaseId !== undefined ? { leaseId: entry.leaseId } : {}),
    ...(renewal ? { renewal } : {}),
  });
}

/** The entry and, when the writer shared it, its renewal. A kind this release does not know: SchemaError `unsupported`. */
export function decodeLeaseEntry(bytes: Uint8Array): { entry: LeaseEntry; renewal?: LeaseRenewal } {
  const w = decode<WireLeaseEntry>(schema().leaseEntry, bytes);
  const kind = w.kind === LEASE_KINDS.token ? 'token' : w.kind === LEASE_KINDS.lease ? 'lease' : undefined;
  if (!kind) throw new SchemaError('unsupported', `a lease-cache entry of kind ${w.kind}`);
  if (!w.response) throw new SchemaError('malformed', 'a lease-cache entry without its response');
  const entry: LeaseEntry = {
    key: w.key, kind, response: fromWireResponse(w.response), requestPath: w.requestPath, namespace: w.namespace,
    ...(w.ownerHash != null ? { ownerHash: w.ownerHash } : {}),
    ...(w.tokenHash != null ? { tokenHash: w.tokenHash } : {}),
    ...(w.accessor != null ? { accessor: w.accessor } : {}),
    ...(w.leaseId != null ? { leaseId: w.leaseId } : {}),
  };
  const r = w.renewal;
  return { entry, ...(r ? { renewal: { renewToken: r.renewToken, ttlSeconds: r.ttlSeconds, recordedAtMs: num(r.recordedAtMs) } } : {}) };
}

// --- the auto-auth token ---

export function encodeAutoAuthToken(t: SharedAutoAuthToken): Uint8Array {
  return encode(schema().autoAuth, { token: t.token, leaseDurationSeconds: t.leaseDurationSeconds, renewable: t.renewable, obtainedAtMs: t.obtainedAtMs });
}

export function decodeAutoAuthToken(bytes: Uint8Array): SharedAutoAuthToken {
  const w = decode<WireAutoAuth>(schema().autoAuth, bytes);
  return { token: w.token, leaseDurationSeconds: w.leaseDurationSeconds, renewable: w.renewable, obtainedAtMs: num(w.obtainedAtMs) };
}

// --- invalidation events ---

export function encodeEvent(e: FleetEvent): Uint8Array {
  return encode(schema().event, { origin: e.origin, atMs: e.atMs, ...wireChange(e.change) });
}

function wireChange(c: FleetChange): Partial<WireEvent> {
  switch (c.type) {
    case 'static-recorded': return { staticRecorded: { path: c.path } };
    case 'static-refetched':
      return { staticRefetched: { path: c.path, failedTokenHashes: c.failedTokenHashes, ...(c.kvVersion !== undefined ? { kvVersion: c.kvVersion } : {}) } };
    case 'static-evicted': return { staticEvicted: { path: c.path, reason: c.reason === 'other' ? 0 : STATIC_REASONS[c.reason] } };
    case 'static-versions-dropped': return { staticVersionsDropped: { path: c.path, versions: c.versions } };
    case 'access-lost': return { accessLost: { tokenHash: c.tokenHash, paths: c.paths } };
    case 'token-revoked': return { tokenRevoked: { tokenHash: c.tokenHash } };
    case 'cache-cleared': return { cacheCleared: wireClear(c.clear) };
    case 'lease-recorded': return { leaseRecorded: { key: c.key } };
    case 'lease-evicted': return { leaseEvicted: { key: c.key, reason: c.reason === 'other' ? 0 : LEASE_REASONS[c.reason] } };
    case 'token-checked':
      return { tokenChecked: { tokenHash: c.tokenHash, accessor: c.accessor, eligible: c.eligible, atMs: c.atMs, ...(c.expiresAtMs !== undefined ? { expiresAtMs: c.expiresAtMs } : {}) } };
    case 'tokens-confirmed': return { tokensConfirmed: { tokenHashes: c.tokenHashes, atMs: c.atMs } };
    case 'revoked':
      return { revoked: { kind: c.kind, ...(c.value !== undefined ? { value: c.value } : {}), ...(c.tokenHash !== undefined ? { tokenHash: c.tokenHash } : {}), unknownValue: c.value === undefined && c.tokenHash === undefined } };
    case 'kv-changed': return { kvChanged: { paths: c.paths, prefixes: c.prefixes } };
    case 'unknown': throw new Error('an unknown change is only ever decoded, never appended');
    default: return unreachable(c);
  }
}

function wireClear(c: FleetCacheClear): WireCacheClear {
  switch (c.type) {
    case 'request_path': return { requestPath: { value: c.value, namespace: c.namespace } };
    case 'token': return { tokenHash: c.tokenHash };
    case 'token_accessor': return { tokenAccessor: c.value };
    case 'lease': return { leaseId: c.value };
    case 'all': return { all: true };
    default: return unreachable(c);
  }
}

export function decodeEvent(bytes: Uint8Array): FleetEvent {
  const w = decode<WireEvent>(schema().event, bytes);
  return { origin: w.origin, atMs: num(w.atMs), change: changeOf(w) };
}

function changeOf(w: WireEvent): FleetChange {
  // `change`/`target`: protobufjs's virtual oneof names the member set, undefined when none this release knows.
  switch (w.change) {
    case 'staticRecorded': return { type: 'static-recorded', path: w.staticRecorded!.path };
    case 'staticRefetched': {
      const c = w.staticRefetched!;
      return { type: 'static-refetched', path: c.path, failedTokenHashes: c.failedTokenHashes, ...(c.kvVersion != null ? { kvVersion: c.kvVersion } : {}) };
    }
    case 'staticEvicted': return { type: 'static-evicted', path: w.staticEvicted!.path, reason: nameOf(STATIC_REASONS, w.staticEvicted!.reason) };
    case 'staticVersionsDropped': return { type: 'static-versions-dropped', path: w.staticVersionsDropped!.path, versions: w.staticVersionsDropped!.versions };
    case 'accessLost': return { type: 'access-lost', tokenHash: w.accessLost!.tokenHash, paths: w.accessLost!.paths };
    case 'tokenRevoked': return { type: 'token-revoked', tokenHash: w.tokenRevoked!.tokenHash };
    case 'cacheCleared': {
      const clear = clearOf(w.cacheCleared!);
      return clear ? { type: 'cache-cleared', clear } : { type: 'unknown' };
    }
    case 'leaseRecorded': return { type: 'lease-recorded', key: w.leaseRecorded!.key };
    case 'leaseEvicted': return { type: 'lease-evicted', key: w.leaseEvicted!.key, reason: nameOf(LEASE_REASONS, w.leaseEvicted!.reason) };
    case 'tokenChecked': {
      const c = w.tokenChecked!;
      return { type: 'token-checked', tokenHash: c.tokenHash, accessor: c.accessor, eligible: c.eligible, atMs: num(c.atMs), ...(c.expiresAtMs != null && Object.hasOwn(c, 'expiresAtMs') ? { expiresAtMs: num(c.expiresAtMs) } : {}) };
    }
    case 'tokensConfirmed': return { type: 'tokens-confirmed', tokenHashes: w.tokensConfirmed!.tokenHashes, atMs: num(w.tokensConfirmed!.atMs) };
    case 'revoked': {
      const c = w.revoked!;
      if (!REVOCATION_KINDS.has(c.kind)) return { type: 'unknown' };
      // A known value, or unknown_value set: an event whose value a newer release put elsewhere is not guessed at.
      if (c.value == null && c.tokenHash == null && !c.unknownValue) return { type: 'unknown' };
      return { type: 'revoked', kind: c.kind as RevocationKind, ...(c.value != null ? { value: c.value } : {}), ...(c.tokenHash != null ? { tokenHash: c.tokenHash } : {}) };
    }
    case 'kvChanged': return { type: 'kv-changed', paths: w.kvChanged!.paths, prefixes: w.kvChanged!.prefixes };
    default: return { type: 'unknown' };
  }
}

function clearOf(c: WireCacheClear): FleetCacheClear | undefined {
  switch (c.target) {
    case 'requestPath': return { type: 'request_path', value: c.requestPath!.value, namespace: c.requestPath!.namespace };
    case 'tokenHash': return { type: 'token', tokenHash: c.tokenHash! };
    case 'tokenAccessor': return { type: 'token_accessor', value: c.tokenAccessor! };
    case 'leaseId': return { type: 'lease', value: c.leaseId! };
    case 'all': return { type: 'all' };
    default: return undefined;
  }
}

function nameOf<K extends string>(table: Record<K, number>, value: number): K | 'other' {
  for (const [k, v] of Object.entries(table) as Array<[K, number]>) if (v === value) return k;
  return 'other';
}

function unreachable(x: never): never {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
}
