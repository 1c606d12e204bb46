// The AppRole auth method: roles, role IDs, secret IDs and login (builtin/credential/approle).
import { boolField, durationField, hasField, intField, stringField } from './fields.js';
import { newUuid } from './ids.js';
import { backendOf } from './router.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, renewWithParams, type TokenParams } from './token-util.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface AppRole extends TokenParams {
  readonly name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdTtlSeconds: number;
  secretIdNumUses: number;
}

interface SecretId {
  readonly roleName: string;
  readonly accessor: string;
  usesLeft: number;
  readonly expireMs: number | null;
  readonly metadata: Record<string, string>;
}

const INVALID = 'invalid role or secret ID';

function applyRoleFields(role: AppRole, d: Record<string, unknown>): string | undefined {
  if (hasField(d, 'bind_secret_id')) role.bindSecretId = boolField(d, 'bind_secret_id', true);
  if (hasField(d, 'secret_id_ttl')) role.secretIdTtlSeconds = durationField(d, 'secret_id_ttl');
  if (hasField(d, 'secret_id_num_uses')) role.secretIdNumUses = intField(d, 'secret_id_num_uses', 0);
  if (role.secretIdNumUses < 0) return 'secret_id_num_uses cannot be negative';
  const tokenProblem = parseTokenFields(role, d, ['policies', 'period']);
  if (tokenProblem) return tokenProblem;
  if (hasField(d, 'role_id')) role.roleId = stringField(d, 'role_id');
  if (!role.bindSecretId) return 'at least one constraint should be enabled on the role';
  return undefined;
}

function roleData(role: AppRole): Record<string, unknown> {
  return {
    bind_secret_id: role.bindSecretId,
    local_secret_ids: false,
    secret_id_bound_cidrs: null,
    secret_id_num_uses: role.secretIdNumUses,
    secret_id_ttl: role.secretIdTtlSeconds,
    ...populateTokenData(role),
  };
}

