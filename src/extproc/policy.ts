import type { ListenerConfig, UseAutoAuthToken } from '../config/types.js';
import { HEADERS } from '../vault/paths.js';
import { vaultError, type RequestDecision } from './decisions.js';
import type { ClientRequest } from './request.js';
import { mayEchoToken } from './sanitize.js';

export interface RequestPolicyContext {
  listener: ListenerConfig;
  useAutoAuthToken: UseAutoAuthToken;
  /** The current auto-auth token, if the worker holds one. */
  autoAuthToken(): string | undefined;
}

/** Vault Proxy's answer when a listener requires X-Vault-Request and the request lacks it. */
export const MISSING_REQUEST_HEADER = "missing 'X-Vault-Request' header";

/**
 * The request-headers decision: listener rules, then the token to send (Vault Proxy's
 * api_proxy rules), then forward. Later issues add local endpoints and cache lookups here.
 */
export function decideRequest(req: ClientRequest, ctx: RequestPolicyContext): RequestDecision {
  // SSRF protection for the proxied API. Vault Proxy checks it on the proxy handler only; local
  // endpoints (cache-clear, quit, metrics), when they come, are answered before this check.
  if (ctx.listener.requireRequestHeader && req.vaultRequest !== 'true') {
    return vaultError(412, MISSING_REQUEST_HEADER, 'vault_extproc_missing_request_header');
  }
  return forwardWithToken(req, ctx);
}

/**
 * use_auto_auth_token: false → the request goes as it came; true → the auto-auth token is
 * added when the request bears no token; "force" → the auto-auth token replaces the client's.
 */
function forwardWithToken(req: ClientRequest, ctx: RequestPolicyContext): RequestDecision {
  const mode = ctx.useAutoAuthToken;
  const forward: RequestDecision = {
    kind: 'continue', setHeaders: {}, removeHeaders: [], injectedAutoAuth: false, sanitizeResponse: false, effectiveToken: req.clientToken,
  };
  if (mode === false || (mode === true && req.clientToken)) return forward;
  forward.effectiveToken = undefined;
  if (mode === 'force' && req.tokenSource === 'bearer') forward.removeHeaders.push(HEADERS.authorization);
  const token = ctx.autoAuthToken();
  if (token === undefined) {
    // No auto-auth token yet: never let a forced request fall back to the client's token.
    if (mode === 'force' && req.tokenSource === 'x-vault-token') forward.removeHeaders.push(HEADERS.vaultToken);
    return forward;
  }
  forward.setHeaders[HEADERS.vaultToken] = token;
  forward.effectiveToken = token;
  forward.injectedAutoAuth = true;
  forward.sanitizeResponse = mayEchoToken(req.path);
  return forward;
}
