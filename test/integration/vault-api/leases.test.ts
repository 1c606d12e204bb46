// Dynamic secrets and leases: the database engine's connections, roles and creds,
// sys/leases renew/revoke/lookup and their legacy aliases, wall-clock expiry, and leases dying
// with their tokens; the same tests against the simulator and a real Vault. A real Vault's
// database engine gets a throwaway PostgreSQL; the simulator only stores the connection.
import { expect } from 'chai';
import { forEachBackend, simOnly, startBackend, type Backend, isReal } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { startPostgres, type Postgres } from '../../support/postgres.js';
import { SimClient, type SimResponse } from '../../support/vault-sim/client.js';
import { DENIED, mountType, sleep } from './support.js';

const capped = (from: string): RegExp =>
  new RegExp(`^TTL of "${from}" exceeded the effective max_ttl of "\\d+s"; TTL value is capped accordingly$`);
const CREATION = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];
const INVALID_ACCESSOR = '1 error occurred:\n\t* invalid accessor\n\n';

forEachBackend('Vault API: leases and dynamic secrets', function (kind) {
  this.timeout(30_000);
  let backend: Backend;
  let vault: SimClient;
  let pg: Postgres | undefined;

  /** The database engine at `path` with a connection `pg` (to a real PostgreSQL for a real Vault). */
  async function mountDatabase(path: string): Promise<void> {
    expect((await vault.call('POST', `sys/mounts/${path}`, { body: { type: 'database' } })).status).to.equal(204);
    const res = await vault.call('POST', `${path}/config/pg`, {
      body: {
        plugin_name: 'postgresql-database-plugin',
        connection_url: pg?.vaultConnectionUrl ?? 'postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres?sslmode=disable',
        username: pg?.superuser ?? 'vaultadmin',
        password: pg?.password ?? 'unused',
        allowed_roles: '*',
      },
    });
    expect(res.status, res.text).to.equal(204);
  }

  async function role(name: string, ttls: Record<string, unknown>, mount = 'database'): Promise<void> {
    const res = await vault.call('POST', `${mount}/roles/${name}`, { body: { db_name: 'pg', creation_statements: CREATION, ...ttls } });
    expect(res.status, res.text).to.equal(204);
  }

  before(async function () {
    this.timeout(60_000);
    [backend, pg] = await Promise.all([startBackend(kind), isReal(kind) ? startPostgres() : undefined]);
    vault = new SimClient(backend);
    await mountDatabase('database');
    const roles: Record<string, Record<string, unknown>> = {
      ro: { default_ttl: '1h', max_ttl: '2h' },
      five: { default_ttl: 5, max_ttl: '10s' },
      a: { default_ttl: '1h' },
      ab: { default_ttl: '1h' },
    };
    for (const [name, ttls] of Object.entries(roles)) await role(name, ttls);
    await vault.writePolicy('dbuser', [
      'path "database/creds/*" { capabilities = ["read"] }',
      'path "auth/token/create*" { capabilities = ["update"] }',
    ].join('\n'));
  });

  after(async function () {
    await backend?.close();
    await pg?.stop();
  });

  async function creds(name: string, token?: string, mount = 'database'): Promise<SimResponse> {
    const res = await vault.call('GET', `${mount}/creds/${name}`, token === undefined ? {} : { token });
    expect(res.status, res.text).to.equal(200);
    return res;
  }

  const leaseOf = async (name: string, token?: string): Promise<string> => (await creds(name, token)).json.lease_id as string;
  const lookup = (leaseId: string): Promise<SimResponse> => vault.call('POST', 'sys/leases/lookup', { body: { lease_id: leaseId } });
  const accessorOf = async (token: string): Promise<string> =>
    (await vault.call('GET', 'auth/token/lookup-self', { token })).json.data.accessor as string;

  async function expectLive(...leaseIds: string[]): Promise<void> {
    for (const id of leaseIds) expect((await lookup(id)).status, `${id} is live`).to.equal(200);
  }

  /** Revoked or expired. A real Vault revokes a token's leases lazily: they go a moment later. */
  async function expectGone(...leaseIds: string[]): Promise<void> {
    for (const id of leaseIds) {
      const res = await waitFor(`${id} to go`, async () => {
        const r = await lookup(id);
        return r.status === 400 ? r : undefined;
      }, 5000);
      expect(res.json).to.deep.equal({ errors: ['invalid lease'] });
    }
  }

  async function childOf(parent: string, body: Record<string, unknown> = {}, path = 'auth/token/create'): Promise<SimResponse> {
    const res = await vault.call('POST', path, { token: parent, body });
    expect(res.status, res.text).to.equal(200);
    return res;
  }

  describe('database secrets engine', function () {
    it('mounts like Vault and issues leased credentials in the documented shape', async function () {
      const mounts = await vault.call('GET', 'sys/mounts/database');
      expect(mounts.json.data).to.deep.include({ type: 'database', options: {}, running_plugin_version: 'v1.15.6+builtin.vault' });
      // Part of Vault, not a plugin from the builtin registry: no deprecation status.
      expect(mounts.json.data).to.not.have.property('deprecation_status');
      await mountDatabase('db');
      expect((await vault.call('POST', 'sys/mounts/db2', { body: { type: 'nosuch' } })).json.errors)
        .to.deep.equal(['plugin not found in the catalog: nosuch']);
      await role('app', { default_ttl: 90, max_ttl: '1h' }, 'db');
      const read = await vault.call('GET', 'db/roles/app');
      expect(read.json.data).to.deep.equal({
        creation_statements: CREATION, credential_type: 'password', db_name: 'pg', default_ttl: 90, max_ttl: 3600,
        renew_statements: [], revocation_statements: [], rollback_statements: [],
      });
      expect((await vault.call('LIST', 'db/roles')).json.data.keys).to.deep.equal(['app']);

      const res = await creds('app', undefined, 'db');
      expect(Object.keys(res.json)).to.deep.equal([
        'request_id', 'lease_id', 'renewable', 'lease_duration', 'data', 'wrap_info', 'warnings', 'auth', 'mount_type',
      ]);
      expect(res.json.lease_id).to.match(/^db\/creds\/app\/[0-9A-Za-z]{24}$/);
      expect(res.json).to.deep.include({ renewable: true, lease_duration: 90, wrap_info: null, warnings: null, auth: null });
      expect(res.json.mount_type).to.equal(mountType(kind, 'database'));
      expect(Object.keys(res.json.data)).to.deep.equal(['password', 'username']);
      // The PostgreSQL plugin's template: v-<display name 8>-<role 8>-<random 20>-<unix time>.
      expect(res.json.data.username).to.match(/^v-token-app-[0-9A-Za-z]{20}-\d{10}$/);
      const password = res.json.data.password as string;
      expect(password).to.have.length(20);
      for (const cls of [/[a-z]/, /[A-Z]/, /[0-9]/, /-/]) expect(password).to.match(cls);
      const again = await creds('app', undefined, 'db');
      expect(again.json.lease_id).to.not.equal(res.json.lease_id);
      expect(again.json.data.password).to.not.equal(password);

      const unknown = await vault.call('GET', 'db/creds/nope');
      expect(unknown.status).to.equal(400);
      expect(unknown.json).to.deep.equal({ errors: ['unknown role: nope'] });
      expect((await vault.call('POST', 'db/creds/app', { body: {} })).status).to.equal(405);

      // Disabling the engine revokes its leases.
      await expectLive(res.json.lease_id);
      expect((await vault.call('DELETE', 'sys/mounts/db')).status).to.equal(204);
      await expectGone(res.json.lease_id, again.json.lease_id);
    });

    it('reads connections back, and refuses roles and creds without a usable connection', async function () {
      const connection = await vault.call('GET', 'database/config/pg');
      expect(connection.json.data).to.deep.equal({
        allowed_roles: ['*'],
        connection_details: {
          connection_url: pg?.vaultConnectionUrl ?? 'postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres?sslmode=disable',
          username: pg?.superuser ?? 'vaultadmin',
        },
        password_policy: '', plugin_name: 'postgresql-database-plugin', plugin_version: '', root_credentials_rotate_statements: [],
      });
      expect((await vault.call('LIST', 'database/config')).json.data.keys).to.deep.equal(['pg']);
      const badPlugin = await vault.call('POST', 'database/config/bad', { body: { plugin_name: 'nosuch', connection_url: 'x' } });
      expect(badPlugin.status).to.equal(400);
      expect(badPlugin.json.errors).to.deep.equal([
        'error creating database object: invalid database version: 2 errors occurred:\n\t* plugin not found in the catalog: nosuch\n\t* plugin not found in the catalog: nosuch\n\n',
      ]);
      expect((await vault.call('POST', 'database/config/bad', { body: { connection_url: 'x' } })).json.errors).to.deep.equal(['empty plugin name']);

      const noDb = await vault.call('POST', 'database/roles/nodb', { body: { creation_statements: CREATION } });
      expect(noDb.status).to.equal(400);
      expect(noDb.json.errors).to.deep.equal(['database name is required']);
      const failing = async (name: string, body: Record<string, unknown>, message: string): Promise<void> => {
        expect((await vault.call('POST', `database/roles/${name}`, { body })).status).to.equal(204);
        const res = await vault.call('GET', `database/creds/${name}`);
        expect(res.status, name).to.equal(500);
        expect(res.json.errors, name).to.deep.equal([`1 error occurred:\n\t* ${message}\n\n`]);
        await vault.call('DELETE', `database/roles/${name}`);
      };
      await failing('noconn', { db_name: 'nope', creation_statements: CREATION }, 'failed to find entry for connection with name: "nope"');
      await failing('nostatements', { db_name: 'pg' }, 'empty creation statements');
      expect((await vault.call('POST', 'database/config/narrow', {
        body: { ...connection.json.data.connection_details, plugin_name: 'postgresql-database-plugin', password: pg?.password ?? 'unused', allowed_roles: 'onlyme' },
      })).status).to.equal(204);
      await failing('other', { db_name: 'narrow', creation_statements: CREATION }, '"other" is not an allowed role');
      expect((await vault.call('DELETE', 'database/config/narrow')).status).to.equal(204);
      expect((await vault.call('GET', 'database/config/narrow')).status).to.equal(404);

      // `ttl` is not a role field: ignored.
      await role('ttlonly', { ttl: 90 });
      expect((await vault.call('GET', 'database/roles/ttlonly')).json.data).to.include({ default_ttl: 0, max_ttl: 0 });
      await vault.call('DELETE', 'database/roles/ttlonly');
    });

    it('caps the first lease at the role max_ttl, with the warning', async function () {
      await role('tight', { default_ttl: '1h', max_ttl: 4 });
      const res = await creds('tight');
      expect(res.json.lease_duration).to.equal(4);
      expect(res.json.warnings).to.deep.equal(['TTL of "1h" exceeded the effective max_ttl of "4s"; TTL value is capped accordingly']);
    });

    simOnly(kind)('lets the mountDatabase shortcut work without connections, and renewable: false (simulator extensions)', async function () {
      const sim = await startBackend('sim', { sim: { mountDatabase: true } });
      try {
        const simVault = new SimClient(sim);
        expect((await simVault.call('POST', 'database/roles/bare', { body: { default_ttl: '1h' } })).status).to.equal(204);
        expect((await simVault.call('GET', 'database/creds/bare')).status).to.equal(200);
        expect((await simVault.call('POST', 'database/roles/fixed', { body: { default_ttl: '1h', renewable: false } })).status).to.equal(204);
        const fixed = await simVault.call('GET', 'database/creds/fixed');
        expect(fixed.json.lease_id).to.match(/^database\/creds\/fixed\/[0-9A-Za-z]{24}$/);
        expect(fixed.json.renewable).to.equal(false);
        const refused = await simVault.call('PUT', 'sys/leases/renew', { body: { lease_id: fixed.json.lease_id } });
        expect(refused.status).to.equal(400);
        expect(refused.json).to.deep.equal({ errors: ['lease is not renewable'] });
        expect((await simVault.call('PUT', 'sys/leases/lookup', { body: { lease_id: fixed.json.lease_id } })).json.data.renewable).to.equal(false);
        expect(sim.sim!.leases.list().find((l) => l.id === fixed.json.lease_id)?.renewable).to.equal(false);
      } finally {
        await sim.close();
      }
    });
  });

  describe('renewal', function () {
    it('renews through the body and URL forms and the sys/renew alias, and records the requests', async function () {
      const leaseId = await leaseOf('five');
      backend.clearRequests();
      const forms: Array<[string, Record<string, unknown>]> = [
        ['sys/leases/renew', { lease_id: leaseId, increment: 3 }],
        ['sys/renew', { lease_id: leaseId, increment: '3s' }],
        [`sys/leases/renew/${leaseId}`, { increment: 3 }],
        [`sys/renew/${leaseId}`, {}],
      ];
      for (const [path, body] of forms) {
        const res = await vault.call('POST', path, { body });
        expect(res.status, `${path}: ${res.text}`).to.equal(200);
        expect(res.json).to.deep.include({ lease_id: leaseId, renewable: true, data: null, warnings: null, auth: null });
        expect(res.json.mount_type).to.equal(mountType(kind, 'system'));
        // increment 0 falls back to the role's default_ttl (5s).
        expect(res.json.lease_duration).to.equal(path.startsWith('sys/renew/') ? 5 : 3);
      }
      expect(backend.requests.map((r) => [r.method, r.path, r.status])).to.deep.equal(
        forms.map(([path]) => ['POST', `/v1/${path}`, 200]));
      expect(JSON.parse(backend.requestsTo('/v1/sys/leases/renew')[0]?.body ?? '{}')).to.deep.equal({ lease_id: leaseId, increment: 3 });

      const looked = await lookup(leaseId);
      expect(looked.status).to.equal(200);
      expect(Object.keys(looked.json.data)).to.deep.equal(['expire_time', 'id', 'issue_time', 'last_renewal', 'renewable', 'ttl']);
      expect(looked.json.data).to.deep.include({ id: leaseId, renewable: true });
      expect(looked.json.data.ttl).to.be.within(4, 5);
      expect(Date.parse(looked.json.data.last_renewal)).to.be.at.least(Date.parse(looked.json.data.issue_time));
      expect(Date.parse(looked.json.data.expire_time) - Date.now()).to.be.within(3000, 5500);
      const fresh = await lookup(await leaseOf('five'));
      expect(fresh.json.data.last_renewal).to.equal(null);
    });

    it('caps renewals at max_ttl measured from the issue time, with Vault\'s warning', async function () {
      const leaseId = await leaseOf('five');
      const res = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId, increment: '1h' } });
      expect(res.status).to.equal(200);
      expect(res.json.lease_duration).to.be.within(9, 10);
      expect(res.json.warnings).to.have.length(1);
      expect(res.json.warnings[0]).to.match(capped('1h'));
      expect(Date.parse((await lookup(leaseId)).json.data.expire_time) - Date.now()).to.be.within(8000, 10_500);
    });

    it('answers Vault\'s errors for missing and unknown leases and deleted roles', async function () {
      const missing = await vault.call('PUT', 'sys/leases/renew', { body: {} });
      expect(missing.status).to.equal(400);
      expect(missing.json).to.deep.equal({ errors: ['lease_id must be specified'] });
      const unknown = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: 'database/creds/ro/nope' } });
      expect(unknown.status).to.equal(400);
      expect(unknown.json).to.deep.equal({ errors: ['lease not found'] });
      expect((await lookup('database/creds/ro/nope')).json).to.deep.equal({ errors: ['invalid lease'] });

      await role('gone', { default_ttl: '1h' });
      const orphaned = await leaseOf('gone');
      expect((await vault.call('DELETE', 'database/roles/gone')).status).to.equal(204);
      const failed = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: orphaned } });
      expect(failed.status).to.equal(400);
      expect(failed.json.errors).to.deep.equal([
        'failed to renew entry: resp: (*logical.Response)(nil) err: error during renew: could not find role with name "gone"',
      ]);
      await expectLive(orphaned);
    });

    it('lets the default policy renew and look up by body, not by URL', async function () {
      const token = await vault.tokenWith(['dbuser']);
      const leaseId = await leaseOf('ro', token);
      expect((await vault.call('PUT', 'sys/leases/renew', { token, body: { lease_id: leaseId } })).status).to.equal(200);
      expect((await vault.call('PUT', 'sys/renew', { token, body: { lease_id: leaseId } })).status).to.equal(200);
      expect((await vault.call('PUT', 'sys/leases/lookup', { token, body: { lease_id: leaseId } })).status).to.equal(200);
      const byUrl = await vault.call('PUT', `sys/leases/renew/${leaseId}`, { token });
      expect(byUrl.status).to.equal(403);
      expect(byUrl.json).to.deep.equal({ errors: [DENIED] });
      expect((await vault.call('PUT', 'sys/leases/revoke', { token, body: { lease_id: leaseId } })).status).to.equal(403);
    });

    simOnly(kind)('fails renewals on demand with 500 or 400, after the ACL check, until switched off (a simulator control)', async function () {
      const sim = backend.sim!;
      const leaseId = await leaseOf('ro');
      sim.leases.failRenewals(true);
      for (const path of ['sys/leases/renew', 'sys/renew', `sys/leases/renew/${leaseId}`, `sys/renew/${leaseId}`]) {
        const res = await vault.call('PUT', path, { body: { lease_id: leaseId } });
        expect(res.status, path).to.equal(500);
        expect(res.text).to.equal('{"errors":["internal error"]}\n');
      }
      expect((await vault.call('PUT', 'sys/leases/renew', { token: 'hvs.bogus', body: { lease_id: leaseId } })).status).to.equal(403);
      sim.leases.failRenewals(true, 400);
      const refused = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } });
      expect(refused.status).to.equal(400);
      expect(refused.json).to.deep.equal({ errors: ['lease is not renewable'] });
      sim.leases.failRenewals(false);
      expect((await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } })).status).to.equal(200);
      await expectLive(leaseId);
    });
  });

  describe('expiry', function () {
    it('expires leases on the wall clock, and with their token', async function () {
      await role('short', { default_ttl: 2, max_ttl: 3 });
      const short = await creds('short');
      expect(short.json.lease_duration).to.equal(2);
      expect((await lookup(short.json.lease_id)).json.data.ttl).to.be.within(1, 2);
      const renewedPastMax = await creds('short');
      const renew = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: renewedPastMax.json.lease_id, increment: 60 } });
      expect(renew.json.lease_duration).to.be.within(2, 3);
      expect(renew.json.warnings[0]).to.match(capped('1m'));
      const token = await vault.tokenWith(['dbuser'], { ttl: '2s' });
      const tokenLease = await leaseOf('ro', token);

      await sleep(3100);
      await expectGone(short.json.lease_id, renewedPastMax.json.lease_id, tokenLease);
      for (const leaseId of [short.json.lease_id, renewedPastMax.json.lease_id, tokenLease]) {
        const renewal = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } });
        expect(renewal.status).to.equal(400);
        expect(renewal.json).to.deep.equal({ errors: ['lease not found'] });
      }
    });

    simOnly(kind)('lists live leases with their owner and expiry (a simulator control)', async function () {
      const sim = backend.sim!;
      const leaseId = await leaseOf('five');
      const listed = sim.leases.list().find((l) => l.id === leaseId);
      expect(listed?.tokenAccessor).to.equal(await accessorOf(backend.rootToken));
      expect((listed?.expiresAt ?? 0) - Date.now()).to.be.within(4000, 5000);
      const token = await vault.tokenWith(['dbuser']);
      const owned = await leaseOf('ro', token);
      expect(sim.leases.list().find((l) => l.id === owned)?.tokenAccessor).to.equal(await accessorOf(token));
      const batch = (await childOf(token, { type: 'batch' })).json.auth.client_token as string;
      const viaBatch = await leaseOf('ro', batch);
      expect(sim.leases.list().find((l) => l.id === viaBatch)).to.not.have.property('tokenAccessor');
    });
  });

  describe('revocation', function () {
    it('revokes by body, by URL and through the sys/revoke aliases', async function () {
      const forms = ['sys/leases/revoke', 'sys/leases/revoke/', 'sys/revoke', 'sys/revoke/'];
      for (const form of forms) {
        const leaseId = await leaseOf('ro');
        const byUrl = form.endsWith('/');
        const res = await vault.call('PUT', byUrl ? `${form}${leaseId}` : form, { body: byUrl ? {} : { lease_id: leaseId } });
        expect(res.status, form).to.equal(204);
        expect(res.text).to.equal('');
        await expectGone(leaseId);
        expect((await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } })).json.errors).to.deep.equal(['lease not found']);
      }
      const queued = await leaseOf('ro');
      const lazy = await vault.call('PUT', 'sys/leases/revoke', { body: { lease_id: queued, sync: false } });
      expect(lazy.status).to.equal(202);
      expect(lazy.text).to.equal('');
      await expectGone(queued);
      expect((await vault.call('PUT', 'sys/leases/revoke', { body: { lease_id: 'database/creds/ro/unknown' } })).status).to.equal(204);
      const missing = await vault.call('PUT', 'sys/revoke', { body: {} });
      expect(missing.status).to.equal(400);
      expect(missing.json).to.deep.equal({ errors: ['lease_id must be specified'] });
    });

    simOnly(kind)('revokes a lease in "Vault" without a request (a simulator control)', async function () {
      const sim = backend.sim!;
      const direct = await leaseOf('ro');
      expect(sim.leases.revokeDirect(direct)).to.equal(true);
      expect(sim.leases.revokeDirect(direct)).to.equal(false);
      await expectGone(direct);
    });

    it('needs sudo for revoke-prefix, revoke-force and lease listing, and matches whole path segments', async function () {
      await vault.writePolicy('prefix-nosudo', 'path "sys/leases/revoke-prefix/*" { capabilities = ["update"] }');
      await vault.writePolicy('prefix-sudo', 'path "sys/leases/revoke-prefix/*" { capabilities = ["update", "sudo"] }');
      const plain = await vault.tokenWith(['prefix-nosudo']);
      const sudo = await vault.tokenWith(['prefix-sudo']);
      const a1 = await leaseOf('a');
      const a2 = await leaseOf('a');
      const ab = await leaseOf('ab');

      const denied = await vault.call('PUT', 'sys/leases/revoke-prefix/database/creds/a', { token: plain });
      expect(denied.status).to.equal(403);
      expect(denied.json).to.deep.equal({ errors: [DENIED] });
      expect((await vault.call('PUT', 'sys/leases/lookup', { token: plain, body: { lease_id: a1 } })).status).to.equal(200);
      expect((await vault.call('LIST', 'sys/leases/lookup/database/creds/', { token: plain })).status).to.equal(403);
      const keys = await vault.call('LIST', 'sys/leases/lookup/database/creds/a');
      expect(keys.json.data.keys).to.deep.equal([a1, a2].map((id) => id.split('/').at(-1)).sort());
      expect((await vault.call('LIST', 'sys/leases/lookup/database/creds/')).json.data.keys).to.include.members(['a/', 'ab/']);

      // An exact lease id revokes just that lease.
      expect((await vault.call('PUT', `sys/leases/revoke-prefix/${a1}`, { token: sudo })).status).to.equal(204);
      await expectGone(a1);
      await expectLive(a2, ab);
      // `database/creds/a` means `database/creds/a/`, never `database/creds/ab/…`.
      expect((await vault.call('PUT', 'sys/leases/revoke-prefix/database/creds/a', { token: sudo })).status).to.equal(204);
      await expectGone(a2);
      await expectLive(ab);
      expect((await vault.call('LIST', 'sys/leases/lookup/database/creds/a')).status).to.equal(404);

      const lazy = await vault.call('PUT', 'sys/revoke-prefix/database/creds/ab', { body: { sync: false } });
      expect(lazy.status).to.equal(202);
      await expectGone(ab);
      const forced = [await leaseOf('a'), await leaseOf('a')];
      expect((await vault.call('PUT', 'sys/leases/revoke-force/database/creds/a', { token: sudo })).status).to.equal(403);
      // revoke-force is always synchronous.
      expect((await vault.call('PUT', 'sys/revoke-force/database/creds/a', { body: { sync: false } })).status).to.equal(204);
      await expectGone(...forced);
      await expectLive(await leaseOf('ab'));
      const slash = await vault.call('PUT', 'sys/leases/revoke-prefix/', {});
      expect(slash.status).to.equal(400);
      expect(slash.json).to.deep.equal({ errors: ["cannot write to a path ending in '/'"] });
    });

    it('revoke-prefix on a token path revokes those tokens, their children and their leases', async function () {
      const orphan = (await childOf(backend.rootToken, { policies: ['dbuser'] }, 'auth/token/create-orphan')).json.auth.client_token as string;
      const child = (await childOf(orphan, {})).json.auth.client_token as string;
      const lease = await leaseOf('ro', child);
      const other = await vault.tokenWith(['dbuser']);
      expect((await vault.call('PUT', 'sys/leases/revoke-prefix/auth/token/create-orphan')).status).to.equal(204);
      for (const gone of [orphan, child]) expect((await vault.call('GET', 'auth/token/lookup-self', { token: gone })).status).to.equal(403);
      await expectGone(lease);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: other })).status).to.equal(200);
    });
  });

  describe('tokens and their leases', function () {
    it('revoking a token revokes its leases and its children\'s, but not an orphan\'s', async function () {
      const parent = await vault.tokenWith(['dbuser']);
      const child = (await childOf(parent)).json.auth.client_token as string;
      const orphanRes = await childOf(parent, {}, 'auth/token/create-orphan');
      expect(orphanRes.json.auth.orphan).to.equal(true);
      const orphan = orphanRes.json.auth.client_token as string;
      const [pl, cl, ol] = [await leaseOf('ro', parent), await leaseOf('ro', child), await leaseOf('ro', orphan)];

      expect((await vault.call('POST', 'auth/token/revoke-self', { token: parent })).status).to.equal(204);
      await expectGone(pl, cl);
      await expectLive(ol);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: child })).status).to.equal(403);

      const byAccessor = await vault.tokenWith(['dbuser']);
      const viaAccessor = await leaseOf('ro', byAccessor);
      expect((await vault.call('POST', 'auth/token/revoke-accessor', { body: { accessor: await accessorOf(byAccessor) } })).status).to.equal(204);
      await expectGone(viaAccessor);
      const direct = await vault.tokenWith(['dbuser']);
      const viaFixture = await leaseOf('ro', direct);
      await backend.revokeToken(direct);
      await expectGone(viaFixture);
      expect((await vault.call('POST', 'auth/token/revoke', { body: { token: orphan } })).status).to.equal(204);
      await expectGone(ol);
    });

    it('revoke-orphan revokes the token and its leases and keeps its children and theirs', async function () {
      const parent = await vault.tokenWith(['dbuser']);
      const child = (await childOf(parent)).json.auth.client_token as string;
      const [pl, cl] = [await leaseOf('ro', parent), await leaseOf('ro', child)];
      expect((await vault.call('POST', 'auth/token/revoke-orphan', { body: { token: parent } })).status).to.equal(204);
      await expectGone(pl);
      await expectLive(cl);
      const childLookup = await vault.call('GET', 'auth/token/lookup-self', { token: child });
      expect(childLookup.json.data.orphan).to.equal(true);
      expect((await vault.call('PUT', 'sys/leases/renew', { token: child, body: { lease_id: cl } })).status).to.equal(200);
    });

    it('builds token trees from create, create-orphan, roles and no_parent, with renewable, period and explicit_max_ttl', async function () {
      const parent = await vault.tokenWith(['dbuser']);
      const child = await childOf(parent, { renewable: false, ttl: '1h' });
      expect(child.json.auth).to.deep.include({ orphan: false, renewable: false, lease_duration: 3600, token_type: 'service' });
      const noParent = await vault.call('POST', 'auth/token/create', { token: parent, body: { no_parent: true } });
      expect(noParent.status).to.equal(400);
      expect(noParent.json.errors).to.deep.equal(['root or sudo privileges required to create orphan token']);
      const rootOrphan = await childOf(backend.rootToken, { no_parent: true, policies: ['dbuser'] });
      expect(rootOrphan.json.auth.orphan).to.equal(true);
      const periodic = await childOf(backend.rootToken, { policies: ['dbuser'], period: '30m', ttl: '1h' });
      expect(periodic.json.auth).to.deep.include({ lease_duration: 1800, renewable: true });
      const periodicLookup = await vault.call('GET', 'auth/token/lookup-self', { token: periodic.json.auth.client_token });
      expect(periodicLookup.json.data).to.deep.include({ period: 1800, orphan: false });
      const bounded = await childOf(parent, { ttl: '2h', explicit_max_ttl: '1h' });
      expect(bounded.json.auth.lease_duration).to.equal(3600);
      expect(bounded.json.warnings).to.include('TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly');

      expect((await vault.call('POST', 'auth/token/roles/detached', { body: { orphan: true, renewable: false } })).status).to.equal(204);
      const fromRole = await childOf(backend.rootToken, { policies: ['dbuser'] }, 'auth/token/create/detached');
      expect(fromRole.json.auth).to.deep.include({ orphan: true, renewable: false });
      const roleLookup = await vault.call('GET', 'auth/token/lookup-self', { token: fromRole.json.auth.client_token });
      expect(roleLookup.json.data).to.deep.include({ role: 'detached', path: 'auth/token/create/detached', orphan: true });

      // Revoking the parent takes the plain children, never the orphans.
      const survivors = [rootOrphan, fromRole].map((r) => r.json.auth.client_token as string);
      expect((await vault.call('POST', 'auth/token/revoke', { body: { token: parent } })).status).to.equal(204);
      for (const gone of [child, bounded]) {
        expect((await vault.call('GET', 'auth/token/lookup-self', { token: gone.json.auth.client_token })).status).to.equal(403);
      }
      for (const token of survivors) expect((await vault.call('GET', 'auth/token/lookup-self', { token })).status).to.equal(200);

      const byAccessor = await vault.call('POST', 'auth/token/lookup-accessor', { body: { accessor: periodic.json.auth.accessor } });
      expect(byAccessor.json.data).to.deep.include({ id: '', accessor: periodic.json.auth.accessor, period: 1800 });
      expect((await vault.call('POST', 'auth/token/lookup-accessor', { body: { accessor: 'nope' } })).json.errors).to.deep.equal([INVALID_ACCESSOR]);
    });

    it('gives batch tokens an hvb. id, no accessor, no renewal, and leases capped and owned by the parent', async function () {
      const parent = await vault.tokenWith(['dbuser']);
      const batchRes = await childOf(parent, { type: 'batch', ttl: 3 });
      const auth = batchRes.json.auth;
      expect(auth.client_token).to.match(/^hvb\./);
      expect(auth).to.deep.include({ accessor: '', renewable: false, token_type: 'batch', orphan: false, lease_duration: 3 });
      const batch = auth.client_token as string;
      expect((await vault.call('POST', 'auth/token/renew-self', { token: batch })).json.errors).to.deep.equal(['batch tokens cannot be renewed']);
      expect((await vault.call('POST', 'auth/token/create', { token: batch, body: {} })).json.errors)
        .to.deep.equal(['batch tokens cannot create more tokens']);
      expect((await vault.call('POST', 'auth/token/revoke', { body: { token: batch } })).json.errors)
        .to.deep.equal(['batch tokens cannot be revoked']);
      const bad = await vault.call('POST', 'auth/token/create', { body: { type: 'batch', period: 60 } });
      expect(bad.json.errors).to.deep.equal(['batch tokens cannot have "period" set']);

      const res = await creds('ro', batch);
      expect(res.json.lease_duration).to.be.within(2, 3);
      const renew = await vault.call('PUT', 'sys/leases/renew', { token: batch, body: { lease_id: res.json.lease_id, increment: '1h' } });
      expect(renew.status).to.equal(200);
      expect(renew.json.lease_duration).to.be.at.most(3);

      await backend.revokeToken(parent);
      await expectGone(res.json.lease_id);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: batch })).status).to.equal(403);

      // A batch token names its parent: revoke-orphan of the parent invalidates it (and its leases).
      const parent2 = await vault.tokenWith(['dbuser']);
      const batch2 = (await childOf(parent2, { type: 'batch' })).json.auth.client_token as string;
      const lease2 = await leaseOf('ro', batch2);
      expect((await vault.call('POST', 'auth/token/revoke-orphan', { body: { token: parent2 } })).status).to.equal(204);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: batch2 })).status).to.equal(403);
      await expectGone(lease2);
    });
  });
});
