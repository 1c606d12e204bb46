// The userpass auth method (builtin/credential/userpass): users with a password and token
// settings, and login, which gives the user an identity entity (one per mount and username).
import { boolField, durationField, hasField, intField, sanitizePolicies, stringField, stringListField } from './fields.js';
import type { MountEntry } from './mount-table.js';
import { backendOf } from './router.js';
import { authInfoOf, calculateTtl } from './tokens.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface User {
  readonly name: string;
  password: string;
  tokenPolicies: string[];
  tokenTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  tokenNumUses: number;
  tokenNoDefaultPolicy: boolean;
  tokenType: string;
}

function applyUserFields(user: User, call: Call): string | undefined {
  const d = call.req.data;
  if (hasField(d, 'password')) user.password = stringField(d, 'password');
  const policyField = hasField(d, 'token_policies') ? 'token_policies' : hasField(d, 'policies') ? 'policies' : undefined;
  if (policyField) user.tokenPolicies = sanitizePolicies(stringListField(d, policyField), false);
  if (hasField(d, 'token_ttl')) user.tokenTtlSeconds = durationField(d, 'token_ttl');
  if (hasField(d, 'token_max_ttl')) user.tokenMaxTtlSeconds = durationField(d, 'token_max_ttl');
  if (hasField(d, 'token_num_uses')) user.tokenNumUses = intField(d, 'token_num_uses', 0);
  if (hasField(d, 'token_no_default_policy')) user.tokenNoDefaultPolicy = boolField(d, 'token_no_default_policy', false);
  if (hasField(d, 'token_type')) user.tokenType = stringField(d, 'token_type');
  if (user.tokenMaxTtlSeconds > 0 && user.tokenTtlSeconds > user.tokenMaxTtlSeconds) {
    return "'token_ttl' cannot be greater than 'token_max_ttl'";
  }
  return undefined;
}

function userData(user: User): Record<string, unknown> {
  return {
    token_bound_cidrs: [],
    token_explicit_max_ttl: 0,
    token_max_ttl: user.tokenMaxTtlSeconds,
    token_no_default_policy: user.tokenNoDefaultPolicy,
    token_num_uses: user.tokenNumUses,
    token_period: 0,
    token_policies: user.tokenPolicies,
    token_ttl: user.tokenTtlSeconds,
    token_type: user.tokenType,
  };
}

function issueToken(call: Call, mount: MountEntry, user: User): Outcome {
  const { state } = call;
  const nowMs = state.now();
  const result = calculateTtl({
    incrementSeconds: 0, backendTtlSeconds: user.tokenTtlSeconds, periodSeconds: 0,
    backendMaxTtlSeconds: user.tokenMaxTtlSeconds, explicitMaxTtlSeconds: 0, startMs: nowMs, nowMs,
  });
  if ('error' in result) return failWrapped(500, result.error);
  const entity = state.identity.entityForAlias(mount, user.name);
  const entry = state.tokens.create({
    policies: sanitizePolicies(user.tokenPolicies, !user.tokenNoDefaultPolicy),
    parent: '',
    path: `${mount.routePrefix}login/${user.name}`,
    displayName: `${mount.path.replace(/\//g, '-')}${user.name}`,
    meta: { username: user.name },
    numUses: user.tokenNumUses,
    ttlSeconds: result.ttlSeconds,
    renewable: true,
    type: user.tokenType === 'batch' || user.tokenType === 'default-batch' ? 'batch' : 'service',
    entityId: entity.id,
  });
  return respond({ auth: authInfoOf(entry), warnings: result.warnings });
}

export function userpassBackend(): Backend {
  const users = new Map<string, User>();
  const nameOf = (call: Call): string => (call.params['username'] ?? '').toLowerCase();

  const writeUser = (call: Call): Outcome => {
    const name = nameOf(call);
    const existing = users.get(name);
    if (!existing && !hasField(call.req.data, 'password')) return fail(400, 'missing password');
    const user: User = existing ? { ...existing } : {
      name, password: '', tokenPolicies: [], tokenTtlSeconds: 0, tokenMaxTtlSeconds: 0, tokenNumUses: 0,
      tokenNoDefaultPolicy: false, tokenType: 'default',
    };
    const problem = applyUserFields(user, call);
    if (problem) return fail(400, problem);
    users.set(name, user);
    return nothing();
  };

  const login = (call: Call): Outcome => {
    const user = users.get(nameOf(call));
    const password = stringField(call.req.data, 'password');
    if (password === '') return fail(400, 'missing password');
    if (!user || user.password !== password) return fail(400, 'invalid username or password');
    return issueToken(call, call.mount, user);
  };

  return backendOf([
    { pattern: 'login/:username', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'users/', ops: { list: () => respond({ data: { keys: [...users.keys()].sort() } }) } },
    {
      pattern: 'users/:username/password',
      ops: {
        update: (call) => {
          const user = users.get(nameOf(call));
          if (!user) return fail(400, 'username does not exist');
          const password = stringField(call.req.data, 'password');
          if (password === '') return fail(400, 'missing password');
          user.password = password;
          return nothing();
        },
      },
    },
    {
      pattern: 'users/:username',
      exists: (call) => users.has(nameOf(call)),
      ops: {
        create: writeUser,
        update: writeUser,
        read: (call) => {
          const user = users.get(nameOf(call));
          return user ? respond({ data: userData(user) }) : nothing();
        },
        delete: (call) => {
          users.delete(nameOf(call));
          return nothing();
        },
      },
    },
  ]);
}
