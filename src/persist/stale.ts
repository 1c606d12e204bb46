import type { RequestDecision } from '../extproc/decisions.js';

/**
 * The signal on a stale answer (serve_stale): HTTP's own stale warning, RFC 7234 § 5.5.1 —
 * `Warning: 110 - "Response is Stale"` ("a cache SHOULD generate this whenever the sent response
 * is stale"). RFC 9111 obsoleted the Warning header without a replacement for this meaning; clients
 * and proxies that log or surface Warning still understand 110, so it is the standard signal we use.
 * The answer also carries `X-Cache: HIT` like any hit.
 */
export const STALE_WARNING = '110 - "Response is Stale"';

export function staleHit(decision: RequestDecision): RequestDecision {
  if (decision.kind === 'respond') decision.headers['warning'] = STALE_WARNING;
  return decision;
}
