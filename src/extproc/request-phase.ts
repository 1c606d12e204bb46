import { parseCacheClear } from '../cache/cache-clear.js';
import { isLeaseCandidate, matchRevocation, revocationValue } from '../cache/lease-rules.js';
import { leaseKey } from '../cache/lease-key.js';
import { canonicalNamespace, staticKeyOf } from '../cache/static-key.js';
import { hashToken } from '../cache/token-hash.js';
import { HEADERS } from '../vault/paths.js';
import { cacheHit, vaultError, type RequestDecision } from './decisions.js';
import type { ProcessingRequest } from './envoy-types.js';
import { headerMap } from './headers.js';
import { requestBodyReply, requestHeadersReply } from './messages.js';
import { decideRequest } from './policy.js';
import { parseClientRequest } from './request.js';
import type { PendingLease, Step, StreamContext, StreamEffect, StreamState } from './stream.js';

/** Local endpoints answered by vault-extproc itself (Vault Agent/Proxy's API). */
const METRICS_PATHS = new Set(['/agent/v1/metrics', '/proxy/v1/metrics']);
const QUIT_PATHS = new Set(['/agent/v1/quit', '/proxy/v1/quit']);
const CACHE_CLEAR_PATHS = new Set(['/agent/v1/cache-clear', '/proxy/v1/cache-clear']);

type Respond = Extract<RequestDecision, { kind: 'respond' }>;

const OK_EMPTY: Respond = { kind: 'respond', status: 200, headers: {}, body: '', details: 'vault_extproc_local' };

function answered(state: StreamState): StreamState {
  return { ...state, phase: 'done', answeredBy: 'extproc' };
}

export function onRequestHeaders(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const headers = headerMap(msg.request_headers);
  const req = parseClientRequest(headers);
  const noBody = msg.request_headers?.end_of_stream === true;

  // Local endpoints first: Vault Proxy checks require_request_header on the proxied API only.
  if (ctx.metricsText && req.method === 'GET' && METRICS_PATHS.has(req.path)) {
    const later = ctx.metricsText().then((text) => requestHeadersReply({
      kind: 'respond', status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: text, details: 'vault_extproc_metrics',
    }));
    return { state: answered(state), reply: undefined, effects: [], later };
  }
  if (state.listener.enableQuit && QUIT_PATHS.has(req.path) && (req.method === 'POST' || req.method === 'PUT')) {
    return { state: answered(state), reply: requestHeadersReply({ ...OK_EMPTY, details: 'vault_extproc_quit' }), effects: [{ type: 'quit' }] };
  }
  if ((ctx.leaseCache || ctx.staticCache) && CACHE_CLEAR_PATHS.has(req.path)) {
    // Vault Agent answers other methods 200 and does nothing.
    if (req.method !== 'POST' && req.method !== 'PUT') return { state: answered(state), reply: requestHeadersReply(OK_EMPTY), effects: [] };
    if (noBody) return { state: answered(state), reply: requestHeadersReply(cacheClearAnswer(undefined).decision), effects: [] };
    return { state: { ...state, local: 'cache-clear' }, reply: requestHeadersReply({ kind: 'continue', setHeaders: {}, removeHeaders: [], injectedAutoAuth: false, sanitizeResponse: false, effectiveToken: undefined }, { requestBody: true }), effects: [] };
  }

  const decision = decideRequest(req, { listener: state.listener, useAutoAuthToken: ctx.useAutoAuthToken, autoAuthToken: ctx.autoAuthToken });
  if (decision.kind === 'respond') return { state: answered(state), reply: requestHeadersReply(decision), effects: [] };

  const next: StreamState = { ...state, phase: 'response', injectedAutoAuth: decision.injectedAutoAuth };
  if (decision.sanitizeResponse) next.sanitizeFor = decision.setHeaders[HEADERS.vaultToken];
  const effects: StreamEffect[] = [];
  const token = decision.effectiveToken;
  const tokenHash = token && (ctx.staticCache || ctx.leaseCache) ? hashToken(token) : undefined;
  const namespace = headers.get(HEADERS.vaultNamespace);
  // A response-wrapped read must reach Vault: a hit would hand out the secret itself instead of a wrapping token.
  const wrapped = headers.has(HEADERS.wrapTtl) || headers.has(HEADERS.wrapFormat);
  let requestBody = false;

  const revocation = ctx.leaseCache ? matchRevocation(req.method, req.path) : undefined;
  if (revocation) {
    // revoke-self and the URL forms name what they revoke now; the others in their JSON body.
    const inBody = revocation.urlValue === undefined && revocation.kind !== 'token-self';
    const value = inBody ? undefined : revocationValue(revocation, undefined, token);
    next.revocation = { match: revocation, ...(token ? { token } : {}), ...(value ? { value } : {}) };
    if (inBody && !noBody) requestBody = true;
  }

  const sc = ctx.staticCache;
  const staticKey = sc && token && tokenHash && !wrapped ? staticKeyOf(req.method, req.path, req.query, namespace) : undefined;
  if (sc && staticKey && token && tokenHash) {
    const hit = sc.cache.lookup(staticKey, tokenHash);
    if (hit) return { state: answered(state), reply: requestHeadersReply(cacheHit(hit, (ctx.now ?? Date.now)())), effects: [{ type: 'cache-hit' }] };
    const inflightKey = `s:${staticKey.path}\u0000${staticKey.version}\u0000${tokenHash}`;
    const leader = sc.inflight.waitFor(inflightKey);
    if (leader && !state.coalesced) return { state: { ...state, coalesced: true }, reply: undefined, effects: [], wait: leader };
    next.static = { key: staticKey, token, tokenHash, inflightKey };
    effects.push({ type: 'inflight-begin', key: inflightKey });
  }

  const lc = ctx.leaseCache;
  if (lc && isLeaseCandidate(req.method, req.path, wrapped)) {
    const pending: PendingLease = {
      method: req.method, path: req.path, query: req.query, namespace: canonicalNamespace(namespace),
      ...(token ? { token } : {}), ...(tokenHash ? { tokenHash } : {}),
    };
    if (noBody) {
      const found = leaseLookup(next, pending, undefined, ctx);
      // Release what the static branch took for this request before answering or waiting.
      const release: StreamEffect[] = next.static ? [{ type: 'inflight-end', key: next.static.inflightKey }] : [];
      if (found.hit) return { state: answered(state), reply: requestHeadersReply(found.hit), effects: [...release, ...found.effects] };
      if (found.wait) return { state: { ...state, coalesced: true }, reply: undefined, effects: release, wait: found.wait };
      effects.push(...found.effects);
    } else {
      next.lease = pending;
      requestBody = true;
    }
  }

  if (sc || lc) effects.push({ type: 'cache-miss' });
  const responseBody = next.static !== undefined || next.lease !== undefined;
  return { state: next, reply: requestHeadersReply(decision, { requestBody, responseBody }), effects };
}

