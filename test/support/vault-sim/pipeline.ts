// One request through the simulator, in Vault's order: forwarding headers, request building,
// mount/route lookup, wrapping-token check, token + ACL check, handler, status mapping, wrapping.
import {
  BASE_HEADERS, envelopeOf, errorReply, goJson, injectData, jsonReply, noContentReply, outsideApiReply, rawReply, type Reply,
} from './envelope.js';
import { checkSubscribe, isSubscribeRequest } from './events-ws.js';
import { FieldError, RequestError } from './fields.js';
import { canonicalRedirect, hasNonPrintable } from './go-url.js';
import { helpReply } from './help.js';
import { applyLoginMfa, parseMfaHeader } from './identity.js';
import { newUuid } from './ids.js';
import { matchRoute, type RouteMatch } from './router.js';
import type { MountEntry } from './mount-table.js';
import type { SimState } from './state.js';
import { healthReply, sealStatusReply } from './sys.js';
import { parseDurationSeconds } from './time.js';
import type { TokenEntry } from './tokens.js';
import { multiError, type Call, type Operation, type Outcome, type SimRequest } from './types.js';
import { checkWrappingToken, WRAPPING_PATHS } from './wrapping.js';
import { namespacedPath } from './consistency.js';
import { attachNumberTexts } from './kv-json.js';
import { inlineAuth, type InlineAuthResult } from './inline-auth.js';

export interface HttpInput {
  readonly method: string;
  /** URL path as received (still encoded), without the query. */
  readonly rawPath: string;
  /** r.URL.Path: the percent-decoded path Vault routes on. */
  readonly path: string;
  /** Everything after the first `?`. */
  readonly rawQuery: string;
  /** The first value of each query parameter (Go's Values.Get). */
  readonly query: Readonly<Record<string, string>>;
  /** Every value of each query parameter, in order. */
  readonly queryValues: Readonly<Record<string, readonly string[]>>;
  /** Lower-case names; repeated headers joined with ', ' (node's way). */
  readonly headers: Readonly<Record<string, string>>;
  /** Every value of each header, in order, under the lower-case name. */
  readonly headerValues: Readonly<Record<string, readonly string[]>>;
  readonly body: string;
  /** getTokenFromReq's token. */
  readonly token: string | undefined;
  /** Over the TLS listener: the client's certificates, leaf first (empty: none presented). */
  readonly tlsPeerCertificates?: readonly Buffer[];
}

/** Routes that copy `data` to the top level (http/handler.go injectDataIntoTopRoutes). */
const INJECTED_EXACT = ['sys/audit', 'sys/auth', 'sys/config/cors', 'sys/config/auditing/request-headers',
  'sys/capabilities', 'sys/capabilities-accessor', 'sys/capabilities-self', 'sys/ha-status', 'sys/key-status',
  'sys/mounts', 'sys/policy', 'sys/rekey/backup', 'sys/rekey/recovery-key-backup', 'sys/remount', 'sys/rotate',
  'sys/wrapping/wrap'];
const INJECTED_TREES = ['sys/audit/', 'sys/audit-hash/', 'sys/auth/', 'sys/config/auditing/request-headers/',
  'sys/mounts/', 'sys/policy/'];

function isInjected(path: string): boolean {
  return INJECTED_EXACT.includes(path) || INJECTED_TREES.some((t) => path.startsWith(t));
}

const TRUE_VALUES = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_VALUES = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

type Parsed<T> = { readonly ok: T } | { readonly reply: Reply };

