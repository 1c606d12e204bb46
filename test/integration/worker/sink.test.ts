// A token sink that cannot be written must not cost Vault anything: the worker logs in once, uses
// the token, and retries the sink on its own (before, every failed write meant another login: a
// sink directory that did not exist made 13 → 22 live tokens in 10 s).
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AppRoleAuth } from '../../../src/worker/auth/approle.js';
import { AutoAuth } from '../../../src/worker/auto-auth.js';
import { VaultClient } from '../../../src/vault/client.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { sleep, waitFor } from '../../support/ports.js';
import { setupAppRole } from '../../support/vault-setup.js';

forEachBackend('worker: a token sink that cannot be written', function (kind) {
  this.timeout(30_000);
  let vault: Backend;
  let dir: string;
  const running: Array<{ auto: AutoAuth; done: Promise<void>; client: VaultClient }> = [];

  beforeEach(async () => {
    vault = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-sink-'));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.auto.stop();
      await r.done;
      r.client.close();
    }
    await vault.close();
  });

  async function start(sinkPath: string, exitAfterAuth = false) {
    const creds = await setupAppRole(vault, { policies: ['default'] });
    writeFileSync(join(dir, 'role_id'), creds.roleId);
    writeFileSync(join(dir, 'secret_id'), creds.secretId);
    const client = new VaultClient({ address: vault.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 2_000);
    const seen = { tokens: [] as string[], exits: [] as number[] };
    const auto = new AutoAuth({
      vault: client,
      method: new AppRoleAuth({
        type: 'approle', mountPath: 'auth/approle', roleIdFilePath: join(dir, 'role_id'), secretIdFilePath: join(dir, 'secret_id'),
        removeSecretIdFileAfterReading: false, minBackoffSeconds: 1, maxBackoffSeconds: 1, exitOnError: false,
      }),
      sinks: [{ path: sinkPath, mode: 0o600 }],
      log: pino({ level: 'silent' }),
      // Before the fix a failed sink write meant a new login after min_backoff: 200 ms here.
      minBackoffMs: 200, maxBackoffMs: 1_000, exitOnError: false, exitAfterAuth,
      onToken: (t) => seen.tokens.push(t.token),
      onExit: (code) => seen.exits.push(code),
    });
    vault.clearRequests();
    const done = auto.run();
    running.push({ auto, done, client });
    return seen;
  }

  const logins = (): number => vault.requestsTo('/v1/auth/approle/login').length;

  it('a missing sink directory: one login in 4 s, the token is used, and the sink is written once the directory exists', async () => {
    const sinkDir = join(dir, 'not-yet');
    const seen = await start(join(sinkDir, 'token'));
    const token = await waitFor('the token handed to ext_proc', () => seen.tokens[0]);
    await sleep(4_000);
    expect(logins()).to.equal(1);
    expect(seen.tokens).to.deep.equal([token]);
    mkdirSync(sinkDir);
    await waitFor('the sink written', () => (existsSync(join(sinkDir, 'token')) ? true : undefined), 5_000);
    expect(readFileSync(join(sinkDir, 'token'), 'utf8')).to.equal(token);
    expect(logins()).to.equal(1);
  });

  it('exit_after_auth waits for the sink instead of logging in again, then exits 0', async () => {
    const sinkDir = join(dir, 'later');
    const seen = await start(join(sinkDir, 'token'), true);
    await waitFor('the token handed to ext_proc', () => seen.tokens[0]);
    await sleep(2_000);
    expect(seen.exits).to.deep.equal([]);
    mkdirSync(sinkDir);
    await waitFor('the exit', () => (seen.exits.length > 0 ? true : undefined), 5_000);
    expect(seen.exits).to.deep.equal([0]);
    expect(readFileSync(join(sinkDir, 'token'), 'utf8')).to.equal(seen.tokens[0]);
    expect(logins()).to.equal(1);
  });
});
