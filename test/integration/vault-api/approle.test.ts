// The AppRole auth method and response wrapping: the same tests against the simulator and a
// real Vault.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { UUID, mountType, sleep } from './support.js';

forEachBackend('Vault API: AppRole and wrapping', (kind) => {
  let backend: Backend;
  let vault: SimClient;

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    expect((await vault.call('POST', 'secret/data/app/db', { body: { data: { pw: 'x' } } })).status).to.equal(200);
  });

  after(async function () {
    await backend?.close();
  });

  describe('AppRole', function () {
    before(async function () {
      expect((await vault.call('POST', 'sys/auth/approle', { body: { type: 'approle' } })).status).to.equal(204);
      await vault.writePolicy('app-read', 'path "secret/data/app/*" { capabilities = ["read"] }');
      const role = await vault.call('POST', 'auth/approle/role/web', {
        body: { token_policies: ['app-read'], token_ttl: '1s', token_max_ttl: '2s' },
      });
      expect(role.status).to.equal(204);
    });

    async function credentials(role = 'web', secretBody: Record<string, unknown> = {}): Promise<{ roleId: string; secretId: string }> {
      const roleId = (await vault.call('GET', `auth/approle/role/${role}/role-id`)).json.data.role_id as string;
      const secretId = (await vault.call('POST', `auth/approle/role/${role}/secret-id`, { body: secretBody })).json.data.secret_id as string;
      return { roleId, secretId };
    }

    it('logs in without a token and returns an orphan, renewable login token', async function () {
      this.timeout(10_000);
      const { roleId, secretId } = await credentials();
      expect(roleId).to.match(UUID);
      const login = await vault.call('POST', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: secretId } });
      expect(login.status).to.equal(200);
      expect(login.json.mount_type).to.equal(mountType(kind, 'approle'));
      expect(login.json.auth).to.deep.include({
        policies: ['app-read', 'default'], token_policies: ['app-read', 'default'], metadata: { role_name: 'web' },
        lease_duration: 1, renewable: true, token_type: 'service', orphan: true, mfa_requirement: null,
      });
      expect(login.json.auth.entity_id).to.match(UUID);
      const token = login.json.auth.client_token as string;
      const self = await vault.call('GET', 'auth/token/lookup-self', { token });
      expect(self.json.data).to.deep.include({ path: 'auth/approle/login', display_name: 'approle', meta: { role_name: 'web' } });
      const renew = await vault.call('POST', 'auth/token/renew-self', { token, body: { increment: 3600 } });
      expect(renew.status).to.equal(200);
      expect(renew.json.auth.lease_duration).to.be.within(1, 2);
      expect(renew.json.warnings[0]).to.contain('TTL value is capped accordingly');
      await sleep(2100);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token })).status).to.equal(403);
    });

    it('rejects bad credentials with 400 and honours secret_id_num_uses', async function () {
      const { roleId, secretId } = await credentials();
      const wrong = await vault.call('POST', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: 'nope' } });
      expect(wrong.status).to.equal(400);
      expect(wrong.json).to.deep.equal({ errors: ['invalid role or secret ID'] });
      const unknownRole = await vault.call('POST', 'auth/approle/login', { token: null, body: { role_id: 'nope', secret_id: secretId } });
      expect(unknownRole.json).to.deep.equal({ errors: ['invalid role or secret ID'] });
      const missing = await vault.call('POST', 'auth/approle/login', { token: null, body: { secret_id: secretId } });
      // Vault's user-lockout check needs the role_id (the alias name) before the login runs.
      expect(missing.status).to.equal(500);
      expect(missing.json).to.deep.equal({ errors: ['failed to determine alias name from login request'] });

      const once = await credentials('web', { num_uses: 1 });
      const body = { role_id: once.roleId, secret_id: once.secretId };
      expect((await vault.call('POST', 'auth/approle/login', { token: null, body })).status).to.equal(200);
      const again = await vault.call('POST', 'auth/approle/login', { token: null, body });
      expect(again.status).to.equal(400);
      expect(again.json.errors).to.deep.equal(['invalid role or secret ID']);
    });
  });

  describe('response wrapping', function () {
    it('wraps a secret-id, and unwraps it exactly once', async function () {
      const wrapped = await vault.call('POST', 'auth/approle/role/web/secret-id', { body: {}, headers: { 'X-Vault-Wrap-TTL': '60s' } });
      expect(wrapped.status).to.equal(200);
      expect(wrapped.json).to.deep.include({ request_id: '', lease_id: '', renewable: false, lease_duration: 0, data: null, warnings: null, auth: null });
      const info = wrapped.json.wrap_info;
      expect(info).to.include({ ttl: 60, creation_path: 'auth/approle/role/web/secret-id' });
      expect(info.token).to.match(/^hvs\./);
      expect(info.wrapped_accessor).to.match(UUID);
      expect(info.creation_time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

      const lookup = await vault.call('POST', 'sys/wrapping/lookup', { token: null, body: { token: info.token } });
      expect(lookup.json.data).to.deep.equal({ creation_path: 'auth/approle/role/web/secret-id', creation_time: info.creation_time, creation_ttl: 60 });

      const unwrap = await vault.call('POST', 'sys/wrapping/unwrap', { token: info.token });
      expect(unwrap.status).to.equal(200);
      expect(unwrap.json.data.secret_id_accessor).to.equal(info.wrapped_accessor);
      expect(unwrap.json.data).to.have.all.keys('secret_id', 'secret_id_accessor', 'secret_id_num_uses', 'secret_id_ttl');
      const roleId = (await vault.call('GET', 'auth/approle/role/web/role-id')).json.data.role_id as string;
      const login = await vault.call('POST', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: unwrap.json.data.secret_id } });
      expect(login.status).to.equal(200);

      for (const again of [
        await vault.call('POST', 'sys/wrapping/unwrap', { token: info.token }),
        await vault.call('POST', 'sys/wrapping/unwrap', { body: { token: info.token } }),
      ]) {
        expect(again.status).to.equal(400);
        expect(again.json).to.deep.equal({ errors: ['wrapping token is not valid or does not exist'] });
      }
    });

    it('unwraps for a third party, and wrapping tokens expire', async function () {
      this.timeout(10_000);
      const wrapped = await vault.call('GET', 'secret/data/app/db', { headers: { 'X-Vault-Wrap-TTL': '5m' } });
      const unwrap = await vault.call('POST', 'sys/wrapping/unwrap', { body: { token: wrapped.json.wrap_info.token } });
      expect(unwrap.status).to.equal(200);
      expect(unwrap.json.data.data).to.deep.equal({ pw: 'x' });
      expect(unwrap.json.mount_type).to.equal(mountType(kind, 'kv'));

      const short = await vault.call('GET', 'secret/data/app/db', { headers: { 'X-Vault-Wrap-TTL': '1' } });
      await sleep(1100);
      const late = await vault.call('POST', 'sys/wrapping/unwrap', { token: short.json.wrap_info.token });
      expect(late.status).to.equal(400);
      expect(late.json.errors).to.deep.equal(['wrapping token is not valid or does not exist']);
    });
  });
});