function parseBody(input: HttpInput): Parsed<Record<string, unknown>> {
  const contentType = (input.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = input.body.trimStart();
  if (contentType === 'application/x-www-form-urlencoded' && !text.startsWith('{') && !text.startsWith('[')) {
    const form = new URLSearchParams(input.body);
    return { ok: Object.fromEntries([...new Set(form.keys())].map((k) => [k, form.getAll(k).join(',')])) };
  }
  if (text === '') return { ok: {} };
  try {
    const parsed: unknown = JSON.parse(input.body);
    if (parsed === null) return { ok: {} };
    if (typeof parsed !== 'object' || Array.isArray(parsed)) return { reply: errorReply(400, 'error parsing JSON') };
    attachNumberTexts(parsed, input.body); // Vault's UseNumber: the KV backends keep number texts
    return { ok: parsed as Record<string, unknown> };
  } catch {
    return { reply: errorReply(400, 'error parsing JSON') };
  }
}

/** http/handler.go parseQuery: `help` skipped, one value as a string, several as a list. */
function parseQuery(values: Readonly<Record<string, readonly string[]>>, drop: readonly string[] = []): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (k === 'help' || drop.includes(k) || v.length === 0) continue;
    data[k] = v.length === 1 ? v[0] : [...v];
  }
  return data;
}

/** A query flag as strconv.ParseBool reads it: undefined when absent or empty, null when not a bool. */
function boolQuery(value: string | undefined): boolean | null | undefined {
  if (value === undefined || value === '') return undefined;
  if (TRUE_VALUES.includes(value)) return true;
  return FALSE_VALUES.includes(value) ? false : null;
}

/**
 * buildLogicalRequest: method → operation, body/query → data, X-Vault-Wrap-TTL. `scan`: the
 * profile has OpenBao's scan operation (SCAN, GET `?scan=true`; profile.ts).
 */
