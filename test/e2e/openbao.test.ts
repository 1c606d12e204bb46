// vault-extproc in front of OpenBao: what OpenBao's differences (test/support/vault-sim/openbao.ts)
// mean for a user of the caching proxy, through real Envoy. OpenBao's server cannot be built here,
// so this runs against the simulator's OpenBao profile only; it is registered when VAULT_BACKENDS
// names `openbao` (or is unset).
import { expect } from 'chai';
import { backendKinds, backendLabel, startBackend, type Backend } from '../support/backend.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/ports.js';
import { rawRequest } from '../support/raw-http.js';

/** The auto-auth token's policy: Vault Proxy's documented one for the static cache. */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
const APP = `path "secret/data/app/*" { capabilities = ["read"] }
path "ns1/secret/data/app/*" { capabilities = ["read"] }
path "secret/metadata/app/*" { capabilities = ["list", "scan"] }`;

interface Res { status: number; body: string; headers: Headers }

async function get(stack: Stack, path: string, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${stack.url}${path}`, { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

function dataOf(res: Res): unknown {
  return JSON.parse(res.body).data.data;
}

/** One X-Vault-Inline-Auth-Parameter-* value: raw url-safe base64 of {"key","value"}. */
function inlineParam(key: string, value: unknown): string {
  return Buffer.from(JSON.stringify({ key, value })).toString('base64url');
}

if (backendKinds({ versions: 'all' }).includes('openbao')) {
  describe(`e2e: vault-extproc in front of OpenBao, through real Envoy ${backendLabel('openbao')}`, function () {
    this.timeout(60_000);
    let bao: Backend;
    let stack: Stack;
    let app: string;
    const stacks: Stack[] = [];
    showLogsOnFailure(() => stacks, () => bao);

    before(async () => {
      bao = await startBackend('openbao');
      await writePolicy(bao, 'worker', WORKER);
      await writePolicy(bao, 'app', APP);
      await vaultApi(bao, 'POST', 'sys/namespaces/ns1', {});
      const inNs1 = await fetch(`${bao.url}/v1/sys/mounts/secret`, {
        method: 'POST', headers: { 'x-vault-token': bao.rootToken, 'x-vault-namespace': 'ns1', 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'kv', options: { version: '2' } }),
      });
      expect(inNs1.status).to.equal(204);
      await vaultApi(bao, 'POST', 'secret/data/app/x', { data: { v: 'in-root' } });
      await vaultApi(bao, 'POST', 'ns1/secret/data/app/x', { data: { v: 'in-ns1' } });
      await vaultApi(bao, 'POST', 'sys/auth/userpass', { type: 'userpass' });
      await vaultApi(bao, 'POST', 'auth/userpass/users/alice', { password: 'pw', token_policies: 'app' });
      const creds = await setupAppRole(bao, { role: 'worker', policies: ['worker'] });
      stack = await startStack({
        vault: bao,
        hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds)}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
  static_secret_token_capability_refresh_interval = "1h"
  static_secret_refresh_interval = "2s"
}
`,
      });
      stacks.push(stack);
      app = (await vaultApi(bao, 'POST', 'auth/token/create', { policies: ['app'], ttl: '1h' })).json.auth.client_token as string;
      // Caching a namespaced read needs to know the server has namespaces (sys/health).
      await waitFor('the server identified', () => stack.service.jsonLines.find((l) => l['msg'] === 'Vault identified'), 10_000);
    });
    after(async () => {
      await Promise.all(stacks.map((s) => s.stop()));
      await bao?.close();
    });

    it('identifies OpenBao 2.6.2 as a server with namespaces, and says once that it has no KV event stream (404)', async () => {
      const identified = stack.service.jsonLines.find((l) => l['msg'] === 'Vault identified')!;
      expect(identified['version']).to.equal('2.6.2');
      expect(identified['namespaces']).to.equal(true);
      const notices = await waitFor('the events notice', () => {
        const found = stack.service.jsonLines.filter((l) => String(l['msg']).startsWith('KV events are unavailable'));
        return found.length > 0 ? found : undefined;
      }, 10_000);
      expect(notices).to.have.length(1);
      expect(String(notices[0]!['reason'])).to.include('404');
      expect(stack.service.jsonLines.some((l) => l['msg'] === 'subscribed to KV events')).to.equal(false);
    });

    it('without mount_type in OpenBao\'s answers the static cache still caches KV reads (the mount looked up), and a write made in OpenBao is served within the refresh interval', async () => {
      const first = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app });
      expect(first.status, first.body).to.equal(200);
      expect(JSON.parse(first.body)).not.to.have.property('mount_type');
      const cached = await waitFor('a HIT', async () => {
        const r = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app });
        return r.headers.get('x-cache') === 'HIT' ? r : undefined;
      }, 5_000, 50);
      expect(dataOf(cached)).to.deep.equal({ v: 'in-root' });
      const writtenAt = Date.now();
      await vaultApi(bao, 'POST', 'secret/data/app/x', { data: { v: 'in-root-2' } });
      await waitFor('the polled value from the cache', async () => {
        const r = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app });
        return r.headers.get('x-cache') === 'HIT' && JSON.stringify(dataOf(r)) === '{"v":"in-root-2"}' ? true : undefined;
      }, 5_000, 50);
      expect(Date.now() - writtenAt).to.be.below(4_000);
    });

    it('X-Vault-Namespace is honoured: ns1\'s secret is cached under ns1, and never answers a root read', async () => {
      const ns1 = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app, 'x-vault-namespace': 'ns1' });
      expect(ns1.status, ns1.body).to.equal(200);
      expect(dataOf(ns1)).to.deep.equal({ v: 'in-ns1' });
      const hit = await waitFor('a HIT in ns1', async () => {
        const r = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app, 'x-vault-namespace': 'ns1/' });
        return r.headers.get('x-cache') === 'HIT' ? r : undefined;
      }, 5_000, 50);
      expect(dataOf(hit)).to.deep.equal({ v: 'in-ns1' });
      expect(dataOf(await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app }))).not.to.deep.equal({ v: 'in-ns1' });
    });

    it('attack: a root mount named `ghost/…` and no namespace `ghost`: `X-Vault-Namespace: ghost` is OpenBao\'s 404, never the cached path-form answer (static and lease cache)', async () => {
      await vaultApi(bao, 'POST', 'sys/mounts/ghost/secret', { type: 'kv', options: { version: '2' } });
      await vaultApi(bao, 'POST', 'ghost/secret/data/app/x', { data: { v: 'in-root-mount' } });
      await vaultApi(bao, 'POST', 'sys/mounts/ghost/db', { type: 'database' });
      // The simulator stores the connection and never opens it.
      await vaultApi(bao, 'POST', 'ghost/db/config/pg', { plugin_name: 'postgresql-database-plugin', connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/x', username: 'u', password: 'p', allowed_roles: '*', verify_connection: false });
      await vaultApi(bao, 'POST', 'ghost/db/roles/r', { db_name: 'pg', creation_statements: ['CREATE ROLE "{{name}}"'], default_ttl: '1h', max_ttl: '2h' });
      await writePolicy(bao, 'ghost', 'path "ghost/*" { capabilities = ["read"] }');
      const reader = (await vaultApi(bao, 'POST', 'auth/token/create', { policies: ['ghost'], ttl: '1h' })).json.auth.client_token as string;
      const creds = await setupAppRole(bao, { role: 'worker', policies: ['worker'] });
      const leases = await startStack({ vault: bao, hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds)}\napi_proxy { use_auto_auth_token = true }\ncache {\n  cache_static_secrets = true\n}\n` });
      stacks.push(leases);
      await waitFor('the server identified', () => leases.service.jsonLines.find((l) => l['msg'] === 'Vault identified'), 10_000);
      // The static cache keeps a client token's proofs; the lease cache caches for tokens it manages (the auto-auth token).
      for (const [what, rel, token] of [['the static cache', 'secret/data/app/x', { 'x-vault-token': reader }], ['the lease cache', 'db/creds/r', {}]] as const) {
        // The path form reads the root mount, and is served from the cache again.
        const first = await get(leases, `/v1/ghost/${rel}`, token);
        expect(first.status, `${what}: ${first.body}`).to.equal(200);
        const cached = await waitFor(`${what}: a HIT`, async () => {
          const r = await get(leases, `/v1/ghost/${rel}`, token);
          return r.headers.get('x-cache') === 'HIT' ? r : undefined;
        }, 5_000, 50);
        expect(cached.body).to.equal(first.body);
        // The header form names a namespace OpenBao does not have: its 404 (before any token is read), whatever the cache holds.
        for (const ns of ['ghost', 'ghost/', '/ghost']) {
          const direct = await fetch(`${bao.url}/v1/${rel}`, { headers: { 'x-vault-token': reader, 'x-vault-namespace': ns } });
          const res = await get(leases, `/v1/${rel}`, { ...token, 'x-vault-namespace': ns });
          expect(res.headers.get('x-cache'), `${what}, ${ns}`).not.to.equal('HIT');
          expect(res.status, `${what}, ${ns}: ${res.body}`).to.equal(direct.status);
          expect(res.status, `${what}, ${ns}`).to.equal(404);
          expect(JSON.parse(res.body), `${what}, ${ns}`).to.deep.equal({ errors: ['namespace not found'] });
        }
      }
    });

    it('sys/health in a namespace is OpenBao\'s 400, passed through as it is', async () => {
      const res = await get(stack, '/v1/sys/health', { 'x-vault-namespace': 'ns1' });
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.body)).to.deep.equal({ errors: ['operation unavailable in namespaces'] });
    });

    it('SCAN and GET ?scan=true go to OpenBao every time (never cached)', async () => {
      await vaultApi(bao, 'POST', 'secret/data/app/deep/y', { data: { v: 'y' } });
      bao.sim!.clearRequests();
      for (let i = 0; i < 2; i++) {
        const scan = await rawRequest(stack.url, { method: 'SCAN', path: '/v1/secret/metadata/app', headers: [['X-Vault-Token', app]] });
        expect(scan.status, scan.body).to.equal(200);
        expect(JSON.parse(scan.body).data.keys).to.include.members(['x', 'deep/y']);
        expect(scan.headers['x-cache']).not.to.equal('HIT');
        const viaGet = await rawRequest(stack.url, { method: 'GET', path: '/v1/secret/metadata/app/?scan=true', headers: [['X-Vault-Token', app]] });
        expect(viaGet.status, viaGet.body).to.equal(200);
        expect(viaGet.headers['x-cache']).not.to.equal('HIT');
      }
      expect(bao.sim!.requestsTo('/v1/secret/metadata/app').map((r) => r.method)).to.deep.equal(['SCAN', 'SCAN']);
      expect(bao.sim!.requestsTo('/v1/secret/metadata/app/')).to.have.length(2);
    });

    it('attack: GET of a cached secret with ?scan=true is OpenBao\'s scan (its 403 here), never the cached secret', async () => {
      await waitFor('a HIT', async () => {
        const r = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': app });
        return r.headers.get('x-cache') === 'HIT' ? r : undefined;
      }, 5_000, 50);
      for (const q of ['scan=true', 'scan=1', 'scan=t']) {
        const direct = await fetch(`${bao.url}/v1/secret/data/app/x?${q}`, { headers: { 'x-vault-token': app } });
        const res = await get(stack, `/v1/secret/data/app/x?${q}`, { 'x-vault-token': app });
        // The token may read the secret but not scan there: OpenBao's 403.
        expect(res.status, q).to.equal(direct.status);
        expect(res.status, q).to.equal(403);
        expect(res.headers.get('x-cache'), q).not.to.equal('HIT');
        expect(res.body, q).not.to.include('in-root');
      }
    });

    it('inline authentication (use_auto_auth_token = false): OpenBao authenticates each request, nothing is cached, no token comes back', async () => {
      const headers = {
        'X-Vault-Inline-Auth-Path': 'auth/userpass/login/alice',
        'X-Vault-Inline-Auth-Parameter-password': inlineParam('password', 'pw'),
      };
      bao.sim!.clearRequests();
      for (let i = 0; i < 2; i++) {
        const res = await get(stack, '/v1/secret/data/app/x', headers);
        expect(res.status, res.body).to.equal(200);
        expect(res.headers.get('x-cache')).not.to.equal('HIT');
        expect(JSON.parse(res.body).auth).to.equal(null);
      }
      expect(bao.sim!.requestsTo('/v1/secret/data/app/x')).to.have.length(2);
      const wrong = await get(stack, '/v1/secret/data/app/x', { ...headers, 'X-Vault-Inline-Auth-Parameter-password': inlineParam('password', 'nope') });
      expect(wrong.status).to.equal(400);
      expect(wrong.headers.get('x-vault-inline-auth-failed')).to.equal('true');
    });

    it('inline authentication with use_auto_auth_token = true: it is the client\'s credentials (no token added); with "force": the auto-auth token replaces it', async () => {
      await vaultApi(bao, 'POST', 'secret/data/other', { data: { v: 'worker only' } });
      const creds = await setupAppRole(bao, { role: 'worker', policies: ['worker'] });
      const proxied = async (mode: string): Promise<Stack> => {
        const s = await startStack({ vault: bao, hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds)}\napi_proxy { use_auto_auth_token = ${mode} }\n` });
        stacks.push(s);
        return s;
      };
      const [withTrue, withForce] = [await proxied('true'), await proxied('"force"')];
      const alice = { 'X-Vault-Inline-Auth-Path': 'auth/userpass/login/alice', 'X-Vault-Inline-Auth-Parameter-password': inlineParam('password', 'pw') };
      // true: alice's own login decides (OpenBao refused a token beside it with a 500 before).
      const mine = await get(withTrue, '/v1/secret/data/app/x', alice);
      expect(mine.status, mine.body).to.equal(200);
      expect(dataOf(mine)).to.deep.equal((await vaultApi(bao, 'GET', 'secret/data/app/x')).json.data.data);
      const notMine = await get(withTrue, '/v1/secret/data/other', alice);
      expect(notMine.status, 'alice may not read it: her login was used, not the auto-auth token').to.equal(403);
      // Without inline authentication the auto-auth token is added as before.
      expect((await get(withTrue, '/v1/secret/data/other')).status).to.equal(200);
      // force: the inline-auth headers go with the client's token; the auto-auth token reads.
      const forced = await get(withForce, '/v1/secret/data/other', alice);
      expect(forced.status, forced.body).to.equal(200);
      expect(dataOf(forced)).to.deep.equal({ v: 'worker only' });
      expect(forced.headers.get('x-vault-inline-auth-failed')).to.equal(null);
    });

    it('the legacy sys/renew path is OpenBao\'s 404 through the proxy; sys/leases/renew answers', async () => {
      const legacy = await get(stack, '/v1/sys/renew', { 'x-vault-token': bao.rootToken });
      expect(legacy.status).to.equal(404);
      const res = await fetch(`${stack.url}/v1/sys/renew`, {
        method: 'PUT', headers: { 'x-vault-token': bao.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ lease_id: 'x/y' }),
      });
      expect(res.status).to.equal(404);
      expect(await res.json()).to.deep.equal({ errors: ['1 error occurred:\n\t* unsupported path\n\n'] });
      const current = await fetch(`${stack.url}/v1/sys/leases/renew`, {
        method: 'PUT', headers: { 'x-vault-token': bao.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ lease_id: 'x/y' }),
      });
      expect(current.status).to.equal(400);
      expect(await current.json()).to.deep.equal({ errors: ['lease not found'] });
    });
  });
}
