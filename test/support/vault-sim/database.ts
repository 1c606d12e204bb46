// The database secrets engine, dynamic roles only (builtin/logical/database): connections
// (`config/:name`, stored, never opened), roles and leased credentials from `creds/:name`.
//
// A mount made through the API behaves like Vault: a role names its connection (`db_name`), the
// connection must exist and allow the role, and the role needs creation statements. The
// `database/` mount that `startVaultSim({ mountDatabase: true })` makes is a simulator shortcut:
// its roles need no connection and no statements.
import { FieldError, boolField, durationField, hasField, stringField, stringListField } from './fields.js';
import { newDbPassword, randomBase62 } from './ids.js';
import { backendOf } from './router.js';
import type { TokenEntry } from './tokens.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

/** The database plugins built into Vault 1.15 (the catalog's `database` type). */
const BUILTIN_PLUGINS = [
  'cassandra-database-plugin', 'couchbase-database-plugin', 'elasticsearch-database-plugin', 'hana-database-plugin',
  'influxdb-database-plugin', 'mongodb-database-plugin', 'mongodbatlas-database-plugin', 'mssql-database-plugin',
  'mysql-aurora-database-plugin', 'mysql-database-plugin', 'mysql-legacy-database-plugin', 'mysql-rds-database-plugin',
  'postgresql-database-plugin', 'redis-database-plugin', 'redis-elasticache-database-plugin', 'redshift-database-plugin',
  'snowflake-database-plugin',
];

interface DbConnection {
  pluginName: string;
  connectionUrl: string;
  username: string;
  allowedRoles: string[];
  passwordPolicy: string;
  rootRotationStatements: string[];
}

interface DbRole {
  dbName: string;
  creationStatements: string[];
  revocationStatements: string[];
  rollbackStatements: string[];
  renewStatements: string[];
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  /** Simulator extension (not a Vault field): false issues leases that cannot be renewed. */
  renewable: boolean;
}

interface DbEngine {
  readonly connections: Map<string, DbConnection>;
  readonly roles: Map<string, DbRole>;
  /** The `mountDatabase` shortcut: roles need no connection and no statements. */
  readonly connectionless: boolean;
}

/** The PostgreSQL plugin's default username template: `v-<display 8>-<role 8>-<random 20>-<unix time>`. */
function usernameFor(token: TokenEntry, role: string, nowMs: number): string {
  const name = `v-${token.displayName.slice(0, 8)}-${role.slice(0, 8)}-${randomBase62(20)}-${Math.floor(nowMs / 1000)}`;
  return name.slice(0, 63);
}

