// The database secrets engine, dynamic roles only (builtin/logical/database): roles and leased
// credentials from `creds/:name`. No connections: every role works without `db_name`.
import { boolField, durationField, hasField, stringField } from './fields.js';
import { newDbPassword, randomBase62 } from './ids.js';
import { backendOf } from './router.js';
import type { TokenEntry } from './tokens.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface DbRole {
  dbName: string;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  /** Simulator extension (not a Vault field): false issues leases that cannot be renewed. */
  renewable: boolean;
}

/** The PostgreSQL plugin's default username template: `v-<display 8>-<role 8>-<random 20>-<unix time>`. */
function usernameFor(token: TokenEntry, role: string, nowMs: number): string {
  const name = `v-${token.displayName.slice(0, 8)}-${role.slice(0, 8)}-${randomBase62(20)}-${Math.floor(nowMs / 1000)}`;
  return name.slice(0, 63);
}

function writeRole(roles: Map<string, DbRole>, call: Call): Outcome {
  const name = call.params['name'] ?? '';
  const d = call.req.data;
  const role: DbRole = roles.get(name) ?? { dbName: '', defaultTtlSeconds: 0, maxTtlSeconds: 0, renewable: true };
  if (hasField(d, 'db_name')) role.dbName = stringField(d, 'db_name');
  // `default_ttl` is the Vault field; `ttl` is accepted as an alias.
  if (hasField(d, 'default_ttl')) role.defaultTtlSeconds = durationField(d, 'default_ttl');
  else if (hasField(d, 'ttl')) role.defaultTtlSeconds = durationField(d, 'ttl');
  if (hasField(d, 'max_ttl')) role.maxTtlSeconds = durationField(d, 'max_ttl');
  if (hasField(d, 'renewable')) role.renewable = boolField(d, 'renewable', true);
  roles.set(name, role);
  return nothing();
}

function readRole(roles: Map<string, DbRole>, call: Call): Outcome {
  const role = roles.get(call.params['name'] ?? '');
  if (!role) return nothing();
  return respond({
    data: {
      db_name: role.dbName,
      creation_statements: [],
      revocation_statements: [],
      rollback_statements: [],
      renew_statements: [],
      default_ttl: role.defaultTtlSeconds,
      max_ttl: role.maxTtlSeconds,
      credential_type: 'password',
    },
  });
}

function creds(roles: Map<string, DbRole>, call: Call): Outcome {
  const name = call.params['name'] ?? '';
  const role = roles.get(name);
  if (!role) return fail(400, `unknown role: ${name}`);
  const token = call.token as TokenEntry;
  const { state } = call;
  const registered = state.leases.register({
    path: call.req.path.replace(/\/+$/, ''),
    token,
    ttlSeconds: role.defaultTtlSeconds,
    maxTtlSeconds: role.maxTtlSeconds,
    renewable: role.renewable,
    // secretCredsRenew: the role's current TTLs, or an error once the role is gone.
    renewFrom: () => {
      const current = roles.get(name);
      if (!current) return `error during renew: could not find role with name "${name}"`;
      return { ttlSeconds: current.defaultTtlSeconds, maxTtlSeconds: current.maxTtlSeconds, periodSeconds: 0 };
    },
  });
  if ('error' in registered) return fail(400, registered.error);
  return respond({
    data: { username: usernameFor(token, name, state.now()), password: newDbPassword() },
    secret: { leaseId: registered.lease.id, renewable: role.renewable, ttlSeconds: registered.ttlSeconds },
    warnings: registered.warnings,
  });
}

export function databaseBackend(): Backend {
  const roles = new Map<string, DbRole>();
  return backendOf([
    { pattern: 'roles', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    {
      pattern: 'roles/:name',
      ops: {
        read: (call) => readRole(roles, call),
        create: (call) => writeRole(roles, call),
        update: (call) => writeRole(roles, call),
        delete: (call) => {
          roles.delete(call.params['name'] ?? '');
          return nothing();
        },
      },
      exists: (call) => roles.has(call.params['name'] ?? ''),
    },
    { pattern: 'creds/:name', ops: { read: (call) => creds(roles, call) } },
  ]);
}
