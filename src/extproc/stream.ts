import type { ListenerConfig, UseAutoAuthToken } from '../config/types.js';
import type { ProcessingRequest, ProcessingResponse } from './envoy-types.js';
import { headerMap } from './headers.js';
import { continueReply, requestHeadersReply, responseBodyReply, responseHeadersReply } from './messages.js';
import { sanitizeTokenEcho } from './sanitize.js';
import { decideRequest } from './policy.js';
import { parseClientRequest } from './request.js';

/** What the service around the streams provides to every stream. */
export interface StreamContext {
  useAutoAuthToken: UseAutoAuthToken;
  autoAuthToken(): string | undefined;
}

/** Per-stream state: one ext_proc stream is one HTTP request. */
export interface StreamState {
  listener: ListenerConfig;
  phase: 'request' | 'response' | 'done';
  /** The request went to Vault carrying the auto-auth token we added. */
  injectedAutoAuth: boolean;
  /** The response body may echo the auto-auth token: strip it (the token that was sent). */
  sanitizeFor?: string;
}

/** Side effects the server performs after sending the reply. */
export type StreamEffect = { type: 'token-suspect' };

export interface Step {
  state: StreamState;
  /** Exactly one reply per message, of the matching kind; undefined only in observability mode. */
  reply: ProcessingResponse | undefined;
  effects: StreamEffect[];
}

export function initialState(listener: ListenerConfig): StreamState {
  return { listener, phase: 'request', injectedAutoAuth: false };
}

/** The transition function: decides the reply to one message. It never sends and never throws on bad input. */
export function step(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const kind = msg.request;
  if (msg.observability_mode) return { state, reply: undefined, effects: [] };
  switch (kind) {
    case 'request_headers': {
      const req = parseClientRequest(headerMap(msg.request_headers));
      const decision = decideRequest(req, {
        listener: state.listener,
        useAutoAuthToken: ctx.useAutoAuthToken,
        autoAuthToken: ctx.autoAuthToken,
      });
      const next: StreamState = {
        ...state,
        phase: decision.kind === 'respond' ? 'done' : 'response',
        injectedAutoAuth: decision.kind === 'continue' && decision.watchResponse,
      };
      if (decision.kind === 'continue' && decision.sanitizeResponse) next.sanitizeFor = decision.setHeaders['x-vault-token'];
      return { state: next, reply: requestHeadersReply(decision), effects: [] };
    }
    case 'response_headers': {
      const status = headerMap(msg.response_headers).get(':status');
      const effects: StreamEffect[] = state.injectedAutoAuth && status === '403' ? [{ type: 'token-suspect' }] : [];
      return { state: { ...state, phase: 'done' }, reply: responseHeadersReply(state.sanitizeFor !== undefined), effects };
    }
    case 'response_body': {
      const body = state.sanitizeFor && msg.response_body?.body ? sanitizeTokenEcho(msg.response_body.body, state.sanitizeFor) : undefined;
      return { state, reply: responseBodyReply(body), effects: [] };
    }
    case undefined:
      // A message kind this build does not know (a newer Envoy): nothing sensible to answer.
      return { state, reply: undefined, effects: [] };
    default:
      return { state, reply: continueReply(kind), effects: [] };
  }
}
