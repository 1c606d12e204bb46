// Debian's redis-server for the fleet tests: a throwaway server on a free loopback port, its
// working directory in a temp dir, started by the test itself. Persistence is off unless asked for,
// so a restart without `keepData` is a restart that lost everything (what a fleet must survive).
//
// Controls a fleet test needs: kill() (SIGKILL, no shutdown save), restart({ keepData }) on the same
// port, stop(). `cli(...)` runs redis-cli as the admin (the default user) for INFO, CONFIG, GET …
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports.js';
import { Proc } from './process.js';
import { makeTestPki, type TestPki } from './tls.js';

const execFileP = promisify(execFile);

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';

export interface RedisAclUser {
  name: string;
  password: string;
  /** ACL rules after `on >password`, e.g. ['~vxp:*', '+@all']; default: every key, every command. */
  rules?: string[];
}

export interface StartRedisOptions {
  /** `requirepass`: the default user (the admin the helper's `cli` uses) needs this password. */
  password?: string;
  /** More ACL users (`user <name> on >pw <rules>`). */
  users?: RedisAclUser[];
  /** Serve TLS only (`--tls-port`, plain port off), with a throwaway CA; `clientCerts`: require a client certificate. */
  tls?: boolean | { clientCerts: boolean };
  /** AOF on (appendfsync always): data survives kill(). Default off: nothing survives but restart({ keepData: true }). */
  persistence?: boolean;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:<port> or rediss://127.0.0.1:<port>, never with credentials. */
  readonly url: string;
  /** The throwaway PKI when started with `tls` (caCert, clientCert, clientKey …). */
  readonly pki: TestPki | undefined;
  /** Whether the server process runs now. */
  readonly running: boolean;
  /** redis-cli as the default user; resolves with stdout, rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  /** `INFO commandstats` as { command: calls }. */
  commandCalls(): Promise<Record<string, number>>;
  /** SIGKILL: no shutdown, no save; waits until the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered (a hung Redis); resume() is SIGCONT. */
  pause(): void;
  resume(): void;
  /**
   * Starts the server again on the same port (stopping it first if it runs). `keepData: false`
   * (the default) removes every data file first: the server comes back empty.
   */
  restart(opts?: { keepData?: boolean }): Promise<void>;
  /** Every incarnation's own output, for failure reports. */
  logs(): string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER) || !existsSync(REDIS_CLI)) {
    throw new Error(`redis-server is not installed (${REDIS_SERVER}); on Debian: apt-get install redis-server (.ci/run installs it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vxp-redis-'));
  const host = '127.0.0.1';
  const port = await freePort();
  const tlsOpts = opts.tls === undefined || opts.tls === false ? undefined : { clientCerts: opts.tls !== true && opts.tls.clientCerts };
  const pki = tlsOpts ? makeTestPki() : undefined;
  const url = `${tlsOpts ? 'rediss' : 'redis'}://${host}:${port}`;

  const args = [
    '--bind', host, '--dir', dir, '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice',
    '--dbfilename', 'dump.rdb', '--save', '',
    ...(opts.persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(opts.password ? ['--requirepass', opts.password] : []),
    ...(opts.users ?? []).flatMap((u) => ['--user', u.name, 'on', `>${u.password}`, ...(u.rules ?? ['~*', '&*', '+@all'])]),
    ...(pki
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', pki.serverCert, '--tls-key-file', pki.serverKey,
        '--tls-ca-cert-file', pki.caCert, '--tls-auth-clients', tlsOpts?.clientCerts ? 'yes' : 'no']
      : ['--port', String(port)]),
  ];
  const cliBase = [
    '-h', host, '-p', String(port), '--no-auth-warning',
    ...(opts.password ? ['-a', opts.password] : []),
    ...(pki ? ['--tls', '--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey] : []),
  ];
  const cli = async (...cmd: string[]): Promise<string> => (await execFileP(REDIS_CLI, [...cliBase, ...cmd], { timeout: 10_000 })).stdout;

  const incarnations: Proc[] = [];
  let proc: Proc | undefined;
  const running = (): boolean => proc !== undefined && proc.pid !== undefined && !exitedProcs.has(proc);
  const exitedProcs = new WeakSet<Proc>();

  const launch = async (): Promise<void> => {
    const p = new Proc(`redis-server#${incarnations.length + 1}`, REDIS_SERVER, args);
    incarnations.push(p);
    proc = p;
    void p.exited.then(() => exitedProcs.add(p));
    await waitFor(`redis-server on ${host}:${port}`, async () => {
      if (exitedProcs.has(p)) throw new Error(`redis-server exited:\n${p.text}`);
      if (!p.text.includes('Ready to accept connections')) return undefined;
      return (await cli('PING')).trim() === 'PONG' ? true : undefined;
    }, 15_000, 50);
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    if (!p || exitedProcs.has(p)) return;
    p.signal('SIGKILL');
    await p.exited;
  };
  const removeData = (): void => {
    for (const f of ['dump.rdb', 'appendonlydir']) rmSync(join(dir, f), { recursive: true, force: true });
  };
  let stopped: Promise<void> | undefined;

  try {
    await launch();
  } catch (err) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${incarnations.map((p) => p.text).join('')}`);
  }

  return {
    host,
    port,
    url,
    pki,
    get running() {
      return running();
    },
    cli,
    commandCalls: async () => {
      const out = await cli('INFO', 'commandstats');
      const calls: Record<string, number> = {};
      for (const m of out.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
      return calls;
    },
    kill,
    pause: () => proc?.signal('SIGSTOP'),
    resume: () => proc?.signal('SIGCONT'),
    restart: async ({ keepData = false } = {}) => {
      if (running()) {
        if (keepData && !opts.persistence) await cli('SAVE');
        proc!.signal('SIGTERM');
        await proc!.exited;
      }
      if (!keepData) removeData();
      await launch();
    },
    logs: () => incarnations.map((p) => `--- ${p.name} (port ${port}) ---\n${p.text}`).join('\n'),
    stop: () => {
      stopped ??= (async () => {
        if (proc && !exitedProcs.has(proc)) {
          proc.signal('SIGCONT'); // a paused server would not hear SIGTERM until the SIGKILL
          await proc.stop(5_000);
        }
        rmSync(dir, { recursive: true, force: true });
        if (pki) rmSync(pki.dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
