import type { ListenerConfig, UseAutoAuthToken } from '../config/types.js';
import { HEADERS } from '../vault/paths.js';
import { INLINE_AUTH_PATH, type VaultRequest } from '../vault/request.js';
import { vaultError, type RequestDecision } from './decisions.js';
import { mayEchoToken } from './sanitize.js';

export interface RequestPolicyContext {
  listener: ListenerConfig;
  useAutoAuthToken: UseAutoAuthToken;
  /** The current auto-auth token, if the worker holds one. */
  autoAuthToken(): string | undefined;
}

/** Vault Proxy's answer when a listener requires X-Vault-Request and the request lacks it (Go's %q). */
export const MISSING_REQUEST_HEADER = 'missing "X-Vault-Request" header';

/** Our answer to a request that would have Vault wrap an answer carrying the auto-auth token. */
export const WRAPPED_AUTO_AUTH_TOKEN = 'vault-extproc: response wrapping of a token lookup or renewal made with the auto-auth token is not allowed';

/** SSRF protection (Vault Proxy's require_request_header), for the proxied API and our local endpoints alike. */
export function missingRequestHeader(req: VaultRequest, listener: ListenerConfig): RequestDecision | undefined {
  if (listener.requireRequestHeader && req.vaultRequest !== 'true') {
    return vaultError(412, MISSING_REQUEST_HEADER, 'vault_extproc_missing_request_header');
  }
  return undefined;
}

/**
 * The request-headers decision: listener rules, then the token to send (Vault Proxy's
 * api_proxy rules), then forward.
 */
export function decideRequest(req: VaultRequest, ctx: RequestPolicyContext): RequestDecision {
  return missingRequestHeader(req, ctx.listener) ?? forwardWithToken(req, ctx);
}

/**
 * use_auto_auth_token: false → the request goes as it came; true → the auto-auth token is
 * added when the request bears no credentials Vault would read (a token, or OpenBao's inline
 * authentication, which refuses a token beside it); "force" → the auto-auth token replaces the
 * client's credentials, inline-auth headers included.
 */
function forwardWithToken(req: VaultRequest, ctx: RequestPolicyContext): RequestDecision {
  const mode = ctx.useAutoAuthToken;
  const forward: RequestDecision = {
    kind: 'continue', setHeaders: {}, removeHeaders: [], injectedAutoAuth: false, sanitizeResponse: false, effectiveToken: req.token,
  };
  if (mode === false || (mode === true && (req.token || req.inlineAuthHeaders.includes(INLINE_AUTH_PATH)))) return forward;
  forward.effectiveToken = undefined;
  if (mode === 'force' && req.tokenSource === 'bearer') forward.removeHeaders.push(HEADERS.authorization);
  if (mode === 'force') forward.removeHeaders.push(...req.inlineAuthHeaders);
  const token = ctx.autoAuthToken();
  if (token === undefined) {
    // No auto-auth token yet: never let a forced request fall back to the client's token.
    if (mode === 'force' && req.tokenSource === 'x-vault-token') forward.removeHeaders.push(HEADERS.vaultToken);
    return forward;
  }
  const echoes = mayEchoToken(req.rel);
  // A wrapped lookup-self or renew-self would hand the auto-auth token out inside the wrapping token.
  if (echoes && (req.answerHeaders.includes(HEADERS.wrapTtl) || req.answerHeaders.includes(HEADERS.wrapFormat))) {
    return vaultError(400, WRAPPED_AUTO_AUTH_TOKEN, 'vault_extproc_wrapped_auto_auth_token');
  }
  forward.setHeaders[HEADERS.vaultToken] = token;
  forward.effectiveToken = token;
  forward.injectedAutoAuth = true;
  forward.sanitizeResponse = echoes;
  return forward;
}
