// A backend with a `database/` mount issuing renewable leases, on any backend: the simulator mounts
// its own engine (no connection needed); a real Vault gets the `database` engine, a connection `pg`
// to a throwaway PostgreSQL (test/support/postgres.ts), and roles that create real login roles there.
import { isSim, startBackend, type Backend, type BackendKind } from './backend.js';
import { startPostgres, type Postgres } from './postgres.js';
import { vaultApi } from './vault-setup.js';

export interface DatabaseBackend {
  backend: Backend;
  /** The PostgreSQL behind a real Vault's engine; undefined on the simulator. */
  pg: Postgres | undefined;
  /** Writes `database/roles/<name>` (on a real Vault with creation statements for PostgreSQL). */
  role(name: string, ttl: Record<string, unknown>): Promise<void>;
  logs(): string;
  close(): Promise<void>;
}

const CREATION = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];

async function writeRole(backend: Backend, name: string, body: Record<string, unknown>): Promise<void> {
  const r = await vaultApi(backend, 'POST', `database/roles/${name}`, body);
  if (r.status >= 300) throw new Error(`database/roles/${name}: ${r.status} ${JSON.stringify(r.json)}`);
}

export async function startDatabaseBackend(kind: BackendKind): Promise<DatabaseBackend> {
  if (isSim(kind)) {
    const backend = await startBackend(kind, { sim: { mountDatabase: true } });
    return {
      backend,
      pg: undefined,
      role: (name, ttl) => writeRole(backend, name, ttl),
      logs: () => backend.logs(),
      close: () => backend.close(),
    };
  }
  const [pg, backend] = await Promise.all([startPostgres(), startBackend(kind)]);
  try {
    await vaultApi(backend, 'POST', 'sys/mounts/database', { type: 'database' });
    const r = await vaultApi(backend, 'POST', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin', connection_url: pg.vaultConnectionUrl, username: pg.superuser, password: pg.password,
      allowed_roles: '*', verify_connection: true,
    });
    if (r.status >= 300) throw new Error(`database/config/pg: ${r.status} ${JSON.stringify(r.json)}`);
  } catch (err) {
    await Promise.all([backend.close(), pg.stop()]);
    throw err;
  }
  return {
    backend,
    pg,
    role: (name, ttl) => writeRole(backend, name, { db_name: 'pg', creation_statements: CREATION, ...ttl }),
    logs: () => `${backend.logs()}\n${pg.logs()}`,
    close: async () => {
      await backend.close();
      await pg.stop();
    },
  };
}
