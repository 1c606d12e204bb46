/**
 * The per-request decision log (debug level): one line per ext_proc stream, i.e. per HTTP request,
 * written when the stream ends. It names the request (an id, the method, the canonical path) and
 * what vault-extproc decided, never a token, a header value that could hold one, or a body:
 * - the request id is Envoy's `x-request-id` only when it has the shape Envoy generates (a UUID)
 *   and is not the request's own token; otherwise one of ours (`request_id_generated: true`);
 * - the path is the canonical one (src/vault/request.ts), without the query string (Vault reads
 *   `?token=` on auth/token/lookup), and any segment shaped like a Vault token, or the request's
 *   token itself, is replaced by `[token]`.
 * Only built when debug is enabled: at info level a stream carries no RequestLog at all.
 */
import { randomUUID } from 'node:crypto';
import { parseVaultRequest } from '../vault/request.js';
import type { ProcessingRequest, ProcessingResponse } from './envoy-types.js';
import { headerLines } from './headers.js';
import type { StreamEffect, StreamState } from './stream-types.js';

/** What an answer given by vault-extproc itself (its Envoy %RESPONSE_CODE_DETAILS%) is called in the log. */
const LOCAL_DECISIONS: Record<string, string> = {
  vault_extproc_cache_hit: 'cache-hit',
  vault_extproc_missing_request_header: 'refused-missing-request-header',
  vault_extproc_wrapped_auto_auth_token: 'refused-wrapped-auto-auth-token',
  vault_extproc_metrics: 'local-metrics',
  vault_extproc_quit: 'local-quit',
  vault_extproc_cache_clear: 'local-cache-clear',
  vault_extproc_cache_clear_rejected: 'local-cache-clear-rejected',
  vault_extproc_local: 'local',
  vault_extproc_not_found: 'local-not-found',
  vault_extproc_internal_error: 'internal-error',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Vault token shapes: hvs./hvb./hvr. (1.10+) and s./b./r. (older), then the token's characters. */
const TOKEN_SHAPED = /^(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{8,}$/;

export interface RequestLogLine {
  request_id: string;
  request_id_generated?: true;
  method?: string;
  path?: string;
  decision: string;
  /** The status the client got: ours for a local answer, Vault's (or Envoy's) otherwise; absent when the stream ended before one. */
  status?: number;
  duration_ms: number;
  /** A forwarded request's answer was recorded in this cache. */
  recorded?: 'static' | 'lease';
  /** The request waited for an identical one in flight before being decided. */
  coalesced?: true;
  /** Envoy answered 5xx itself: Vault could not be reached, reset the connection or timed out. */
  vault_unreachable?: true;
}

export class RequestLog {
  private id: string | undefined;
  private generatedId = false;
  private method: string | undefined;
  private path: string | undefined;
  private localDetails: string | undefined;
  private localStatus: number | undefined;
  private proxiedStatus: number | undefined;
  private hit: 'static' | 'lease' | undefined;
  private recorded: 'static' | 'lease' | undefined;
  private coalesced = false;
  private unreachable = false;

  /** Every message from Envoy: the request headers name the request. */
  message(msg: ProcessingRequest): void {
    if (msg.request !== 'request_headers' || this.method !== undefined) return;
    const headers = headerLines(msg.request_headers);
    const req = parseVaultRequest(headers);
    this.method = req.method;
    this.path = safePath(req.path, req.token);
    const rid = headers.get('x-request-id')?.[0];
    if (rid !== undefined && UUID.test(rid) && rid !== req.token) this.id = rid;
  }

  effect(effect: StreamEffect): void {
    switch (effect.type) {
      case 'cache-hit':
        this.hit = effect.cache;
        break;
      case 'static-record':
        this.recorded = 'static';
        break;
      case 'lease-record':
        this.recorded = 'lease';
        break;
      case 'proxied':
        this.proxiedStatus = effect.status;
        if (effect.failed) this.unreachable = true;
        break;
      default:
        break;
    }
  }

  /** Every reply sent to Envoy: an immediate response is an answer of ours. */
  reply(reply: ProcessingResponse): void {
    if (!('immediate_response' in reply)) return;
    const immediate = reply.immediate_response;
    this.localStatus = immediate.status.code;
    this.localDetails = immediate.details ?? '';
  }

  waited(): void {
    this.coalesced = true;
  }

  /** The stream's line, at its end. */
  line(state: StreamState, seconds: number): RequestLogLine {
    if (this.id === undefined) {
      this.id = randomUUID();
      this.generatedId = true;
    }
    let decision: string;
    if (this.localDetails !== undefined) {
      decision = LOCAL_DECISIONS[this.localDetails] ?? this.localDetails.replace(/^vault_extproc_/, 'local-');
      if (decision === 'cache-hit' && this.hit) decision = `cache-hit-${this.hit}`;
    } else {
      decision = state.injectedAutoAuth ? 'forwarded-auto-auth-token' : 'forwarded';
    }
    const status = this.localStatus ?? this.proxiedStatus;
    return {
      request_id: this.id,
      ...(this.generatedId ? { request_id_generated: true as const } : {}),
      ...(this.method !== undefined ? { method: this.method } : {}),
      ...(this.path !== undefined ? { path: this.path } : {}),
      decision,
      ...(status ? { status } : {}),
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      ...(this.recorded ? { recorded: this.recorded } : {}),
      ...(this.coalesced ? { coalesced: true as const } : {}),
      ...(this.unreachable ? { vault_unreachable: true as const } : {}),
    };
  }
}

/** The canonical path with token-shaped segments (and the request's own token) blanked out. */
export function safePath(path: string, token: string | undefined): string {
  let out = path;
  if (token && token.length >= 4 && out.includes(token)) out = out.split(token).join('[token]');
  if (!out.includes('.')) return out;
  return out.split('/').map((seg) => (TOKEN_SHAPED.test(seg) ? '[token]' : seg)).join('/');
}
