/** The types a stream's phases share: its state, what it may ask of the service, what a step decides. */
import type { CacheClearCommand } from '../cache/cache-clear.js';
import type { StoredResponse } from '../cache/entry.js';
import type { Inflight } from '../cache/inflight.js';
import type { LeaseCache, LeaseEntry } from '../cache/lease-cache.js';
import type { RevocationMatch } from '../cache/lease-rules.js';
import type { KvMounts } from '../cache/kv-mounts.js';
import type { StaticCache } from '../cache/static-cache.js';
import type { StaticKey } from '../cache/static-key.js';
import type { TokenGrants } from '../cache/token-grants.js';
import type { VaultRequest } from '../vault/request.js';
import type { ListenerConfig, UseAutoAuthToken } from '../config/types.js';
import type { ProcessingRequest, ProcessingResponse } from './envoy-types.js';
import type { ApiProxyRules } from './api-proxy-rules.js';

/** What the service around the streams provides to every stream. */
export interface StreamContext {
  useAutoAuthToken: UseAutoAuthToken;
  autoAuthToken(): string | undefined;
  /** `/agent/v1/metrics` and `/proxy/v1/metrics` asked through Envoy, answered as Vault Agent/Proxy's handleMetrics. */
  vaultMetrics?: (req: { method: string; rawQuery: string; accept: readonly string[] }) => Promise<{ status: number; contentType: string; body: string }>;
  /** Present when `cache { cache_static_secrets = true }`. */
  staticCache?: {
    cache: StaticCache; grants: TokenGrants; inflight: Inflight; mounts: KvMounts; namespaces(): boolean | undefined;
    /** fleet { … }: the shared cache (L2) and whether L1 may answer (src/fleet/fleet-sync.ts). */
    shared?: SharedStaticCache;
  };
  /** Present when the lease cache is on (a cache block without disable_caching_dynamic_secrets). */
  leaseCache?: {
    cache: LeaseCache; inflight: Inflight; managed(tokenHash: string): boolean;
    /** Whether the Vault has namespaces (undefined until the worker found out). */
    namespaces(): boolean | undefined;
    /** Logins (tokens from an auth method's login, not from the token store) are recorded. */
    cacheLogins: boolean;
    /** fleet { … }: true while Redis has not been heard for longer than max_stale_without_redis: L1 does not answer. */
    stale?: () => boolean;
    /** fleet { … }: reads the shared entry of this key and takes it into L1 when there is one (never rejects). */
    shared?: (key: string) => Promise<void>;
  };
  now?: () => number;
  /** prepend_configured_namespace and enforce_consistency (src/extproc/api-proxy-rules.ts). */
  apiProxy?: ApiProxyRules;
}

/** What the request path sees of a fleet's shared static cache. */
export interface SharedStaticCache {
  /** True while Redis has not been heard for longer than max_stale_without_redis: L1 does not answer. */
  stale(): boolean;
  /** Reads the shared record and takes this token's proof of this form into L1 when it holds one (never rejects). */
  lookup(key: StaticKey, tokenHash: string, token: string): Promise<void>;
}

/** A KV read on its way to Vault whose answer may be recorded. */
export interface PendingStatic {
  key: StaticKey;
  token: string;
  tokenHash: string;
  inflightKey: string;
  /** When the request left for Vault: an answer proves the token was good at this moment, not later. */
  sentAtMs: number;
}

/** A request the lease cache may record; the key waits for the body of non-GET requests. */
export interface PendingLease {
  method: string;
  /** The decoded path below /v1/. */
  rel: string;
  query: ReadonlyArray<[string, string]>;
  /** The namespace prefix Vault applies ('' for none). */
  namespace: string;
  /** X-Vault-Namespace as sent to Vault (after prepend_configured_namespace): what a hit echoes, as Vault does. */
  sentNamespace?: string;
  token?: string;
  tokenHash?: string;
  key?: string;
  inflightKey?: string;
}