export function onRequestBody(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const body = msg.request_body?.body;
  if (state.local === 'cache-clear') {
    const { decision, command } = cacheClearAnswer(body);
    return { state: answered(state), reply: requestBodyReply(decision), effects: command ? [{ type: 'cache-clear', command }] : [] };
  }
  const next: StreamState = { ...state };
  const effects: StreamEffect[] = [];
  if (state.revocation) {
    const value = revocationValue(state.revocation.match, body, state.revocation.token);
    next.revocation = { ...state.revocation, ...(value ? { value } : {}) };
  }
  if (state.lease && state.lease.key === undefined) {
    const found = leaseLookup(next, state.lease, body, ctx);
    if (found.hit) return { state: answered(state), reply: requestBodyReply(found.hit), effects: found.effects };
    if (found.wait) return { state: { ...state, coalesced: true }, reply: undefined, effects: [], wait: found.wait };
    effects.push(...found.effects);
  }
  return { state: next, reply: requestBodyReply(undefined), effects };
}

/** The lease cache at the point the key is known: a hit, a wait for an identical request, or lead. */
function leaseLookup(next: StreamState, pending: PendingLease, body: Buffer | undefined, ctx: StreamContext): { hit?: Respond; wait?: Promise<void>; effects: StreamEffect[] } {
  const lc = ctx.leaseCache!;
  const key = leaseKey({ method: pending.method, path: pending.path, query: pending.query, body, namespace: pending.namespace, tokenHash: pending.tokenHash });
  const hit = lc.cache.lookup(key);
  if (hit) return { hit: cacheHit(hit.response, (ctx.now ?? Date.now)()) as Respond, effects: [{ type: 'cache-hit' }] };
  const inflightKey = `l:${key}`;
  const leader = lc.inflight.waitFor(inflightKey);
  if (leader && !next.coalesced) return { wait: leader, effects: [] };
  next.lease = { ...pending, key, inflightKey };
  return { effects: [{ type: 'inflight-begin', key: inflightKey }] };
}

function cacheClearAnswer(body: Buffer | undefined): { decision: Respond; command?: import('../cache/cache-clear.js').CacheClearCommand } {
  const parsed = parseCacheClear(body);
  if (!parsed.ok) return { decision: vaultError(400, parsed.error, 'vault_extproc_cache_clear_rejected') as Respond };
  return { decision: { ...OK_EMPTY, details: 'vault_extproc_cache_clear' }, command: parsed.command };
}
