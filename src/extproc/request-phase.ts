import { staleHit } from '../persist/stale.js';
import { parseCacheClear, type CacheClearCommand } from '../cache/cache-clear.js';
import { isLeaseCandidate, matchRevocation, matchUnmount, revocationValue } from '../cache/lease-rules.js';
import { leaseKey } from '../cache/lease-key.js';
import { canonicalNamespace, namespacePrefix, staticKeyOf } from '../cache/static-key.js';
import { hashToken } from '../cache/token-hash.js';
import { parseVaultRequest, type VaultRequest } from '../vault/request.js';
import { applyApiProxyRules } from './api-proxy-rules.js';
import { cacheHit, vaultError, type RequestDecision } from './decisions.js';
import type { ProcessingRequest } from './envoy-types.js';
import { headerLines } from './headers.js';
import { requestBodyReply, requestHeadersReply } from './messages.js';
import { decideRequest, missingRequestHeader } from './policy.js';
import type { PendingLease, Step, StreamContext, StreamEffect, StreamState } from './stream-types.js';

/** Local endpoints answered by vault-extproc itself (Vault Agent/Proxy's API), matched on the decoded path as Vault Proxy's mux does. */
const METRICS_PATHS = new Set(['/agent/v1/metrics', '/proxy/v1/metrics']);
const QUIT_PATHS = new Set(['/agent/v1/quit', '/proxy/v1/quit']);
const CACHE_CLEAR_PATHS = new Set(['/agent/v1/cache-clear', '/proxy/v1/cache-clear']);

type Respond = Extract<RequestDecision, { kind: 'respond' }>;

const OK_EMPTY: Respond = { kind: 'respond', status: 200, headers: {}, body: '', details: 'vault_extproc_local' };
/** Go's ServeMux answer for a path it does not serve (a metrics_only listener's everything else). */
const NOT_FOUND: Respond = {
  kind: 'respond', status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  body: '404 page not found\n', details: 'vault_extproc_not_found',
};

function answered(state: StreamState): StreamState {
  return { ...state, phase: 'done', answeredBy: 'extproc' };
}

function respond(state: StreamState, decision: RequestDecision, effects: StreamEffect[] = []): Step {
  return { kind: 'reply', state: answered(state), reply: requestHeadersReply(decision), effects };
}

