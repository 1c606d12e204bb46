// OpenBao's token-less inline authentication (profile `openbao`): a request carrying
// `X-Vault-Inline-Auth-Path` is authenticated by a login run just before it, whose token is never
// stored nor returned. Read in OpenBao v2.6.2 (openbao/openbao@dd9c19c37a): the handling in
// vault/request_handling.go:666-830 (handleInlineAuth), the header names in api/client.go:103-131,
// the lease refusal in vault/request_handling.go:1405-1419, and the docs at
// https://openbao.org/docs/auth/#inline-authentication (website/content/docs/auth/index.mdx:73-111).
// Not simulated: login MFA during inline auth, `X-Vault-Inline-Auth-Namespace` naming a
// namespace that does not exist (the simulator's namespaces are path prefixes).
import { errorReply, rawReply, type Reply } from './envelope.js';
import { namespacedPath } from './consistency.js';
import { matchRoute } from './router.js';
import type { SimState } from './state.js';
import { multiError, type Call, type Operation, type Outcome, type SimRequest } from './types.js';
import type { HttpInput } from './pipeline.js';

const PATH_HEADER = 'x-vault-inline-auth-path';
const OPERATION_HEADER = 'x-vault-inline-auth-operation';
const NAMESPACE_HEADER = 'x-vault-inline-auth-namespace';
const PARAMETER_PREFIX = 'x-vault-inline-auth-parameter-';
/** Set on a failed login's own answer (api/client.go:116-120 InlineAuthErrorResponseHeader). */
export const INLINE_AUTH_FAILED_HEADER = 'x-vault-inline-auth-failed';

/** The operations a login may use (sdk/logical/request.go:423-430 LoginOperations). */
const LOGIN_OPERATIONS: readonly string[] = ['create', 'update', 'read'];

/** An authenticated request: its ephemeral token, and what to do with the main request's outcome. */
export interface InlineSession {
  readonly token: string;
  /** A lease made under inline auth is revoked and the request fails (request_handling.go:1405-1419). */
  check(outcome: Outcome): Outcome;
  /** The token is not persisted in OpenBao: gone once the request is answered. */
  end(): void;
}

export type InlineAuthResult = { readonly reply: Reply } | { readonly session: InlineSession };

/**
 * Errors returned by handleInlineAuth are wrapped by HandleRequest ("failed to perform inline
 * authentication: %w", request_handling.go:670-673); with no response RespondErrorCommon answers
 * 500 unless the error carries a code (sdk/logical/response_util.go:103-190).
 */
function failed(status: number, message: string): InlineAuthResult {
  return { reply: errorReply(status, `failed to perform inline authentication: ${message}`) };
}

/** base64.RawURLEncoding: the URL alphabet, no padding. */
function decodeRawUrlBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

/** The login's request data from the parameter headers (request_handling.go:752-793). */
function loginParams(input: HttpInput): Record<string, unknown> | string {
  const params: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(input.headerValues)) {
    if (!name.startsWith(PARAMETER_PREFIX)) continue;
    if (values.length !== 1) return 'expected exactly one value for each auth header parameter';
    const decoded = decodeRawUrlBase64(values[0]!);
    if (!decoded) return 'failed raw url-safe base64 decoding header value';
    let info: unknown;
    try {
      info = JSON.parse(decoded.toString('utf8'));
    } catch {
      return 'failed json decoding header value';
    }
    if (info === null || typeof info !== 'object' || Array.isArray(info)) return 'failed json decoding header value';
    const fields = info as Record<string, unknown>;
    if (!('key' in fields)) return 'decoded header lacked `key` field';
    if (typeof fields['key'] !== 'string') return 'decoded header had incorrect type for `key` field';
    if (!('value' in fields)) return 'decoded header lacked `value` field';
    if (Object.keys(fields).length !== 2) return 'unexpected field in decoded request parameter';
    params[fields['key']] = fields['value'];
  }
  return params;
}

/**
 * Runs the inline login of a request, if it asks for one: undefined when there is no
 * X-Vault-Inline-Auth-Path header; otherwise the reply to send instead (the login failed), or the
 * session whose token the request goes on with.
 */
