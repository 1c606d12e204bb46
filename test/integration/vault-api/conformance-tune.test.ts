// sys/mounts/<path>/tune: reading and writing a mount's tune settings (TTLs, description,
// options), the KV v1 → v2 upgrade a tune of `options.version` starts, and who may tune;
// the same tests against the simulator and a real Vault 1.15.6.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { SimClient, type SimResponse } from '../../support/vault-sim/client.js';
import { DENIED } from './support.js';

/** The system default and maximum lease TTL of a dev server: 768h. */
const SYSTEM_TTL = 2_764_800;
const UPGRADE_WARNING = (from: number): string =>
  `Upgrading mount from version ${from} to version 2. This mount will be unavailable for a brief period and will resume service shortly.`;
const KV2_INVALID_PATH =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";
const UNSUPPORTED = '1 error occurred:\n\t* unsupported operation\n\n';

forEachBackend('Vault API: sys/mounts/<path>/tune', function (kind) {
  this.timeout(30_000);
  let backend: Backend;
  let vault: SimClient;

  before(async function () {
    this.timeout(60_000);
    backend = await startBackend(kind);
    vault = new SimClient(backend);
  });

  after(async function () {
    await backend?.close();
  });

  async function mount(path: string, body: Record<string, unknown>): Promise<void> {
    const res = await vault.call('POST', `sys/mounts/${path}`, { body });
    expect(res.status, res.text).to.equal(204);
  }

  async function tune(path: string, body: Record<string, unknown>, token?: string): Promise<SimResponse> {
    return vault.call('POST', `sys/mounts/${path}/tune`, { body, token });
  }

  /** The upgrade runs in the background in Vault: wait until the v1 path is Vault's KV v2 404. */
  async function upgraded(path: string): Promise<SimResponse> {
    return waitFor(`the upgrade of ${path}`, async () => {
      const res = await vault.call('GET', path);
      return res.status === 404 ? res : undefined;
    }, 10_000, 50);
  }

  describe('reading', function () {
    it('answers the effective TTLs (the 768h system values), description, force_no_cache and options, repeated at the top level', async function () {
      await mount('t-read', { type: 'kv', options: { version: '1' }, description: 'read me' });
      const res = await vault.call('GET', 'sys/mounts/t-read/tune');
      expect(res.status).to.equal(200);
      const expected = { default_lease_ttl: SYSTEM_TTL, description: 'read me', force_no_cache: false, max_lease_ttl: SYSTEM_TTL, options: { version: '1' } };
      expect(res.json.data).to.deep.equal(expected);
      expect(res.json).to.deep.include(expected);
      expect(res.json.warnings).to.equal(null);
    });

    it('has no options key for a mount without options, and the built-in mounts\' passthrough headers', async function () {
      await mount('t-noopt', { type: 'kv' });
      expect((await vault.call('GET', 'sys/mounts/t-noopt/tune')).json.data).to.deep.equal({
        default_lease_ttl: SYSTEM_TTL, description: '', force_no_cache: false, max_lease_ttl: SYSTEM_TTL,
      });
      expect((await vault.call('GET', 'sys/mounts/sys/tune')).json.data).to.deep.equal({
        default_lease_ttl: SYSTEM_TTL, description: 'system endpoints used for control, policy and debugging',
        force_no_cache: false, max_lease_ttl: SYSTEM_TTL, passthrough_request_headers: ['Accept'],
      });
      expect((await vault.call('GET', 'sys/mounts/secret/tune')).json.data.options).to.deep.equal({ version: '2' });
    });

    it('a path inside a mount answers that mount\'s settings; a path under no mount is a 400', async function () {
      expect((await vault.call('GET', 'sys/mounts/t-read/some/path/tune')).json.data.description).to.equal('read me');
      const none = await vault.call('GET', 'sys/mounts/t-nowhere/tune');
      expect(none.status).to.equal(400);
      expect(none.json).to.deep.equal({ errors: ['cannot fetch sysview for path "t-nowhere/"'] });
    });
  });

  describe('the KV v1 → v2 upgrade', function () {
    it('options.version "2" on a KV v1 mount: 200 with the upgrade warning, then the v1 paths are gone and every secret is version 1 under data/ and metadata/', async function () {
      await mount('t-up', { type: 'kv', options: { version: '1' } });
      for (const [key, data] of [['x', { v: 'one' }], ['dir/y', { v: 'two', ttl: '5m' }]] as const) {
        expect((await vault.call('POST', `t-up/${key}`, { body: data })).status).to.equal(204);
      }
      const res = await tune('t-up', { options: { version: '2' } });
      expect(res.status).to.equal(200);
      expect(res.json.data).to.equal(null);
      expect(res.json.warnings).to.deep.equal([UPGRADE_WARNING(1)]);

      const gone = await upgraded('t-up/x');
      expect(gone.json.data).to.equal(null);
      expect(gone.json.warnings).to.deep.equal([KV2_INVALID_PATH]);
      const x = await vault.call('GET', 't-up/data/x');
      expect(x.status).to.equal(200);
      expect(x.json.data.data).to.deep.equal({ v: 'one' });
      expect(x.json.data.metadata).to.include({ version: 1, destroyed: false, deletion_time: '' });
      // A v1 secret's `ttl` is kept as data.
      expect((await vault.call('GET', 't-up/data/dir/y')).json.data.data).to.deep.equal({ v: 'two', ttl: '5m' });
      const meta = await vault.call('GET', 't-up/metadata/x');
      expect(meta.json.data).to.include({ current_version: 1, oldest_version: 1, max_versions: 0 });
      expect(meta.json.data.versions).to.have.all.keys('1');
      expect((await vault.call('LIST', 't-up/metadata')).json.data.keys).to.deep.equal(['dir/', 'x']);
      // A new write is version 2.
      expect((await vault.call('POST', 't-up/data/x', { body: { data: { v: 'three' } } })).json.data.version).to.equal(2);
    });

    it('afterwards sys/mounts, sys/mounts/<path>, sys/internal/ui/mounts (both forms) and the tune show options.version "2"', async function () {
      expect((await vault.call('GET', 'sys/mounts/t-up')).json.data.options).to.deep.equal({ version: '2' });
      expect((await vault.call('GET', 'sys/mounts')).json.data['t-up/'].options).to.deep.equal({ version: '2' });
      expect((await vault.call('GET', 'sys/internal/ui/mounts/t-up')).json.data.options).to.deep.equal({ version: '2' });
      expect((await vault.call('GET', 'sys/internal/ui/mounts')).json.data.secret['t-up/'].options).to.deep.equal({ version: '2' });
      expect((await vault.call('GET', 'sys/mounts/t-up/tune')).json.data.options).to.deep.equal({ version: '2' });
      // The same accessor and type: the mount was upgraded, not replaced.
      expect((await vault.call('GET', 'sys/mounts/t-up')).json.data.type).to.equal('kv');
    });

    it('a KV mount enabled without options upgrades "from version 0"; version 2 again is a plain 204', async function () {
      await mount('t-zero', { type: 'kv' });
      expect((await vault.call('POST', 't-zero/k', { body: { a: 'b' } })).status).to.equal(204);
      const res = await tune('t-zero', { options: { version: '2' } });
      expect(res.status).to.equal(200);
      expect(res.json.warnings).to.deep.equal([UPGRADE_WARNING(0)]);
      await upgraded('t-zero/k');
      expect((await vault.call('GET', 't-zero/data/k')).json.data.data).to.deep.equal({ a: 'b' });
      const again = await tune('t-zero', { options: { version: '2' } });
      expect(again.status).to.equal(204);
      expect(again.text).to.equal('');
    });

    it('refuses a downgrade, an unknown version and a version that is not a number, and changes nothing', async function () {
      const refusals: Array<[string, string]> = [
        ['1', 'cannot downgrade mount from version 2'],
        ['3', 'invalid version provided: 3'],
        ['x', 'unable to parse options: strconv.ParseInt: parsing "x": invalid syntax'],
      ];
      for (const [version, message] of refusals) {
        const res = await tune('t-up', { options: { version } });
        expect(res.status, version).to.equal(400);
        expect(res.json, version).to.deep.equal({ errors: [message] });
      }
      expect((await vault.call('GET', 'sys/mounts/t-up/tune')).json.data.options).to.deep.equal({ version: '2' });
      expect((await vault.call('GET', 't-up/data/x')).json.data.data).to.deep.equal({ v: 'three' });
    });
  });

  describe('TTLs, description and options', function () {
    it('stores default_lease_ttl, max_lease_ttl and description: the tune answers them, sys/mounts/<path> config has them, a KV v1 read uses the default', async function () {
      await mount('t-ttl', { type: 'kv', options: { version: '1' } });
      expect((await vault.call('POST', 't-ttl/s', { body: { a: 'b' } })).status).to.equal(204);
      expect((await vault.call('GET', 't-ttl/s')).json.lease_duration).to.equal(SYSTEM_TTL);
      const res = await tune('t-ttl', { default_lease_ttl: '1h', max_lease_ttl: '2h', description: 'tuned' });
      expect(res.status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data).to.deep.equal({
        default_lease_ttl: 3600, description: 'tuned', force_no_cache: false, max_lease_ttl: 7200, options: { version: '1' },
      });
      const info = (await vault.call('GET', 'sys/mounts/t-ttl')).json.data;
      expect(info.config).to.deep.equal({ default_lease_ttl: 3600, force_no_cache: false, max_lease_ttl: 7200 });
      expect(info.description).to.equal('tuned');
      expect((await vault.call('GET', 'sys/mounts')).json.data['t-ttl/'].config.default_lease_ttl).to.equal(3600);
      expect((await vault.call('GET', 't-ttl/s')).json.lease_duration).to.equal(3600);
      // A number is seconds; a field left out keeps its value.
      expect((await tune('t-ttl', { default_lease_ttl: 120 })).status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data).to.include({ default_lease_ttl: 120, max_lease_ttl: 7200, description: 'tuned' });
    });

    it('refuses a default above the max and a bad duration; "system" goes back to the system values (0 in the config)', async function () {
      const over = await tune('t-ttl', { default_lease_ttl: '3h' });
      expect(over.status).to.equal(400);
      expect(over.json).to.deep.equal({ errors: ['backend max lease TTL of 7200 would be less than backend default lease TTL of 10800'] });
      const bad = await tune('t-ttl', { default_lease_ttl: 'bogus' });
      expect(bad.status).to.equal(400);
      expect(bad.json).to.deep.equal({ errors: ['time: invalid duration "bogus"'] });
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data).to.include({ default_lease_ttl: 120, max_lease_ttl: 7200 });
      expect((await tune('t-ttl', { default_lease_ttl: 'system', max_lease_ttl: 'system' })).status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data).to.include({ default_lease_ttl: SYSTEM_TTL, max_lease_ttl: SYSTEM_TTL });
      expect((await vault.call('GET', 'sys/mounts/t-ttl')).json.data.config).to.deep.equal({ default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 });
    });

    it('merges options: a new key is added, an empty value removes a key, version stays', async function () {
      expect((await tune('t-ttl', { options: { foo: 'bar' } })).status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data.options).to.deep.equal({ foo: 'bar', version: '1' });
      expect((await vault.call('GET', 'sys/mounts/t-ttl')).json.data.options).to.deep.equal({ foo: 'bar', version: '1' });
      expect((await tune('t-ttl', { options: { foo: '' } })).status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data.options).to.deep.equal({ version: '1' });
      // Still KV v1.
      expect((await vault.call('GET', 't-ttl/s')).json.data).to.deep.equal({ a: 'b' });
    });

    it('a path inside a mount tunes that mount; sys, cubbyhole and identity cannot be tuned; no mount is a 400; DELETE is unsupported', async function () {
      expect((await tune('t-ttl/deep/path', { description: 'via a path inside' })).status).to.equal(204);
      expect((await vault.call('GET', 'sys/mounts/t-ttl/tune')).json.data.description).to.equal('via a path inside');
      for (const path of ['sys', 'cubbyhole', 'identity']) {
        const res = await tune(path, { description: 'x' });
        expect(res.status, path).to.equal(400);
        expect(res.json, path).to.deep.equal({ errors: [`cannot tune "${path}/"`] });
      }
      const none = await tune('t-nowhere', { description: 'x' });
      expect(none.status).to.equal(400);
      expect(none.json).to.deep.equal({ errors: ['tune of path "t-nowhere/" failed: no mount entry found'] });
      const del = await vault.call('DELETE', 'sys/mounts/t-ttl/tune');
      expect(del.status).to.equal(405);
      expect(del.json).to.deep.equal({ errors: [UNSUPPORTED] });
    });
  });

  describe('permissions', function () {
    it('reading needs read on sys/mounts/<path>/tune, tuning needs update (create is not enough, sudo is not needed)', async function () {
      await mount('t-acl', { type: 'kv', options: { version: '1' } });
      const capabilities = ['read', 'create', 'update'] as const;
      const tokens: Record<string, string> = {};
      for (const cap of capabilities) {
        await vault.writePolicy(`tune-${cap}`, `path "sys/mounts/t-acl/tune" { capabilities = ["${cap}"] }`);
        tokens[cap] = await vault.tokenWith([`tune-${cap}`]);
      }
      const outcomes: Record<string, [number, number]> = {};
      for (const cap of capabilities) {
        const read = await vault.call('GET', 'sys/mounts/t-acl/tune', { token: tokens[cap] });
        const write = await tune('t-acl', { description: `by ${cap}` }, tokens[cap]);
        outcomes[cap] = [read.status, write.status];
        if (read.status === 403) expect(read.json).to.deep.equal({ errors: [DENIED] });
        if (write.status === 403) expect(write.json).to.deep.equal({ errors: [DENIED] });
      }
      expect(outcomes).to.deep.equal({ read: [200, 403], create: [403, 403], update: [403, 204] });
      expect((await vault.call('GET', 'sys/mounts/t-acl/tune')).json.data.description).to.equal('by update');
    });

    it('a token with read and update on sys/mounts/* may upgrade a mount; one without any policy on it may not', async function () {
      await vault.writePolicy('tune-glob', 'path "sys/mounts/*" { capabilities = ["read", "update"] }');
      const glob = await vault.tokenWith(['tune-glob']);
      const none = await vault.tokenWith(['default']);
      const refused = await tune('t-acl', { options: { version: '2' } }, none);
      expect(refused.status).to.equal(403);
      expect((await vault.call('GET', 'sys/mounts/t-acl/tune')).json.data.options).to.deep.equal({ version: '1' });
      const res = await tune('t-acl', { options: { version: '2' } }, glob);
      expect(res.status).to.equal(200);
      expect(res.json.warnings).to.deep.equal([UPGRADE_WARNING(1)]);
      expect((await vault.call('GET', 'sys/mounts/t-acl/tune', { token: glob })).json.data.options).to.deep.equal({ version: '2' });
    });
  });
});