export function onRequestHeaders(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const lines = headerLines(msg.request_headers);
  const req = parseVaultRequest(lines);
  const noBody = msg.request_headers?.end_of_stream === true;
  const local = localEndpoint(state, req, noBody, ctx, lines.get('accept'));
  if (local) return local;

  const decision = decideRequest(req, { listener: state.listener, useAutoAuthToken: ctx.useAutoAuthToken, autoAuthToken: ctx.autoAuthToken });
  if (decision.kind === 'respond') return respond(state, decision);

  const next: StreamState = { ...state, phase: 'response', injectedAutoAuth: decision.injectedAutoAuth, request: req };
  if (decision.sanitizeResponse) next.sanitizeFor = decision.setHeaders['x-vault-token'];
  const effects: StreamEffect[] = [];
  const token = decision.effectiveToken;
  // When we replaced or added the token, the request Vault sees carries ours, once.
  // Then the api_proxy rules: the configured namespace and the consistency headers (api-proxy-rules.ts).
  const sentReq: VaultRequest = applyApiProxyRules(decision.injectedAutoAuth ? { ...req, token, tokenRepeated: false } : req, decision, ctx.apiProxy, next);
  const tokenHash = token && (ctx.staticCache || ctx.leaseCache) ? hashToken(token) : undefined;
  const nowMs = (ctx.now ?? Date.now)();
  let requestBody: boolean | 'if-small' = false;

  const revocation = ctx.leaseCache || ctx.staticCache ? (sentReq.rel !== undefined && sentReq.exact ? matchRevocation(sentReq.method, sentReq.rel) : undefined) : undefined;
  if (revocation) {
    // revoke-self and the URL forms name what they revoke now; the others in their body.
    const inBody = revocation.urlValue === undefined && revocation.kind !== 'token-self' && revocation.kind !== 'renew-self' && revocation.kind !== 'privileges';
    const value = inBody ? undefined : revocationValue(revocation, undefined, token);
    next.revocation = { match: revocation, ...(token ? { token } : {}), ...(value ? { value } : {}) };
    if (inBody && !noBody) requestBody = true;
  }

  const sc = ctx.staticCache;
  if (sc && sentReq.method !== 'GET' && sentReq.exact && sentReq.rel !== undefined) next.kvChange = kvChangeOf(sentReq, sc);
  const staticKey = sc && token && tokenHash ? staticKeyOf(sentReq, sc.namespaces()) : undefined;
  if (sc && staticKey && token && tokenHash) {
    // fleet: a replica that has not heard Redis within max_stale_without_redis cannot vouch for L1.
    const stale = sc.shared?.stale() === true;
    const hit = stale ? undefined : sc.cache.lookup(staticKey, tokenHash);
    // L1 does not hold this token's proof: the shared cache may (a read through another replica).
    // Only for a token with a grant, which a hit needs anyway; one wait per message.
    if (!hit && sc.shared && !stale && !state.coalesced && !sc.grants.isIneligible(tokenHash) && sc.grants.allows(tokenHash, nowMs)) {
      return { kind: 'wait', state: { ...state, coalesced: true }, effects: [], wait: sc.shared.lookup(staticKey, tokenHash, token) };
    }
    if (hit) {
      // serve_stale (src/persist/stale.ts): past the grant, while Vault cannot answer, within serve_stale_max.
      const grant = sc.grants.servable(tokenHash, nowMs);
      if (grant) return respond(state, grant === 'stale' ? staleHit(cacheHit(hit, nowMs, sentReq.namespace)) : cacheHit(hit, nowMs, sentReq.namespace), [{ type: 'cache-hit', cache: 'static' }]);
      // The token proved access but the worker has not looked it up yet (a first hit): wait for it, once.
      const lookup = sc.grants.pendingFor(tokenHash);
      if (lookup && !state.coalesced) return { kind: 'wait', state: { ...state, coalesced: true }, effects: [], wait: lookup };
    }
    if (!sc.grants.isIneligible(tokenHash)) {
      const inflightKey = `s:${staticKey.path}\u0000${staticKey.version}\u0000${tokenHash}`;
      const leader = sc.inflight.waitFor(inflightKey);
      if (leader && !state.coalesced) return { kind: 'wait', state: { ...state, coalesced: true }, effects: [], wait: leader };
      next.static = { key: staticKey, token, tokenHash, inflightKey, sentAtMs: nowMs };
      effects.push({ type: 'inflight-begin', key: inflightKey });
    }
  }

  const lc = ctx.leaseCache;
  const leaseNs = lc && isLeaseCandidate(sentReq) ? namespacePrefix(sentReq, lc.namespaces()) : null;
  if (lc && leaseNs !== null) {
    const pending: PendingLease = {
      method: sentReq.method, rel: sentReq.rel!, query: sentReq.query, namespace: leaseNs,
      ...(sentReq.namespace !== undefined ? { sentNamespace: sentReq.namespace } : {}),
      ...(token ? { token } : {}), ...(tokenHash ? { tokenHash } : {}),
    };
    if (noBody) {
      const found = leaseLookup(next, pending, undefined, ctx);
      // Answering or waiting here drops what the static branch planned (its inflight-begin is in
      // `effects`, which is not applied): nothing to release.
      if (found.hit) return respond(state, found.hit, found.effects);
      if (found.wait) return { kind: 'wait', state: { ...state, coalesced: true }, effects: [], wait: found.wait };
      effects.push(...found.effects);
    } else {
      next.lease = pending;
      // Keyed by its body when the body fits Envoy's buffer; a larger one goes through unkeyed (BUFFERED_PARTIAL).
      requestBody = requestBody === true ? true : 'if-small';
    }
  }

  if (sc || lc) effects.push({ type: 'cache-miss' });
  const responseBody = next.static !== undefined || next.lease !== undefined;
  return { kind: 'reply', state: next, reply: requestHeadersReply(decision, { requestBody, responseBody }), effects };
}

