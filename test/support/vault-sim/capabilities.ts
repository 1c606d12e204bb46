// sys/capabilities-self and sys/capabilities (logical_system.go handleCapabilities, capabilities.go):
// what a token may do on each path, from its policies as they are now.
import { stringListField } from './fields.js';
import { REVOCATION_PENDING, type TokenEntry } from './tokens.js';
import { fail, failWrapped, respond, type Call, type Outcome, type Route } from './types.js';

/** Core.Capabilities: `["deny"]` without policies, `["root"]` for root, else the ACL's sorted list. */
function capabilitiesOf(call: Call, token: TokenEntry, path: string): string[] {
  if (token.policies.length === 0) return ['deny'];
  return call.state.policies.acl(token.policies).capabilityNames(path);
}

function answer(call: Call, token: TokenEntry): Outcome {
  let paths = stringListField(call.req.data, 'paths');
  if (paths.length === 0) paths = stringListField(call.req.data, 'path'); // the deprecated field
  if (paths.length === 0) return fail(400, 'paths must be supplied');
  const data: Record<string, unknown> = {};
  for (const path of paths) data[path] = capabilitiesOf(call, token, path);
  // "This is only here for backwards compatibility."
  if (paths.length === 1) data['capabilities'] = data[paths[0] as string];
  return respond({ data });
}

/** The caller's own token; it already passed the ACL check (`update` on sys/capabilities-self). */
function capabilitiesSelf(call: Call): Outcome {
  if (!call.token) return failWrapped(500, 'no token found');
  // The handler looks the token up again; during its last use a limited-use token is no longer found.
  if (call.token.numUses === REVOCATION_PENDING) return failWrapped(400, 'invalid token');
  return answer(call, call.token);
}

/** Another token's capabilities, named in the `token` field. */
function capabilitiesOfToken(call: Call): Outcome {
  const raw = call.req.data['token'];
  const id = typeof raw === 'string' ? raw : '';
  if (id === '') return failWrapped(500, 'no token found');
  const token = call.state.tokens.lookup(id);
  if (!token) {
    const hasPaths = stringListField(call.req.data, 'paths').length + stringListField(call.req.data, 'path').length > 0;
    return hasPaths ? failWrapped(400, 'invalid token') : fail(400, 'paths must be supplied');
  }
  return answer(call, token);
}

export const capabilityRoutes: Route[] = [
  { pattern: 'capabilities-self', ops: { update: capabilitiesSelf } },
  { pattern: 'capabilities', ops: { update: capabilitiesOfToken } },
];
