// `?help=<anything non-empty>` and the HELP method (http/help.go wrapHelpHandler): Vault answers
// with the path's help before the ServeMux sees the request, so help paths are never redirected.
// The help operation is allowed by every ACL: any live token gets 200 (and spends a use of a
// limited-use token); a missing or bad token gets 403, except on unauthenticated (login) paths.
// The body is respondOk(resp.Data): `{"help", "openapi", "see_also"}`, never the secret. The
// simulator's help prose and OpenAPI document are its own, not Vault's.
import { errorReply, jsonReply, type Reply } from './envelope.js';
import type { HttpInput } from './pipeline.js';
import { matchRoute } from './router.js';
import type { SimState } from './state.js';

/** sys paths the simulator serves outside its route tables that Vault lists as unauthenticated. */
const UNAUTHENTICATED_SYS = ['sys/health', 'sys/seal-status', 'sys/leader', 'sys/init'];

function openapiOf(relative: string): Record<string, unknown> {
  return {
    openapi: '3.0.2',
    info: {
      title: 'HashiCorp Vault API',
      description: 'HTTP API that gives you full access to Vault. All API routes are prefixed with `/v1/`.',
      version: '1.15.6',
      license: { name: 'Mozilla Public License 2.0', url: 'https://www.mozilla.org/en-US/MPL/2.0' },
    },
    paths: relative === '' ? {} : { [`/${relative}`]: { description: 'vault-sim: no documentation' } },
    components: { schemas: {}, responses: {} },
  };
}

/** handleHelp: `namespacePath` is the request's namespace ('' on Vault CE). */
export function helpReply(state: SimState, input: HttpInput, namespacePath: string): Reply {
  // Not cleaned: `/v1//secret/x?help=1` asks for the path `/secret/x`, which has no mount.
  const path = namespacePath + input.path.slice('/v1/'.length);
  const mount = state.mounts.match(path);
  const relative = mount ? path.slice(Math.min(mount.routePrefix.length, path.length)) : '';
  const match = mount ? matchRoute(mount.backend, relative) : undefined;
  const loginPath = match?.route.unauthenticated === true || UNAUTHENTICATED_SYS.includes(path);
  let revokeAfter: string | undefined;
  if (!loginPath) {
    const token = state.tokens.lookup(input.token);
    if (!token) return errorReply(403, 'permission denied');
    if (state.tokens.use(token)) revokeAfter = token.id;
  }
  try {
    if (!mount) return errorReply(404, `no handler for route "${path}". route entry not found.`);
    const route = match ? `^${match.route.pattern}$` : '^.*$';
    const help = `Request:        ${relative}\nMatching Route: ${route}\n\nvault-sim: help for ${mount.type} path "${relative}".`;
    return jsonReply(200, { help, openapi: openapiOf(relative), see_also: null });
  } finally {
    if (revokeAfter !== undefined) state.tokens.revokeTree(revokeAfter);
  }
}
