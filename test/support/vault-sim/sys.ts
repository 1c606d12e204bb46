// The system backend: sys/health, sys/auth, sys/policy and sys/policies/acl, plus the
// sys/mounts, sys/wrapping, sys/capabilities* and sys/leases routes from their own modules.
import { capabilityRoutes } from './capabilities.js';
import { jsonReply, type Reply } from './envelope.js';
import { stringField } from './fields.js';
import { mfaValidateRoute } from './identity.js';
import { leaseRoutes } from './lease-routes.js';
import { enableMount, listMounts, mountRoutes, readMount } from './mounts.js';
import type { SimProfile } from './profile.js';
import { PolicyParseError, ROOT_POLICY, RESPONSE_WRAPPING_POLICY, DEFAULT_POLICY } from './policy.js';
import { backendOf } from './router.js';
import type { SimState } from './state.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome, type Route } from './types.js';
import { wrappingRoutes } from './wrapping.js';

/** GET/HEAD /v1/sys/health: a healthy, unsealed, active node, in the profile's shape. */
export function healthReply(state: SimState, method: string): Reply {
  if (method !== 'GET' && method !== 'HEAD') return jsonReply(405, { errors: [] });
  return jsonReply(200, state.profile.health(state));
}

/** GET /v1/sys/seal-status, in the profile's shape. */
export function sealStatusReply(state: SimState, method: string): Reply {
  if (method !== 'GET') return jsonReply(405, { errors: [] });
  return jsonReply(200, state.profile.sealStatus(state));
}

function disableAuth(call: Call): Outcome {
  const path = call.params['path'] ?? '';
  if (path.replace(/\/+$/, '') === 'token') return fail(400, 'token credential backend cannot be disabled');
  const removed = call.state.mounts.unmount('auth', path);
  if (removed) {
    for (const token of call.state.tokens.all()) {
      if (token.path.startsWith(removed.routePrefix)) call.state.tokens.revokeTree(token.id);
    }
  }
  return nothing();
}

/** sys/policy/* answers with `rules`, sys/policies/acl/* with `policy`. */
function policyRoutes(prefix: 'policy' | 'policies/acl'): Route[] {
  const legacy = prefix === 'policy';
  const nameOf = (call: Call): string => call.params['name'] ?? '';
  const list = (call: Call): Outcome => {
    const keys = call.state.policies.listNames();
    return respond({ data: legacy ? { keys, policies: keys } : { keys } });
  };
  const read = (call: Call): Outcome => {
    const policy = call.state.policies.get(nameOf(call).toLowerCase());
    if (!policy || policy.name === RESPONSE_WRAPPING_POLICY) return nothing();
    return respond({ data: { name: policy.name, [legacy ? 'rules' : 'policy']: policy.raw } });
  };
  const write = (call: Call): Outcome => {
    const requested = nameOf(call);
    const name = requested.toLowerCase();
    if (name === '') return fail(400, 'policy name must be provided in the URL');
    if (name === ROOT_POLICY || name === RESPONSE_WRAPPING_POLICY) return fail(400, `cannot update "${name}" policy`);
    const warnings: string[] = [];
    if (name !== requested) warnings.push(`policy name was converted to ${name}`);
    let text = stringField(call.req.data, 'policy');
    if (text === '' && legacy) {
      text = stringField(call.req.data, 'rules');
      if (text !== '') warnings.push("'rules' is deprecated, please use 'policy' instead");
    }
    if (text === '') return fail(400, "'policy' parameter not supplied or empty");
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0) text = Buffer.from(text, 'base64').toString('utf8');
    try {
      call.state.policies.put(name, text);
    } catch (err) {
      if (err instanceof PolicyParseError) return fail(400, `failed to parse policy: ${err.message}`);
      throw err;
    }
    return warnings.length > 0 ? respond({ warnings }) : nothing();
  };
  const remove = (call: Call): Outcome => {
    const name = nameOf(call).toLowerCase();
    if (name === DEFAULT_POLICY) return fail(400, 'cannot delete default policy');
    if (name === ROOT_POLICY || name === RESPONSE_WRAPPING_POLICY) return fail(400, `cannot delete "${name}" policy`);
    call.state.policies.delete(name);
    return nothing();
  };
  return [
    { pattern: prefix, ops: legacy ? { read: list, list } : { list } },
    { pattern: `${prefix}/*name`, ops: { read, update: write, delete: remove } },
  ];
}

/** The sys/ routes; the profile's `removedSysRoutes` are left out (no route: `unsupported path`). */
export function systemBackend(profile: SimProfile): Backend {
  return backendOf([
    { pattern: 'auth', ops: { read: (call) => listMounts(call, 'auth') } },
    {
      pattern: 'auth/*path',
      ops: { read: (call) => readMount(call, 'auth'), update: (call) => enableMount(call, 'auth'), delete: disableAuth },
      sudo: true,
    },
    ...mountRoutes,
    ...policyRoutes('policy'),
    ...policyRoutes('policies/acl'),
    ...wrappingRoutes,
    ...capabilityRoutes,
    ...leaseRoutes.filter((route) => !profile.removedSysRoutes.includes(route.pattern)),
    ...profile.extraSysRoutes,
    mfaValidateRoute,
  ]);
}
