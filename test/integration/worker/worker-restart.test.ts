// A restarted worker takes its predecessor's auto-auth token over (AutoAuth `adopt`), on both
// backends: a token Vault still honours is renewed at once and used — no login, so what hangs off
// it in the lease cache stays; one Vault refuses (revoked) means a login as usual.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AppRoleMethod } from '../../../src/config/types.js';
import { AppRoleAuth } from '../../../src/worker/auth/approle.js';
import { AutoAuth } from '../../../src/worker/auto-auth.js';
import { VaultClient } from '../../../src/vault/client.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { setupAppRole, vaultApi } from '../../support/vault-setup.js';

const silent = pino({ level: 'silent' });

forEachBackend('worker restart: the new worker takes the auto-auth token over', function (kind) {
  this.timeout(30_000);
  let backend: Backend;
  let method: AppRoleMethod;
  const running: Array<{ auto: AutoAuth; done: Promise<void>; vault: VaultClient }> = [];

  before(async () => {
    backend = await startBackend(kind);
    const creds = await setupAppRole(backend, { role: 'adopt', policies: ['default'], tokenTtl: '1h' });
    const dir = mkdtempSync(join(tmpdir(), 'vxp-adopt-'));
    writeFileSync(join(dir, 'role_id'), creds.roleId);
    writeFileSync(join(dir, 'secret_id'), creds.secretId);
    method = {
      type: 'approle', mountPath: 'auth/approle', roleIdFilePath: join(dir, 'role_id'), secretIdFilePath: join(dir, 'secret_id'),
      removeSecretIdFileAfterReading: false, minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false,
    };
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.auto.stop();
      await r.done;
      r.vault.close();
    }
  });
  after(async () => backend.close());

  /** A login as the old worker made it: the token and its numbers then. */
  async function previousLogin(): Promise<{ token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }> {
    const r = await fetch(`${backend.url}/v1/auth/approle/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role_id: readFileSync(method.roleIdFilePath, 'utf8'), secret_id: readFileSync(method.secretIdFilePath!, 'utf8') }),
    });
    const auth = ((await r.json()) as { auth: { client_token: string; lease_duration: number; renewable: boolean } }).auth;
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable, obtainedAtMs: Date.now() - 5_000 };
  }

  function start(adopt: Awaited<ReturnType<typeof previousLogin>>) {
    const tokens: string[] = [];
    const vault = new VaultClient({ address: backend.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 2_000);
    const auto = new AutoAuth({
      vault, method: new AppRoleAuth(method), sinks: [], log: silent, minBackoffMs: 200, maxBackoffMs: 1_000,
      exitOnError: false, exitAfterAuth: false, adopt,
      onToken: (t) => tokens.push(t.token), onExit: () => undefined,
    });
    const r = { auto, done: auto.run(), vault };
    running.push(r);
    return tokens;
  }

  it('a token Vault honours: renewed at once (renew-self), handed on, no login', async () => {
    const old = await previousLogin();
    backend.clearRequests();
    const tokens = start(old);
    // Compared as booleans: a failure never prints a token.
    expect(await waitFor('the adopted token', () => tokens[0]) === old.token, 'the previous token handed on').to.equal(true);
    const seen = await backend.tokenAsSeen(old.token);
    expect(backend.requestsTo('/v1/auth/token/renew-self').filter((r) => r.token === seen && r.status === 200)).to.have.length(1);
    expect(backend.requestsTo('/v1/auth/approle/login')).to.have.length(0);
  });

  it('a token Vault refuses (revoked while no worker ran): a login, and the new token handed on', async () => {
    const old = await previousLogin();
    await backend.revokeToken(old.token);
    backend.clearRequests();
    const tokens = start(old);
    const token = await waitFor('a token', () => tokens[0]);
    expect(tokens.includes(old.token), 'the revoked token handed on').to.equal(false);
    expect(backend.requestsTo('/v1/auth/approle/login')).to.have.length(1);
    const self = await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.path).to.equal('auth/approle/login');
  });
});
