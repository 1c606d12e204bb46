import type { StoredResponse } from '../cache/entry.js';
import { replayableHeaders } from '../cache/entry.js';
import type { Inflight } from '../cache/inflight.js';
import type { StaticCache } from '../cache/static-cache.js';
import { staticKeyOf, type StaticKey } from '../cache/static-key.js';
import { hashToken } from '../cache/token-hash.js';
import type { ListenerConfig, UseAutoAuthToken } from '../config/types.js';
import { HEADERS } from '../vault/paths.js';
import { cacheHit } from './decisions.js';
import type { ProcessingRequest, ProcessingResponse } from './envoy-types.js';
import { headerMap } from './headers.js';
import { continueReply, requestHeadersReply, responseBodyReply, responseHeadersReply } from './messages.js';
import { decideRequest } from './policy.js';
import { parseClientRequest } from './request.js';
import { sanitizeTokenEcho } from './sanitize.js';

/** What the service around the streams provides to every stream. */
export interface StreamContext {
  useAutoAuthToken: UseAutoAuthToken;
  autoAuthToken(): string | undefined;
  /** Prometheus text for `/agent/v1/metrics` (and `/proxy/v1/metrics`) asked through Envoy. */
  metricsText?: () => Promise<string>;
  /** Present when `cache { cache_static_secrets = true }`. */
  staticCache?: { cache: StaticCache; inflight: Inflight };
  now?: () => number;
}

/** A KV read on its way to Vault whose answer may be recorded. */
export interface PendingRecord {
  key: StaticKey;
  token: string;
  tokenHash: string;
  inflightKey: string;
  status?: number;
  headers?: Array<[string, string]>;
  storedAtMs?: number;
}

/** Per-stream state: one ext_proc stream is one HTTP request. */
export interface StreamState {
  listener: ListenerConfig;
  phase: 'request' | 'response' | 'done';
  /** The request went to Vault carrying the auto-auth token we added. */
  injectedAutoAuth: boolean;
  /** The response body may echo the auto-auth token: strip it (the token that was sent). */
  sanitizeFor?: string;
  /** This request already waited once for an identical one in flight. */
  coalesced?: boolean;
  record?: PendingRecord;
  /** How the request was answered: by us (immediate response) or by Vault (response headers seen). */
  answeredBy?: 'extproc' | 'vault';
}

/** Side effects the server performs, in order, right after sending the reply. */
export type StreamEffect =
  | { type: 'token-suspect' }
  | { type: 'inflight-begin'; key: string }
  | { type: 'inflight-end'; key: string }
  | { type: 'static-record'; key: StaticKey; token: string; tokenHash: string; response: StoredResponse; kvVersion?: number }
  | { type: 'cache-hit' }
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

/** Local endpoints answered by vault-extproc itself (Vault Agent/Proxy's API). */
const METRICS_PATHS = new Set(['/agent/v1/metrics', '/proxy/v1/metrics']);
const QUIT_PATHS = new Set(['/agent/v1/quit', '/proxy/v1/quit']);

export function initialState(listener: ListenerConfig): StreamState {
  return { listener, phase: 'request', injectedAutoAuth: false };
}

