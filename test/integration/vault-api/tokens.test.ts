// The token store and ACL policies: create/lookup/renew/revoke, TTLs that really expire,
// parent/child revocation, policy parsing and request-time evaluation; the same tests against the
// simulator and a real Vault.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { DENIED, mountType, sleep } from './support.js';

forEachBackend('Vault API: tokens and policies', (kind) => {
  let backend: Backend;
  let vault: SimClient;

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
  });

  after(async function () {
    await backend?.close();
  });

  describe('token auth', function () {
    it('has a dev root token made by auth/token/create: orphan, never expiring, not renewable', async function () {
      const self = await vault.call('GET', 'auth/token/lookup-self');
      expect(self.status).to.equal(200);
      expect(Object.keys(self.json.data).sort()).to.deep.equal([
        'accessor', 'creation_time', 'creation_ttl', 'display_name', 'entity_id', 'expire_time', 'explicit_max_ttl', 'id',
        'issue_time', 'meta', 'num_uses', 'orphan', 'path', 'policies', 'renewable', 'ttl', 'type',
      ]);
      expect(self.json.data).to.deep.include({
        id: backend.rootToken, policies: ['root'], path: 'auth/token/create', display_name: 'token', meta: null, num_uses: 0,
        orphan: true, creation_ttl: 0, ttl: 0, expire_time: null, explicit_max_ttl: 0, entity_id: '', type: 'service', renewable: false,
      });
      expect(self.json.data.accessor).to.match(/^[A-Za-z0-9]{24}$/);
      expect(self.json.data.issue_time).to.match(/^\d{4}-\d\d-\d\dT/);
    });

    it('gives a child of root with no policies the root policy, no TTL and no renewal', async function () {
      const res = await vault.call('POST', 'auth/token/create', { body: {} });
      expect(res.status).to.equal(200);
      expect(res.json.data).to.equal(null);
      expect(res.json.mount_type).to.equal(mountType(kind, 'token'));
      const auth = res.json.auth;
      expect(Object.keys(auth)).to.deep.equal([
        'client_token', 'accessor', 'policies', 'token_policies', 'metadata', 'lease_duration', 'renewable',
        'entity_id', 'token_type', 'orphan', 'mfa_requirement', 'num_uses',
      ]);
      // A root token is not signed: the short form.
      expect(auth.client_token).to.match(/^hvs\.[A-Za-z0-9]{24}$/);
      expect(auth.accessor).to.match(/^[A-Za-z0-9]{24}$/);
      expect(auth).to.deep.include({
        policies: ['root'], token_policies: ['root'], metadata: null, lease_duration: 0, renewable: false,
        entity_id: '', token_type: 'service', orphan: false, mfa_requirement: null, num_uses: 0,
      });
      const renew = await vault.call('POST', 'auth/token/renew-self', { token: auth.client_token, body: {} });
      expect(renew.status).to.equal(400);
      expect(renew.json.errors).to.deep.equal(['lease is not renewable']);
      const rootRenew = await vault.call('POST', 'auth/token/renew-self', { body: {} });
      expect(rootRenew.status).to.equal(400);
      expect(rootRenew.json.errors).to.deep.equal(['lease is not renewable']);
    });

    it('creates tokens with policies, default added, and reports them on lookup', async function () {
      const create = await vault.call('POST', 'auth/token/create', {
        body: { policies: ['ghost-b', 'Ghost-A'], ttl: '1h', meta: { team: 'a' }, display_name: 'ci job' },
      });
      expect(create.json.auth.policies).to.deep.equal(['default', 'ghost-a', 'ghost-b']);
      // Other service tokens are the signed (server-side consistent) form, always 95 characters.
      expect(create.json.auth.client_token).to.match(/^hvs\.CAESI[A-Za-z0-9_-]{86}$/);
      expect(create.json.auth.lease_duration).to.equal(3600);
      expect(create.json.auth.renewable).to.equal(true);
      expect(create.json.warnings).to.deep.equal(['Policy "ghost-a" does not exist', 'Policy "ghost-b" does not exist']);
      const token = create.json.auth.client_token as string;
      const self = await vault.call('GET', 'auth/token/lookup-self', { token });
      expect(self.status).to.equal(200);
      const data = self.json.data;
      expect(data).to.deep.include({
        id: token, accessor: create.json.auth.accessor, policies: ['default', 'ghost-a', 'ghost-b'], path: 'auth/token/create',
        meta: { team: 'a' }, display_name: 'token-ci-job', num_uses: 0, orphan: false, creation_ttl: 3600,
        explicit_max_ttl: 0, entity_id: '', type: 'service', renewable: true,
      });
      expect(data.ttl).to.be.within(3598, 3600);
      expect(data.expire_time).to.be.a('string');
      expect(data.issue_time).to.be.a('string');
      const other = await vault.call('POST', 'auth/token/lookup', { body: { token } });
      expect(other.json.data.id).to.equal(token);
      const bad = await vault.call('POST', 'auth/token/lookup', { body: { token: 'hvs.unknown' } });
      expect(bad.status).to.equal(403);
      expect(bad.json).to.deep.equal({ errors: ['bad token'] });
      const byAccessor = await vault.call('POST', 'auth/token/lookup-accessor', { body: { accessor: create.json.auth.accessor } });
      expect(byAccessor.json.data.id).to.equal('');
    });

    it('expires tokens on the wall clock and caps renewals at the max TTL', async function () {
      this.timeout(10_000);
      const shortLived = await vault.tokenWith(['default'], { ttl: '1s' });
      const capped = await vault.tokenWith(['default'], { ttl: 1, explicit_max_ttl: '2s' });
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: shortLived })).status).to.equal(200);
      const renew = await vault.call('POST', 'auth/token/renew-self', { token: capped, body: { increment: '1h' } });
      expect(renew.status).to.equal(200);
      expect(renew.json.auth.lease_duration).to.be.within(1, 2);
      expect(renew.json.warnings[0]).to.match(/^TTL of "1h" exceeded the effective max_ttl of "[12]s"; TTL value is capped accordingly$/);
      await sleep(1200);
      const expired = await vault.call('GET', 'auth/token/lookup-self', { token: shortLived });
      expect(expired.status).to.equal(403);
      expect(expired.json).to.deep.equal({ errors: ['permission denied'] });
      await sleep(1000);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: capped })).status).to.equal(403);
      expect((await vault.call('POST', 'auth/token/lookup', { body: { token: capped } })).status).to.equal(403);
    });

    it('revokes non-orphan children with their parent, and leaves orphans alone', async function () {
      await vault.writePolicy('maker', [
        'path "auth/token/create*" { capabilities = ["update"] }',
        'path "auth/token/revoke-orphan" { capabilities = ["update"] }',
      ].join('\n'));
      const parent = await vault.tokenWith(['maker']);
      const child = (await vault.call('POST', 'auth/token/create', { token: parent, body: {} })).json.auth.client_token as string;
      const grandchild = (await vault.call('POST', 'auth/token/create', { token: child, body: {} })).json.auth.client_token as string;
      const orphan = await vault.call('POST', 'auth/token/create-orphan', { token: parent, body: {} });
      expect(orphan.json.auth.orphan).to.equal(true);
      const revoke = await vault.call('POST', 'auth/token/revoke-self', { token: parent });
      expect(revoke.status).to.equal(204);
      for (const gone of [parent, child, grandchild]) {
        expect((await vault.call('GET', 'auth/token/lookup-self', { token: gone })).status).to.equal(403);
      }
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: orphan.json.auth.client_token })).status).to.equal(200);
    });

    it('revoke-orphan keeps the children, and the test backdoor revokes a tree', async function () {
      const parent = await vault.tokenWith(['maker']);
      const child = (await vault.call('POST', 'auth/token/create', { token: parent, body: {} })).json.auth.client_token as string;
      const denied = await vault.call('POST', 'auth/token/revoke-orphan', { token: parent, body: { token: parent } });
      // `revoke-orphan` is one of the token store's root paths: without sudo the ACL says no.
      expect(denied.status).to.equal(403);
      expect(denied.json).to.deep.equal({ errors: [DENIED] });
      expect((await vault.call('POST', 'auth/token/revoke-orphan', { body: { token: parent } })).status).to.equal(204);
      const lookup = await vault.call('GET', 'auth/token/lookup-self', { token: child });
      expect(lookup.status).to.equal(200);
      expect(lookup.json.data.orphan).to.equal(true);

      const other = await vault.tokenWith(['maker']);
      const otherChild = (await vault.call('POST', 'auth/token/create', { token: other, body: {} })).json.auth.client_token as string;
      await backend.revokeToken(other);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: otherChild })).status).to.equal(403);
      const byAccessor = await vault.call('POST', 'auth/token/revoke-accessor', { body: { accessor: 'nope' } });
      expect(byAccessor.status).to.equal(200);
      expect(byAccessor.json.warnings).to.deep.equal(['No token found with this accessor']);
    });

    it('refuses child policies outside the parent, and unknown roles', async function () {
      const parent = await vault.tokenWith(['maker']);
      const res = await vault.call('POST', 'auth/token/create', { token: parent, body: { policies: ['admin'] } });
      expect(res.status).to.equal(400);
      expect(res.json.errors).to.deep.equal(['child policies must be subset of parent']);
      // The handler parses the durations itself; other fields go through the framework's validation.
      expect((await vault.call('POST', 'auth/token/create', { body: { ttl: 'soon' } })).json.errors).to.deep.equal(['time: invalid duration "soon"']);
      expect((await vault.call('POST', 'auth/token/create', { body: { num_uses: 'x' } })).json.errors).to.deep.equal([
        'Field validation failed: error converting input x for field "num_uses": cannot parse \'\' as int: strconv.ParseInt: parsing "x": invalid syntax',
      ]);
      const role = await vault.call('POST', 'auth/token/create/nope', { body: {} });
      expect(role.status).to.equal(400);
      expect(role.json.errors).to.deep.equal(['unknown role nope']);
      expect((await vault.call('POST', 'auth/token/roles/ci', { body: { allowed_policies: ['app'], orphan: true } })).status).to.equal(204);
      const fromRole = await vault.call('POST', 'auth/token/create/ci', { body: {} });
      expect(fromRole.json.auth).to.deep.include({ policies: ['app', 'default'], orphan: true });
    });
  });

  describe('ACL policies', function () {
    it('reads policies back through both APIs and lists them', async function () {
      const hcl = '# app\npath "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n';
      await vault.writePolicy('reader', hcl);
      const modern = await vault.call('GET', 'sys/policies/acl/reader');
      expect(modern.json.data).to.deep.equal({ name: 'reader', policy: hcl });
      const legacy = await vault.call('GET', 'sys/policy/reader');
      expect(legacy.json.data).to.deep.equal({ name: 'reader', rules: hcl });
      expect(legacy.json.rules).to.equal(hcl);
      const list = await vault.call('LIST', 'sys/policies/acl');
      expect(list.json.data.keys).to.include.members(['default', 'reader', 'root']);
      expect(list.json.data.keys.at(-1)).to.equal('root');
      expect((await vault.call('GET', 'sys/policies/acl/missing')).status).to.equal(404);
      const bad = await vault.call('PUT', 'sys/policies/acl/bad', { body: { policy: 'path "x" { capabilities = ["fly"] }' } });
      expect(bad.status).to.equal(400);
      expect(bad.json.errors[0]).to.contain('failed to parse policy');
      const root = await vault.call('DELETE', 'sys/policy/default');
      expect(root.status).to.equal(400);
      expect(root.json.errors).to.deep.equal(['cannot delete default policy']);
    });

    it('evaluates policies at request time, so edits apply to existing tokens', async function () {
      await vault.call('POST', 'secret/data/app/db', { body: { data: { pw: 'x' } } });
      await vault.writePolicy('app', 'path "secret/data/app/*" { capabilities = ["read"] }');
      const token = await vault.tokenWith(['app']);
      expect((await vault.call('GET', 'secret/data/app/db', { token })).status).to.equal(200);
      expect((await vault.call('POST', 'secret/data/app/db', { token, body: { data: {} } })).status).to.equal(403);
      expect((await vault.call('GET', 'secret/data/other', { token })).status).to.equal(403);

      await vault.writePolicy('app', JSON.stringify({ path: { 'secret/data/+/db': { capabilities: ['deny'] } } }));
      const denied = await vault.call('GET', 'secret/data/app/db', { token });
      expect(denied.status).to.equal(403);
      expect(denied.json).to.deep.equal({ errors: [DENIED] });
      await vault.call('DELETE', 'sys/policies/acl/app');
      expect((await vault.call('GET', 'secret/data/app/db', { token })).status).to.equal(403);
    });

    it('prefers the most specific rule and honours exact paths', async function () {
      await vault.writePolicy('mixed', [
        'path "secret/data/*" { capabilities = ["read"] }',
        'path "secret/data/locked/*" { capabilities = ["deny"] }',
        'path "secret/data/locked/open" { capabilities = ["read"] }',
      ].join('\n'));
      const token = await vault.tokenWith(['mixed']);
      await vault.call('POST', 'secret/data/dir/a', { body: { data: { v: 1 } } });
      await vault.call('POST', 'secret/data/locked/open', { body: { data: { a: 1 } } });
      await vault.call('POST', 'secret/data/locked/shut', { body: { data: { a: 1 } } });
      expect((await vault.call('GET', 'secret/data/locked/open', { token })).status).to.equal(200);
      expect((await vault.call('GET', 'secret/data/locked/shut', { token })).status).to.equal(403);
      expect((await vault.call('GET', 'secret/data/dir/a', { token })).status).to.equal(200);
    });
  });
});
