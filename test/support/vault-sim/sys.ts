// The system backend: sys/health, sys/auth, sys/policy and sys/policies/acl, plus the
// sys/mounts, sys/wrapping, sys/capabilities* and sys/leases routes from their own modules.
import { capabilityRoutes } from './capabilities.js';
import { jsonReply, type Reply } from './envelope.js';
import { stringField } from './fields.js';
import { mfaValidateRoute } from './identity.js';
import { leaseRoutes } from './lease-routes.js';
import { enableMount, listMounts, mountRoutes, readMount } from './mounts.js';
import { PolicyParseError, ROOT_POLICY, RESPONSE_WRAPPING_POLICY, DEFAULT_POLICY } from './policy.js';
import { backendOf } from './router.js';
import type { SimState } from './state.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome, type Route } from './types.js';
import { wrappingRoutes } from './wrapping.js';

export const VAULT_VERSION = '1.15.6';

/** Vault CE reports the bare version; Enterprise (the namespaces profile) appends `+ent`. */
export function versionOf(state: SimState): string {
  return state.namespaces ? `${VAULT_VERSION}+ent` : VAULT_VERSION;
}

/** GET/HEAD /v1/sys/health: a healthy, unsealed, active node. */
export function healthReply(state: SimState, method: string): Reply {
  if (method !== 'GET' && method !== 'HEAD') return jsonReply(405, { errors: [] });
  return jsonReply(200, {
    initialized: true,
    sealed: false,
    standby: false,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(state.now() / 1000),
    version: versionOf(state),
    cluster_name: state.clusterName,
    cluster_id: state.clusterId,
  });
}

/** GET /v1/sys/seal-status. */
export function sealStatusReply(state: SimState, method: string): Reply {
  if (method !== 'GET') return jsonReply(405, { errors: [] });
  return jsonReply(200, {
    type: 'shamir', initialized: true, sealed: false, t: 1, n: 1, progress: 0, nonce: '',
    version: versionOf(state), build_date: '2024-02-28T17:07:34Z', migration: false,
    cluster_name: state.clusterName, cluster_id: state.clusterId, recovery_seal: false, storage_type: 'inmem',
  });
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

export function systemBackend(): Backend {
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
    ...leaseRoutes,
    mfaValidateRoute,
  ]);
}
