// A throwaway PostgreSQL server for tests that need a real database behind Vault's `database`
// secrets engine: a fresh cluster in a temp dir, on a free port, listening on 127.0.0.1 only,
// with one password-protected superuser for Vault. Password authentication (scram-sha-256) is
// required over TCP, so a successful `canLogin` proves the credentials, not just the user name.
//
// Needs Debian's `postgresql-15` (it brings `postgresql-client-15` for psql and
// `postgresql-common`, which creates the `postgres` OS user). initdb and postgres refuse to run
// as root, so when the tests run as root the server runs as that OS user.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { run } from './process.js';

export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';
/** The Debian package that provides POSTGRES_BIN_DIR (and, through its dependencies, psql). */
export const POSTGRES_APT_PACKAGE = 'postgresql-15';

const bin = (name: string): string => join(POSTGRES_BIN_DIR, name);

export interface Postgres {
  readonly host: string;
  readonly port: number;
  /** The superuser Vault manages roles with, and its password. */
  readonly superuser: string;
  readonly password: string;
  /** A `connection_url` for Vault's postgresql-database-plugin (fill in with `username`/`password`). */
  readonly vaultConnectionUrl: string;
  /** Logs in over TCP with a password and runs `select current_user`; ok only if that names `user`. */
  canLogin(user: string, password: string): Promise<{ ok: boolean; output: string }>;
  /** Whether a role of that name exists (asked as the superuser). */
  roleExists(name: string): Promise<boolean>;
  /** The server's own output, for failure reports. */
  logs(): string;
  /** Fast shutdown (open sessions are cut), then the data directory is removed. */
  stop(): Promise<void>;
}

/** uid/gid of the `postgres` OS user when we are root (initdb refuses root); nothing otherwise. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error(`tests run as root and there is no 'postgres' OS user to run PostgreSQL as (apt-get install ${POSTGRES_APT_PACKAGE})`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}


export async function startPostgres(opts: { superuser?: string } = {}): Promise<Postgres> {
  if (!existsSync(bin('initdb')) || !existsSync(bin('psql'))) {
    throw new Error(`PostgreSQL 15 is not installed (${POSTGRES_BIN_DIR}); on Debian: apt-get install ${POSTGRES_APT_PACKAGE}`);
  }
  const id = serverIdentity();
  const superuser = opts.superuser ?? 'vaultadmin';
  const password = randomBytes(18).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'vxp-postgres-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  mkdirSync(socketDir);
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (id) for (const p of [dir, socketDir, pwFile]) chownSync(p, id.uid, id.gid);
  // A minimal environment: the server needs no HOME, and inheriting PG* variables would be wrong.
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });

  const init = await run(bin('initdb'), [
    '-D', dataDir, '-U', superuser, `--pwfile=${pwFile}`,
    '--auth-host=scram-sha-256', '--auth-local=trust', '--encoding=UTF8', '--locale=C', '--no-sync',
  ], env, id);
  if (init.code !== 0) {
    cleanup();
    throw new Error(`initdb failed (${init.code}):\n${init.stdout}${init.stderr}`);
  }

  const host = '127.0.0.1';
  const port = await freePort();
  const output: string[] = [];
  const server: ChildProcess = spawn(bin('postgres'), [
    '-D', dataDir, '-p', String(port),
    '-c', `listen_addresses=${host}`, '-c', `unix_socket_directories=${socketDir}`,
    // A throwaway cluster: durability buys nothing here.
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  ], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(id ?? {}) });
  server.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  server.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGINT'); // PostgreSQL's fast shutdown: cuts sessions (Vault keeps a pool open)
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    })();
    return stopped;
  };

  const psql = (user: string, pass: string, sql: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    run(bin('psql'), ['-X', '-w', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', user, '-d', 'postgres', '-c', sql], {
      PATH: env['PATH'], LANG: 'C', PGPASSWORD: pass, PGCONNECT_TIMEOUT: '5', PGSSLMODE: 'disable', PGAPPNAME: 'vxp-test',
    });

  try {
    await waitFor(`PostgreSQL on ${host}:${port}`, async () => {
      const code = await Promise.race([exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`postgres exited with ${code}:\n${output.join('')}`);
      const r = await psql(superuser, password, 'select 1');
      return r.code === 0 ? true : undefined;
    }, 20_000, 100);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- postgres ---\n${output.join('')}`);
  }

  return {
    host,
    port,
    superuser,
    password,
    vaultConnectionUrl: `postgresql://{{username}}:{{password}}@${host}:${port}/postgres?sslmode=disable`,
    canLogin: async (user, pass) => {
      const r = await psql(user, pass, 'select current_user');
      return { ok: r.code === 0 && r.stdout.trim() === user, output: `${r.stdout}${r.stderr}`.trim() };
    },
    roleExists: async (name) => {
      const r = await psql(superuser, password, `select count(*) from pg_roles where rolname = '${name.replace(/'/g, "''")}'`);
      if (r.code !== 0) throw new Error(`psql as ${superuser} failed (${r.code}): ${r.stderr}`);
      return r.stdout.trim() === '1';
    },
    logs: () => `--- postgres ---\n${output.join('')}`,
    stop,
  };
}
