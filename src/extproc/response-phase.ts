import { replayableHeaders, type StoredResponse } from '../cache/entry.js';
import { kvRead } from '../cache/kv-read.js';
import { leaseRecordOf } from '../cache/lease-rules.js';
import { hashToken } from '../cache/token-hash.js';
import { HEADERS } from '../vault/paths.js';
import type { ProcessingRequest } from './envoy-types.js';
import { headerMap } from './headers.js';
import { responseBodyReply, responseHeadersReply } from './messages.js';
import { indexStateEffects } from './api-proxy-rules.js';
import { sanitizeTokenEcho } from './sanitize.js';
import { heldInflightKeys, type Step, type StreamContext, type StreamEffect, type StreamState } from './stream-types.js';

export function onResponseHeaders(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const headers = headerMap(msg.response_headers);
  const status = Number(headers.get(':status') ?? 0);
  const json = (headers.get(HEADERS.contentType) ?? '').split(';')[0]!.trim() === 'application/json';
  // Vault answers JSON; a 5xx in plain text is Envoy's own reply (upstream unreachable, reset, timeout).
  const effects: StreamEffect[] = [{ type: 'proxied', status, failed: status >= 500 && !json }];
  if (state.injectedAutoAuth && status === 403) effects.push({ type: 'token-suspect' });
  effects.push(...indexStateEffects(state, headers));
  const next: StreamState = { ...state, answeredBy: 'vault' };
  const ok = status >= 200 && status < 300;

  // Evict on success only: Vault answers 204 (202 with sync=false) when it revoked. A value we
  // could not read still counts: the mediator then evicts more, never less.
  const rev = state.revocation;
  if (rev && ok) effects.push({ type: 'revoked', kind: rev.match.kind, value: rev.value });
  next.revocation = undefined;
  if (state.kvChange && ok) effects.push({ type: 'kv-changed', ...state.kvChange });
  next.kvChange = undefined;

  const recordable = ok && json && !msg.response_headers?.end_of_stream;
  if ((state.static || state.lease) && recordable) {
    const date = Date.parse(headers.get(HEADERS.date) ?? '');
    next.response = { status, headers: replayableHeaders(headers), storedAtMs: Number.isNaN(date) ? (ctx.now ?? Date.now)() : date };
  } else {
    effects.push(...release(state));
    next.static = undefined;
    next.lease = undefined;
  }
  if (msg.response_headers?.end_of_stream) next.phase = 'done';
  // Vault Proxy marks successful proxied responses as misses when a cache is on; errors pass untouched.
  const markMiss = (ctx.staticCache !== undefined || ctx.leaseCache !== undefined) && status > 0 && status < 400;
  return { kind: 'reply', state: next, reply: responseHeadersReply(state.sanitizeFor !== undefined, markMiss), effects };
}

/** The largest answer recorded (256 KiB). */
export const MAX_RECORDED_BYTES = 256 * 1024;

export function onResponseBody(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const body = msg.response_body?.body ?? Buffer.alloc(0);
  const effects: StreamEffect[] = [];
  // Only a whole answer is recorded: a large one comes as its first part (BUFFERED_PARTIAL). And
  // only one that a hit can replay as a modest immediate response (KV secrets are small; a body
  // that fits Envoy's buffer whole but is larger than this goes through unrecorded).
  const whole = msg.response_body?.end_of_stream === true && body.length <= MAX_RECORDED_BYTES;
  const stored = state.response && whole ? { ...state.response, body: new Uint8Array(body) } : undefined;
  if (stored) effects.push(...recordEffects(state, stored, body, ctx));
  effects.push(...release(state));
  const sanitized = state.sanitizeFor && body.length ? sanitizeTokenEcho(body, state.sanitizeFor) : undefined;
  const next: StreamState = { ...state, phase: 'done' };
  next.static = undefined;
  next.lease = undefined;
  next.response = undefined;
  return { kind: 'reply', state: next, reply: responseBodyReply(sanitized), effects };
}

function release(state: StreamState): StreamEffect[] {
  return heldInflightKeys(state).map((key) => ({ type: 'inflight-end' as const, key }));
}

/** A KV read goes to the static cache; a response that created a token or a lease to the lease cache. */
function recordEffects(state: StreamState, response: StoredResponse, body: Buffer, ctx: StreamContext): StreamEffect[] {
  const st = state.static;
  const sc = ctx.staticCache;
  if (st && sc) {
    const read = kvRead(st.key, body, sc.mounts);
    if (read.kind === 'record') {
      return [{
        type: 'static-record', key: st.key, token: st.token, tokenHash: st.tokenHash, response, sentAtMs: st.sentAtMs,
        ...(read.kvVersion !== undefined ? { kvVersion: read.kvVersion } : {}),
      }];
    }
    if (read.kind === 'unknown-mount') return [{ type: 'mount-unknown', path: st.key.path }, ...leaseRecordEffects(state, response, body, ctx)];
  }
  return leaseRecordEffects(state, response, body, ctx);
}

const TOKEN_STORE = /(?:^|\/)auth\/token\//;

function leaseRecordEffects(state: StreamState, response: StoredResponse, body: Buffer, ctx: StreamContext): StreamEffect[] {
  const lease = state.lease;
  const lc = ctx.leaseCache;
  if (!lease?.key || !lc) return [];
  const record = leaseRecordOf(body);
  if (!record) return [];
  const requestPath = lease.rel.replace(/\/+$/, '');
  const common = { key: lease.key, response, requestPath, namespace: lease.namespace };
  if (record.kind === 'token') {
    // A login (a token from an auth method, not the token store): anyone who sends the same
    // credentials gets the cached token, so disable_caching_logins turns this off.
    if (!lc.cacheLogins && !TOKEN_STORE.test(lease.rel)) return [];
    // A new token is cached when it is an orphan, or when its parent (the request's token) is managed.
    if (!record.orphan && !(lease.tokenHash && lc.managed(lease.tokenHash))) return [];
    const entry = {
      ...common, kind: 'token' as const, tokenHash: hashToken(record.clientToken),
      ...(record.accessor ? { accessor: record.accessor } : {}),
      ...(!record.orphan && lease.tokenHash ? { ownerHash: lease.tokenHash } : {}),
    };
    return [{ type: 'lease-record', entry, renewToken: record.clientToken, ttlSeconds: record.ttlSeconds }];
  }
  // A lease is cached when the token that created it is managed.
  if (!lease.token || !lease.tokenHash || !lc.managed(lease.tokenHash)) return [];
  const entry = { ...common, kind: 'lease' as const, leaseId: record.leaseId, ownerHash: lease.tokenHash };
  return [{ type: 'lease-record', entry, renewToken: lease.token, ttlSeconds: record.ttlSeconds }];
}
