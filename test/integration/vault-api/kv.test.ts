// The simulator's KV v1 and v2 engines, sys/mounts and sys/internal/ui/mounts.
import { expect } from 'chai';
import { SimClient } from '../../support/vault-sim/client.js';
import { startVaultSim, type VaultSim } from '../../support/vault-sim/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('vault-sim KV', function () {
  let sim: VaultSim;
  let vault: SimClient;

  before(async function () {
    sim = await startVaultSim();
    vault = new SimClient(sim);
    await vault.writePolicy('app-read', 'path "secret/data/app/*" { capabilities = ["read"] }');
  });

  after(async function () {
    await sim.close();
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

    it('warns about paths without data/ on a versioned mount', async function () {
      const res = await vault.call('GET', 'secret/app/db');
      expect(res.status).to.equal(404);
      expect(res.json.data).to.equal(null);
      expect(res.json.warnings[0]).to.match(/^Invalid path for a versioned K\/V secrets engine\. .*'vault kv get' for this operation\.$/);
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
      expect(read.json).to.include({ lease_id: '', renewable: false, lease_duration: 2764800, mount_type: 'kv' });
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
