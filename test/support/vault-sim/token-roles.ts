// auth/token/roles/:name — token roles used by auth/token/create/:role.
import { boolField, durationField, intField, stringField, stringListField } from './fields.js';
import { fail, nothing, respond, type Call, type Outcome, type Route } from './types.js';

export interface TokenRole {
  readonly name: string;
  readonly allowedPolicies: string[];
  readonly disallowedPolicies: string[];
  readonly orphan: boolean;
  readonly renewable: boolean;
  readonly pathSuffix: string;
  readonly tokenPeriodSeconds: number;
  readonly tokenExplicitMaxTtlSeconds: number;
  readonly tokenNoDefaultPolicy: boolean;
  readonly tokenNumUses: number;
  /** default-service, default-batch, service or batch. */
  readonly tokenType: string;
}

const TOKEN_TYPES = ['default', 'default-service', 'default-batch', 'service', 'batch'];

function pick<T>(call: Call, names: string[], read: (field: string) => T, fallback: T): T {
  const field = names.find((n) => call.req.data[n] !== undefined);
  return field === undefined ? fallback : read(field);
}

function writeRole(roles: Map<string, TokenRole>, call: Call): Outcome {
  const name = (call.params['name'] ?? '').toLowerCase();
  const old = roles.get(name);
  const d = call.req.data;
  const tokenType = pick(call, ['token_type'], (f) => stringField(d, f), old?.tokenType ?? 'default-service');
  if (!TOKEN_TYPES.includes(tokenType)) return fail(400, `invalid 'token_type' value "${tokenType}"`);
  roles.set(name, {
    name,
    allowedPolicies: pick(call, ['allowed_policies'], (f) => stringListField(d, f), old?.allowedPolicies ?? []),
    disallowedPolicies: pick(call, ['disallowed_policies'], (f) => stringListField(d, f), old?.disallowedPolicies ?? []),
    orphan: pick(call, ['orphan'], (f) => boolField(d, f, false), old?.orphan ?? false),
    renewable: pick(call, ['renewable'], (f) => boolField(d, f, true), old?.renewable ?? true),
    pathSuffix: pick(call, ['path_suffix'], (f) => stringField(d, f), old?.pathSuffix ?? ''),
    tokenPeriodSeconds: pick(call, ['token_period', 'period'], (f) => durationField(d, f), old?.tokenPeriodSeconds ?? 0),
    tokenExplicitMaxTtlSeconds: pick(
      call, ['token_explicit_max_ttl', 'explicit_max_ttl'], (f) => durationField(d, f), old?.tokenExplicitMaxTtlSeconds ?? 0),
    tokenNoDefaultPolicy: pick(call, ['token_no_default_policy'], (f) => boolField(d, f, false), old?.tokenNoDefaultPolicy ?? false),
    tokenNumUses: pick(call, ['token_num_uses'], (f) => intField(d, f, 0), old?.tokenNumUses ?? 0),
    tokenType: tokenType === 'default' ? 'default-service' : tokenType,
  });
  return nothing();
}

function readRole(roles: Map<string, TokenRole>, call: Call): Outcome {
  const role = roles.get((call.params['name'] ?? '').toLowerCase());
  if (!role) return nothing();
  return respond({
    data: {
      allowed_entity_aliases: null,
      allowed_policies: role.allowedPolicies,
      allowed_policies_glob: [],
      disallowed_policies: role.disallowedPolicies,
      disallowed_policies_glob: [],
      explicit_max_ttl: role.tokenExplicitMaxTtlSeconds,
      name: role.name,
      orphan: role.orphan,
      path_suffix: role.pathSuffix,
      period: role.tokenPeriodSeconds,
      renewable: role.renewable,
      token_explicit_max_ttl: role.tokenExplicitMaxTtlSeconds,
      token_no_default_policy: role.tokenNoDefaultPolicy,
      token_period: role.tokenPeriodSeconds,
      token_type: role.tokenType,
      ...(role.tokenNumUses > 0 ? { token_num_uses: role.tokenNumUses } : {}),
    },
  });
}

export function roleRoutes(roles: Map<string, TokenRole>): Route[] {
  return [
    { pattern: 'roles', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    {
      pattern: 'roles/:name',
      ops: {
        read: (call) => readRole(roles, call),
        create: (call) => writeRole(roles, call),
        update: (call) => writeRole(roles, call),
        delete: (call) => {
          roles.delete((call.params['name'] ?? '').toLowerCase());
          return nothing();
        },
      },
      exists: (call) => roles.has((call.params['name'] ?? '').toLowerCase()),
    },
  ];
}
