// The simulator's OpenBao profile (test/support/vault-sim/openbao.ts, inline-auth.ts): every way it
// answers differently from the default (Vault 1.15.6) profile, checked side by side. OpenBao's
// server cannot be built here, so the oracle is OpenBao v2.6.2's source as cited in openbao.ts;
// these tests pin the profile to that reading and show the default profile did not move.
import { expect } from 'chai';
import WebSocket from 'ws';
import { startVaultSim, type VaultSim } from '../../support/vault-sim/index.js';
import { SimClient } from '../../support/vault-sim/client.js';

const UNSUPPORTED_PATH = '1 error occurred:\n\t* unsupported path\n\n';
const DENIED = '1 error occurred:\n\t* permission denied\n\n';

/** One X-Vault-Inline-Auth-Parameter-* value: raw url-safe base64 of {"key","value"}. */
function inlineParam(key: string, value: unknown): string {
  return Buffer.from(JSON.stringify({ key, value })).toString('base64url');
}

/** The headers of an inline userpass login as `alice`. */
function inlineAlice(password = 'pw'): Record<string, string> {
  return {
    'X-Vault-Inline-Auth-Path': 'auth/userpass/login/alice',
    'X-Vault-Inline-Auth-Parameter-pw': inlineParam('password', password),
  };
}