export function inlineAuth(state: SimState, input: HttpInput, req: SimRequest, namespacePath: string): InlineAuthResult | Promise<InlineAuthResult> | undefined {
  const pathValues = input.headerValues[PATH_HEADER];
  if (pathValues === undefined) return undefined;
  if (pathValues.length !== 1) return failed(500, 'expected exactly one value for X-Vault-Inline-Auth-Path');
  if (req.token !== undefined && req.token !== '') return failed(500, 'cannot layer inline authentication with token authentication');
  const opValues = input.headerValues[OPERATION_HEADER] ?? ['update'];
  if (opValues.length !== 1) return failed(500, 'expected exactly one value for X-Vault-Inline-Auth-Operation');
  const operation = opValues[0]!;
  if (!LOGIN_OPERATIONS.includes(operation)) return failed(500, 'expected a valid login operation in X-Vault-Inline-Auth-Operation');
  // The login's namespace: its own header, else X-Vault-Namespace (request_handling.go:732-749).
  const nsValues = input.headerValues[NAMESPACE_HEADER];
  if (nsValues !== undefined && nsValues.length > 1) return failed(500, 'expected at most one value for X-Vault-Inline-Auth-Namespace');
  let ns = namespacePath;
  if (nsValues !== undefined) {
    const header = (nsValues[0] ?? '').replace(/^\/+/, '');
    ns = header === '' || header === 'root' ? '' : header.endsWith('/') ? header : `${header}/`;
  }
  const params = loginParams(input);
  if (typeof params === 'string') return failed(500, params);

  const path = namespacedPath(ns, pathValues[0]!.replace(/^\/+/, ''));
  const loginReq: SimRequest = { ...req, path, operation: operation as Operation, data: params, token: undefined, wrapTtlSeconds: 0 };
  const mount = state.mounts.match(path);
  if (!mount) return failed(404, `no handler for route "${path}". route entry not found.`);
  const match = matchRoute(mount.backend, path.slice(Math.min(mount.routePrefix.length, path.length)));
  if (!match) return failed(404, multiError(['unsupported path']));
  // Not a login path: the login request itself has no token.
  if (!match.route.unauthenticated) return failed(403, multiError(['permission denied']));
  const handler = match.route.ops[loginReq.operation] ?? (loginReq.operation === 'create' ? match.route.ops.update : undefined);
  if (!handler) return failed(405, multiError(['unsupported operation']));
  const call: Call = { state, req: loginReq, mount, params: match.params, token: undefined };
  const settle = (outcome: Outcome): InlineAuthResult => sessionFrom(state, outcome);
  const outcome = handler(call);
  return outcome instanceof Promise ? outcome.then(settle) : settle(outcome);
}

/** The login's answer: a token to go on with, or the answer itself marked as the login's (request_handling.go:796-820). */
function sessionFrom(state: SimState, outcome: Outcome): InlineAuthResult {
  const markFailed = (reply: Reply): InlineAuthResult => ({ reply: { ...reply, headers: { ...reply.headers, [INLINE_AUTH_FAILED_HEADER]: 'true' } } });
  if (outcome.kind === 'error') return markFailed(errorReply(outcome.status, outcome.message));
  if (outcome.kind === 'raw') return markFailed(rawReply(outcome.status, outcome.body, outcome.contentType));
  const auth = outcome.response?.auth;
  if (!auth || auth.clientToken === '' || auth.mfaRequirement) {
    if (outcome.response === null) return failed(404, 'specified authentication path was not found');
    return markFailed(errorReply(400, 'vault-sim: an inline login that answers without a token is not simulated'));
  }
  const token = auth.clientToken;
  return {
    session: {
      token,
      check: (result) => {
        const lease = result.kind === 'response' ? result.response?.secret : undefined;
        if (!lease || lease.leaseId === '') return result;
        state.leases.revoke(lease.leaseId);
        // errutil.UserError with no response: none of RespondErrorCommon's cases, so 500.
        return { kind: 'error', status: 500, message: 'requests with inline authentication cannot generate leases' };
      },
      end: () => {
        const entry = state.tokens.lookupTainted(token);
        if (entry) state.tokens.revokeTree(entry.id);
      },
    },
  };
}
