// Clients nobody here wrote — the `vault` CLI of the same build as the server, Python's hvac and
// npm's node-vault — pointed at Envoy's listener in front of a real Vault. Each call's result must
// equal the same call made straight to Vault (less what legitimately differs: request ids, new
// tokens and lease ids), and the caches must answer where they should: X-Cache/Age where the client
// shows headers (hvac, through a requests hook), else the real Vault's audit log (the second
// identical read never reached Vault) and vault-extproc's hit counter.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import {
  cacheHits, clientHome, comparable, HVAC_VERSION, hvacCalls, installPyClients, leaseExists, NEW_TOKEN_FIELDS,
  normalized, startLeasedKvVault, vaultCli, type HvacResult, type LeasedKvVault, type Ran,
} from '../clients/harness.js';
import { backendKinds, backendLabel, startBackend, type Backend } from '../support/backend.js';
import { waitFor } from '../support/ports.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';

/** The client tokens' policy: their own KV secrets, tokens, and AppRole logins. */
const APP = `path "secret/data/app/*" { capabilities = ["create", "update", "read"] }
path "secret/metadata/app/*" { capabilities = ["list", "read"] }
path "secret/metadata/app" { capabilities = ["list"] }
path "kv1/*" { capabilities = ["read", "list"] }
path "auth/token/create" { capabilities = ["update"] }`;
/**
 * The auto-auth token's: Vault Proxy's documented static-cache policy (read all KV, subscribe to its
 * events), plus what the lease-cache calls made with it need. No KV path may have a rule of its own
 * without `subscribe`: Vault 1.15 then silently withholds that path's events from the worker.
 */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "auth/token/create" { capabilities = ["update"] }