/** strutil.StrListContainsGlob: `*` matches any run of characters. */
function allowsRole(connection: DbConnection, role: string): boolean {
  return connection.allowedRoles.some((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(role));
}

function writeConnection(engine: DbEngine, call: Call): Outcome {
  const name = call.params['name'] ?? '';
  const d = call.req.data;
  const old = engine.connections.get(name);
  const pluginName = hasField(d, 'plugin_name') ? stringField(d, 'plugin_name') : old?.pluginName ?? '';
  if (pluginName === '') return fail(400, 'empty plugin name');
  if (!BUILTIN_PLUGINS.includes(pluginName)) {
    const missing = `plugin not found in the catalog: ${pluginName}`;
    return fail(400, `error creating database object: invalid database version: 2 errors occurred:\n\t* ${missing}\n\t* ${missing}\n\n`);
  }
  // Connections are never opened: `verify_connection` and `password` are accepted and ignored.
  engine.connections.set(name, {
    pluginName,
    connectionUrl: hasField(d, 'connection_url') ? stringField(d, 'connection_url') : old?.connectionUrl ?? '',
    username: hasField(d, 'username') ? stringField(d, 'username') : old?.username ?? '',
    allowedRoles: hasField(d, 'allowed_roles') ? stringListField(d, 'allowed_roles') : old?.allowedRoles ?? [],
    passwordPolicy: hasField(d, 'password_policy') ? stringField(d, 'password_policy') : old?.passwordPolicy ?? '',
    rootRotationStatements: hasField(d, 'root_rotation_statements')
      ? stringListField(d, 'root_rotation_statements') : old?.rootRotationStatements ?? [],
  });
  return nothing();
}

function readConnection(engine: DbEngine, call: Call): Outcome {
  const c = engine.connections.get(call.params['name'] ?? '');
  if (!c) return nothing();
  const details: Record<string, unknown> = {};
  if (c.connectionUrl !== '') details['connection_url'] = c.connectionUrl;
  if (c.username !== '') details['username'] = c.username;
  return respond({
    data: {
      allowed_roles: c.allowedRoles,
      connection_details: details,
      password_policy: c.passwordPolicy,
      plugin_name: c.pluginName,
      plugin_version: '',
      root_credentials_rotate_statements: c.rootRotationStatements,
    },
  });
}

/** TypeStringSlice statements: a list, or one string. */
function statements(d: Record<string, unknown>, field: string, fallback: string[]): string[] {
  if (!hasField(d, field)) return fallback;
  const v = d[field];
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (Array.isArray(v)) return v.map(String);
  throw new FieldError(`error converting input ${String(v)} for field "${field}": expected a list of statements`);
}

function writeRole(engine: DbEngine, call: Call): Outcome {
  const name = call.params['name'] ?? '';
  const d = call.req.data;
  const old = engine.roles.get(name);
  const role: DbRole = old ?? {
    dbName: '', creationStatements: [], revocationStatements: [], rollbackStatements: [], renewStatements: [],
    defaultTtlSeconds: 0, maxTtlSeconds: 0, renewable: true,
  };
  if (hasField(d, 'db_name')) role.dbName = stringField(d, 'db_name');
  if (role.dbName === '' && !engine.connectionless) return fail(400, 'database name is required');
  role.creationStatements = statements(d, 'creation_statements', role.creationStatements);
  role.revocationStatements = statements(d, 'revocation_statements', role.revocationStatements);
  role.rollbackStatements = statements(d, 'rollback_statements', role.rollbackStatements);
  role.renewStatements = statements(d, 'renew_statements', role.renewStatements);
  // Only `default_ttl`: Vault ignores an unknown `ttl`.
  if (hasField(d, 'default_ttl')) role.defaultTtlSeconds = durationField(d, 'default_ttl');
  if (hasField(d, 'max_ttl')) role.maxTtlSeconds = durationField(d, 'max_ttl');
  if (hasField(d, 'renewable')) role.renewable = boolField(d, 'renewable', true);
  engine.roles.set(name, role);
  return nothing();
}

function readRole(engine: DbEngine, call: Call): Outcome {
  const role = engine.roles.get(call.params['name'] ?? '');
  if (!role) return nothing();
  return respond({
    data: {
      db_name: role.dbName,
      creation_statements: role.creationStatements,
      revocation_statements: role.revocationStatements,
      rollback_statements: role.rollbackStatements,
      renew_statements: role.renewStatements,
      default_ttl: role.defaultTtlSeconds,
      max_ttl: role.maxTtlSeconds,
      credential_type: 'password',
    },
  });
}

function creds(engine: DbEngine, call: Call): Outcome {
  const name = call.params['name'] ?? '';
  const role = engine.roles.get(name);
  if (!role) return fail(400, `unknown role: ${name}`);
  if (!engine.connectionless) {
    const connection = engine.connections.get(role.dbName);
    if (!connection) return failWrapped(500, `failed to find entry for connection with name: "${role.dbName}"`);
    if (!allowsRole(connection, name)) return failWrapped(500, `"${name}" is not an allowed role`);
    if (role.creationStatements.length === 0) return failWrapped(500, 'empty creation statements');
  }
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
      const current = engine.roles.get(name);
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

/** `connectionless`: the `mountDatabase` shortcut (see the top of this file). */
export function databaseBackend(connectionless = false): Backend {
  const engine: DbEngine = { connections: new Map(), roles: new Map(), connectionless };
  const keys = (m: Map<string, unknown>): Outcome => respond({ data: { keys: [...m.keys()].sort() } });
  /** LIST `<kind>`, and read/write/delete `<kind>/:name`, over one of the engine's maps. */
  const named = <T>(kind: string, map: Map<string, T>, read: (e: DbEngine, c: Call) => Outcome, write: (e: DbEngine, c: Call) => Outcome) => [
    { pattern: kind, ops: { list: () => keys(map) } },
    {
      pattern: `${kind}/:name`,
      ops: {
        read: (call: Call) => read(engine, call),
        create: (call: Call) => write(engine, call),
        update: (call: Call) => write(engine, call),
        delete: (call: Call) => {
          map.delete(call.params['name'] ?? '');
          return nothing();
        },
      },
      exists: (call: Call) => map.has(call.params['name'] ?? ''),
    },
  ];
  return backendOf([
    ...named('config', engine.connections, readConnection, writeConnection),
    ...named('roles', engine.roles, readRole, writeRole),
    { pattern: 'creds/:name', ops: { read: (call) => creds(engine, call) } },
  ]);
}