/** Per-stream state: one ext_proc stream is one HTTP request. */
export interface StreamState {
  listener: ListenerConfig;
  phase: 'request' | 'response' | 'done';
  /** The canonical request (set once the request headers are read). */
  request?: VaultRequest;
  /** The request went to Vault carrying the auto-auth token we added. */
  injectedAutoAuth: boolean;
  /** The response body may echo the auto-auth token: strip it (the token that was sent). */
  sanitizeFor?: string;
  /** This request already waited once for an identical one in flight. */
  coalesced?: boolean;
  static?: PendingStatic;
  lease?: PendingLease;
  revocation?: { match: RevocationMatch; token?: string; value?: string };
  /** What the request changes in the static cache when Vault says it succeeded. */
  kvChange?: { evictPaths?: string[]; evictPrefix?: string[] };
  /** A local endpoint that needs the request body. */
  local?: 'cache-clear';
  /** Vault's response, kept between response_headers and response_body for recording. */
  response?: { status: number; headers: Array<[string, string]>; storedAtMs: number };
  /** How the request was answered: by us (immediate response) or by Vault (response headers seen). */
  answeredBy?: 'extproc' | 'vault';
  /** enforce_consistency: the answer's X-Vault-Index is remembered (the request carried no consistency header). */
  managesIndex?: boolean;
}

/** Side effects the server performs, in order, right after sending the reply. */
export type StreamEffect =
  | { type: 'token-suspect' }
  | { type: 'inflight-begin'; key: string }
  | { type: 'inflight-end'; key: string }
  | { type: 'static-record'; key: StaticKey; token: string; tokenHash: string; response: StoredResponse; sentAtMs: number; kvVersion?: number }
  | { type: 'lease-record'; entry: LeaseEntry; renewToken: string; ttlSeconds: number }
  /** Vault confirmed a revocation; `value` undefined when we could not read what it revoked. */
  | { type: 'revoked'; kind: RevocationMatch['kind']; value: string | undefined }
  | { type: 'cache-clear'; command: CacheClearCommand }
  /** A KV write, delete or unmount through Envoy that Vault confirmed: evict what it changed. */
  | { type: 'kv-changed'; evictPaths?: string[]; evictPrefix?: string[] }
  /** Answered from a cache: which one (for the per-request log). */
  | { type: 'cache-hit'; cache: 'static' | 'lease' }
  /** A KV-looking read whose answer does not name its mount type (Vault ≤ 1.15): find out. */
  | { type: 'mount-unknown'; path: string }
  | { type: 'cache-miss' }
  /** A proxied request's answer: Vault's status, or `failed` when Envoy answered because Vault could not. */
  | { type: 'proxied'; status: number; failed: boolean }
  /** The quit endpoint was called on a listener that enables it. */
  | { type: 'quit' }
  /** An X-Vault-Index answered to a request whose consistency we manage: merge it into the required states. */
  | { type: 'index-state'; value: string };

/**
 * What stepping one message decided. Exactly one reply per message: a `reply` carries it; `wait`
 * and `later` promise it (step the same message again after the wait, or send `later`'s reply);
 * `none` is for the messages that get none (observability mode, a kind this build does not know).
 */
export type Step =
  | { kind: 'reply'; state: StreamState; reply: ProcessingResponse; effects: StreamEffect[] }
  /** Wait for an identical request in flight (or a token's first lookup), then step the same message again. */
  | { kind: 'wait'; state: StreamState; effects: StreamEffect[]; wait: Promise<void>; reply?: undefined }
  /** The reply, once an asynchronous local answer is ready. */
  | { kind: 'later'; state: StreamState; effects: StreamEffect[]; later: Promise<ProcessingResponse>; reply?: undefined }
  | { kind: 'none'; state: StreamState; effects: StreamEffect[]; reply?: undefined };

/**
 * Every field is present from the start (undefined until set) and never deleted: states then share
 * one shape, and `{ ...state, x }` stays V8's fast copy (a new field or a delete makes it ~30× slower).
 */
export function initialState(listener: ListenerConfig): StreamState {
  return {
    listener, phase: 'request', request: undefined, injectedAutoAuth: false, sanitizeFor: undefined, coalesced: undefined, static: undefined,
    lease: undefined, revocation: undefined, kvChange: undefined, local: undefined, response: undefined, answeredBy: undefined,
    managesIndex: undefined,
  };
}

const NO_KEYS: string[] = [];

/** Inflight keys the stream holds: released when the stream ends without an answer. */
export function heldInflightKeys(state: StreamState): string[] {
  const s = state.static?.inflightKey;
  const l = state.lease?.inflightKey;
  if (s === undefined) return l === undefined ? NO_KEYS : [l];
  return l === undefined ? [s] : [s, l];
}

