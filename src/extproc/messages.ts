import type { RequestDecision } from './decisions.js';
import type { HeaderMutation, HeaderValueOption, ProcessingMode, ProcessingResponse } from './envoy-types.js';

/** Header values go in raw_value only: Envoy ≥1.32 ignores `value`, and both set is rejected. */
function headerOptions(headers: Record<string, string>, bytesOf: (value: string) => Buffer = latin1): HeaderValueOption[] {
  const options: HeaderValueOption[] = [];
  for (const key in headers) options.push({ header: { key, raw_value: bytesOf(headers[key]!) } });
  return options;
}

/** Lines added whatever is there already, in order (several X-Vault-Index states). */
function appendedOptions(lines: Array<[string, string]> | undefined): HeaderValueOption[] {
  return (lines ?? []).map(([key, value]) => ({ header: { key, raw_value: latin1(value) }, append: { value: true } }));
}

function latin1(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

/**
 * The bytes of a header value of a local answer, kept for the next answer: a hit repeats the same
 * few values (Vault's headers, X-Cache, Age, this second's Date). Never used for request headers
 * we set, which carry tokens.
 */
const answerValues = new Map<string, Buffer>();
function answerValueBytes(value: string): Buffer {
  let bytes = answerValues.get(value);
  if (bytes === undefined) {
    bytes = latin1(value);
    if (value.length <= 128) {
      if (answerValues.size >= 1024) answerValues.clear();
      answerValues.set(value, bytes);
    }
  }
  return bytes;
}

/**
 * Which bodies to ask Envoy for, beyond the configured defaults (none). Envoy buffers at most its
 * per-connection buffer limit (32 MiB, BUFFER_LIMIT_BYTES):
 * - `true`: the whole body (BUFFERED). One over the limit fails closed: Envoy answers 413 for a
 *   request, 500 for a response. For what must not pass unseen: revocation bodies (the cache must
 *   evict what Vault revokes), cache-clear, and answers cleaned of the auto-auth token.
 * - `'if-small'` (requests) and responseBody: BUFFERED_PARTIAL. A body within the limit comes whole
 *   (`end_of_stream: true`); a larger one comes as its first part (`end_of_stream` unset) while the
 *   rest streams on: the request or answer goes through, and is neither keyed nor recorded.
 */
export interface BodyModes {
  requestBody?: boolean | 'if-small';
  responseBody?: boolean;
}

function immediate(decision: Extract<RequestDecision, { kind: 'respond' }>): ProcessingResponse {
  return {
    immediate_response: {
      status: { code: decision.status },
      headers: { set_headers: headerOptions(decision.headers, answerValueBytes) },
      body: typeof decision.body === 'string' ? Buffer.from(decision.body) : decision.body,
      details: decision.details,
    },
  };
}

/** Builds the reply to a request_headers message. */
export function requestHeadersReply(decision: RequestDecision, bodies: BodyModes = {}): ProcessingResponse {
  if (decision.kind === 'respond') return immediate(decision);
  // Built field by field (no spreads of conditional objects: this runs for every request).
  const mutation: HeaderMutation = {};
  let mutated = false;
  const set = headerOptions(decision.setHeaders);
  if (set.length || decision.appendHeaders?.length) {
    mutation.set_headers = decision.appendHeaders?.length ? [...set, ...appendedOptions(decision.appendHeaders)] : set;
    mutated = true;
  }
  if (decision.removeHeaders.length) {
    mutation.remove_headers = decision.removeHeaders;
    mutated = true;
  }
  const reply: Extract<ProcessingResponse, { request_headers: unknown }> = { request_headers: mutated ? { response: { header_mutation: mutation } } : {} };
  // Bodies only when needed: the request body for keys and revocations, the response body
  // when it may be recorded (if it fits) or must be cleaned of the auto-auth token (always whole).
  if (bodies.requestBody || decision.sanitizeResponse || bodies.responseBody) {
    const mode: ProcessingMode = {};
    if (bodies.requestBody) mode.request_body_mode = bodies.requestBody === 'if-small' ? 'BUFFERED_PARTIAL' : 'BUFFERED';
    if (decision.sanitizeResponse) mode.response_body_mode = 'BUFFERED';
    else if (bodies.responseBody) mode.response_body_mode = 'BUFFERED_PARTIAL';
    reply.mode_override = mode;
  }
  return reply;
}

/** The reply to a request_body message: continue, or answer the request here (a hit, a local endpoint). */
export function requestBodyReply(decision: Extract<RequestDecision, { kind: 'respond' }> | undefined): ProcessingResponse {
  return decision ? immediate(decision) : { request_body: {} };
}

/** Continue with a new response body; content-length was removed with the response headers. */
export function responseBodyReply(body: Buffer | undefined): ProcessingResponse {
  return body ? { response_body: { response: { body_mutation: { body } } } } : { response_body: {} };
}

/**
 * Continue with the response headers: `X-Cache: MISS` on a proxied response when a cache is on,
 * and no content-length when the body may be rewritten (Envoy then frames it itself).
 */
export function responseHeadersReply(bodyMayChange: boolean, markMiss: boolean): ProcessingResponse {
  const mutation = {
    ...(markMiss ? { set_headers: headerOptions({ 'x-cache': 'MISS' }) } : {}),
    ...(bodyMayChange ? { remove_headers: ['content-length'] } : {}),
  };
  return Object.keys(mutation).length ? { response_headers: { response: { header_mutation: mutation } } } : { response_headers: {} };
}

/** The empty reply of the matching kind: "continue unchanged". */
export function continueReply(kind: NonNullable<import('./envoy-types.js').ProcessingRequest['request']>): ProcessingResponse {
  switch (kind) {
    case 'request_headers':
      return { request_headers: {} };
    case 'response_headers':
      return { response_headers: {} };
    case 'request_body':
      return { request_body: {} };
    case 'response_body':
      return { response_body: {} };
    case 'request_trailers':
      return { request_trailers: {} };
    case 'response_trailers':
      return { response_trailers: {} };
  }
}