/**
 * What a successful non-GET request changes in the static cache: a KV write, patch, delete,
 * destroy or metadata change evicts the secret (Vault 1.15 sends delete events to root only, so
 * this is how a delete through Envoy is seen at once); disabling a mount evicts everything under it.
 */
function kvChangeOf(req: VaultRequest, sc: NonNullable<StreamContext['staticCache']>): StreamState['kvChange'] {
  const ns = namespacePrefix(req, sc.namespaces());
  const unmount = matchUnmount(req.method, req.rel!);
  // Namespace not known yet: evict as if the header were honoured and as if it were not.
  if (unmount) return { evictPrefix: [`${ns ?? ''}${unmount.mountRel}/`, ...(ns === null ? [`${canonicalNamespace(req.namespace)}${unmount.mountRel}/`] : [])] };
  const paths: string[] = [];
  for (const prefix of ns === null ? ['', canonicalNamespace(req.namespace)] : [ns]) {
    const path = `${prefix}${req.rel!.replace(/\/+$/, '')}`;
    const mount = sc.mounts.mountOf(path);
    if (!mount || mount.kind !== 'kv') continue;
    const sub = path.slice(mount.prefix.length);
    if (mount.kvVersion === 1) paths.push(path);
    else if (sub === 'config') return { evictPrefix: [mount.prefix] }; // max_versions may trim every secret's versions
    else {
      const m = /^(?:data|metadata|delete|destroy|undelete)\/(.+)$/.exec(sub);
      if (m) paths.push(`${mount.prefix}data/${m[1]}`);
    }
  }
  // A remount moves mounts whose paths we cannot read here (the body): everything goes.
  if (/(?:^|\/)sys\/remount$/.test(req.rel!)) return { evictPrefix: [''] };
  return paths.length ? { evictPaths: paths } : undefined;
}

/** Metrics, quit and cache-clear, answered here; undefined for a request that goes to Vault. */
function localEndpoint(state: StreamState, req: VaultRequest, noBody: boolean, ctx: StreamContext, accept: readonly string[] = []): Step | undefined {
  const metricsOnly = state.listener.role === 'metrics_only';
  if (ctx.vaultMetrics && METRICS_PATHS.has(req.path)) {
    // Vault's handler: GET only (405 otherwise), JSON or Prometheus text as the query or Accept asks.
    const later = ctx.vaultMetrics({ method: req.method, rawQuery: req.rawQuery, accept }).then((a) => requestHeadersReply({
      kind: 'respond', status: a.status, headers: { 'content-type': a.contentType }, body: a.body, details: 'vault_extproc_metrics',
    }));
    return { kind: 'later', state: answered(state), effects: [], later };
  }
  // A metrics_only listener serves the metrics and nothing else, as Vault Proxy's.
  if (metricsOnly) return respond(state, NOT_FOUND);
  const isQuit = state.listener.enableQuit && QUIT_PATHS.has(req.path);
  const isClear = (ctx.leaseCache || ctx.staticCache) && CACHE_CLEAR_PATHS.has(req.path);
  if (!isQuit && !isClear) return undefined;
  // These change the service: require_request_header guards them as it guards the API (no
  // cross-site form can set the header).
  const missing = missingRequestHeader(req, state.listener);
  if (missing) return respond(state, missing);
  if (isQuit) {
    if (req.method !== 'POST' && req.method !== 'PUT') return undefined;
    return respond(state, { ...OK_EMPTY, details: 'vault_extproc_quit' }, [{ type: 'quit' }]);
  }
  // Vault Agent answers other methods 200 and does nothing.
  if (req.method !== 'POST' && req.method !== 'PUT') return respond(state, OK_EMPTY);
  // Only a JSON body: an HTML form (text/plain, form-urlencoded) cannot clear the cache.
  const media = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json') {
    return respond(state, vaultError(415, 'cache-clear needs a JSON body (Content-Type: application/json)', 'vault_extproc_cache_clear_rejected'));
  }
  if (noBody) return respond(state, cacheClearAnswer(undefined).decision);
  return {
    kind: 'reply',
    state: { ...state, local: 'cache-clear' },
    reply: requestHeadersReply({ kind: 'continue', setHeaders: {}, removeHeaders: [], injectedAutoAuth: false, sanitizeResponse: false, effectiveToken: undefined }, { requestBody: true }),
    effects: [],
  };
}

