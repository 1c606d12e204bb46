import type { ProcessingRequest } from './envoy-types.js';
import { continueReply } from './messages.js';
import { onRequestBody, onRequestHeaders } from './request-phase.js';
import { onResponseBody, onResponseHeaders } from './response-phase.js';
import type { Step, StreamContext, StreamState } from './stream-types.js';

export { heldInflightKeys, initialState } from './stream-types.js';
export type { PendingLease, PendingStatic, Step, StreamContext, StreamEffect, StreamState } from './stream-types.js';

/** The transition function: decides the reply to one message. It never sends and never throws on bad input. */
export function step(state: StreamState, msg: ProcessingRequest, ctx: StreamContext): Step {
  const kind = msg.request;
  if (msg.observability_mode) return { kind: 'none', state, effects: [] };
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
      return { kind: 'none', state, effects: [] };
    default:
      return { kind: 'reply', state, reply: continueReply(kind), effects: [] };
  }
}
