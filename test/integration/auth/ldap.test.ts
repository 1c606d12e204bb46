import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LdapMethod } from '../../../src/config/types.js';
import { VaultResponseError } from '../../../src/errors.js';
import { LdapAuth } from '../../../src/worker/auth/ldap.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { startSlapd, type Slapd } from '../../support/slapd.js';
import { setupLdapAuth } from '../../support/ldap-auth.js';
import { vaultApi, writePolicy } from '../../support/vault-setup.js';

function ldapMethod(passwordFilePath: string, extra: Partial<LdapMethod> = {}): LdapMethod {
  return {
    type: 'ldap', mountPath: 'auth/ldap', username: 'alice', passwordFilePath, removePasswordAfterReading: true,
    removePasswordFollowsSymlinks: false, minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false, ...extra,
  };
}

forEachBackend('auth: ldap auto-auth against slapd', function (kind) {
  this.timeout(40_000);
  let slapd: Slapd;
  let backend: Backend;
  let dir: string;
  const runs: AutoAuthRun[] = [];

  before(async () => {
    slapd = await startSlapd([{ uid: 'alice', password: 'alice-pw' }, { uid: 'bob', password: 'bob-pw' }], [{ cn: 'Devs', members: ['alice'] }]);
  });
  after(async () => {
    await slapd?.stop();
  });
  beforeEach(async () => {
    backend = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-ldap-'));
  });
  afterEach(async function () {
    for (const r of runs.splice(0)) await r.stop();
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${backend.logs()}\n${slapd.logs()}\n`);
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function go(method: LdapMethod): AutoAuthRun {
    const r = runAutoAuth({ address: backend.serviceUrl }, new LdapAuth(method));
    runs.push(r);
    return r;
  }

  it('logs in as the LDAP user with the password file: a token with the user\'s policies that reads the secret; the file is removed', async () => {
    await setupLdapAuth(backend, slapd);
    const file = join(dir, 'password');
    writeFileSync(file, 'alice-pw');
    const { tokens } = go(ldapMethod(file));
    const token = await waitFor('a token', () => tokens[0]);
    const self = (await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token)).json.data;
    expect(self.path).to.equal('auth/ldap/login/alice');
    expect(self.policies).to.deep.equal(['default', 'ldap-app']);
    expect(self.meta).to.deep.equal({ username: 'alice' });
    const secret = await vaultApi(backend, 'GET', 'secret/data/ldap-app', undefined, token);
    expect(secret.json.data.data).to.deep.equal({ who: 'ldap' });
    expect(existsSync(file), 'remove_password_after_reading defaults to true').to.equal(false);
    const logins = backend.requestsTo('/v1/auth/ldap/login/alice');
    expect(logins.map((r) => r.status)).to.deep.equal([200]);
  });

  it('logs in again after the token is revoked, with the password read before (its file is gone)', async () => {
    await setupLdapAuth(backend, slapd, { tokenTtl: '3s' });
    const file = join(dir, 'password');
    writeFileSync(file, 'alice-pw');
    const { tokens } = go(ldapMethod(file));
    const first = await waitFor('a token', () => tokens[0]);
    await backend.revokeToken(first);
    const second = await waitFor('a new token', () => tokens[1], 8_000);
    expect(second).not.to.equal(first);
    expect((await vaultApi(backend, 'GET', 'secret/data/ldap-app', undefined, second)).status).to.equal(200);
    expect(backend.requestsTo('/v1/auth/ldap/login/alice').map((r) => r.status)).to.deep.equal([200, 200]);
  });

  it('a new password file is read at the next login: the LDAP password changed, the new one logs in', async () => {
    await setupLdapAuth(backend, slapd, { tokenTtl: '3s' });
    const file = join(dir, 'password');
    writeFileSync(file, 'bob-pw');
    const { tokens } = go(ldapMethod(file, { username: 'bob', removePasswordAfterReading: false }));
    const first = await waitFor('a token', () => tokens[0]);
    await slapd.setPassword('bob', 'bob-pw-2');
    try {
      writeFileSync(file, 'bob-pw-2');
      await backend.revokeToken(first);
      const second = await waitFor('a token with the new password', () => tokens[1], 8_000);
      expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, second)).json.data.path).to.equal('auth/ldap/login/bob');
      expect(existsSync(file), 'remove_password_after_reading = false keeps the file').to.equal(true);
    } finally {
      await slapd.setPassword('bob', 'bob-pw');
    }
  });

  it('enable_reauth_on_new_credentials: a new password file leads to a new login with it, without waiting for the token', async () => {
    await setupLdapAuth(backend, slapd);
    const file = join(dir, 'password');
    writeFileSync(file, 'bob-pw');
    const r = runAutoAuth({ address: backend.serviceUrl }, new LdapAuth(ldapMethod(file, { username: 'bob' })), { reauthOnNewCredentials: true, credentialPollMs: 200 });
    runs.push(r);
    const first = await waitFor('a token', () => r.tokens[0]);
    expect(existsSync(file)).to.equal(false);
    await slapd.setPassword('bob', 'bob-pw-3');
    try {
      writeFileSync(file, 'bob-pw-3');
      const second = await waitFor('a login with the new password', () => r.tokens[1], 8_000);
      expect(second).not.to.equal(first);
      expect(backend.requestsTo('/v1/auth/ldap/login/bob').map((x) => x.status)).to.deep.equal([200, 200]);
      expect(existsSync(file), 'the new file is removed after reading too').to.equal(false);
    } finally {
      await slapd.setPassword('bob', 'bob-pw');
    }
  });

  it('remove_password_follows_symlinks removes the link\'s target, not the link', async () => {
    await setupLdapAuth(backend, slapd);
    const target = join(dir, 'real-password');
    const link = join(dir, 'password');
    writeFileSync(target, 'alice-pw');
    symlinkSync(target, link);
    const { tokens } = go(ldapMethod(link, { removePasswordFollowsSymlinks: true }));
    await waitFor('a token', () => tokens[0]);
    expect(existsSync(target)).to.equal(false);
  });

  it('conformance: the login answer as Vault gives it (empty data, the "no LDAP groups" warning, the user\'s policies)', async () => {
    await setupLdapAuth(backend, slapd);
    const res = await fetch(`${backend.url}/v1/auth/ldap/login/alice`, { method: 'POST', body: JSON.stringify({ password: 'alice-pw' }) });
    const json = await res.json() as any;
    expect(res.status).to.equal(200);
    expect(json.data).to.deep.equal({});
    expect(json.warnings).to.deep.equal(['no LDAP groups found in groupDN ""; only policies from locally-defined groups available']);
    expect(json.auth).to.deep.include({ policies: ['default', 'ldap-app'], token_policies: ['default', 'ldap-app'], metadata: { username: 'alice' }, renewable: true, lease_duration: 2764800 });
  });

  it('conformance: LDAP group membership (groupdn, the default groupfilter and groupattr cn) gives the policies of the mount\'s group of that name', async () => {
    await setupLdapAuth(backend, slapd, { groupdn: true });
    await writePolicy(backend, 'ldap-devs', 'path "secret/data/ldap-devs" { capabilities = ["read"] }');
    await vaultApi(backend, 'POST', 'auth/ldap/groups/devs', { policies: 'ldap-devs' });
    const login = async (user: string, password: string): Promise<any> => {
      const res = await fetch(`${backend.url}/v1/auth/ldap/login/${user}`, { method: 'POST', body: JSON.stringify({ password }) });
      expect(res.status).to.equal(200);
      return res.json();
    };
    const alice = await login('alice', 'alice-pw');
    expect(alice.warnings).to.equal(null);
    expect(alice.auth.policies).to.deep.equal(['default', 'ldap-app', 'ldap-devs']);
    const bob = await login('bob', 'bob-pw');
    expect(bob.warnings).to.deep.equal([`no LDAP groups found in groupDN "${slapd.groupsDn}"; only policies from locally-defined groups available`]);
    expect(bob.auth.policies).to.deep.equal(['default']);
  });

  it('conformance: a wrong password is refused by the LDAP bind with Vault\'s 400 and error text; no token', async () => {
    await setupLdapAuth(backend, slapd);
    const file = join(dir, 'password');
    writeFileSync(file, 'not-alices-password');
    const vault = new VaultClient({ address: backend.serviceUrl, tlsSkipVerify: false, numRetries: 0 });
    try {
      const err = await new LdapAuth(ldapMethod(file)).login(vault).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(VaultResponseError);
      expect((err as VaultResponseError).status).to.equal(400);
      expect((err as VaultResponseError).errors).to.deep.equal(['ldap operation failed: failed to bind as user']);
    } finally {
      vault.close();
    }
    // The raw body too, as a client sees it.
    const raw = await fetch(`${backend.url}/v1/auth/ldap/login/nobody`, { method: 'POST', body: JSON.stringify({ password: 'x' }) });
    expect(raw.status).to.equal(400);
    expect(await raw.json()).to.deep.equal({ errors: ['ldap operation failed: failed to bind as user'] });
  });

  it('the password is the file\'s bytes as they are (as Vault Agent reads it): a trailing newline is part of it and the bind fails', async () => {
    await setupLdapAuth(backend, slapd);
    const file = join(dir, 'password');
    writeFileSync(file, 'alice-pw\n');
    const vault = new VaultClient({ address: backend.serviceUrl, tlsSkipVerify: false, numRetries: 0 });
    try {
      const err = await new LdapAuth(ldapMethod(file, { removePasswordAfterReading: false })).login(vault).then(() => undefined, (e: unknown) => e);
      expect((err as VaultResponseError).status).to.equal(400);
    } finally {
      vault.close();
    }
    const sent = backend.requestsTo('/v1/auth/ldap/login/alice');
    expect(sent).to.have.length(1);
  });
});