export function onRequestBody(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const body = msg.request_body?.body;
  if (state.local === 'cache-clear') {
    const { decision, command } = cacheClearAnswer(body);
    return { kind: 'reply', state: answered(state), reply: requestBodyReply(decision), effects: command ? [{ type: 'cache-clear', command }] : [] };
  }
  const next: StreamState = { ...state };
  const effects: StreamEffect[] = [];
  if (state.revocation) {
    const value = revocationValue(state.revocation.match, body, state.revocation.token, state.request?.contentType);
    next.revocation = { ...state.revocation, ...(value ? { value } : {}) };
  }
  if (state.lease && state.lease.key === undefined && msg.request_body?.end_of_stream !== true) {
    next.lease = undefined; // only the first part of a large body came: neither keyed nor recorded
  } else if (state.lease && state.lease.key === undefined) {
    const found = leaseLookup(next, state.lease, body, ctx);
    if (found.hit) return { kind: 'reply', state: answered(state), reply: requestBodyReply(found.hit), effects: found.effects };
    if (found.wait) return { kind: 'wait', state: { ...state, coalesced: true }, effects: [], wait: found.wait };
    effects.push(...found.effects);
  }
  return { kind: 'reply', state: next, reply: requestBodyReply(undefined), effects };
}

/** The lease cache at the point the key is known: a hit, a wait for an identical request, or lead. */
function leaseLookup(next: StreamState, pending: PendingLease, body: Buffer | undefined, ctx: StreamContext): { hit?: Respond; wait?: Promise<void>; effects: StreamEffect[] } {
  const lc = ctx.leaseCache!;
  const key = leaseKey({
    method: pending.method, rel: pending.rel, query: pending.query, body, contentType: next.request?.contentType, namespace: pending.namespace, tokenHash: pending.tokenHash,
  });
  if (key === undefined) {
    next.lease = undefined; // a body we cannot read as Vault does: neither answered nor recorded
    return { effects: [] };
  }
  const stale = lc.stale?.() === true;
  const hit = stale ? undefined : lc.cache.lookup(key);
  if (hit) return { hit: cacheHit(hit.response, (ctx.now ?? Date.now)(), pending.sentNamespace) as Respond, effects: [{ type: 'cache-hit', cache: 'lease' }] };
  // fleet: another replica may have recorded exactly this request (one wait per message).
  if (lc.shared && !stale && !next.coalesced) return { wait: lc.shared(key), effects: [] };
  const inflightKey = `l:${key}`;
  const leader = lc.inflight.waitFor(inflightKey);
  if (leader && !next.coalesced) return { wait: leader, effects: [] };
  next.lease = { ...pending, key, inflightKey };
  return { effects: [{ type: 'inflight-begin', key: inflightKey }] };
}

function cacheClearAnswer(body: Buffer | undefined): { decision: Respond; command?: CacheClearCommand } {
  const parsed = parseCacheClear(body);
  if (!parsed.ok) return { decision: vaultError(400, parsed.error, 'vault_extproc_cache_clear_rejected') as Respond };
  return { decision: { ...OK_EMPTY, details: 'vault_extproc_cache_clear' }, command: parsed.command };
}