export function approleBackend(now: () => number): Backend {
  const roles = new Map<string, AppRole>();
  const secretIds = new Map<string, SecretId>();
  const roleOf = (call: Call): AppRole | undefined => roles.get((call.params['name'] ?? '').toLowerCase());

  const writeRole = (call: Call): Outcome => {
    const name = (call.params['name'] ?? '').toLowerCase();
    const existing = roles.get(name);
    if (!existing && call.req.operation !== 'create') return fail(404, `role name "${name}" doesn't exist`);
    const role: AppRole = existing ? { ...existing } : {
      name, roleId: newUuid(), bindSecretId: true, secretIdTtlSeconds: 0, secretIdNumUses: 0, ...defaultTokenParams(),
    };
    // path_role.go's backwards compat: default-service and default-batch become service and batch, with a warning.
    const oldType = /^default-(service|batch)$/.exec(String(call.req.data['token_type'] ?? ''));
    const problem = applyRoleFields(role, oldType ? { ...call.req.data, token_type: oldType[1] } : call.req.data);
    if (problem) return fail(400, problem);
    roles.set(name, role);
    return oldType ? respond({ warnings: [`${oldType[0]} has no useful meaning; adjusting to ${oldType[1]}`] }) : nothing();
  };

  const deleteRole = (call: Call): Outcome => {
    const role = roleOf(call);
    if (role) {
      roles.delete(role.name);
      for (const [id, s] of secretIds) if (s.roleName === role.name) secretIds.delete(id);
    }
    return nothing();
  };

  const newSecretId = (call: Call): Outcome => {
    const role = roleOf(call);
    if (!role) return fail(404, `role "${call.params['name'] ?? ''}" does not exist`);
    if (!role.bindSecretId) return fail(400, 'bind_secret_id is not set on the role');
    const d = call.req.data;
    const numUses = hasField(d, 'num_uses') ? intField(d, 'num_uses', 0) : role.secretIdNumUses;
    if (numUses < 0) return fail(400, 'num_uses cannot be negative');
    if (role.secretIdNumUses > 0 && (numUses === 0 || numUses > role.secretIdNumUses)) {
      return fail(400, "num_uses cannot be higher than the role's secret_id_num_uses");
    }
    const ttl = hasField(d, 'ttl') ? durationField(d, 'ttl') : role.secretIdTtlSeconds;
    if ((ttl === 0 && role.secretIdTtlSeconds > 0) || (role.secretIdTtlSeconds > 0 && ttl > role.secretIdTtlSeconds)) {
      return fail(400, "ttl cannot be longer than the role's secret_id_ttl");
    }
    let metadata: Record<string, string> = {};
    const metaText = stringField(d, 'metadata');
    if (metaText !== '') {
      try {
        metadata = JSON.parse(metaText) as Record<string, string>;
      } catch (err) {
        return fail(400, `failed to parse metadata: ${(err as Error).message}`);
      }
    }
    const secretId = newUuid();
    const accessor = newUuid();
    secretIds.set(secretId, { roleName: role.name, accessor, usesLeft: numUses, expireMs: ttl > 0 ? now() + ttl * 1000 : null, metadata });
    return respond({ data: { secret_id: secretId, secret_id_accessor: accessor, secret_id_num_uses: numUses, secret_id_ttl: ttl } });
  };

  const login = (call: Call): Outcome => {
    const d = call.req.data;
    const roleId = stringField(d, 'role_id').trim();
    // Core's user-lockout bookkeeping asks for the login's alias (the role_id) before the login runs.
    if (roleId === '') return fail(500, 'failed to determine alias name from login request');
    const role = [...roles.values()].find((r) => r.roleId === roleId);
    if (!role) return fail(400, INVALID);
    if (role.bindSecretId) {
      const secretId = stringField(d, 'secret_id').trim();
      if (secretId === '') return fail(400, 'missing secret_id');
      const entry = secretIds.get(secretId);
      if (!entry || entry.roleName !== role.name) return fail(400, INVALID);
      if (entry.expireMs !== null && entry.expireMs <= now()) {
        secretIds.delete(secretId);
        return fail(400, INVALID);
      }
      if (entry.usesLeft === 1) secretIds.delete(secretId);
      else if (entry.usesLeft > 1) entry.usesLeft -= 1;
    }
    // The alias is the role ID (path_login.go): one identity entity per role ID and mount.
    return issueLoginToken(call, call.mount, role, {
      displayName: '', metadata: { role_name: role.name }, aliasName: role.roleId,
      renewFrom: renewWithParams(() => roles.get(role.name), `role "${role.name}" does not exist during renewal`),
    });
  };

  return backendOf([
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'role', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    {
      pattern: 'role/:name',
      ops: {
        read: (call) => { const r = roleOf(call); return r ? respond({ data: roleData(r) }) : nothing(); },
        create: writeRole,
        update: writeRole,
        delete: deleteRole,
      },
      exists: (call) => roleOf(call) !== undefined,
    },
    {
      pattern: 'role/:name/role-id',
      ops: {
        read: (call) => { const r = roleOf(call); return r ? respond({ data: { role_id: r.roleId } }) : nothing(); },
        update: (call) => {
          const r = roleOf(call);
          if (!r) return fail(404, `role "${call.params['name'] ?? ''}" does not exist`);
          const id = stringField(call.req.data, 'role_id');
          if (id === '') return fail(400, 'missing role_id');
          r.roleId = id;
          return nothing();
        },
      },
    },
    {
      pattern: 'role/:name/secret-id',
      ops: {
        update: newSecretId,
        list: (call) => {
          const r = roleOf(call);
          if (!r) return fail(400, `role "${call.params['name'] ?? ''}" does not exist`);
          const keys = [...secretIds.values()].filter((s) => s.roleName === r.name).map((s) => s.accessor).sort();
          return respond({ data: { keys } });
        },
      },
    },
    {
      pattern: 'role/:name/secret-id/destroy',
      ops: {
        update: (call) => {
          secretIds.delete(stringField(call.req.data, 'secret_id'));
          return nothing();
        },
      },
    },
  ]);
}