/** The transition function: decides the reply to one message. It never sends and never throws on bad input. */
export function step(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const kind = msg.request;
  if (msg.observability_mode) return { state, reply: undefined, effects: [] };
  switch (kind) {
    case 'request_headers':
      return onRequestHeaders(state, msg, ctx);
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

function onRequestHeaders(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const headers = headerMap(msg.request_headers);
  const req = parseClientRequest(headers);
  if (ctx.metricsText && req.method === 'GET' && METRICS_PATHS.has(req.path)) {
    const later = ctx.metricsText().then((text) => requestHeadersReply({
      kind: 'respond', status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: text, details: 'vault_extproc_metrics',
    }));
    return { state: { ...state, phase: 'done', answeredBy: 'extproc' }, reply: undefined, effects: [], later };
  }
  // Only where the listener enables it; elsewhere the request goes to Vault like any other, as in Vault Agent.
  if (state.listener.enableQuit && QUIT_PATHS.has(req.path) && (req.method === 'POST' || req.method === 'PUT')) {
    const reply = requestHeadersReply({ kind: 'respond', status: 200, headers: {}, body: '', details: 'vault_extproc_quit' });
    return { state: { ...state, phase: 'done', answeredBy: 'extproc' }, reply, effects: [{ type: 'quit' }] };
  }
  const decision = decideRequest(req, { listener: state.listener, useAutoAuthToken: ctx.useAutoAuthToken, autoAuthToken: ctx.autoAuthToken });
  if (decision.kind === 'respond') return { state: { ...state, phase: 'done', answeredBy: 'extproc' }, reply: requestHeadersReply(decision), effects: [] };

  const next: StreamState = { ...state, phase: 'response', injectedAutoAuth: decision.injectedAutoAuth };
  if (decision.sanitizeResponse) next.sanitizeFor = decision.setHeaders[HEADERS.vaultToken];
  const effects: StreamEffect[] = [];
  const sc = ctx.staticCache;
  // A response-wrapped read must reach Vault: a hit would hand out the secret itself instead of a wrapping token.
  const wrapped = headers.has(HEADERS.wrapTtl) || headers.has(HEADERS.wrapFormat);
  const key = sc && decision.effectiveToken && !wrapped ? staticKeyOf(req.method, req.path, req.query, headers.get(HEADERS.vaultNamespace)) : undefined;
  if (sc && key && decision.effectiveToken) {
    const tokenHash = hashToken(decision.effectiveToken);
    const hit = sc.cache.lookup(key, tokenHash);
    if (hit) {
      return { state: { ...state, phase: 'done', answeredBy: 'extproc' }, reply: requestHeadersReply(cacheHit(hit, (ctx.now ?? Date.now)())), effects: [{ type: 'cache-hit' }] };
    }
    const inflightKey = `${key.path}\u0000${key.version}\u0000${tokenHash}`;
    const leader = sc.inflight.waitFor(inflightKey);
    if (leader && !state.coalesced) return { state: { ...state, coalesced: true }, reply: undefined, effects: [], wait: leader };
    next.record = { key, token: decision.effectiveToken, tokenHash, inflightKey };
    effects.push({ type: 'inflight-begin', key: inflightKey });
  }
  if (sc) effects.push({ type: 'cache-miss' });
  return { state: next, reply: requestHeadersReply(decision, next.record !== undefined), effects };
}

function onResponseHeaders(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const headers = headerMap(msg.response_headers);
  const status = Number(headers.get(':status') ?? 0);
  const json = (headers.get(HEADERS.contentType) ?? '').split(';')[0]!.trim() === 'application/json';
  // Vault answers JSON; a 5xx in plain text is Envoy's own reply (upstream unreachable, reset, timeout).
  const effects: StreamEffect[] = [{ type: 'proxied', status, failed: status >= 500 && !json }];
  if (state.injectedAutoAuth && status === 403) effects.push({ type: 'token-suspect' });
  const next: StreamState = { ...state, answeredBy: 'vault' };
  if (state.record) {
    if (status >= 200 && status < 300 && json && !msg.response_headers?.end_of_stream) {
      const date = Date.parse(headers.get(HEADERS.date) ?? '');
      next.record = { ...state.record, status, headers: replayableHeaders(headers), storedAtMs: Number.isNaN(date) ? (ctx.now ?? Date.now)() : date };
    } else {
      effects.push({ type: 'inflight-end', key: state.record.inflightKey });
      delete next.record;
    }
  }
  if (msg.response_headers?.end_of_stream) next.phase = 'done';
  // Vault Proxy marks successful proxied responses as misses; error responses pass untouched.
  const markMiss = ctx.staticCache !== undefined && status > 0 && status < 400;
  return { state: next, reply: responseHeadersReply(state.sanitizeFor !== undefined, markMiss), effects };
}

function onResponseBody(state: StreamState, msg: ProcessingRequest, _ctx: StreamContext): Step {
  const body = msg.response_body?.body ?? Buffer.alloc(0);
  const effects: StreamEffect[] = [];
  const rec = state.record;
  if (rec?.status !== undefined && rec.headers && rec.storedAtMs !== undefined) {
    const kv = kvReadOf(body);
    if (kv) {
      effects.push({
        type: 'static-record', key: rec.key, token: rec.token, tokenHash: rec.tokenHash,
        response: { status: rec.status, headers: rec.headers, body: new Uint8Array(body), storedAtMs: rec.storedAtMs },
        ...(kv.version !== undefined && rec.key.version === 0 && rec.key.path.includes('/data/') ? { kvVersion: kv.version } : {}),
      });
    }
  }
  if (rec) effects.push({ type: 'inflight-end', key: rec.inflightKey });
  const sanitized = state.sanitizeFor && body.length ? sanitizeTokenEcho(body, state.sanitizeFor) : undefined;
  const next: StreamState = { ...state, phase: 'done' };
  delete next.record;
  return { state: next, reply: responseBodyReply(sanitized), effects };
}

/** A KV read as Vault Proxy recognises it: `mount_type == "kv"` in the envelope. KV v2 reads also name their version. */
function kvReadOf(body: Buffer): { version?: number } | undefined {
  let parsed: { mount_type?: unknown; data?: { metadata?: { version?: unknown } } | null };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed?.mount_type !== 'kv') return undefined;
  const v = parsed.data?.metadata?.version;
  return typeof v === 'number' && Number.isInteger(v) ? { version: v } : {};
}
