// KV v1 and v2 engines, sys/mounts and sys/internal/ui/mounts: the same tests against the
// simulator and a real Vault.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { UUID, mountType } from './support.js';

forEachBackend('Vault API: KV', (kind) => {
  let backend: Backend;
  let vault: SimClient;

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    await vault.writePolicy('app-read', 'path "secret/data/app/*" { capabilities = ["read"] }');
  });

  after(async function () {
    await backend?.close();
  });

  describe('KV v2', function () {
    it('keeps versions and reads them with ?version=N', async function () {
      expect((await vault.call('POST', 'secret/data/ver', { body: { data: { n: 1 } } })).json.data.version).to.equal(1);
      const second = await vault.call('PUT', 'secret/data/ver', { body: { data: { n: 2 } } });
      expect(second.json.data).to.deep.include({ version: 2, deletion_time: '', destroyed: false, custom_metadata: null });
      expect((await vault.call('GET', 'secret/data/ver')).json.data.data).to.deep.equal({ n: 2 });
      const first = await vault.call('GET', 'secret/data/ver?version=1');
      expect(first.json.data.data).to.deep.equal({ n: 1 });
      expect(first.json.data.metadata.version).to.equal(1);
      expect((await vault.call('GET', 'secret/data/ver?version=9')).json).to.deep.equal({ errors: [] });
    });

    it('answers 404 with the metadata body for deleted and destroyed versions', async function () {
      expect((await vault.call('DELETE', 'secret/data/ver')).status).to.equal(204);
      const deleted = await vault.call('GET', 'secret/data/ver');
      expect(deleted.status).to.equal(404);
      expect(deleted.json.request_id).to.match(UUID);
      expect(deleted.json.data.data).to.equal(null);
      expect(deleted.json.data.metadata).to.include({ version: 2, destroyed: false });
      expect(deleted.json.data.metadata.deletion_time).to.not.equal('');
      const meta = await vault.call('GET', 'secret/metadata/ver');
      expect(meta.json.data).to.include({ current_version: 2, oldest_version: 0, max_versions: 0, cas_required: false, delete_version_after: '0s' });
      expect(meta.json.data.versions).to.have.all.keys('1', '2');
      expect(meta.json.data.versions['2'].deletion_time).to.not.equal('');

      expect((await vault.call('POST', 'secret/undelete/ver', { body: { versions: [2] } })).status).to.equal(204);
      expect((await vault.call('GET', 'secret/data/ver')).json.data.data).to.deep.equal({ n: 2 });
      expect((await vault.call('PUT', 'secret/destroy/ver', { body: { versions: [2] } })).status).to.equal(204);
      const destroyed = await vault.call('GET', 'secret/data/ver');
      expect(destroyed.status).to.equal(404);
      expect(destroyed.json.data.metadata).to.include({ destroyed: true, deletion_time: '' });
      expect((await vault.call('POST', 'secret/delete/ver', { body: { versions: [1] } })).status).to.equal(204);
      expect((await vault.call('GET', 'secret/data/ver?version=1')).status).to.equal(404);
      expect((await vault.call('LIST', 'secret/metadata')).json.data.keys).to.include('ver');

      expect((await vault.call('DELETE', 'secret/metadata/ver')).status).to.equal(204);
      expect((await vault.call('GET', 'secret/metadata/ver')).json).to.deep.equal({ errors: [] });
    });

    it('checks CAS and keeps future deletion times readable', async function () {
      await vault.call('POST', 'secret/data/cas', { body: { data: { a: 1 } } });
      const mismatch = await vault.call('POST', 'secret/data/cas', { body: { data: { a: 2 }, options: { cas: 0 } } });
      expect(mismatch.status).to.equal(400);
      expect(mismatch.json.errors).to.deep.equal(['check-and-set parameter did not match the current version']);
      expect((await vault.call('POST', 'secret/metadata/cas', { body: { cas_required: true, delete_version_after: '1h' } })).status).to.equal(204);
      const required = await vault.call('POST', 'secret/data/cas', { body: { data: { a: 2 } } });
      expect(required.json.errors).to.deep.equal(['check-and-set parameter required for this call']);
      const ok = await vault.call('POST', 'secret/data/cas', { body: { data: { a: 2 }, options: { cas: 1 } } });
      expect(ok.status).to.equal(200);
      expect(ok.json.data.deletion_time).to.not.equal('');
      expect((await vault.call('GET', 'secret/data/cas')).status).to.equal(200);
      const noData = await vault.call('POST', 'secret/data/cas', { body: { options: { cas: 2 } } });
      expect(noData.json.errors).to.deep.equal(['no data provided']);
    });

    it('warns about paths without data/ on a versioned mount, and about data/ with no key', async function () {
      const res = await vault.call('GET', 'secret/app/db');
      expect(res.status).to.equal(404);
      expect(res.json.data).to.equal(null);
      expect(res.json.warnings[0]).to.match(/^Invalid path for a versioned K\/V secrets engine\. .*'vault kv get' for this operation\.$/);
      for (const [method, verb] of [['GET', 'get'], ['DELETE', 'delete'], ['LIST', 'list']] as const) {
        const empty = await vault.call(method, 'secret/data/');
        expect(empty.status, method).to.equal(404);
        expect(empty.json.warnings[0], method).to.match(new RegExp(`'vault kv ${verb}' for this operation\\.$`));
      }
      const root = await vault.call('GET', 'secret/data');
      expect(root.json.warnings).to.deep.equal(['Non-listing operations on the root of a K/V v2 mount are not supported.']);
    });

    it('refuses every write to a path ending in "/", before the token is checked', async function () {
      for (const [method, path, token] of [
        ['POST', 'secret/data/dir/', undefined], ['PUT', 'secret/metadata/dir/', undefined], ['POST', 'secret/delete/dir/', undefined],
        ['POST', 'secret/data/dir/', 'hvs.not-a-token'], ['POST', 'nowhere/x/', undefined], ['PUT', 'sys/policies/acl/', undefined],
      ] as const) {
        const res = await vault.call(method, path, { token, body: { data: { a: 1 }, versions: [1], policy: '' } });
        expect(res.status, `${method} ${path}`).to.equal(400);
        expect(res.json).to.deep.equal({ errors: ["cannot write to a path ending in '/'"] });
      }
      const patch = await vault.call('PATCH', 'secret/data/dir/', {
        body: { data: { a: 1 } }, headers: { 'Content-Type': 'application/merge-patch+json' },
      });
      expect(patch.json).to.deep.equal({ errors: ["cannot write to a path ending in '/'"] });
    });

    it('reads subkeys: every leaf null, maps kept down to depth', async function () {
      await vault.call('POST', 'secret/data/tree', { body: { data: { a: { b: { c: 1 } }, d: 2, e: {} } } });
      await vault.call('POST', 'secret/data/tree', { body: { data: { only: 'v2' } } });
      const all = await vault.call('GET', 'secret/subkeys/tree');
      expect(all.status).to.equal(200);
      expect(all.json.data.subkeys).to.deep.equal({ only: null });
      expect(all.json.data.metadata).to.include({ version: 2, destroyed: false, deletion_time: '' });
      const first = await vault.call('GET', 'secret/subkeys/tree?version=1');
      expect(first.json.data.subkeys).to.deep.equal({ a: { b: { c: null } }, d: null, e: null });
      expect((await vault.call('GET', 'secret/subkeys/tree?version=1&depth=1')).json.data.subkeys).to.deep.equal({ a: null, d: null, e: null });
      expect((await vault.call('GET', 'secret/subkeys/tree?version=1&depth=2')).json.data.subkeys).to.deep.equal({ a: { b: null }, d: null, e: null });
      expect((await vault.call('GET', 'secret/subkeys/missing')).text).to.equal('{"errors":[]}\n');
      await vault.call('DELETE', 'secret/data/tree');
      const deleted = await vault.call('GET', 'secret/subkeys/tree');
      expect(deleted.status).to.equal(404);
      expect(deleted.json.data.subkeys).to.equal(null);
      expect(deleted.json.data.metadata.deletion_time).to.not.equal('');
    });

    it('reports field conversion errors with Vault\'s texts', async function () {
      // Writes with an existence check return the conversion error as it is...
      const maxVersions = await vault.call('POST', 'secret/metadata/fields', { body: { max_versions: 'abc' } });
      expect(maxVersions.status).to.equal(400);
      expect(maxVersions.json.errors).to.deep.equal([
        'error converting input abc for field "max_versions": cannot parse \'\' as int: strconv.ParseInt: parsing "abc": invalid syntax',
      ]);
      const cas = await vault.call('POST', 'secret/metadata/fields', { body: { cas_required: 'maybe' } });
      expect(cas.json.errors).to.deep.equal([
        'error converting input maybe for field "cas_required": cannot parse \'\' as bool: strconv.ParseBool: parsing "maybe": invalid syntax',
      ]);
      for (const [value, got] of [[5, 'string'], [true, 'bool'], ['x', 'string']] as const) {
        const data = await vault.call('POST', 'secret/data/fields', { body: { data: value } });
        expect(data.json.errors).to.deep.equal([`error converting input ${String(value)} for field "data": '' expected a map, got '${got}'`]);
      }
      // ...other requests prefix it.
      const version = await vault.call('GET', 'secret/data/fields?version=abc');
      expect(version.status).to.equal(400);
      expect(version.json.errors).to.deep.equal([
        'Field validation failed: error converting input abc for field "version": cannot parse \'\' as int: strconv.ParseInt: parsing "abc": invalid syntax',
      ]);
    });
  });

  describe('KV v1 and mounts', function () {
    before(async function () {
      const res = await vault.call('POST', 'sys/mounts/kv1', { body: { type: 'kv', options: { version: '1' } } });
      expect(res.status).to.equal(204);
      const again = await vault.call('POST', 'sys/mounts/kv1', { body: { type: 'kv' } });
      expect(again.status).to.equal(400);
      expect(again.json.errors).to.deep.equal(['path is already in use at kv1/']);
    });

    it('writes with 204, reads with the mount default lease, lists both ways, deletes', async function () {
      expect((await vault.call('POST', 'kv1/app/db', { body: { user: 'u' } })).status).to.equal(204);
      expect((await vault.call('POST', 'kv1/app/cache/x', { body: { ttl: '30m' } })).status).to.equal(204);
      const read = await vault.call('GET', 'kv1/app/db');
      expect(read.json).to.include({ lease_id: '', renewable: false, lease_duration: 2764800, mount_type: mountType(kind, 'kv') });
      expect(read.json.data).to.deep.equal({ user: 'u' });
      expect((await vault.call('GET', 'kv1/app/cache/x')).json.lease_duration).to.equal(1800);
      expect((await vault.call('LIST', 'kv1/app')).json.data.keys).to.deep.equal(['cache/', 'db']);
      expect((await vault.call('GET', 'kv1/app/?list=true')).json.data.keys).to.deep.equal(['cache/', 'db']);
      const empty = await vault.call('POST', 'kv1/app/empty', { body: {} });
      expect(empty.status).to.equal(400);
      expect(empty.json.errors).to.deep.equal(['missing data fields']);
      expect((await vault.call('DELETE', 'kv1/app/db')).status).to.equal(204);
      expect((await vault.call('GET', 'kv1/app/db')).json).to.deep.equal({ errors: [] });
    });

    it('describes the built-in mounts like Vault', async function () {
      const mounts = (await vault.call('GET', 'sys/mounts')).json.data;
      expect(Object.keys(mounts)).to.include.members(['cubbyhole/', 'identity/', 'secret/', 'sys/', 'kv1/']);
      expect(mounts['sys/']).to.deep.include({ type: 'system', seal_wrap: true, local: false, running_plugin_version: 'v1.15.6+builtin.vault' });
      expect(mounts['sys/'].config).to.deep.equal({ default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0, passthrough_request_headers: ['Accept'] });
      expect(mounts['identity/'].config.passthrough_request_headers).to.deep.equal(['Authorization']);
      expect(mounts['cubbyhole/']).to.include({ local: true, seal_wrap: false });
      expect(mounts['secret/']).to.deep.include({ type: 'kv', options: { version: '2' }, running_plugin_version: 'v0.16.1+builtin', deprecation_status: 'supported' });
      expect(mounts['secret/'].accessor).to.match(/^kv_[0-9a-f]{8}$/);
      expect(mounts['secret/'].uuid).to.match(UUID);
      // Mounts enabled through the API have options ({} when none were given); built-in ones null.
      expect(mounts['sys/'].options).to.equal(null);
      expect((await vault.call('POST', 'sys/mounts/kvplain', { body: { type: 'kv' } })).status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/kvplain')).json.data).to.deep.include({ options: {}, deprecation_status: 'supported' });
      await vault.call('DELETE', 'sys/mounts/kvplain');
      const auth = (await vault.call('GET', 'sys/auth')).json.data;
      expect(auth['token/']).to.deep.include({ type: 'token', options: null, local: false });
      expect(auth['token/'].accessor).to.match(/^auth_token_[0-9a-f]{8}$/);
      expect(auth['token/'].config).to.deep.equal({ default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0, token_type: 'default-service' });
      expect((await vault.call('GET', 'sys/auth/token')).json.data).to.deep.equal(auth['token/']);
      const noAuth = await vault.call('GET', 'sys/auth/nope');
      expect(noAuth.status).to.equal(400);
      expect(noAuth.json.errors).to.deep.equal(['No auth engine at nope/']);
      expect((await vault.call('GET', 'sys/mounts/nope')).json.errors).to.deep.equal(['No secret engine mount at nope/']);
    });

    it('lists the mounts a token may use in sys/internal/ui/mounts', async function () {
      const root = await vault.call('GET', 'sys/internal/ui/mounts');
      expect(root.status).to.equal(200);
      expect(Object.keys(root.json.data)).to.deep.equal(['auth', 'secret']);
      expect(Object.keys(root.json.data.secret).sort()).to.deep.equal(['cubbyhole/', 'identity/', 'kv1/', 'secret/', 'sys/']);
      expect(Object.keys(root.json.data.auth)).to.deep.equal(['token/']);
      expect(root.json.data.secret['secret/']).to.deep.equal((await vault.call('GET', 'sys/mounts/secret')).json.data);
      const reader = await vault.call('GET', 'sys/internal/ui/mounts', { token: await vault.tokenWith(['app-read']) });
      expect(Object.keys(reader.json.data.secret).sort()).to.deep.equal(['cubbyhole/', 'identity/', 'secret/', 'sys/']);
      const anonymous = await vault.call('GET', 'sys/internal/ui/mounts', { token: null });
      expect(anonymous.json.data).to.deep.equal({ auth: {}, secret: {} });
      const bad = await vault.call('GET', 'sys/internal/ui/mounts', { token: 'hvs.not-a-token' });
      expect(bad.status).to.equal(403);
      expect(bad.json).to.deep.equal({ errors: ['permission denied'] });
    });

    it('answers sys/internal/ui/mounts for v1 and v2 mounts, and 403 for unknown or forbidden ones', async function () {
      const v2 = await vault.call('GET', 'sys/internal/ui/mounts/secret/app/db');
      expect(v2.status).to.equal(200);
      expect(v2.json.data).to.include({ path: 'secret/', type: 'kv' });
      expect(v2.json.data.options).to.deep.equal({ version: '2' });
      expect(v2.json).to.not.have.property('path');
      const v1 = await vault.call('GET', 'sys/internal/ui/mounts/kv1/app');
      expect(v1.json.data).to.include({ path: 'kv1/', type: 'kv' });
      expect(v1.json.data.options).to.deep.equal({ version: '1' });

      const unknown = await vault.call('GET', 'sys/internal/ui/mounts/nope/x');
      expect(unknown.status).to.equal(403);
      expect(unknown.json.errors).to.deep.equal([
        'preflight capability check returned 403, please ensure client\'s policies grant access to path "nope/x/"',
      ]);
      const outsider = await vault.tokenWith(['default']);
      expect((await vault.call('GET', 'sys/internal/ui/mounts/secret/app', { token: outsider })).status).to.equal(403);
      const insider = await vault.tokenWith(['app-read']);
      expect((await vault.call('GET', 'sys/internal/ui/mounts/secret/app', { token: insider })).status).to.equal(200);
    });
  });
});
