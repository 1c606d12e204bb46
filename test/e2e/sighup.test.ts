// SIGHUP as Vault Proxy 1.15.6 treats it (command/proxy.go reloadConfig): the process keeps running,
// the config file is read again, log_level is applied; a broken file is reported and the running
// config kept. The pid_file is gone after every way the process ends.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { REPO_ROOT } from '../support/paths.js';
import { freePort, waitFor } from '../support/ports.js';
import { Proc } from '../support/process.js';

const CLI = join(REPO_ROOT, 'dist', 'main.js');

forEachBackend('SIGHUP and the pid_file', function (kind) {
  this.timeout(60_000);
  let backend: Backend;
  let dir: string;
  let admin: number;
  let serve: Proc | undefined;

  before(async () => {
    backend = await startBackend(kind);
  });
  after(async () => {
    await backend?.close();
  });
  afterEach(async () => {
    await serve?.stop();
    serve = undefined;
  });

  async function config(logLevel: string, extra = ''): Promise<string> {
    const listener = await freePort();
    const file = join(dir, 'proxy.hcl');
    writeFileSync(file, `pid_file = "${dir}/pid"
log_level = "${logLevel}"
vault { address = "${backend.serviceUrl}" }
listener "tcp" {
  address = "127.0.0.1:${listener}"
  tls_disable = true
}
extproc {
  address = "unix://${dir}/extproc.sock"
  admin_address = "127.0.0.1:${admin}"
}
${extra}`);
    return file;
  }

  async function startServe(file: string, extraEnv: Record<string, string> = {}): Promise<Proc> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VAULT_')) delete env[k];
    Object.assign(env, extraEnv);
    const p = new Proc('serve', process.execPath, [CLI, 'serve', '--config', file], env);
    serve = p;
    await waitFor('healthz', async () => ((await fetch(`http://127.0.0.1:${admin}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000, 100);
    await waitFor('pid_file', async () => (existsSync(join(dir, 'pid')) ? true : undefined), 10_000, 50);
    return p;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-sighup-'));
    admin = await freePort();
  });

  it('SIGHUP keeps the process serving and applies the file\'s new log_level (debug lines appear only after the reload); SIGTERM then removes the pid_file', async () => {
    const file = await config('info');
    const p = await startServe(file);
    expect(readFileSync(join(dir, 'pid'), 'utf8').trim()).to.equal(String(p.pid));
    expect(p.jsonLines.filter((l) => l['level'] === 20)).to.deep.equal([]);
    await config('debug');
    p.signal('SIGHUP');
    await waitFor('reloaded', async () => (p.text.includes('config reloaded: log level applied') ? true : undefined), 10_000, 50);
    expect((await fetch(`http://127.0.0.1:${admin}/healthz`)).status).to.equal(200);
    expect(existsSync(join(dir, 'pid'))).to.equal(true);
    expect(p.jsonLines.filter((l) => l['level'] === 20).map((l) => l['msg'])).to.deep.equal(['config reload: debug logging is on']);
    p.signal('SIGTERM');
    expect(await p.exited).to.equal(0);
    expect(existsSync(join(dir, 'pid'))).to.equal(false);
  });

  it('a config broken on disk is reported on SIGHUP and the running one kept; a change that needs a restart is named', async () => {
    const file = await config('info');
    const p = await startServe(file);
    writeFileSync(file, 'vault {\n  address = \n');
    p.signal('SIGHUP');
    await waitFor('refused reload', async () => (p.text.includes('config reload failed; the running config is kept') ? true : undefined), 10_000, 50);
    expect(p.text).to.match(/config reload: line \d+, column \d+/);
    expect((await fetch(`http://127.0.0.1:${admin}/healthz`)).status).to.equal(200);
    await config('info', 'cache {}\n');
    p.signal('SIGHUP');
    await waitFor('restart named', async () => (p.jsonLines.some((l) => Array.isArray(l['changed']) && (l['changed'] as string[]).includes('cache')) ? true : undefined), 10_000, 50);
    expect((await fetch(`http://127.0.0.1:${admin}/healthz`)).status).to.equal(200);
  });

  it('a second signal exits at once (no graceful stop) and still leaves no pid_file', async () => {
    const p = await startServe(await config('info'));
    // Two different signals: the kernel would merge two pending SIGINTs into one. Both are pending
    // at once, so either may be taken first; the second one decides the exit code (130 or 143).
    p.signal('SIGINT');
    p.signal('SIGTERM');
    const code = await p.exited;
    expect(code).to.be.oneOf([130, 143]);
    expect(p.text).to.include(`${code === 130 ? 'SIGINT' : 'SIGTERM'} again; exiting without waiting`);
    expect(existsSync(join(dir, 'pid'))).to.equal(false);
  });

  it('serve logs each setting taken from the environment (VAULT_ADDR over the file\'s address) and runs with it', async () => {
    const file = await config('info');
    writeFileSync(file, readFileSync(file, 'utf8').replace(backend.serviceUrl, 'http://127.0.0.1:1'));
    const p = await startServe(file, { VAULT_ADDR: backend.serviceUrl });
    const line = p.jsonLines.find((l) => l['msg'] === 'config: setting taken from the environment');
    expect(line).to.deep.include({ variable: 'VAULT_ADDR', setting: 'vault > address', overridesFile: true });
  });
});
