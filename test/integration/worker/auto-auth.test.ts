import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AppRoleMethod, TokenFileMethod } from '../../../src/config/types.js';
import { AppRoleAuth } from '../../../src/worker/auth/approle.js';
import { TokenFileAuth } from '../../../src/worker/auth/token-file.js';
import type { AuthMethod } from '../../../src/worker/auth/index.js';
import { AutoAuth, type Timers } from '../../../src/worker/auto-auth.js';
import { VaultClient } from '../../../src/vault/client.js';
import { forEachBackend, simOnly, startBackend, type Backend } from '../../support/backend.js';
import { setupAppRole, vaultApi } from '../../support/vault-setup.js';
import { freePort, waitFor } from '../../support/ports.js';

const silent = pino({ level: 'silent' });

interface Seen {
  tokens: string[];
  exits: Array<{ code: number; reason: string }>;
}

function startAutoAuth(vaultUrl: string, method: AuthMethod, extra: Partial<ConstructorParameters<typeof AutoAuth>[0]> = {}) {
  const seen: Seen = { tokens: [], exits: [] };
  const vault = new VaultClient({ address: vaultUrl, tlsSkipVerify: false, numRetries: 0 }, 2_000);
  const auto = new AutoAuth({
    vault, method, sinks: [], log: silent,
    minBackoffMs: 200, maxBackoffMs: 1_000, exitOnError: false, exitAfterAuth: false,
    onToken: (t) => seen.tokens.push(t.token),
    onExit: (code, reason) => seen.exits.push({ code, reason }),
    ...extra,
  });
  const done = auto.run();
  return { auto, seen, done, vault };
}

function approle(dir: string, creds: { roleId: string; secretId: string }, extra: Partial<AppRoleMethod> = {}): AppRoleMethod {
  writeFileSync(join(dir, 'role_id'), `${creds.roleId}\n`);
  writeFileSync(join(dir, 'secret_id'), `${creds.secretId}\n`);
  return {
    type: 'approle', mountPath: 'auth/approle', roleIdFilePath: join(dir, 'role_id'), secretIdFilePath: join(dir, 'secret_id'),
    removeSecretIdFileAfterReading: false, minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false, ...extra,
  };
}

