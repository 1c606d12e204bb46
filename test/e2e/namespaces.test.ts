import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, hasEventStream, hasNamespaces, isReal, realVault, simOnly, startBackend, type Backend, isSim } from '../support/backend.js';
import { setupAppRole, vaultApi, writePolicy, type VaultTarget } from '../support/vault-setup.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { waitFor } from '../support/ports.js';

/** The auto-auth token's policy: Vault Proxy's documented one for the static cache. */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;

interface Res { status: number; body: string; headers: Headers }

async function get(stack: Stack, path: string, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${stack.url}${path}`, { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A Vault API call in a namespace (the header), as root. */
async function nsApi(v: VaultTarget, ns: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${v.url}/v1/${path}`, {
    method, headers: { 'x-vault-token': v.rootToken, 'x-vault-namespace': ns, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${ns}:${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Where the backend has no KV event stream the cache polls: every 2 s here. */
const POLL_MS = 2_000;

function autoAuthHcl(dir: string, creds: { roleId: string; secretId: string }, methodNamespace: string, polling: boolean): string {
  writeFileSync(join(dir, 'role_id'), creds.roleId);
  writeFileSync(join(dir, 'secret_id'), creds.secretId);
  return `auto_auth {
  method "approle" {
    ${methodNamespace ? `namespace = "${methodNamespace}"` : ''}
    config = {
      role_id_file_path = "${join(dir, 'role_id')}"
      secret_id_file_path = "${join(dir, 'secret_id')}"
      remove_secret_id_file_after_reading = false
    }
  }
}
api_proxy {
  use_auto_auth_token = true
  prepend_configured_namespace = true
}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
  ${polling ? `static_secret_refresh_interval = "${POLL_MS / 1000}s"` : ''}
}
`;
}

async function cachedStack(v: Backend, stacks: Stack[], creds: { roleId: string; secretId: string }, methodNamespace: string): Promise<Stack> {
  const stack = await startStack({ vault: v, vaultHcl: 'namespace = "ns1"', hcl: ({ dir }) => autoAuthHcl(dir, creds, methodNamespace, !hasEventStream(v.kind)) });
  stacks.push(stack);
  await untilCacheWatching(stack, v.kind);
  return stack;
}

async function hit(stack: Stack, path: string, headers: Record<string, string>): Promise<Res> {
  return waitFor(`a HIT on ${path}`, async () => {
    const r = await get(stack, path, headers);
    return r.headers.get('x-cache') === 'HIT' ? r : undefined;
  }, 5_000, 50);
}

forEachBackend('e2e: namespaces (vault.namespace, the method\'s namespace, prepend_configured_namespace)', function (kind) {
  this.timeout(90_000);
  let vault: Backend;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await writePolicy(vault, 'worker', WORKER);
    await writePolicy(vault, 'app', 'path "secret/data/app/*" { capabilities = ["read"] }');
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault.close();
  });

  // Vault Community (1.15.6 and 1.21.4 alike) ignores X-Vault-Namespace; OpenBao has namespaces
  // (the next block).
  if (!hasNamespaces(kind)) describe('on Vault Community (no namespaces: the header is ignored)', () => {
    let stack: Stack;
    let a: string;
    let b: string;
    before(async () => {
      const creds = await setupAppRole(vault, { role: 'ns-worker', policies: ['worker'] });
      stack = await cachedStack(vault, stacks, creds, 'ns1');
      await vaultApi(vault, 'POST', 'secret/data/app/x', { data: { v: 'root-secret' } });
      a = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['app'], ttl: '1h' })).json.auth.client_token as string;
      b = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['default'], ttl: '1h' })).json.auth.client_token as string;
    });

    it('a configured namespace breaks nothing: auto-auth logs in, reads answer as Vault does and are cached', async () => {
      const first = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': a });
      expect(first.status, first.body).to.equal(200);
      expect(JSON.parse(first.body).data.data).to.deep.equal({ v: 'root-secret' });
      const again = await hit(stack, '/v1/secret/data/app/x', { 'x-vault-token': a });
      expect(JSON.parse(again.body).data.data).to.deep.equal({ v: 'root-secret' });
      // The auto-auth token works too (use_auto_auth_token = true): the login with the namespace header succeeded.
      const withAuto = await get(stack, '/v1/secret/data/app/x');
      expect(withAuto.status, withAuto.body).to.equal(200);
      // Once it knows the Vault (sys/health), serve says the namespace is ignored there.
      const notice = await waitFor('the namespace warning', () => stack.service.jsonLines.find((l) => String(l['msg']).includes('has no namespaces')), 5_000);
      expect(notice['level']).to.be.oneOf([40, 'warn']);
      const version = isReal(kind) ? realVault(kind).version : '1.15.6';
      expect(String(notice['msg'])).to.equal(`Vault ${version} has no namespaces: the configured namespace is sent, and Vault ignores it (every request runs in the root namespace)`);
    });

    it('attack: no namespace header (none, ns1, root, "/", ../) turns A\'s cached secret into an answer for B', async () => {
      await hit(stack, '/v1/secret/data/app/x', { 'x-vault-token': a });
      for (const ns of [undefined, 'ns1', 'ns1/', 'root', '/', '../', 'ns1/ns1']) {
        const headers: Record<string, string> = { 'x-vault-token': b, ...(ns !== undefined ? { 'x-vault-namespace': ns } : {}) };
        const viaEnvoy = await get(stack, '/v1/secret/data/app/x', headers);
        const direct = await fetch(`${vault.url}/v1/secret/data/app/x`, { headers });
        expect(viaEnvoy.status, String(ns)).to.equal(direct.status);
        expect(viaEnvoy.status, String(ns)).to.equal(403);
        expect(viaEnvoy.headers.get('x-cache'), String(ns)).to.equal(null);
        expect(viaEnvoy.body).not.to.include('root-secret');
      }
    });

    simOnly(kind)('the login and the renewals carry the method\'s namespace; proxied requests carry it in front of the client\'s', async () => {
      const logins = vault.sim!.requests.filter((r) => r.path === '/v1/auth/approle/login');
      expect(logins.length).to.be.greaterThan(0);
      expect(logins.map((r) => r.headers['x-vault-namespace'])).to.include('ns1/');
      vault.sim!.clearRequests();
      await get(stack, '/v1/secret/data/app/p1', { 'x-vault-token': a, 'x-vault-namespace': 'team' });
      await get(stack, '/v1/secret/data/app/p2', { 'x-vault-token': a });
      expect(vault.sim!.requestsTo('/v1/secret/data/app/p1').map((r) => r.headers['x-vault-namespace'])).to.deep.equal(['ns1/team/']);
      expect(vault.sim!.requestsTo('/v1/secret/data/app/p2').map((r) => r.headers['x-vault-namespace'])).to.deep.equal(['ns1/']);
    });
  });

  // The simulator's namespaces profile (Vault Enterprise's behaviour) beside the simulator; on the
  // OpenBao profile the backend itself, its namespaces created the OpenBao way (sys/namespaces).
  describe(kind === 'openbao' ? 'on OpenBao (namespaces: the header names one, which must exist)' : 'on a Vault with namespaces (the simulator\'s namespaces profile)', function () {
    let ent: Backend;
    let stack: Stack;
    before(async function () {
      if (!isSim(kind)) return;
      ent = kind === 'openbao' ? vault : await startBackend('sim', { sim: { namespaces: true } });
      await writePolicy(ent, 'worker', WORKER);
      // The profile's policies name full paths (no per-namespace policies).
      await writePolicy(ent, 'ns1-app', 'path "ns1/secret/data/app/*" { capabilities = ["read"] }');
      await writePolicy(ent, 'root-app', 'path "secret/data/app/*" { capabilities = ["read"] }');
      if (kind === 'openbao') {
        await vaultApi(ent, 'POST', 'sys/namespaces/ns1', {});
        await nsApi(ent, 'ns1', 'POST', 'sys/namespaces/team', {});
        await nsApi(ent, 'ns1', 'POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
        await nsApi(ent, 'ns1/team', 'POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
      } else {
        await vaultApi(ent, 'POST', 'sys/mounts/ns1/secret', { type: 'kv', options: { version: '2' } });
        await vaultApi(ent, 'POST', 'sys/mounts/ns1/team/secret', { type: 'kv', options: { version: '2' } });
      }
      await vaultApi(ent, 'POST', 'secret/data/app/x', { data: { v: 'in-root' } });
      await vaultApi(ent, 'POST', 'ns1/secret/data/app/x', { data: { v: 'in-ns1' } });
      await vaultApi(ent, 'POST', 'ns1/team/secret/data/app/x', { data: { v: 'in-ns1-team' } });
      // AppRole enabled in ns1 (the login must go there), token TTL short enough to see a renewal.
      await nsApi(ent, 'ns1', 'POST', 'sys/auth/approle', { type: 'approle' });
      await nsApi(ent, 'ns1', 'POST', 'auth/approle/role/w', { token_policies: ['worker'], token_ttl: '6s', token_max_ttl: '1h' });
      const roleId = (await nsApi(ent, 'ns1', 'GET', 'auth/approle/role/w/role-id')).data.role_id as string;
      const secretId = (await nsApi(ent, 'ns1', 'POST', 'auth/approle/role/w/secret-id')).data.secret_id as string;
      stack = await cachedStack(ent, stacks, { roleId, secretId }, 'ns1');
    });
    after(async () => {
      if (ent !== vault) await ent?.close();
    });

    simOnly(kind)('the login and renew-self reach Vault with X-Vault-Namespace: ns1/', async () => {
      const login = ent.sim!.requests.find((r) => r.path === '/v1/auth/approle/login');
      expect(login?.status).to.equal(200);
      expect(login?.headers['x-vault-namespace']).to.equal('ns1/');
      const renew = await waitFor('a renew-self', () => ent.sim!.requests.find((r) => r.path === '/v1/auth/token/renew-self'), 10_000);
      expect(renew.status).to.equal(200);
      expect(renew.headers['x-vault-namespace']).to.equal('ns1/');
    });

    simOnly(kind)('prepend: a request without a namespace reads ns1\'s secret, one naming "team" reads ns1/team\'s; cached under the namespace Vault saw', async () => {
      const a = (await vaultApi(ent, 'POST', 'auth/token/create', { policies: ['ns1-app'], ttl: '1h' })).json.auth.client_token as string;
      const plain = await get(stack, '/v1/secret/data/app/x', { 'x-vault-token': a });
      expect(plain.status, plain.body).to.equal(200);
      expect(JSON.parse(plain.body).data.data).to.deep.equal({ v: 'in-ns1' });
      const cached = await hit(stack, '/v1/secret/data/app/x', { 'x-vault-token': a });
      expect(JSON.parse(cached.body).data.data).to.deep.equal({ v: 'in-ns1' });
      expect(cached.headers.get('x-vault-namespace')).to.equal('ns1/');
      // With the auto-auth token (may read everything): "team" is ns1/team, never root's or ns1's own.
      const team = await get(stack, '/v1/secret/data/app/x', { 'x-vault-namespace': 'team' });
      expect(JSON.parse(team.body).data.data).to.deep.equal({ v: 'in-ns1-team' });
    });

    simOnly(kind)(`the key is the namespaced path: a write made directly in ns1 ${hasEventStream(kind) ? '(its KV event)' : `(polled every ${POLL_MS} ms)`} refreshes the cached secret`, async () => {
      const a = (await vaultApi(ent, 'POST', 'auth/token/create', { policies: ['ns1-app'], ttl: '1h' })).json.auth.client_token as string;
      await vaultApi(ent, 'POST', 'ns1/secret/data/app/ev', { data: { v: 'old' } });
      await get(stack, '/v1/secret/data/app/ev', { 'x-vault-token': a });
      expect(JSON.parse((await hit(stack, '/v1/secret/data/app/ev', { 'x-vault-token': a })).body).data.data).to.deep.equal({ v: 'old' });
      await vaultApi(ent, 'POST', 'ns1/secret/data/app/ev', { data: { v: 'new' } });
      await waitFor('the new value from the cache', async () => {
        const r = await get(stack, '/v1/secret/data/app/ev', { 'x-vault-token': a });
        return r.headers.get('x-cache') === 'HIT' && JSON.parse(r.body).data.data.v === 'new' ? true : undefined;
      }, 5_000, 50);
    });

    simOnly(kind)('attack: a token that reads only root\'s secret/app never gets ns1\'s cached secret, whatever namespace header it sends', async () => {
      const a = (await vaultApi(ent, 'POST', 'auth/token/create', { policies: ['ns1-app'], ttl: '1h' })).json.auth.client_token as string;
      const rootOnly = (await vaultApi(ent, 'POST', 'auth/token/create', { policies: ['root-app'], ttl: '1h' })).json.auth.client_token as string;
      await hit(stack, '/v1/secret/data/app/x', { 'x-vault-token': a });
      for (const ns of [undefined, '', 'root', '/', '../', 'ns1']) {
        const headers: Record<string, string> = { 'x-vault-token': rootOnly, ...(ns !== undefined ? { 'x-vault-namespace': ns } : {}) };
        const r = await get(stack, '/v1/secret/data/app/x', headers);
        expect(r.headers.get('x-cache'), String(ns)).to.equal(null);
        // OpenBao: a namespace under ns1 that does not exist (ns1/root/) is its 404 before any token check.
        if (kind === 'openbao' && r.status === 404) expect(JSON.parse(r.body).errors.join(' '), String(ns)).to.include('namespace not found');
        else expect(r.status, String(ns)).to.equal(403);
        expect(r.body).not.to.include('in-ns1');
      }
      // Directly (no prepending) the same token reads root's secret: the proxy keeps it inside ns1.
      const direct = await fetch(`${ent.url}/v1/secret/data/app/x`, { headers: { 'x-vault-token': rootOnly } });
      expect(direct.status).to.equal(200);
    });
  });
}, { versions: 'all' });
