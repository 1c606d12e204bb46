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
import { continueReply } from './messages.js';
import { onRequestBody, onRequestHeaders } from './request-phase.js';
import { onResponseBody, onResponseHeaders } from './response-phase.js';

/** What the service around the streams provides to every stream. */
export interface StreamContext {
  useAutoAuthToken: UseAutoAuthToken;
  autoAuthToken(): string | undefined;
  /** Prometheus text for `/agent/v1/metrics` (and `/proxy/v1/metrics`) asked through Envoy. */
  metricsText?: () => Promise<string>;
  /** Present when `cache { cache_static_secrets = true }`. */
  staticCache?: { cache: StaticCache; grants: TokenGrants; inflight: Inflight; mounts: KvMounts; namespaces(): boolean | undefined };
  /** Present when the lease cache is on (a cache block without disable_caching_dynamic_secrets). */
  leaseCache?: {
    cache: LeaseCache; inflight: Inflight; managed(tokenHash: string): boolean;
    /** Whether the Vault has namespaces (undefined until the worker found out). */
    namespaces(): boolean | undefined;
    /** Logins (tokens from an auth method's login, not from the token store) are recorded. */
    cacheLogins: boolean;
  };
  now?: () => number;
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
  | { type: 'cache-hit' }
  /** A KV-looking read whose answer does not name its mount type (Vault ≤ 1.15): find out. */
  | { type: 'mount-unknown'; path: string }
  | { type: 'cache-miss' }
  /** A proxied request's answer: Vault's status, or `failed` when Envoy answered because Vault could not. */
  | { type: 'proxied'; status: number; failed: boolean }
  /** The quit endpoint was called on a listener that enables it. */
  | { type: 'quit' };

export interface Step {
  state: StreamState;
  /** Exactly one reply per message, of the matching kind; undefined in observability mode or while waiting. */
  reply: ProcessingResponse | undefined;
  effects: StreamEffect[];
  /** Set instead of a reply: wait for an identical request in flight, then step the same message again. */
  wait?: Promise<void>;
  /** Set instead of a reply: the reply, once an asynchronous local answer is ready. */
  later?: Promise<ProcessingResponse>;
}

/**
 * Every field is present from the start (undefined until set) and never deleted: states then share
 * one shape, and `{ ...state, x }` stays V8's fast copy (a new field or a delete makes it ~30× slower).
 */
export function initialState(listener: ListenerConfig): StreamState {
  return {
    listener, phase: 'request', request: undefined, injectedAutoAuth: false, sanitizeFor: undefined, coalesced: undefined, static: undefined,
    lease: undefined, revocation: undefined, kvChange: undefined, local: undefined, response: undefined, answeredBy: undefined,
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

/** The transition function: decides the reply to one message. It never sends and never throws on bad input. */
export function step(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const kind = msg.request;
  if (msg.observability_mode) return { state, reply: undefined, effects: [] };
  switch (kind) {
    case 'request_headers':
      return onRequestHeaders(state, msg, ctx);
    case 'request_body':
      return onRequestBody(state, msg, ctx);
    case 'response_headers':
      return onResponseHeaders(state, msg, ctx);
    case 'response_body':
      return onResponseBody(state, msg, ctx);
    case undefined:
      // A message kind this build does not know (a newer Envoy): nothing sensible to answer.
      return { state, reply: undefined, effects: [] };
    default:
      return { state, reply: continueReply(kind), effects: [] };
  }
}