/** The status a WebSocket subscribe gets: 101 when it opens, else the HTTP status. */
function subscribeStatus(sim: VaultSim, token: string): Promise<number> {
  const url = `${sim.url.replace(/^http/, 'ws')}/v1/sys/events/subscribe/kv*?json=true&namespaces=*`;
  const ws = new WebSocket(url, { headers: { 'x-vault-token': token } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

describe('vault-sim: the OpenBao profile against the default (Vault 1.15.6) profile', function () {
  this.timeout(20_000);
  let bao: VaultSim;
  let vault: VaultSim;
  let b: SimClient;
  let v: SimClient;

  before(async () => {
    bao = await startVaultSim({ profile: 'openbao', mountDatabase: true });
    vault = await startVaultSim({ mountDatabase: true });
    b = new SimClient(bao);
    v = new SimClient(vault);
    for (const c of [b, v]) {
      await c.call('POST', 'sys/auth/userpass', { body: { type: 'userpass' } });
      await c.writePolicy('app', 'path "secret/data/app" { capabilities = ["read"] }\npath "database/creds/*" { capabilities = ["read"] }');
      await c.call('POST', 'auth/userpass/users/alice', { body: { password: 'pw', token_policies: 'app' } });
      await c.call('POST', 'secret/data/app', { body: { data: { k: 'v' } } });
      await c.call('POST', 'database/roles/ro', { body: { default_ttl: '1h', max_ttl: '2h' } });
    }
  });
  after(async () => {
    await bao?.close();
    await vault?.close();
  });

  describe('sys/health and sys/seal-status', () => {
    it('health: OpenBao 2.6.2 without `performance_standby` (Vault 1.15.6 sends it)', async () => {
      const res = await b.call('GET', 'sys/health', { token: null });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json)).to.deep.equal([
        'initialized', 'sealed', 'standby', 'replication_performance_mode', 'replication_dr_mode', 'server_time_utc',
        'version', 'cluster_name', 'cluster_id',
      ]);
      expect(res.json.version).to.equal('2.6.2');
      const def = await v.call('GET', 'sys/health', { token: null });
      expect(def.json.version).to.equal('1.15.6');
      expect(def.json.performance_standby).to.equal(false);
    });

    it('seal-status: `commit_date` where Vault has `build_date`, in CoreSealStatusResponse\'s order', async () => {
      const res = await b.call('GET', 'sys/seal-status', { token: null });
      expect(Object.keys(res.json)).to.deep.equal([
        'type', 'initialized', 'sealed', 't', 'n', 'progress', 'nonce', 'recovery_seal', 'version', 'commit_date',
        'migration', 'cluster_name', 'cluster_id', 'storage_type',
      ]);
      expect(res.json.version).to.equal('2.6.2');
      const def = await v.call('GET', 'sys/seal-status', { token: null });
      expect(def.json).to.have.property('build_date');
      expect(def.json).not.to.have.property('commit_date');
    });

    it('sys/health with any X-Vault-Namespace (even "root") is 400 `operation unavailable in namespaces`; seal-status is not refused', async () => {
      for (const ns of ['ns1', 'root']) {
        const res = await b.call('GET', 'sys/health', { token: null, headers: { 'X-Vault-Namespace': ns } });
        expect(res.status, ns).to.equal(400);
        expect(res.json).to.deep.equal({ errors: ['operation unavailable in namespaces'] });
      }
      expect((await b.call('GET', 'sys/seal-status', { token: null, headers: { 'X-Vault-Namespace': 'ns1' } })).status).to.equal(200);
      expect((await v.call('GET', 'sys/health', { token: null, headers: { 'X-Vault-Namespace': 'ns1' } })).status).to.equal(200);
    });
  });

  describe('the envelope has no `mount_type`', () => {
    it('a KV v2 read, a wrapped answer and KV v2\'s own 404 of a deleted version carry no mount_type key', async () => {
      const read = await b.call('GET', 'secret/data/app');
      expect(read.status).to.equal(200);
      expect(read.json).not.to.have.property('mount_type');
      expect(Object.keys(read.json)).to.deep.equal(['request_id', 'lease_id', 'renewable', 'lease_duration', 'data', 'wrap_info', 'warnings', 'auth']);
      const wrapped = await b.call('GET', 'secret/data/app', { headers: { 'X-Vault-Wrap-TTL': '60' } });
      expect(wrapped.json.wrap_info.token).to.be.a('string');
      expect(wrapped.json).not.to.have.property('mount_type');
      await b.call('POST', 'secret/data/gone', { body: { data: { a: 1 } } });
      await b.call('DELETE', 'secret/data/gone');
      const gone = await b.call('GET', 'secret/data/gone');
      expect(gone.status).to.equal(404);
      expect(gone.json.data.metadata.deletion_time).to.be.a('string');
      expect(gone.json).not.to.have.property('mount_type');

      expect((await v.call('GET', 'secret/data/app')).json.mount_type).to.equal('kv');
    });

    it('sys/internal/ui/mounts/<path> still names the type and KV version (what a proxy asks instead)', async () => {
      const res = await b.call('GET', 'sys/internal/ui/mounts/secret/data/app');
      expect(res.status).to.equal(200);
      expect(res.json.data).to.include({ type: 'kv', path: 'secret/' });
      expect(res.json.data.options).to.deep.equal({ version: '2' });
    });
  });

  describe('no event stream', () => {
    it('a WebSocket subscribe is 404 `unsupported path` for root, 403 for a token the ACL refuses; the Vault profile opens it', async () => {
      expect(await subscribeStatus(bao, 'root')).to.equal(404);
      const plain = await b.call('GET', 'sys/events/subscribe/kv*?json=true');
      expect(plain.status).to.equal(404);
      expect(plain.json).to.deep.equal({ errors: [UNSUPPORTED_PATH] });
      const other = await b.tokenWith(['app']);
      expect((await b.call('GET', 'sys/events/subscribe/kv*?json=true', { token: other })).status).to.equal(403);
      expect(await subscribeStatus(vault, 'root')).to.equal(101);
    });

    it('`events.setAvailable(true)` does not give OpenBao one', async () => {
      bao.events.setAvailable(true);
      expect(await subscribeStatus(bao, 'root')).to.equal(404);
    });
  });

  describe('the legacy lease endpoints are gone (2.5.4 / 2.6.0)', () => {
    it('sys/renew, sys/renew/<id>, sys/revoke, sys/revoke/<id>, sys/revoke-prefix, sys/revoke-force: 404 `unsupported path`, and the lease lives on', async () => {
      const creds = await b.call('GET', 'database/creds/ro');
      expect(creds.status).to.equal(200);
      const leaseId = creds.json.lease_id as string;
      const attempts: Array<[string, unknown]> = [
        ['sys/renew', { lease_id: leaseId }],
        [`sys/renew/${leaseId}`, {}],
        ['sys/revoke', { lease_id: leaseId }],
        [`sys/revoke/${leaseId}`, {}],
        ['sys/revoke-prefix/database/creds', {}],
        ['sys/revoke-force/database/creds', {}],
      ];
      for (const [path, body] of attempts) {
        const res = await b.call('PUT', path, { body });
        expect(res.status, path).to.equal(404);
        expect(res.json, path).to.deep.equal({ errors: [UNSUPPORTED_PATH] });
      }
      expect(bao.leases.list().map((l) => l.id)).to.include(leaseId);
      const renewed = await b.call('PUT', 'sys/leases/renew', { body: { lease_id: leaseId } });
      expect(renewed.status).to.equal(200);
      expect(renewed.json.lease_id).to.equal(leaseId);
    });

    it('the default policy no longer grants sys/renew (nor sys/control-group/request); sys/leases/renew stays', async () => {
      const token = await b.tokenWith(['default']);
      expect((await b.call('PUT', 'sys/renew', { token, body: {} })).json).to.deep.equal({ errors: [DENIED] });
      expect((await b.call('PUT', 'sys/leases/renew', { token, body: {} })).json).to.deep.equal({ errors: ['lease_id must be specified'] });
      const text = (await b.call('GET', 'sys/policies/acl/default')).json.data.policy as string;
      expect(text).not.to.include('"sys/renew"');
      expect(text).not.to.include('control-group');
      expect(text).to.include('path "sys/leases/renew"');
    });

    it('the Vault profile still serves the aliases', async () => {
      const creds = await v.call('GET', 'database/creds/ro');
      const res = await v.call('PUT', 'sys/renew', { body: { lease_id: creds.json.lease_id } });
      expect(res.status).to.equal(200);
      const token = await v.tokenWith(['default']);
      expect((await v.call('PUT', 'sys/renew', { token, body: {} })).json).to.deep.equal({ errors: ['lease_id must be specified'] });
    });
  });

  describe('namespaces are always on, and must exist', () => {
    it('a namespace made with sys/namespaces holds its mounts; X-Vault-Namespace selects them; the Vault profile ignores the header', async () => {
      const created = await b.call('POST', 'sys/namespaces/ns1');
      expect(created.status).to.equal(200);
      expect(Object.keys(created.json.data).sort()).to.deep.equal(['custom_metadata', 'id', 'locked', 'path', 'tainted', 'uuid']);
      expect(created.json.data).to.include({ path: 'ns1/', tainted: false, locked: false });
      expect(created.json.data.id).to.match(/^[0-9A-Za-z]{6}$/);
      expect((await b.call('POST', 'sys/mounts/secret', { headers: { 'X-Vault-Namespace': 'ns1' }, body: { type: 'kv', options: { version: '2' } } })).status).to.equal(204);
      await v.call('POST', 'sys/mounts/ns1/secret', { body: { type: 'kv', options: { version: '2' } } });
      await b.call('POST', 'secret/data/app', { headers: { 'X-Vault-Namespace': 'ns1' }, body: { data: { k: 'ns1' } } });
      const inNs = await b.call('GET', 'secret/data/app', { headers: { 'X-Vault-Namespace': 'ns1/' } });
      expect(inNs.json.data.data).to.deep.equal({ k: 'ns1' });
      expect(inNs.headers.get('x-vault-namespace')).to.equal('ns1/');
      expect((await b.call('GET', 'secret/data/app')).json.data.data).to.deep.equal({ k: 'v' });
      expect((await v.call('GET', 'secret/data/app', { headers: { 'X-Vault-Namespace': 'ns1' } })).json.data.data).to.deep.equal({ k: 'v' });
    });

    it('a namespace that does not exist: 404 `namespace not found`, before the token is looked at', async () => {
      for (const token of [undefined, null]) {
        const res = await b.call('GET', 'secret/data/app', { token, headers: { 'X-Vault-Namespace': 'nope' } });
        expect(res.status).to.equal(404);
        expect(res.json).to.deep.equal({ errors: ['namespace not found'] });
      }
      expect((await b.call('GET', 'secret/data/app', { headers: { 'X-Vault-Namespace': 'root' } })).json.data.data).to.deep.equal({ k: 'v' });
    });

    it('sys/namespaces: children are made in their parent, listed with key_info, read back; bad names refused; deletion takes the mounts and waits for children', async () => {
      expect((await b.call('POST', 'sys/namespaces/team', { headers: { 'X-Vault-Namespace': 'ns1' } })).json.data.path).to.equal('ns1/team/');
      const listed = await b.call('LIST', 'sys/namespaces');
      expect(listed.json.data.keys).to.deep.equal(['ns1/']);
      expect(listed.json.data.key_info['ns1/'].path).to.equal('ns1/');
      expect((await b.call('LIST', 'sys/namespaces', { headers: { 'X-Vault-Namespace': 'ns1' } })).json.data.keys).to.deep.equal(['team/']);
      expect((await b.call('GET', 'sys/namespaces/team', { headers: { 'X-Vault-Namespace': 'ns1' } })).json.data.path).to.equal('ns1/team/');
      expect((await b.call('GET', 'sys/namespaces/absent')).status).to.equal(404);
      expect((await b.call('POST', 'sys/namespaces/a/b')).json).to.deep.equal({ errors: ['namespace name cannot contain /'] });
      expect((await b.call('POST', 'sys/namespaces/sys')).json).to.deep.equal({ errors: ['"sys/" is a reserved path and cannot be used as a namespace name'] });
      await b.call('POST', 'sys/namespaces/gone');
      await b.call('POST', 'sys/mounts/kv', { headers: { 'X-Vault-Namespace': 'gone' }, body: { type: 'kv', options: { version: '2' } } });
      await b.call('POST', 'kv/data/x', { headers: { 'X-Vault-Namespace': 'gone' }, body: { data: { a: 1 } } });
      const deleted = await b.call('DELETE', 'sys/namespaces/gone');
      expect(deleted.json.data).to.deep.equal({ status: 'in-progress' });
      expect((await b.call('GET', 'kv/data/x', { headers: { 'X-Vault-Namespace': 'gone' } })).json).to.deep.equal({ errors: ['namespace not found'] });
      expect((await b.call('GET', 'gone/kv/data/x')).status).to.equal(404);
      const parent = await b.call('DELETE', 'sys/namespaces/ns1');
      expect(parent.status).to.equal(409);
      expect(parent.json).to.deep.equal({ errors: ['unable to delete namespace containing child namespaces'] });
      expect((await v.call('LIST', 'sys/namespaces')).status).to.equal(404);
    });
  });

  describe('the scan operation (SCAN, ?scan=true, the `scan` capability)', () => {
    before(async () => {
      for (const key of ['a', 'b/c', 'b/d/e', 'z/y']) {
        for (const c of [b, v]) await c.call('POST', `secret/data/scan/${key}`, { body: { data: { k: key } } });
      }
    });

    it('SCAN and GET ?scan=true list a KV v2 prefix recursively, in ScanView\'s depth-first order; nothing below is 200 `data: {}`', async () => {
      const keys = ['a', 'z/y', 'b/c', 'b/d/e'];
      const scanned = await b.call('SCAN', 'secret/metadata/scan');
      expect(scanned.status).to.equal(200);
      expect(scanned.json.data).to.deep.equal({ keys });
      expect((await b.call('GET', 'secret/metadata/scan/?scan=true')).json.data).to.deep.equal({ keys });
      const none = await b.call('SCAN', 'secret/metadata/nothing-here/');
      expect(none.status).to.equal(200);
      expect(none.json.data).to.deep.equal({});
    });

    it('KV v2\'s invalid-path warning names the OpenBao CLI (and takes scans): `bao kv scan`, `bao kv get`', async () => {
      const scan = await b.call('SCAN', 'secret/data/scan/');
      expect(scan.status).to.equal(404);
      expect(scan.json.warnings).to.deep.equal([
        'Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use \'bao kv scan\' for this operation.',
      ]);
      expect((await b.call('GET', 'secret/nope')).json.warnings[0]).to.include('If using the OpenBao CLI, use \'bao kv get\'');
      expect((await v.call('GET', 'secret/nope')).json.warnings[0]).to.include('If using the Vault CLI, use \'vault kv get\'');
    });

    it('`list` and `scan` both true, or a scan flag that is not a bool: a bare 400', async () => {
      for (const q of ['list=true&scan=true', 'scan=maybe']) {
        const res = await b.call('GET', `secret/metadata/scan/?${q}`);
        expect(res.status, q).to.equal(400);
        expect(res.json, q).to.deep.equal({ errors: [] });
      }
    });

    it('`scan` is its own capability: list does not grant it, nor scan list', async () => {
      await b.writePolicy('scanner', 'path "secret/metadata/scan/*" { capabilities = ["scan"] }');
      await b.writePolicy('lister', 'path "secret/metadata/scan/*" { capabilities = ["list"] }');
      const scanner = await b.tokenWith(['scanner']);
      const lister = await b.tokenWith(['lister']);
      expect((await b.call('SCAN', 'secret/metadata/scan/b', { token: scanner })).json.data).to.deep.equal({ keys: ['c', 'd/e'] });
      expect((await b.call('LIST', 'secret/metadata/scan/b', { token: scanner })).status).to.equal(403);
      expect((await b.call('LIST', 'secret/metadata/scan/b', { token: lister })).status).to.equal(200);
      expect((await b.call('SCAN', 'secret/metadata/scan/b', { token: lister })).status).to.equal(403);
    });

    it('the Vault profile has none of it: SCAN is 405 and a policy naming `scan` is refused', async () => {
      const res = await v.call('SCAN', 'secret/metadata/scan');
      expect(res.status).to.equal(405);
      expect(res.json).to.deep.equal({ errors: [] });
      const policy = await v.call('PUT', 'sys/policies/acl/scanner', { body: { policy: 'path "secret/*" { capabilities = ["scan"] }' } });
      expect(policy.status).to.equal(400);
      expect(policy.json.errors[0]).to.include('invalid capability "scan"');
    });
  });

  describe('token-less inline authentication', () => {
    it('a request with X-Vault-Inline-Auth-* and no token is answered with the login\'s policies; no token comes back or stays', async () => {
      const accessors = async (): Promise<number> => ((await b.call('LIST', 'auth/token/accessors')).json.data.keys as string[]).length;
      const tokensBefore = await accessors();
      const res = await b.call('GET', 'secret/data/app', { token: null, headers: inlineAlice() });
      expect(await accessors()).to.equal(tokensBefore);
      expect(res.status).to.equal(200);
      expect(res.json.data.data).to.deep.equal({ k: 'v' });
      expect(res.json.auth).to.equal(null);
      expect(res.text).not.to.match(/hvs\./);
      const refused = await b.call('GET', 'secret/data/other', { token: null, headers: inlineAlice() });
      expect(refused.status).to.equal(403);
      // The Vault profile does not know the headers: a request without a token.
      expect((await v.call('GET', 'secret/data/app', { token: null, headers: inlineAlice() })).status).to.equal(403);
    });

    it('a failed login answers as the login did, marked X-Vault-Inline-Auth-Failed: true', async () => {
      const res = await b.call('GET', 'secret/data/app', { token: null, headers: inlineAlice('wrong') });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal({ errors: ['invalid username or password'] });
      expect(res.headers.get('x-vault-inline-auth-failed')).to.equal('true');
    });

    it('with a token as well: 500 `cannot layer inline authentication with token authentication`', async () => {
      const res = await b.call('GET', 'secret/data/app', { headers: inlineAlice() });
      expect(res.status).to.equal(500);
      expect(res.json).to.deep.equal({ errors: ['failed to perform inline authentication: cannot layer inline authentication with token authentication'] });
    });

    it('a request that would make a lease fails (500) and the lease is revoked at once', async () => {
      const before = bao.leases.list().length;
      const res = await b.call('GET', 'database/creds/ro', { token: null, headers: inlineAlice() });
      expect(res.status).to.equal(500);
      expect(res.json).to.deep.equal({ errors: ['requests with inline authentication cannot generate leases'] });
      expect(bao.leases.list().length).to.equal(before);
    });

    it('parameter headers are raw url-safe base64 JSON {key, value}: anything else is refused', async () => {
      const cases: Array<[string, string]> = [
        ['eyJrZXkiOiJwYXNzd29yZCIsInZhbHVlIjoicHcifQ==', 'failed raw url-safe base64 decoding header value'],
        [Buffer.from('not json').toString('base64url'), 'failed json decoding header value'],
        [Buffer.from(JSON.stringify({ value: 'pw' })).toString('base64url'), 'decoded header lacked `key` field'],
        [Buffer.from(JSON.stringify({ key: 'password', value: 'pw', x: 1 })).toString('base64url'), 'unexpected field in decoded request parameter'],
      ];
      for (const [value, message] of cases) {
        const res = await b.call('GET', 'secret/data/app', {
          token: null, headers: { 'X-Vault-Inline-Auth-Path': 'auth/userpass/login/alice', 'X-Vault-Inline-Auth-Parameter-pw': value },
        });
        expect(res.status, message).to.equal(500);
        expect(res.json, message).to.deep.equal({ errors: [`failed to perform inline authentication: ${message}`] });
      }
    });
  });
});