forEachBackend('worker: auto-auth against Vault', function (kind) {
  this.timeout(30_000);
  let sim: Backend;
  let dir: string;
  const running: Array<{ auto: AutoAuth; done: Promise<void>; vault: VaultClient }> = [];

  beforeEach(async () => {
    sim = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-auth-'));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.auto.stop();
      await r.done;
      r.vault.close();
    }
    await sim.close();
  });

  function go(method: AuthMethod, extra: Partial<ConstructorParameters<typeof AutoAuth>[0]> = {}) {
    const r = startAutoAuth(sim.serviceUrl, method, extra);
    running.push(r);
    return r;
  }

  it('logs in with AppRole, writes the file sink with its mode, and the token works', async () => {
    const creds = await setupAppRole(sim, { policies: ['default'] });
    const sinkPath = join(dir, 'token');
    const { seen } = go(new AppRoleAuth(approle(dir, creds)), { sinks: [{ path: sinkPath, mode: 0o600 }] });
    const token = await waitFor('a token', () => seen.tokens[0]);
    expect(readFileSync(sinkPath, 'utf8')).to.equal(token);
    expect(statSync(sinkPath).mode & 0o777).to.equal(0o600);
    const self = await vaultApi(sim, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.path).to.equal('auth/approle/login');
  });

  it('removes the secret_id file after reading when asked, and still re-authenticates from memory', async () => {
    const creds = await setupAppRole(sim, { tokenTtl: '2s', tokenMaxTtl: '2s' });
    const method = approle(dir, creds, { removeSecretIdFileAfterReading: true });
    const { seen } = go(new AppRoleAuth(method));
    await waitFor('first token', () => seen.tokens[0]);
    expect(existsSync(method.secretIdFilePath!)).to.equal(false);
    await waitFor('a second login', () => (seen.tokens.length >= 2 ? true : undefined), 8_000);
    expect(seen.tokens[1]).not.to.equal(seen.tokens[0]);
  });

  it('unwraps a response-wrapped secret_id after checking its creation path', async () => {
    const creds = await setupAppRole(sim);
    const wrapped = await fetch(`${sim.url}/v1/auth/approle/role/app/secret-id`, {
      method: 'POST', headers: { 'x-vault-token': 'root', 'x-vault-wrap-ttl': '60s' },
    }).then((r) => r.json() as Promise<{ wrap_info: { token: string } }>);
    const method = approle(dir, { roleId: creds.roleId, secretId: wrapped.wrap_info.token }, {
      secretIdResponseWrappingPath: 'auth/approle/role/app/secret-id',
    });
    const { seen } = go(new AppRoleAuth(method));
    const token = await waitFor('a token', () => seen.tokens[0]);
    expect((await vaultApi(sim, 'GET', 'auth/token/lookup-self', undefined, token)).status).to.equal(200);
    expect(sim.requestsTo('/v1/sys/wrapping/unwrap')).to.have.length(1);
  });

  it('refuses a wrapping token created by another path', async () => {
    const creds = await setupAppRole(sim);
    const wrapped = await fetch(`${sim.url}/v1/auth/approle/role/app/secret-id`, {
      method: 'POST', headers: { 'x-vault-token': 'root', 'x-vault-wrap-ttl': '60s' },
    }).then((r) => r.json() as Promise<{ wrap_info: { token: string } }>);
    const method = approle(dir, { roleId: creds.roleId, secretId: wrapped.wrap_info.token }, {
      secretIdResponseWrappingPath: 'auth/approle/role/other/secret-id',
    });
    const { seen } = go(new AppRoleAuth(method));
    await waitFor('a refused login', () => (sim.requestsTo('/v1/sys/wrapping/lookup').length >= 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.tokens).to.deep.equal([]);
    expect(sim.requestsTo('/v1/sys/wrapping/unwrap')).to.deep.equal([]);
  });

  it('renews the token with renew-self before it expires', async () => {
    const creds = await setupAppRole(sim, { tokenTtl: '3s', tokenMaxTtl: '1h' });
    const { seen } = go(new AppRoleAuth(approle(dir, creds)));
    const token = await waitFor('a token', () => seen.tokens[0]);
    await waitFor('a renewal', () => (sim.requestsTo('/v1/auth/token/renew-self').length > 0 ? true : undefined), 5_000);
    const renewal = sim.requestsTo('/v1/auth/token/renew-self')[0]!;
    expect(renewal.token).to.equal(await sim.tokenAsSeen(token));
    expect(renewal.status).to.equal(200);
    expect(seen.tokens).to.have.length(1);
  });

  it('logs in again when renewal is refused because the token was revoked', async () => {
    const creds = await setupAppRole(sim, { tokenTtl: '3s', tokenMaxTtl: '1h' });
    const { seen } = go(new AppRoleAuth(approle(dir, creds)));
    const first = await waitFor('a token', () => seen.tokens[0]);
    await sim.revokeToken(first);
    const second = await waitFor('a new token', () => seen.tokens[1], 6_000);
    expect(second).not.to.equal(first);
    expect((await vaultApi(sim, 'GET', 'auth/token/lookup-self', undefined, second)).status).to.equal(200);
  });

  it('checks the token at once when ext_proc suspects it, and logs in again if it was revoked', async () => {
    const creds = await setupAppRole(sim, { tokenTtl: '1h' });
    const { auto, seen } = go(new AppRoleAuth(approle(dir, creds)));
    const first = await waitFor('a token', () => seen.tokens[0]);
    await sim.revokeToken(first);
    auto.suspect();
    const second = await waitFor('a new token', () => seen.tokens[1], 3_000);
    expect(second).not.to.equal(first);
  });

  it('uses the token of a token_file and renews it', async () => {
    const created = await vaultApi(sim, 'POST', 'auth/token/create', { policies: ['default'], ttl: '3s' });
    const token = created.json.auth.client_token as string;
    const path = join(dir, 'vault-token');
    writeFileSync(path, `${token}\n`);
    const method: TokenFileMethod = { type: 'token_file', mountPath: 'auth/token_file', tokenFilePath: path, minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false };
    const { seen } = go(new TokenFileAuth(method));
    expect(await waitFor('the file token', () => seen.tokens[0])).to.equal(token);
    await waitFor('a renewal', () => (sim.requestsTo('/v1/auth/token/renew-self').length > 0 ? true : undefined), 5_000);
  });

  it('exit_after_auth: asks to exit with 0 after the first login and the sinks', async () => {
    const creds = await setupAppRole(sim);
    const sinkPath = join(dir, 'sink');
    const { seen, done } = go(new AppRoleAuth(approle(dir, creds)), { exitAfterAuth: true, sinks: [{ path: sinkPath, mode: 0o640 }] });
    await done;
    expect(seen.exits).to.deep.equal([{ code: 0, reason: 'exit_after_auth' }]);
    expect(readFileSync(sinkPath, 'utf8')).to.equal(seen.tokens[0]);
  });

  // No Vault at all (a dead port): registered once, with the simulator's suite.
  simOnly(kind)('backs off exponentially, with jitter, while Vault is down — no hot loop', async () => {
    const deadPort = await freePort();
    const delays: number[] = [];
    let now = 0;
    const timers: Timers = {
      now: () => now,
      sleep: async (ms) => {
        delays.push(ms);
        now += ms;
        if (delays.length >= 12) r.auto.stop();
      },
    };
    writeFileSync(join(dir, 'role_id'), 'r');
    writeFileSync(join(dir, 'secret_id'), 's');
    const r = startAutoAuth(`http://127.0.0.1:${deadPort}`, new AppRoleAuth(approle(dir, { roleId: 'r', secretId: 's' })), {
      minBackoffMs: 1_000, maxBackoffMs: 300_000, timers, random: () => 0.5,
    });
    running.push(r);
    await r.done;
    const steps = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map((s) => s * 1000 * 0.875);
    expect(delays).to.deep.equal(steps);
    expect(r.seen.tokens).to.deep.equal([]);
  });
});
