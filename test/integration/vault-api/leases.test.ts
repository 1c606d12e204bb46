// The simulator's dynamic secrets and leases: database creds, sys/leases renew/revoke/lookup and
// their legacy aliases, wall-clock expiry, leases dying with their tokens, and the test controls.
import { expect } from 'chai';
import { SimClient, type SimResponse } from '../../support/vault-sim/client.js';
import { startVaultSim, type VaultSim } from '../../support/vault-sim/index.js';

const DENIED = '1 error occurred:\n\t* permission denied\n\n';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const capped = (from: string): RegExp =>
  new RegExp(`^TTL of "${from}" exceeded the effective max_ttl of "\\d+s"; TTL value is capped accordingly$`);

describe('vault-sim leases and dynamic secrets', function () {
  let sim: VaultSim;
  let vault: SimClient;

  before(async function () {
    sim = await startVaultSim({ mountDatabase: true });
    vault = new SimClient(sim);
    const roles: Record<string, Record<string, unknown>> = {
      ro: { default_ttl: '1h', max_ttl: '2h' },
      five: { default_ttl: 5, max_ttl: '10s' },
      fixed: { default_ttl: '1h', renewable: false },
      a: { default_ttl: '1h' },
      ab: { default_ttl: '1h' },
    };
    for (const [name, body] of Object.entries(roles)) {
      expect((await vault.call('POST', `database/roles/${name}`, { body })).status).to.equal(204);
    }
    await vault.writePolicy('dbuser', [
      'path "database/creds/*" { capabilities = ["read"] }',
      'path "auth/token/create*" { capabilities = ["update"] }',
    ].join('\n'));
  });

  after(async function () {
    await sim.close();
  });

  async function creds(role: string, token?: string, mount = 'database'): Promise<SimResponse> {
    const res = await vault.call('GET', `${mount}/creds/${role}`, token === undefined ? {} : { token });
    expect(res.status, res.text).to.equal(200);
    return res;
  }

  const leaseOf = async (role: string, token?: string): Promise<string> => (await creds(role, token)).json.lease_id as string;
  const live = (): string[] => sim.leases.list().map((l) => l.id);
  const accessorOf = async (token: string): Promise<string> =>
    (await vault.call('GET', 'auth/token/lookup-self', { token })).json.data.accessor as string;

  async function childOf(parent: string, body: Record<string, unknown> = {}, path = 'auth/token/create'): Promise<SimResponse> {
    const res = await vault.call('POST', path, { token: parent, body });
    expect(res.status, res.text).to.equal(200);
    return res;
  }

  describe('database secrets engine', function () {
    it('mounts like Vault and issues leased credentials in the documented shape', async function () {
      const mounts = await vault.call('GET', 'sys/mounts/database');
      expect(mounts.json.data).to.deep.include({ type: 'database', deprecation_status: 'supported' });
      expect((await vault.call('POST', 'sys/mounts/db', { body: { type: 'database' } })).status).to.equal(204);
      expect((await vault.call('POST', 'sys/mounts/db2', { body: { type: 'nosuch' } })).json.errors)
        .to.deep.equal(['plugin not found in the catalog: nosuch']);
      expect((await vault.call('POST', 'db/roles/app', { body: { ttl: 90, max_ttl: '1h' } })).status).to.equal(204);
      const role = await vault.call('GET', 'db/roles/app');
      expect(role.json.data).to.deep.equal({
        creation_statements: [], credential_type: 'password', db_name: '', default_ttl: 90, max_ttl: 3600,
        renew_statements: [], revocation_statements: [], rollback_statements: [],
      });
      expect((await vault.call('LIST', 'db/roles')).json.data.keys).to.deep.equal(['app']);

      const res = await creds('app', undefined, 'db');
      expect(Object.keys(res.json)).to.deep.equal([
        'request_id', 'lease_id', 'renewable', 'lease_duration', 'data', 'wrap_info', 'warnings', 'auth', 'mount_type',
      ]);
      expect(res.json.lease_id).to.match(/^db\/creds\/app\/[0-9A-Za-z]{24}$/);
      expect(res.json).to.deep.include({ renewable: true, lease_duration: 90, wrap_info: null, warnings: null, auth: null, mount_type: 'database' });
      expect(Object.keys(res.json.data)).to.deep.equal(['password', 'username']);
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
      expect(live()).to.include(res.json.lease_id);
      expect((await vault.call('DELETE', 'sys/mounts/db')).status).to.equal(204);
      expect(live().filter((id) => id.startsWith('db/'))).to.deep.equal([]);
    });

    it('caps the first lease at the role max_ttl, with the warning', async function () {
      expect((await vault.call('POST', 'database/roles/tight', { body: { default_ttl: '1h', max_ttl: 4 } })).status).to.equal(204);
      const res = await creds('tight');
      expect(res.json.lease_duration).to.equal(4);
      expect(res.json.warnings).to.deep.equal(['TTL of "1h" exceeded the effective max_ttl of "4s"; TTL value is capped accordingly']);
    });
  });

  describe('renewal', function () {
    it('renews through the body and URL forms and the sys/renew alias, and records the requests', async function () {
      const leaseId = await leaseOf('five');
      sim.clearRequests();
      const forms: Array<[string, Record<string, unknown>]> = [
        ['sys/leases/renew', { lease_id: leaseId, increment: 3 }],
        ['sys/renew', { lease_id: leaseId, increment: '3s' }],
        [`sys/leases/renew/${leaseId}`, { increment: 3 }],
        [`sys/renew/${leaseId}`, {}],
      ];
      for (const [path, body] of forms) {
        const res = await vault.call('PUT', path, { body });
        expect(res.status, `${path}: ${res.text}`).to.equal(200);
        expect(res.json).to.deep.include({ lease_id: leaseId, renewable: true, data: null, warnings: null, auth: null, mount_type: 'system' });
        // increment 0 falls back to the role's default_ttl (5s).
        expect(res.json.lease_duration).to.equal(path.startsWith('sys/renew/') ? 5 : 3);
      }
      expect(sim.requests.map((r) => [r.method, r.path, r.status])).to.deep.equal(
        forms.map(([path]) => ['PUT', `/v1/${path}`, 200]));
      expect(JSON.parse(sim.requestsTo('/v1/sys/leases/renew')[0]?.body ?? '{}')).to.deep.equal({ lease_id: leaseId, increment: 3 });

      const lookup = await vault.call('PUT', 'sys/leases/lookup', { body: { lease_id: leaseId } });
      expect(lookup.status).to.equal(200);
      expect(Object.keys(lookup.json.data)).to.deep.equal(['expire_time', 'id', 'issue_time', 'last_renewal', 'renewable', 'ttl']);
      expect(lookup.json.data).to.deep.include({ id: leaseId, renewable: true });
      expect(lookup.json.data.ttl).to.be.within(4, 5);
      expect(Date.parse(lookup.json.data.last_renewal)).to.be.at.least(Date.parse(lookup.json.data.issue_time));
      expect(Date.parse(lookup.json.data.expire_time) - Date.now()).to.be.within(3000, 5500);
    });

    it('caps renewals at max_ttl measured from the issue time, with Vault\'s warning', async function () {
      const leaseId = await leaseOf('five');
      const res = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId, increment: '1h' } });
      expect(res.status).to.equal(200);
      expect(res.json.lease_duration).to.be.within(9, 10);
      expect(res.json.warnings).to.have.length(1);
      expect(res.json.warnings[0]).to.match(capped('1h'));
      const expiresAt = sim.leases.list().find((l) => l.id === leaseId)?.expiresAt ?? 0;
      expect(expiresAt - Date.now()).to.be.within(8000, 10_500);
    });

    it('answers Vault\'s errors for missing, unknown and non-renewable leases and deleted roles', async function () {
      const missing = await vault.call('PUT', 'sys/leases/renew', { body: {} });
      expect(missing.status).to.equal(400);
      expect(missing.json).to.deep.equal({ errors: ['lease_id must be specified'] });
      const unknown = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: 'database/creds/ro/nope' } });
      expect(unknown.status).to.equal(400);
      expect(unknown.json).to.deep.equal({ errors: ['lease not found'] });

      const fixed = await creds('fixed');
      expect(fixed.json.lease_id).to.match(/^database\/creds\/fixed\/[0-9A-Za-z]{24}$/);
      expect(fixed.json.renewable).to.equal(false);
      const refused = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: fixed.json.lease_id } });
      expect(refused.status).to.equal(400);
      expect(refused.json).to.deep.equal({ errors: ['lease is not renewable'] });
      expect((await vault.call('PUT', 'sys/leases/lookup', { body: { lease_id: fixed.json.lease_id } })).json.data.renewable).to.equal(false);
      expect(sim.leases.list().find((l) => l.id === fixed.json.lease_id)?.renewable).to.equal(false);

      await vault.call('POST', 'database/roles/gone', { body: { default_ttl: '1h' } });
      const orphaned = await leaseOf('gone');
      expect((await vault.call('DELETE', 'database/roles/gone')).status).to.equal(204);
      const failed = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: orphaned } });
      expect(failed.status).to.equal(400);
      expect(failed.json.errors).to.deep.equal([
        'failed to renew entry: resp: (*logical.Response)(nil) err: error during renew: could not find role with name "gone"',
      ]);
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

    it('fails renewals on demand with 500 or 400, after the ACL check, until switched off', async function () {
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
      expect(live()).to.include(leaseId);
    });
  });

  describe('expiry', function () {
    it('expires leases on the wall clock, and with their token', async function () {
      this.timeout(10_000);
      await vault.call('POST', 'database/roles/short', { body: { default_ttl: 2, max_ttl: 3 } });
      const short = await creds('short');
      expect(short.json.lease_duration).to.equal(2);
      const listed = sim.leases.list().find((l) => l.id === short.json.lease_id);
      expect(listed?.tokenAccessor).to.equal(await accessorOf(sim.rootToken));
      expect((listed?.expiresAt ?? 0) - Date.now()).to.be.within(1500, 2000);
      const renewedPastMax = await creds('short');
      const renew = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: renewedPastMax.json.lease_id, increment: 60 } });
      expect(renew.json.lease_duration).to.be.within(2, 3);
      expect(renew.json.warnings[0]).to.match(capped('1m'));
      const token = await vault.tokenWith(['dbuser'], { ttl: '2s' });
      const tokenLease = await leaseOf('ro', token);

      await sleep(3100);
      for (const leaseId of [short.json.lease_id, renewedPastMax.json.lease_id, tokenLease]) {
        expect(live()).to.not.include(leaseId);
        const renewal = await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } });
        expect(renewal.status).to.equal(400);
        expect(renewal.json).to.deep.equal({ errors: ['lease not found'] });
        const lookup = await vault.call('PUT', 'sys/leases/lookup', { body: { lease_id: leaseId } });
        expect(lookup.status).to.equal(400);
        expect(lookup.json).to.deep.equal({ errors: ['invalid lease'] });
      }
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
        expect(live()).to.not.include(leaseId);
        expect((await vault.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } })).json.errors).to.deep.equal(['lease not found']);
      }
      const queued = await leaseOf('ro');
      const lazy = await vault.call('PUT', 'sys/leases/revoke', { body: { lease_id: queued, sync: false } });
      expect(lazy.status).to.equal(202);
      expect(lazy.text).to.equal('');
      expect(live()).to.not.include(queued);
      expect((await vault.call('PUT', 'sys/leases/revoke', { body: { lease_id: 'database/creds/ro/unknown' } })).status).to.equal(204);
      const missing = await vault.call('PUT', 'sys/revoke', { body: {} });
      expect(missing.status).to.equal(400);
      expect(missing.json).to.deep.equal({ errors: ['lease_id must be specified'] });

      const direct = await leaseOf('ro');
      expect(sim.leases.revokeDirect(direct)).to.equal(true);
      expect(sim.leases.revokeDirect(direct)).to.equal(false);
      expect(live()).to.not.include(direct);
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
      expect(live()).to.not.include(a1);
      expect(live()).to.include.members([a2, ab]);
      // `database/creds/a` means `database/creds/a/`, never `database/creds/ab/…`.
      expect((await vault.call('PUT', 'sys/leases/revoke-prefix/database/creds/a', { token: sudo })).status).to.equal(204);
      expect(live()).to.not.include(a2);
      expect(live()).to.include(ab);
      expect((await vault.call('LIST', 'sys/leases/lookup/database/creds/a')).status).to.equal(404);

      const lazy = await vault.call('PUT', 'sys/revoke-prefix/database/creds/ab', { body: { sync: false } });
      expect(lazy.status).to.equal(202);
      expect(live()).to.not.include(ab);
      const forced = [await leaseOf('a'), await leaseOf('a')];
      expect((await vault.call('PUT', 'sys/leases/revoke-force/database/creds/a', { token: sudo })).status).to.equal(403);
      // revoke-force is always synchronous.
      expect((await vault.call('PUT', 'sys/revoke-force/database/creds/a', { body: { sync: false } })).status).to.equal(204);
      expect(live()).to.not.include.members(forced);
      const kept = await leaseOf('ab');
      expect(live()).to.include(kept);
      expect((await vault.call('PUT', 'sys/leases/revoke-prefix/', {})).status).to.equal(400);
    });

    it('revoke-prefix on a token path revokes those tokens, their children and their leases', async function () {
      const orphan = (await childOf(sim.rootToken, { policies: ['dbuser'] }, 'auth/token/create-orphan')).json.auth.client_token as string;
      const child = (await childOf(orphan, {})).json.auth.client_token as string;
      const lease = await leaseOf('ro', child);
      const other = await vault.tokenWith(['dbuser']);
      expect((await vault.call('PUT', 'sys/leases/revoke-prefix/auth/token/create-orphan')).status).to.equal(204);
      for (const gone of [orphan, child]) expect((await vault.call('GET', 'auth/token/lookup-self', { token: gone })).status).to.equal(403);
      expect(live()).to.not.include(lease);
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
      expect(sim.leases.list().find((l) => l.id === cl)?.tokenAccessor).to.equal(await accessorOf(child));

      expect((await vault.call('POST', 'auth/token/revoke-self', { token: parent })).status).to.equal(204);
      expect(live()).to.not.include.members([pl, cl]);
      expect(live()).to.include(ol);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: child })).status).to.equal(403);

      const byAccessor = await vault.tokenWith(['dbuser']);
      const viaAccessor = await leaseOf('ro', byAccessor);
      expect((await vault.call('POST', 'auth/token/revoke-accessor', { body: { accessor: await accessorOf(byAccessor) } })).status).to.equal(204);
      expect(live()).to.not.include(viaAccessor);
      const direct = await vault.tokenWith(['dbuser']);
      const viaSim = await leaseOf('ro', direct);
      sim.revokeToken(direct);
      expect(live()).to.not.include(viaSim);
      expect((await vault.call('POST', 'auth/token/revoke', { body: { token: orphan } })).status).to.equal(204);
      expect(live()).to.not.include(ol);
    });

    it('revoke-orphan revokes the token and its leases and keeps its children and theirs', async function () {
      const parent = await vault.tokenWith(['dbuser']);
      const child = (await childOf(parent)).json.auth.client_token as string;
      const [pl, cl] = [await leaseOf('ro', parent), await leaseOf('ro', child)];
      expect((await vault.call('POST', 'auth/token/revoke-orphan', { body: { token: parent } })).status).to.equal(204);
      expect(live()).to.not.include(pl);
      expect(live()).to.include(cl);
      const lookup = await vault.call('GET', 'auth/token/lookup-self', { token: child });
      expect(lookup.json.data.orphan).to.equal(true);
      expect((await vault.call('PUT', 'sys/leases/renew', { token: child, body: { lease_id: cl } })).status).to.equal(200);
    });

    it('builds token trees from create, create-orphan, roles and no_parent, with renewable, period and explicit_max_ttl', async function () {
      const parent = await vault.tokenWith(['dbuser']);
      const child = await childOf(parent, { renewable: false, ttl: '1h' });
      expect(child.json.auth).to.deep.include({ orphan: false, renewable: false, lease_duration: 3600, token_type: 'service' });
      const noParent = await vault.call('POST', 'auth/token/create', { token: parent, body: { no_parent: true } });
      expect(noParent.status).to.equal(400);
      expect(noParent.json.errors).to.deep.equal(['root or sudo privileges required to create orphan token']);
      const rootOrphan = await childOf(sim.rootToken, { no_parent: true, policies: ['dbuser'] });
      expect(rootOrphan.json.auth.orphan).to.equal(true);
      const periodic = await childOf(sim.rootToken, { policies: ['dbuser'], period: '30m', ttl: '1h' });
      expect(periodic.json.auth).to.deep.include({ lease_duration: 1800, renewable: true });
      const periodicLookup = await vault.call('GET', 'auth/token/lookup-self', { token: periodic.json.auth.client_token });
      expect(periodicLookup.json.data).to.deep.include({ period: 1800, orphan: false });
      const bounded = await childOf(parent, { ttl: '2h', explicit_max_ttl: '1h' });
      expect(bounded.json.auth.lease_duration).to.equal(3600);
      expect(bounded.json.warnings).to.include('TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly');

      expect((await vault.call('POST', 'auth/token/roles/detached', { body: { orphan: true, renewable: false } })).status).to.equal(204);
      const fromRole = await childOf(sim.rootToken, { policies: ['dbuser'] }, 'auth/token/create/detached');
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
      expect((await vault.call('POST', 'auth/token/lookup-accessor', { body: { accessor: 'nope' } })).json.errors).to.deep.equal([`1 error occurred:\n\t* invalid accessor\n\n`]);
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
      const listed = sim.leases.list().find((l) => l.id === res.json.lease_id);
      expect(listed).to.not.have.property('tokenAccessor');
      const renew = await vault.call('PUT', 'sys/leases/renew', { token: batch, body: { lease_id: res.json.lease_id, increment: '1h' } });
      expect(renew.status).to.equal(200);
      expect(renew.json.lease_duration).to.be.at.most(3);

      sim.revokeToken(parent);
      expect(live()).to.not.include(res.json.lease_id);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: batch })).status).to.equal(403);

      // A batch token names its parent: revoke-orphan of the parent invalidates it (and its leases).
      const parent2 = await vault.tokenWith(['dbuser']);
      const batch2 = (await childOf(parent2, { type: 'batch' })).json.auth.client_token as string;
      const lease2 = await leaseOf('ro', batch2);
      expect((await vault.call('POST', 'auth/token/revoke-orphan', { body: { token: parent2 } })).status).to.equal(204);
      expect((await vault.call('GET', 'auth/token/lookup-self', { token: batch2 })).status).to.equal(403);
      expect(live()).to.not.include(lease2);
    });
  });
});