path "pki/issue/*" { capabilities = ["update"] }
path "sys/leases/*" { capabilities = ["update"] }`;

// Registered only when VAULT_BACKENDS names `real` (as forEachBackend does for both).
if (backendKinds().includes('real')) describe(`e2e: real clients through Envoy and vault-extproc ${backendLabel('real')}`, function () {
  this.timeout(120_000);
  let vault: Backend;
  let stack: Stack;
  let worker: AppRoleCreds;
  let client: AppRoleCreds;
  /** A client's own token (policy `app`), made straight at Vault: KV reads use it, as apps do. */
  let appToken: string;
  /** The auto-auth token (from the file sink): lease-cache calls use it, so their results are managed. */
  let autoToken: string;
  const home = clientHome();
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  before(async function () {
    vault = await startBackend('real');
    await writePolicy(vault, 'app', APP);
    await writePolicy(vault, 'worker', WORKER);
    await vaultApi(vault, 'POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
    await vaultApi(vault, 'POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '24h' } });
    await vaultApi(vault, 'POST', 'pki/root/generate/internal', { common_name: 'clients.test', ttl: '24h' });
    await vaultApi(vault, 'POST', 'pki/roles/leased', { allowed_domains: 'clients.test', allow_subdomains: true, generate_lease: true, ttl: '1h', max_ttl: '2h', key_type: 'ec', key_bits: 256 });
    worker = await setupAppRole(vault, { role: 'worker', policies: ['worker'] });
    client = await setupAppRole(vault, { role: 'client', policies: ['app'], tokenTtl: '1h' });
    appToken = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['app'], ttl: '2h' })).json.auth.client_token as string;
    stack = await startStack({
      vault,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, worker, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache {
  cache_static_secrets = true
  # Events keep the cache true here; no timed refetch may add reads while a test counts them.
  static_secret_refresh_interval = "1h"
  static_secret_token_capability_refresh_interval = "1h"
}
`,
    });
    stacks.push(stack);
    autoToken = readFileSync(join(stack.dir, 'token'), 'utf8').trim();
    // The static cache's first event subscription refetches what is cached: let it come first.
    await untilCacheWatching(stack, 'real');
    // Vault 1.15 does not name the mount type in its answers: vault-extproc learns that a mount is KV
    // (sys/internal/ui/mounts) on its first read there, uncached. Have that happen for both KV mounts
    // before the tests count reads (best effort: the tests themselves say what fails).
    await vaultApi(vault, 'POST', 'secret/data/app/warm-up', { data: { v: 'w' } });
    await vaultApi(vault, 'POST', 'kv1/warm-up', { v: 'w' });
    for (const path of ['/v1/secret/data/app/warm-up', '/v1/kv1/warm-up']) {
      await waitFor(`a cache HIT for ${path}`, async () => {
        const res = await fetch(`${stack.url}${path}`, { headers: { 'x-vault-token': appToken } });
        await res.arrayBuffer();
        return res.headers.get('x-cache') === 'HIT' ? true : undefined;
      }, 3_000, 100).catch(() => undefined);
    }
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault?.close();
    home.remove();
  });

  /** A fresh secret_id of the `client` role: each client's logins are their own cache entries. */
  async function secretId(): Promise<string> {
    return (await vaultApi(vault, 'POST', 'auth/approle/role/client/secret-id')).json.data.secret_id as string;
  }
  /** AppRole logins that reached Vault with this secret_id. */
  function loginsWith(secret: string): number {
    return vault.requestsTo('/v1/auth/approle/login').filter((r) => r.body.includes(secret)).length;
  }

  async function writeKv(path: string, data: Record<string, string>): Promise<void> {
    await vaultApi(vault, 'POST', `secret/data/${path}`, { data });
  }

  /**
   * Reads of `path` that reached Vault, from anyone. (The worker reads a secret again only on a KV
   * event or a reconnect for what is cached, and the tests write before they count.)
   */
  function readsOf(path: string): number {
    return vault.requestsTo(path).filter((r) => r.method === 'GET').length;
  }

  describe('the vault CLI (same build as the server)', () => {
    const cli = async (url: string, token: string, args: string[]): Promise<Ran> => vaultCli(home.path, url, token, args);
    async function cliJson(url: string, token: string, args: string[]): Promise<any> {
      const r = await vaultCli(home.path, url, token, args, { json: true });
      expect(r.code, `vault ${args.join(' ')} via ${url}:\n${r.stderr}`).to.equal(0);
      return JSON.parse(r.stdout);
    }
    const both = async (token: string, args: string[]): Promise<[any, any]> =>
      [await cliJson(stack.url, token, args), await cliJson(vault.url, token, args)];

    it('kv get (v2) twice and read: the same JSON as Vault; only the first read reached Vault', async () => {
      await writeKv('app/cli', { user: 'cli', pass: 's3cret' });
      vault.clearRequests();
      const hitsBefore = await cacheHits(stack.adminUrl);
      const first = await cliJson(stack.url, appToken, ['kv', 'get', 'secret/app/cli']);
      const second = await cliJson(stack.url, appToken, ['kv', 'get', 'secret/app/cli']);
      const read = await cliJson(stack.url, appToken, ['read', 'secret/data/app/cli']);
      const direct = await cliJson(vault.url, appToken, ['kv', 'get', 'secret/app/cli']);
      expect(first.data.data).to.deep.equal({ user: 'cli', pass: 's3cret' });
      for (const r of [first, second, read]) expect(comparable(r)).to.deep.equal(comparable(direct));
      // `vault kv get` asks sys/internal/ui/mounts first (never cached); then the KV read itself.
      expect(vault.requestsTo('/v1/sys/internal/ui/mounts/secret/app/cli')).to.have.length.at.least(3);
      expect(readsOf('/v1/secret/data/app/cli'), 'reads of secret/data/app/cli that reached Vault').to.equal(2); // 1 via Envoy + 1 direct
      expect(await cacheHits(stack.adminUrl) - hitsBefore).to.equal(2);
    });

    it('kv get (v1): the same JSON as Vault; the second read is served by the cache', async () => {
      await vaultApi(vault, 'POST', 'kv1/cli', { user: 'one' });
      vault.clearRequests();
      const first = await cliJson(stack.url, appToken, ['kv', 'get', 'kv1/cli']);
      const second = await cliJson(stack.url, appToken, ['kv', 'get', 'kv1/cli']);
      const direct = await cliJson(vault.url, appToken, ['kv', 'get', 'kv1/cli']);
      expect(direct.data).to.deep.equal({ user: 'one' });
      for (const r of [first, second]) expect(comparable(r)).to.deep.equal(comparable(direct));
      expect(readsOf('/v1/kv1/cli')).to.equal(2);
    });

    it('kv list (LIST with X-Vault-Request): the same keys as Vault, never cached', async () => {
      await writeKv('app/listed/a', { v: '1' });
      await writeKv('app/listed/b', { v: '2' });
      vault.clearRequests();
      const [a, direct] = await both(appToken, ['kv', 'list', 'secret/app/listed']);
      const b = await cliJson(stack.url, appToken, ['kv', 'list', 'secret/app/listed']);
      expect(direct).to.deep.equal(['a', 'b']);
      expect([a, b]).to.deep.equal([direct, direct]);
      expect(vault.requests.filter((r) => r.method === 'LIST' && r.path.startsWith('/v1/secret/metadata/app/listed'))).to.have.length(3);
    });

    it('a missing secret: the same error as Vault', async () => {
      const via = await cli(stack.url, appToken, ['kv', 'get', 'secret/app/missing']);
      const direct = await cli(vault.url, appToken, ['kv', 'get', 'secret/app/missing']);
      expect([via.code, via.stdout]).to.deep.equal([direct.code, direct.stdout]);
      expect(via.stderr.replaceAll(stack.url, '<addr>')).to.equal(direct.stderr.replaceAll(vault.url, '<addr>'));
      expect(via.code).to.equal(2);
    });

    it('token create twice with the auto-auth token: the second is the cached token; same shape as Vault', async () => {
      vault.clearRequests();
      const args = ['token', 'create', '-policy=default', '-ttl=1h', '-display-name=cli'];
      const first = await cliJson(stack.url, autoToken, args);
      const second = await cliJson(stack.url, autoToken, args);
      const direct = await cliJson(vault.url, autoToken, args);
      expect(second.auth.client_token).to.equal(first.auth.client_token);
      expect(direct.auth.client_token).not.to.equal(first.auth.client_token);
      expect(comparable(first, NEW_TOKEN_FIELDS)).to.deep.equal(comparable(direct, NEW_TOKEN_FIELDS));
      expect(vault.requestsTo('/v1/auth/token/create')).to.have.length(2); // 1 via Envoy + 1 direct
      // The cached token is a real one.
      expect((await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, second.auth.client_token)).json.data.display_name).to.equal('token-cli');
    });

    it('write auth/approle/login twice: the second is the cached login; same shape as Vault', async () => {
      const secret = await secretId();
      const args = ['write', 'auth/approle/login', `role_id=${client.roleId}`, `secret_id=${secret}`];
      const first = await cliJson(stack.url, appToken, args);
      const second = await cliJson(stack.url, appToken, args);
      const direct = await cliJson(vault.url, appToken, args);
      expect(second.auth.client_token).to.equal(first.auth.client_token);
      expect(comparable(first, NEW_TOKEN_FIELDS)).to.deep.equal(comparable(direct, NEW_TOKEN_FIELDS));
      expect(first.auth).to.include({ orphan: true, lease_duration: 3600, renewable: true });
      expect(first.auth.metadata).to.deep.equal({ role_name: 'client' });
      expect(loginsWith(secret)).to.equal(2); // 1 via Envoy + 1 direct
    });

    describe('leases', () => {
      it('pki (generate_lease = true) issue, lease renew, lease revoke: Vault\'s answers; a lease that cannot be renewed is not cached', async () => {
        const issue = ['write', 'pki/issue/leased', 'common_name=www.clients.test', 'ttl=30m'];
        vault.clearRequests();
        const first = await cliJson(stack.url, autoToken, issue);
        const second = await cliJson(stack.url, autoToken, issue);
        const direct = await cliJson(vault.url, autoToken, issue);
        expect(first.lease_id).to.match(/^pki\/issue\/leased\//);
        expect(Object.keys(first.data).sort()).to.deep.equal(Object.keys(direct.data).sort());
        // The lease runs to the certificate's notAfter: whole seconds from issue, so ±1 between calls.
        expect(Math.abs(first.lease_duration - direct.lease_duration)).to.be.at.most(2);
        expect([first.renewable, direct.renewable]).to.deep.equal([false, false]);
        // Vault Agent caches only renewable leases and tokens: each issue reached Vault.
        expect(second.lease_id).not.to.equal(first.lease_id);
        expect(vault.requestsTo('/v1/pki/issue/leased')).to.have.length(3);

        // pki has no renew handler: Vault refuses, through Envoy in the same words.
        const renewVia = await cli(stack.url, autoToken, ['lease', 'renew', first.lease_id]);
        const renewDirect = await cli(vault.url, autoToken, ['lease', 'renew', direct.lease_id]);
        expect(renewVia.code).to.equal(2);
        expect(renewVia.code).to.equal(renewDirect.code);
        expect(normalized(renewVia.stderr, stack.url, first.lease_id)).to.equal(normalized(renewDirect.stderr, vault.url, direct.lease_id));
        expect(renewVia.stderr).to.include('lease is not renewable');

        const revokeVia = await cli(stack.url, autoToken, ['lease', 'revoke', first.lease_id]);
        const revokeDirect = await cli(vault.url, autoToken, ['lease', 'revoke', direct.lease_id]);
        expect([revokeVia.code, revokeDirect.code]).to.deep.equal([0, 0]);
        expect(normalized(revokeVia.stdout, stack.url, first.lease_id)).to.equal(normalized(revokeDirect.stdout, vault.url, direct.lease_id));
        for (const id of [first.lease_id, direct.lease_id]) expect(await leaseExists(vault, id), id).to.equal(false);
        expect(await leaseExists(vault, second.lease_id)).to.equal(true);
      });

      describe('renewable leases (a second dev Vault with -dev-leased-kv)', () => {
        let leased: LeasedKvVault;
        let leasedStack: Stack;
        let leasedAuto: string;
        before(async function () {
          this.timeout(60_000);
          leased = await startLeasedKvVault();
          await writePolicy(leased, 'worker', 'path "*" { capabilities = ["create", "read", "update", "list"] }');
          const creds = await setupAppRole(leased, { role: 'worker', policies: ['worker'] });
          leasedStack = await startStack({ vault: leased, hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}\napi_proxy { use_auto_auth_token = true }\ncache {}\n` });
          stacks.push(leasedStack);
          leasedAuto = readFileSync(join(leasedStack.dir, 'token'), 'utf8').trim();
          await vaultApi(leased, 'POST', 'secret/leased', { user: 'kv', ttl: '1h' });
        });
        after(async () => {
          await leasedStack?.stop();
          await leased?.stop();
        });

        it('read twice: the second is the cached lease; lease renew and revoke answer as Vault does; revoke evicts', async () => {
          const hitsBefore = await cacheHits(leasedStack.adminUrl);
          const first = await cliJson(leasedStack.url, leasedAuto, ['read', 'secret/leased']);
          const second = await cliJson(leasedStack.url, leasedAuto, ['read', 'secret/leased']);
          const direct = await cliJson(leased.url, leasedAuto, ['read', 'secret/leased']);
          expect(first.lease_id).to.match(/^secret\/leased\//);
          expect([first.renewable, first.lease_duration]).to.deep.equal([true, 3600]);
          expect(second.lease_id).to.equal(first.lease_id);
          expect(await cacheHits(leasedStack.adminUrl) - hitsBefore).to.equal(1);
          expect(comparable(first, ['lease_id'])).to.deep.equal(comparable(direct, ['lease_id']));

          const renewVia = await cliJson(leasedStack.url, leasedAuto, ['lease', 'renew', '-increment=30m', first.lease_id]);
          const renewDirect = await cliJson(leased.url, leasedAuto, ['lease', 'renew', '-increment=30m', direct.lease_id]);
          expect(renewVia.lease_id).to.equal(first.lease_id);
          expect(comparable(renewVia, ['lease_id'])).to.deep.equal(comparable(renewDirect, ['lease_id']));
          expect(renewVia.lease_duration).to.equal(1800);
          // Renewals are never answered from the cache.
          const renewAgain = await cliJson(leasedStack.url, leasedAuto, ['lease', 'renew', '-increment=30m', first.lease_id]);
          expect(comparable(renewAgain)).to.deep.equal(comparable(renewVia));
          expect(await cacheHits(leasedStack.adminUrl) - hitsBefore).to.equal(1);

          const revokeVia = await cli(leasedStack.url, leasedAuto, ['lease', 'revoke', first.lease_id]);
          const revokeDirect = await cli(leased.url, leasedAuto, ['lease', 'revoke', direct.lease_id]);
          expect([revokeVia.code, revokeDirect.code]).to.deep.equal([0, 0]);
          expect(normalized(revokeVia.stdout, leasedStack.url, first.lease_id)).to.equal(normalized(revokeDirect.stdout, leased.url, direct.lease_id));
          for (const id of [first.lease_id, direct.lease_id]) expect(await leaseExists(leased, id), id).to.equal(false);
          // The revoked lease left the cache: the next read is a new lease from Vault.
          const third = await cliJson(leasedStack.url, leasedAuto, ['read', 'secret/leased']);
          expect(third.lease_id).not.to.equal(first.lease_id);
          expect(await cacheHits(leasedStack.adminUrl) - hitsBefore).to.equal(1);
        });
      });
    });
  });

  describe('Python hvac (PyPI)', () => {
    let python: string;
    before(async function () {
      // test/clients/requirements.txt into .tools/py-clients/ (a no-op once there; a cold install takes ~10 s).
      this.timeout(180_000);
      python = await installPyClients();
    });

    async function hvac(url: string, token: string | undefined, calls: object[]): Promise<HvacResult[]> {
      const out = await hvacCalls(python, home.path, url, token, calls);
      expect(out.hvac).to.equal(HVAC_VERSION);
      return out.results;
    }

    it('kv v2 read twice: the same secret as Vault; X-Cache MISS then HIT with Age', async () => {
      await writeKv('app/hvac', { user: 'py' });
      vault.clearRequests();
      const read = { op: 'kv2_read', mount: 'secret', path: 'app/hvac' };
      const [first, , second] = await hvac(stack.url, appToken, [read, { op: 'sleep', seconds: 1.1 }, read]);
      const [direct] = await hvac(vault.url, appToken, [read]);
      expect(direct!.response.data.data).to.deep.equal({ user: 'py' });
      for (const r of [first!, second!]) expect(comparable(r.response)).to.deep.equal(comparable(direct!.response));
      expect(direct!.headers!['x-cache']).to.equal(undefined);
      expect(first!.headers!['x-cache']).to.equal('MISS');
      expect(second!.headers!['x-cache']).to.equal('HIT');
      expect(Number(second!.headers!['age'])).to.be.within(1, 5);
      expect(readsOf('/v1/secret/data/app/hvac')).to.equal(2); // 1 via Envoy + 1 direct
    });

    it('token lookup_self: the same token data as Vault, never cached', async () => {
      const [a, b] = await hvac(stack.url, appToken, [{ op: 'lookup_self' }, { op: 'lookup_self' }]);
      const [direct] = await hvac(vault.url, appToken, [{ op: 'lookup_self' }]);
      // ttl counts down in whole seconds: compare it within the few seconds these calls take.
      for (const r of [a!, b!]) {
        expect(comparable(r.response, ['ttl'])).to.deep.equal(comparable(direct!.response, ['ttl']));
        expect(Math.abs(r.response.data.ttl - direct!.response.data.ttl)).to.be.at.most(5);
        expect(r.headers!['x-cache']).to.equal('MISS');
      }
    });

    it('approle login twice: the second is X-Cache HIT with the same token; same shape as Vault', async () => {
      const login = { op: 'approle_login', role_id: client.roleId, secret_id: await secretId() };
      const [first, second] = await hvac(stack.url, appToken, [login, login]);
      const [direct] = await hvac(vault.url, appToken, [login]);
      expect([first!.headers!['x-cache'], second!.headers!['x-cache']]).to.deep.equal(['MISS', 'HIT']);
      expect(second!.headers!['age']).to.match(/^\d+$/);
      expect(second!.response.auth.client_token).to.equal(first!.response.auth.client_token);
      expect(comparable(first!.response, NEW_TOKEN_FIELDS)).to.deep.equal(comparable(direct!.response, NEW_TOKEN_FIELDS));
      expect(loginsWith(login.secret_id)).to.equal(2);
    });

    it('an error (a token that may not read): the same exception and errors as Vault, nothing cached', async () => {
      const read = { op: 'kv2_read', mount: 'secret', path: 'other/x' };
      const [via] = await hvac(stack.url, appToken, [read]);
      const [direct] = await hvac(vault.url, appToken, [read]);
      expect(via).to.deep.include({ ok: false, error: 'Forbidden', status: 403 });
      expect(via!.errors).to.deep.equal(direct!.errors);
      expect(via!.headers!['x-cache']).to.equal(undefined);
    });
  });

  describe('node-vault (npm)', () => {
    const nv = (url: string, token: string): nodeVault.client => nodeVault({ apiVersion: 'v1', endpoint: url, token, noCustomHTTPVerbs: true });

    it('read twice: the same secret as Vault; only the first reached Vault', async () => {
      await writeKv('app/node', { user: 'js' });
      vault.clearRequests();
      const hitsBefore = await cacheHits(stack.adminUrl);
      const via = nv(stack.url, appToken);
      const first = await via.read('secret/data/app/node');
      const second = await via.read('secret/data/app/node');
      const direct = await nv(vault.url, appToken).read('secret/data/app/node');
      expect(direct.data.data).to.deep.equal({ user: 'js' });
      for (const r of [first, second]) expect(comparable(r)).to.deep.equal(comparable(direct));
      expect(readsOf('/v1/secret/data/app/node')).to.equal(2); // 1 via Envoy + 1 direct
      expect(await cacheHits(stack.adminUrl) - hitsBefore).to.equal(1);
    });

    it('write: the same answer as Vault, and the next read through Envoy returns what was written', async () => {
      const via = await nv(stack.url, appToken).write('secret/data/app/node-written', { data: { v: 'via' } });
      const direct = await nv(vault.url, appToken).write('secret/data/app/node-written-direct', { data: { v: 'direct' } });
      expect(comparable(via, ['created_time'])).to.deep.equal(comparable(direct, ['created_time']));
      expect(via.data.version).to.equal(1);
      const back = await nv(stack.url, appToken).read('secret/data/app/node-written');
      expect(back.data.data).to.deep.equal({ v: 'via' });
      // A second version written through Envoy is what the next read sees (a write is never answered from the cache).
      await nv(stack.url, appToken).write('secret/data/app/node-written', { data: { v: 'via-2' } });
      await waitFor('the second version through Envoy', async () => {
        const r = await nv(stack.url, appToken).read('secret/data/app/node-written');
        return r.data.data.v === 'via-2' ? true : undefined;
      }, 10_000, 200);
    });

    it('tokenCreate twice with the auto-auth token: the second is the cached token; same shape as Vault', async () => {
      vault.clearRequests();
      const opts = { policies: ['default'], ttl: '1h', display_name: 'node', meta: { client: 'node-vault' } };
      const first = await nv(stack.url, autoToken).tokenCreate(opts);
      const second = await nv(stack.url, autoToken).tokenCreate(opts);
      const direct = await nv(vault.url, autoToken).tokenCreate(opts);
      expect(second.auth.client_token).to.equal(first.auth.client_token);
      expect(direct.auth.client_token).not.to.equal(first.auth.client_token);
      expect(comparable(first, NEW_TOKEN_FIELDS)).to.deep.equal(comparable(direct, NEW_TOKEN_FIELDS));
      expect(first.auth.metadata).to.deep.equal({ client: 'node-vault' });
      expect(vault.requestsTo('/v1/auth/token/create')).to.have.length(2);
    });

    it('approleLogin: the same shape as Vault', async () => {
      const login = { role_id: client.roleId, secret_id: await secretId() };
      const via = await nv(stack.url, appToken).approleLogin(login);
      const direct = await nv(vault.url, appToken).approleLogin(login);
      expect(comparable(via, NEW_TOKEN_FIELDS)).to.deep.equal(comparable(direct, NEW_TOKEN_FIELDS));
    });

    it("an error: the same ApiResponseError (status and Vault's errors) as Vault", async () => {
      const err = async (url: string): Promise<any> => nv(url, appToken).read('secret/data/other/x').then(() => undefined, (e: unknown) => e);
      const [via, direct] = [await err(stack.url), await err(vault.url)];
      expect(via?.response).to.deep.equal(direct?.response);
      expect(via.response.statusCode).to.equal(403);
    });
  });
});