function buildRequest(input: HttpInput, namespacePath: string, scan: boolean): Parsed<SimRequest> {
  const fail = (reply: Reply): Parsed<SimRequest> => ({ reply });
  let path = namespacedPath(namespacePath, input.path.slice('/v1/'.length));
  const query = parseQuery(input.queryValues);
  let operation: Operation;
  let data: Record<string, unknown> = query;
  switch (input.method) {
    case 'GET': {
      operation = 'read';
      const list = boolQuery(input.query['list']);
      if (list === null) return fail(errorReply(400, null));
      const scanned = scan ? boolQuery(input.query['scan']) : undefined;
      if (scanned === null || (list === true && scanned === true)) return fail(errorReply(400, null));
      if (list === true || scanned === true) {
        operation = list === true ? 'list' : 'scan';
        data = parseQuery(input.queryValues, [operation]);
        if (!path.endsWith('/')) path += '/';
      }
      break;
    }
    case 'LIST':
      operation = 'list';
      if (!path.endsWith('/')) path += '/';
      break;
    case 'SCAN':
      if (!scan) return fail(errorReply(405, null));
      operation = 'scan';
      if (!path.endsWith('/')) path += '/';
      break;
    case 'DELETE':
      operation = 'delete';
      break;
    case 'HEAD':
      operation = 'header';
      break;
    case 'POST':
    case 'PUT':
    case 'PATCH': {
      operation = input.method === 'PATCH' ? 'patch' : 'update';
      if (operation === 'patch') {
        const contentType = (input.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (contentType === '') return fail(errorReply(400, 'mime: no media type'));
        if (contentType !== 'application/merge-patch+json') {
          return fail(errorReply(415, `PATCH requires Content-Type of application/merge-patch+json, provided ${contentType}`));
        }
      }
      const body = parseBody(input);
      if ('reply' in body) return body;
      data = body.ok;
      break;
    }
    default:
      return fail(errorReply(405, null));
  }
  let wrapTtlSeconds = 0;
  const wrapHeader = input.headers['x-vault-wrap-ttl'];
  if (wrapHeader !== undefined && wrapHeader !== '') {
    try {
      wrapTtlSeconds = Math.floor(parseDurationSeconds(wrapHeader));
    } catch (err) {
      return fail(errorReply(400, `error parsing X-Vault-Wrap-TTL header: ${(err as Error).message}`));
    }
    if (wrapTtlSeconds < 0) {
      return fail(errorReply(400, 'error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative'));
    }
  }
  const mfa = parseMfaHeader(input.headerValues['x-vault-mfa'] ?? []);
  if ('error' in mfa) return fail(errorReply(400, `failed to parse X-Vault-MFA header: ${mfa.error}`));
  return {
    ok: {
      id: newUuid(), method: input.method, path, operation, data, headers: input.headers, token: input.token, wrapTtlSeconds,
      ...(input.tlsPeerCertificates ? { tlsPeerCertificates: input.tlsPeerCertificates } : {}),
      mfaCreds: mfa.creds,
    },
  };
}

function toReply(outcome: Outcome, state: SimState, req: SimRequest, mount: MountEntry): Reply {
  switch (outcome.kind) {
    case 'error':
      return errorReply(outcome.status, outcome.message);
    case 'raw':
      return rawReply(outcome.status, outcome.body, outcome.contentType);
    case 'response': {
      const resp = outcome.response;
      const op = req.operation;
      if (resp === null) return op === 'read' || op === 'header' || op === 'list' ? errorReply(404, null) : noContentReply();
      if (op === 'list' && !(resp.warnings && resp.warnings.length > 0)) {
        const keys = resp.data?.['keys'];
        if (!resp.data || Object.keys(resp.data).length === 0) return errorReply(404, null);
        if (Array.isArray(keys) && keys.length === 0) return errorReply(404, null);
      }
      const withMountType = state.profile.envelopeMountType;
      const envelope = envelopeOf(req.id, resp, withMountType ? mount.type : undefined);
      if (req.wrapTtlSeconds > 0) {
        const secretIdAccessor = resp.data?.['secret_id_accessor'];
        const wrappedAccessor = resp.auth?.accessor
          ?? (mount.type === 'approle' && typeof secretIdAccessor === 'string' ? secretIdAccessor : '');
        const wrapInfo = state.wraps.wrap(req.path, req.wrapTtlSeconds, goJson(envelope), wrappedAccessor);
        return jsonReply(200, envelopeOf('', null, withMountType ? '' : undefined, wrapInfo));
      }
      return jsonReply(200, isInjected(req.path) ? injectData(envelope) : envelope);
    }
  }
}

/**
 * Vault 1.15 (checked against a real 1.15.6): a bad, missing or expired token gets the plain
 * `permission denied`; an ACL denial of a live token the multierror form. Newer Vault (modern
 * style) names both problems for a bad token.
 */
function denied(state: SimState, why: 'acl' | 'no-token' | 'bad-token'): Reply {
  if (why === 'acl') return errorReply(403, multiError(['permission denied']));
  if (why === 'bad-token' && state.errorStyle === 'modern') return errorReply(403, multiError(['permission denied', 'invalid token']));
  return errorReply(403, 'permission denied');
}

interface Authorized {
  readonly token: TokenEntry | undefined;
  readonly revokeAfter: boolean;
}

/** CheckToken: the token must be live and its policies must allow the operation on the path. */
function authorize(state: SimState, req: SimRequest, match: RouteMatch | undefined): Parsed<Authorized> {
  if (WRAPPING_PATHS.includes(req.path)) {
    const problem = checkWrappingToken({ state, req });
    if (problem) return { reply: toReply(problem, state, req, state.mounts.match('sys/') as MountEntry) };
  }
  if (match?.route.unauthenticated) return { ok: { token: state.tokens.lookup(req.token), revokeAfter: false } };
  const token = state.tokens.lookup(req.token);
  if (!token) return { reply: denied(state, req.token !== undefined && req.token !== '' ? 'bad-token' : 'no-token') };
  // handleRequest spends a use of a live token before it looks at the ACL's verdict, so a
  // refused request uses one too; the last use revokes the token after the request.
  const revokeAfter = state.tokens.use(token);
  const refuse = (): Parsed<Authorized> => {
    if (revokeAfter) state.tokens.revokeTree(token.id);
    return { reply: denied(state, 'acl') };
  };
  const acl = state.policies.acl(token.policies);
  if (!acl.allows(req.path, req.operation, req.data)) return refuse();
  if (match?.route.sudo && !acl.hasSudo(req.path, req.operation)) return refuse();
  return { ok: { token, revokeAfter } };
}

function handleLogical(state: SimState, input: HttpInput): Reply | Promise<Reply> {
  const forward = input.headers['x-vault-forward'];
  // The consistency profile allows forwarding by header (allow_forwarding_via_header); Vault CE does not.
  if (forward && !state.consistency) return errorReply(400, 'forwarding via header X-Vault-Forward disabled in configuration');
  if (input.headers['x-vault-inconsistent'] === 'forward-active-node' && !state.consistency) {
    return errorReply(400, 'forwarding via header X-Vault-Inconsistent=forward-active-node disabled in configuration');
  }
  const namespacePath = namespacePathOf(state, input);
  const built = buildRequest(input, namespacePath, state.profile.scan);
  if ('reply' in built) return built.reply;
  // OpenBao: the namespace named must exist (HandleRequest, before the token is looked at).
  const noNamespace = state.profile.namespaceCheck(state, namespacePath, input.path.slice('/v1/'.length));
  if (noNamespace) return noNamespace;
  // OpenBao's inline authentication runs before handleCancelableRequest (inline-auth.ts).
  const inline = state.profile.inlineAuth ? inlineAuth(state, input, built.ok, namespacePath) : undefined;
  if (inline === undefined) return routeLogical(state, built.ok);
  const withSession = (result: InlineAuthResult): Reply | Promise<Reply> => {
    if ('reply' in result) return result.reply;
    const { session } = result;
    let reply: Reply | Promise<Reply>;
    try {
      reply = routeLogical(state, { ...built.ok, token: session.token }, session.check);
    } catch (err) {
      session.end();
      throw err;
    }
    if (reply instanceof Promise) return reply.finally(() => session.end());
    session.end();
    return reply;
  };
  return inline instanceof Promise ? inline.then(withSession) : withSession(inline);
}

/**
 * handleCancelableRequest onwards: mount and route, existence check, token and ACL, handler.
 * `check` sees the handler's outcome first (inline auth refuses leases).
 */
function routeLogical(state: SimState, req: SimRequest, check?: (outcome: Outcome) => Outcome): Reply | Promise<Reply> {
  // Core refuses writes to a "directory" before anything else (handleCancelableRequest).
  if (req.path.endsWith('/') && (req.operation === 'update' || req.operation === 'patch')) {
    return errorReply(400, "cannot write to a path ending in '/'");
  }
  const mount = state.mounts.match(req.path);
  const relative = mount ? req.path.slice(Math.min(mount.routePrefix.length, req.path.length)) : '';
  const match = mount ? matchRoute(mount.backend, relative) : undefined;
  const callFor = (token: TokenEntry | undefined): Call =>
    ({ state, req, mount: mount as MountEntry, params: match?.params ?? {}, token });
  const existenceChecked = match !== undefined && req.operation === 'update' && match.route.exists !== undefined;
  if (existenceChecked && !match.route.exists!(callFor(undefined))) req.operation = 'create';
  const authorized = authorize(state, req, match);
  if ('reply' in authorized) return authorized.reply;
  const auth = authorized.ok;
  const thrown = (err: unknown): Reply => {
    if (err instanceof FieldError) return errorReply(400, existenceChecked ? err.message : `Field validation failed: ${err.message}`);
    if (err instanceof RequestError) return errorReply(400, err.message);
    return errorReply(500, multiError([(err as Error).message]));
  };
  const revokeIfLastUse = (): void => {
    if (auth.revokeAfter && auth.token) state.tokens.revokeTree(auth.token.id);
  };
  let settlesLater = false;
  try {
    if (!mount) return errorReply(404, `no handler for route "${req.path}". route entry not found.`);
    if (!match) return errorReply(404, multiError(['unsupported path']));
    const handler = match.route.ops[req.operation] ?? (req.operation === 'create' ? match.route.ops.update : undefined);
    if (!handler) return errorReply(405, multiError(['unsupported operation']));
    const call = callFor(auth.token);
    const finish = (outcome: Outcome): Reply => {
      const answered = match.route.login ? applyLoginMfa(call, outcome) : outcome;
      return toReply(check ? check(answered) : answered, state, req, mount);
    };
    const outcome = handler(call);
    if (!(outcome instanceof Promise)) return finish(outcome);
    settlesLater = true;
    return outcome.then(finish, thrown).finally(revokeIfLastUse);
  } catch (err) {
    return thrown(err);
  } finally {
    if (!settlesLater) revokeIfLastUse();
  }
}

/**
 * The namespace a request runs in, as a path prefix ('' for the root namespace). Vault CE has
 * no namespaces and ignores `X-Vault-Namespace`; the namespaces profile models a namespace as
 * the mounts under its path (namespace.Canonicalize: no leading `/`, a trailing one).
 */
export function namespacePathOf(state: SimState, input: HttpInput): string {
  if (!state.namespaces) return '';
  const header = input.headerValues['x-vault-namespace']?.[0] ?? '';
  if (header === '' || header === 'root') return '';
  const trimmed = header.replace(/^\/+/, '');
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

/** genericWrapping echoes `X-Vault-Namespace` on every /v1/ reply (Vault CE too). */
function withNamespaceEcho(input: HttpInput, reply: Reply): Reply {
  const ns = input.headerValues['x-vault-namespace']?.[0] ?? '';
  return ns === '' ? reply : { ...reply, headers: { ...reply.headers, 'x-vault-namespace': ns } };
}

/**
 * Entry point for every HTTP request, in the order of Vault's handler chain (http/handler.go).
 * A promise only when the handler calls out (the kubernetes login's TokenReview).
 */
export function handleHttp(state: SimState, input: HttpInput): Reply | Promise<Reply> {
  // cleanhttp.PrintablePathCheckHandler, outside everything else: a bare 400.
  if (hasNonPrintable(input.path)) return { status: 400, headers: {}, body: '' };
  // genericWrapping: only /v1/… reaches the API (on the decoded path).
  if (!input.path.startsWith('/v1/')) return outsideApiReply(input.path);
  // The consistency profile: 412 for a state this node has not reached; X-Vault-Index on writes.
  const reply = state.consistency?.gate(input) ?? handleApi(state, input);
  const done = (r: Reply): Reply => withNamespaceEcho(input, state.consistency ? state.consistency.answer(input, r) : r);
  return reply instanceof Promise ? reply.then(done) : done(reply);
}

/** A /v1/ request after genericWrapping: help, the ServeMux (redirects, fixed routes), the logical layer. */
function handleApi(state: SimState, input: HttpInput): Reply | Promise<Reply> {
  // What the profile answers in genericWrapping itself (OpenBao: root-only sys/ paths in a namespace).
  const early = state.profile.beforeApi(state, input);
  if (early) return early;
  // wrapHelpHandler runs before the ServeMux: help never redirects.
  if ((input.query['help'] ?? '') !== '' || input.method === 'HELP') return helpReply(state, input, namespacePathOf(state, input));
  const redirect = canonicalRedirect(input, input.method);
  if (redirect) {
    const headers: Record<string, string> = { ...BASE_HEADERS, location: redirect.location };
    if (redirect.contentType) headers['content-type'] = redirect.contentType;
    return { status: 301, headers, body: redirect.body };
  }
  if (input.path === '/v1/sys/health') return healthReply(state, input.method);
  if (input.path === '/v1/sys/seal-status') return sealStatusReply(state, input.method);
  if (isSubscribeRequest(state, input.path)) {
    // Without the upgrade headers the handshake always fails; server.ts accepts real upgrades.
    const check = checkSubscribe(state, input);
    return 'reply' in check ? check.reply : errorReply(500, multiError(['vault-sim: upgrade outside the upgrade handler']));
  }
  return handleLogical(state, input);
}
