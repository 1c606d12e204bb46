// vault-extproc `serve` alone (no Envoy: nothing here goes through the listener) with a persist
// block, restarted on its store, against the simulator and a real Vault 1.15.6: Vault Agent's
// kubernetes flavour (imported once and deleted; bound to the service account token; exit_on_err)
// and the default readiness after a restart while Vault is unreachable.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { CLI } from '../../support/paths.js';
import { freePort, sleep, waitFor } from '../../support/ports.js';
import { Proc } from '../../support/process.js';
import { appRoleAutoAuth, setupAppRole, writePolicy, type AppRoleCreds } from '../../support/vault-setup.js';

const STORE_FILE = 'vault-extproc-cache.mdb';

forEachBackend('integration: persist modes (kubernetes flavour, exit_on_err, readiness)', function (kind) {
  this.timeout(60_000);
  let backend: Backend;
  let creds: AppRoleCreds;
  const procs: Proc[] = [];
  const dirs: string[] = [];
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`\n--- vault-extproc ---\n${p.text}\n`);
  });
  before(async () => {
    backend = await startBackend(kind);
    await writePolicy(backend, 'worker', 'path "*" { capabilities = ["read", "list"] }');
    creds = await setupAppRole(backend, { role: 'persist-modes', policies: ['worker'], tokenTtl: '1h' });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await backend?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  afterEach(() => backend.start());

  /** A config in a fresh directory; returns how to start `serve` on it. */
  async function setup(persist: (dir: string) => string): Promise<{ dir: string; adminUrl: string; serve(): Proc }> {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-persist-modes-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'persist.key'), `${randomBytes(32).toString('base64')}\n`);
    const adminPort = await freePort();
    const file = join(dir, 'config.hcl');
    writeFileSync(file, `vault { address = "${backend.serviceUrl}" }
${appRoleAutoAuth(dir, creds)}
extproc {
  address = "unix://${join(dir, 'extproc.sock')}"
  admin_address = "127.0.0.1:${adminPort}"
}
listener "tcp" {
  address = "127.0.0.1:${await freePort()}"
  tls_disable = true
}
cache {
  cache_static_secrets = true
  ${persist(dir)}
}
`);
    const env = { ...process.env };
    delete env['VAULT_ADDR'];
    return {
      dir, adminUrl: `http://127.0.0.1:${adminPort}`,
      serve: () => {
        const p = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', file, '--log-level', 'debug'], env);
        procs.push(p);
        return p;
      },
    };
  }

  async function status(url: string): Promise<number | undefined> {
    return (await fetch(url).catch(() => undefined))?.status;
  }

  const logged = (p: Proc, msg: string): Record<string, unknown> | undefined => p.jsonLines.find((l) => l['msg'] === msg);

  it('persist "kubernetes" (keep_after_import unset, Vault Agent\'s default): a new store is written; at the next start it is imported — the auto-auth token with it — and deleted', async () => {
    const s = await setup((dir) => {
      writeFileSync(join(dir, 'sa-token'), 'eyJhbGciOiJSUzI1NiJ9.service-account.jwt');
      return `persist "kubernetes" {
    path = "${join(dir, 'persist')}"
    key_file = "${join(dir, 'persist.key')}"
    service_account_token_file = "${join(dir, 'sa-token')}"
  }`;
    });
    const first = s.serve();
    await waitFor('ready', async () => ((await status(`${s.adminUrl}/readyz`)) === 200 ? true : undefined), 15_000);
    await sleep(300);
    await first.stop();
    expect(existsSync(join(s.dir, 'persist', STORE_FILE))).to.equal(true);
    const second = s.serve();
    await waitFor('the store imported', () => logged(second, 'loaded the persistent cache'), 15_000);
    expect(logged(second, 'loaded the persistent cache')).to.include({ autoAuthToken: true, refused: 0 });
    await waitFor('the store deleted', () => (existsSync(join(s.dir, 'persist', STORE_FILE)) ? undefined : true), 5_000);
    await waitFor('ready', async () => ((await status(`${s.adminUrl}/readyz`)) === 200 ? true : undefined), 15_000);
    await sleep(500);
    expect(existsSync(join(s.dir, 'persist', STORE_FILE))).to.equal(false);
    await second.stop();
  });

  it('persist "kubernetes" is bound to the service account token: another token refuses every record; with exit_on_err = true the process exits non-zero', async () => {
    const s = await setup((dir) => {
      writeFileSync(join(dir, 'sa-token'), 'eyJhbGciOiJSUzI1NiJ9.first-pod.jwt');
      return `persist "kubernetes" {
    path = "${join(dir, 'persist')}"
    key_file = "${join(dir, 'persist.key')}"
    service_account_token_file = "${join(dir, 'sa-token')}"
    keep_after_import = true
    exit_on_err = true
  }`;
    });
    const first = s.serve();
    await waitFor('ready', async () => ((await status(`${s.adminUrl}/readyz`)) === 200 ? true : undefined), 15_000);
    await sleep(300);
    await first.stop();
    writeFileSync(join(s.dir, 'sa-token'), 'eyJhbGciOiJSUzI1NiJ9.another-pod.jwt');
    const second = s.serve();
    const code = await Promise.race([second.exited, sleep(15_000).then(() => 'still running')]);
    expect(code).to.not.equal(0);
    expect(code).to.not.equal('still running');
    expect(second.text).to.include('persisted records were refused (exit_on_err = true)');
  });

  it('readiness "vault" (default): restarted on a store while Vault is unreachable, /readyz says not ready (with the reason) until Vault answers', async () => {
    const s = await setup((dir) => `persist "file" {
    path = "${join(dir, 'persist')}"
    key_file = "${join(dir, 'persist.key')}"
  }`);
    const first = s.serve();
    await waitFor('ready', async () => ((await status(`${s.adminUrl}/readyz`)) === 200 ? true : undefined), 15_000);
    await sleep(300);
    await first.stop();
    await backend.stop();
    const second = s.serve();
    await waitFor('healthz', async () => ((await status(`${s.adminUrl}/healthz`)) === 200 ? true : undefined), 15_000);
    await sleep(1_000);
    const r = await fetch(`${s.adminUrl}/readyz`);
    expect(r.status).to.equal(503);
    expect(JSON.stringify(await r.json())).to.include('Vault has not answered since the persisted cache was loaded');
    await backend.start();
    await waitFor('ready once Vault answers', async () => ((await status(`${s.adminUrl}/readyz`)) === 200 ? true : undefined), 30_000);
    await second.stop();
  });
});
