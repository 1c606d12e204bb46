import type { RequestDecision } from './decisions.js';
import type { HeaderValueOption, ProcessingResponse } from './envoy-types.js';

/** Header values go in raw_value only: Envoy ≥1.32 ignores `value`, and both set is rejected. */
function headerOptions(headers: Record<string, string>): HeaderValueOption[] {
  return Object.entries(headers).map(([key, value]) => ({ header: { key, raw_value: Buffer.from(value, 'latin1') } }));
}

/** Builds the reply to a request_headers message; `bufferResponse` asks for the response body. */
export function requestHeadersReply(decision: RequestDecision, bufferResponse = false): ProcessingResponse {
  if (decision.kind === 'respond') {
    return {
      immediate_response: {
        status: { code: decision.status },
        headers: { set_headers: headerOptions(decision.headers) },
        body: typeof decision.body === 'string' ? Buffer.from(decision.body) : decision.body,
        details: decision.details,
      },
    };
  }
  const mutation = {
    ...(Object.keys(decision.setHeaders).length ? { set_headers: headerOptions(decision.setHeaders) } : {}),
    ...(decision.removeHeaders.length ? { remove_headers: decision.removeHeaders } : {}),
  };
  return {
    request_headers: Object.keys(mutation).length ? { response: { header_mutation: mutation } } : {},
    // The response body only when it may be recorded or must be cleaned of the auto-auth token.
    ...(decision.sanitizeResponse || bufferResponse ? { mode_override: { response_body_mode: 'BUFFERED' as const } } : {}),
  };
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
