// The lease cache through real Envoy + vault-extproc, against the simulator and a real Vault
// (forEachBackend). Dynamic secrets come from a `database/` mount on both: the simulator's own
// engine, or a real Vault's database engine over a throwaway PostgreSQL (test/support/database-backend.ts), with the
// same role names and TTLs. Everything here goes through Vault's API, so every test runs on both.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, type Backend } from '../support/backend.js';
import { startDatabaseBackend, type DatabaseBackend } from '../support/database-backend.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { sleep, waitFor } from '../support/ports.js';

const POLICY = `path "database/creds/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "auth/token/revoke" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
path "sys/revoke" { capabilities = ["update"] }
path "sys/leases/revoke/*" { capabilities = ["update"] }
path "sys/revoke/*" { capabilities = ["update"] }`;

interface Res { status: number; body: string; headers: Headers; json: any }

async function call(stack: Stack, method: string, path: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(opts.token ? { 'x-vault-token': opts.token } : {}), ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const body = await res.text();
  let json: unknown;
  try { json = body ? JSON.parse(body) : undefined; } catch { json = undefined; }
  return { status: res.status, body, headers: res.headers, json };
}

const cacheHeader = (r: Res): string | null => r.headers.get('x-cache');

forEachBackend('e2e: lease cache through real Envoy', function (kind) {
  this.timeout(60_000);
  let vault: DatabaseBackend | undefined;
  let backend: Backend;
  let stack: Stack;
  let creds: AppRoleCreds;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  /** A new token created through Envoy with the auto-auth token: a managed child (its own body, so not a cached one). */
  let created = 0;
  async function childToken(ttl = '1h'): Promise<{ token: string; accessor: string }> {
    const r = await call(stack, 'POST', '/v1/auth/token/create', { body: JSON.stringify({ policies: ['lease-test'], ttl, meta: { n: String(++created) } }) });
    expect(r.status).to.equal(200);
    return { token: r.json.auth.client_token, accessor: r.json.auth.accessor };
  }

  before(async () => {
    vault = await startDatabaseBackend(kind);
    backend = vault.backend;
    await writePolicy(backend, 'lease-test', POLICY);
    await vault.role('app', { default_ttl: '1h', max_ttl: '24h' });
    await vault.role('short', { default_ttl: '3s', max_ttl: '8s' });
    creds = await setupAppRole(backend, { role: 'lease', policies: ['lease-test'] });
    stack = await startStack({
      vault: backend,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache {}
`,
    });
    stacks.push(stack);
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault?.close();
  });

  describe('what is cached', () => {
    it('the same AppRole login twice: the second is a HIT returning the same token', async () => {
      const body = JSON.stringify({ role_id: creds.roleId, secret_id: creds.secretId });
      backend.clearRequests();
      const first = await call(stack, 'POST', '/v1/auth/approle/login', { body });
      const second = await call(stack, 'POST', '/v1/auth/approle/login', { body });
      expect([first.status, second.status]).to.deep.equal([200, 200]);
      expect([cacheHeader(first), cacheHeader(second)]).to.deep.equal(['MISS', 'HIT']);
      expect(second.json.auth.client_token).to.equal(first.json.auth.client_token);
      expect(backend.requestsTo('/v1/auth/approle/login')).to.have.length(1);
    });

    it('disable_caching_logins = true: the same login twice reaches Vault twice and gets two tokens; token creation is still cached', async () => {
      const noLogins = await startStack({
        vault: backend,
        hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache { disable_caching_logins = true }
`,
      });
      stacks.push(noLogins);
      const body = JSON.stringify({ role_id: creds.roleId, secret_id: creds.secretId });
      backend.clearRequests();
      const first = await call(noLogins, 'POST', '/v1/auth/approle/login', { body });
      const second = await call(noLogins, 'POST', '/v1/auth/approle/login', { body });
      expect([first.status, second.status]).to.deep.equal([200, 200]);
      expect([cacheHeader(first), cacheHeader(second)]).to.deep.equal(['MISS', 'MISS']);
      expect(second.json.auth.client_token).not.to.equal(first.json.auth.client_token);
      expect(backend.requestsTo('/v1/auth/approle/login')).to.have.length(2);
      const create = JSON.stringify({ policies: ['lease-test'], ttl: '1h', meta: { n: 'no-logins' } });
      await call(noLogins, 'POST', '/v1/auth/token/create', { body: create });
      expect(cacheHeader(await call(noLogins, 'POST', '/v1/auth/token/create', { body: create }))).to.equal('HIT');
    });

    it('the same creds request with the same token is a HIT; with another managed token a MISS', async () => {
      const a = await call(stack, 'GET', '/v1/database/creds/app');
      const b = await call(stack, 'GET', '/v1/database/creds/app');
      expect([cacheHeader(a), cacheHeader(b)]).to.deep.equal(['MISS', 'HIT']);
      expect(b.json.lease_id).to.equal(a.json.lease_id);
      expect(b.json.data).to.deep.equal(a.json.data);
      const child = await childToken();
      const c = await call(stack, 'GET', '/v1/database/creds/app', { token: child.token });
      expect(cacheHeader(c)).to.equal('MISS');
      expect(c.json.lease_id).not.to.equal(a.json.lease_id);
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/app', { token: child.token }))).to.equal('HIT');
    });

    it('leases of a token we do not manage are not cached', async () => {
      const outside = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['lease-test'] })).json.auth.client_token as string;
      const a = await call(stack, 'GET', '/v1/database/creds/app', { token: outside });
      const b = await call(stack, 'GET', '/v1/database/creds/app', { token: outside });
      expect([cacheHeader(a), cacheHeader(b)]).to.deep.equal(['MISS', 'MISS']);
      expect(b.json.lease_id).not.to.equal(a.json.lease_id);
    });

    it('reordered query parameters and JSON keys, and tracing headers, still HIT', async () => {
      await call(stack, 'GET', '/v1/database/creds/app?a=1&b=2');
      const reordered = await call(stack, 'GET', '/v1/database/creds/app?b=2&a=1', {
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-request-id': 'abc-123', 'user-agent': 'another-client/2.0', 'x-forwarded-for': '10.0.0.9' },
      });
      expect(cacheHeader(reordered)).to.equal('HIT');
      const login = await call(stack, 'POST', '/v1/auth/approle/login', { body: JSON.stringify({ secret_id: creds.secretId, role_id: creds.roleId }) });
      expect(cacheHeader(login)).to.equal('HIT');
    });

    it('a different body or a different token MISSes', async () => {
      const other = await setupAppRole(backend, { role: 'lease-other', policies: ['lease-test'] });
      const login = await call(stack, 'POST', '/v1/auth/approle/login', { body: JSON.stringify({ role_id: other.roleId, secret_id: other.secretId }) });
      expect(cacheHeader(login)).to.equal('MISS');
      const child = await childToken();
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/app?a=1&b=2', { token: child.token }))).to.equal('MISS');
    });

    it('renew responses are never cached', async () => {
      const lease = (await call(stack, 'GET', '/v1/database/creds/app')).json.lease_id as string;
      const body = JSON.stringify({ lease_id: lease, increment: 60 });
      const a = await call(stack, 'POST', '/v1/sys/leases/renew', { body });
      const b = await call(stack, 'POST', '/v1/sys/leases/renew', { body });
      expect([a.status, b.status]).to.deep.equal([200, 200]);
      expect([cacheHeader(a), cacheHeader(b)]).to.deep.equal(['MISS', 'MISS']);
    });

    it('100 concurrent identical creds requests make 1 upstream call', async () => {
      await vault!.role('hot', { default_ttl: '1h', max_ttl: '24h' });
      backend.clearRequests();
      const all = await Promise.all(Array.from({ length: 100 }, () => call(stack, 'GET', '/v1/database/creds/hot')));
      expect(all.map((r) => r.status)).to.deep.equal(Array(100).fill(200));
      expect(new Set(all.map((r) => r.json.lease_id)).size).to.equal(1);
      expect(backend.requestsTo('/v1/database/creds/hot')).to.have.length(1);
    });
  });

  describe('renewal', () => {
    it("renews cached leases and tokens on Vault's schedule; at max TTL the entry is evicted and the next request is a MISS", async () => {
      backend.clearRequests();
      const child = await childToken('3s');
      const childSeen = await backend.tokenAsSeen(child.token); // a real Vault's audit log names it by accessor
      const issuedAt = Date.now();
      const first = await call(stack, 'GET', '/v1/database/creds/short');
      expect(first.json.lease_duration).to.equal(3);
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/short'))).to.equal('HIT');
      // ⅔ of 3 s plus a third of the grace: the first renewals come after about 2.1–2.2 s.
      await waitFor('a lease renewal', () => (backend.requestsTo('/v1/sys/leases/renew').some((r) => r.body.includes(first.json.lease_id)) ? true : undefined), 4_000);
      await waitFor('a token renewal', () => (backend.requestsTo('/v1/auth/token/renew-self').some((r) => r.token === childSeen) ? true : undefined), 4_000);
      const firstRenewal = backend.requestsTo('/v1/sys/leases/renew').find((r) => r.body.includes(first.json.lease_id))!;
      expect(firstRenewal.at - issuedAt).to.be.within(1_500, 3_000); // ⅔ × 3 s + grace/3 ≈ 2.1–2.2 s
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/short'))).to.equal('HIT');
      // max_ttl 8 s: renewals stop extending near the end, the entry goes, and the next request is a new lease.
      const next = await waitFor('eviction at max TTL', async () => {
        const r = await call(stack, 'GET', '/v1/database/creds/short');
        return cacheHeader(r) === 'MISS' ? r : undefined;
      }, 10_000, 200);
      expect(next.json.lease_id).not.to.equal(first.json.lease_id);
      expect(backend.requestsTo('/v1/sys/leases/renew').filter((r) => r.body.includes(first.json.lease_id)).length).to.be.within(2, 4);
    });
  });

  describe('revocations through Envoy evict (on success only)', () => {
    async function cachedCreds(token?: string): Promise<string> {
      const a = await call(stack, 'GET', '/v1/database/creds/app', token ? { token } : {});
      const b = await call(stack, 'GET', '/v1/database/creds/app', token ? { token } : {});
      expect(cacheHeader(b)).to.equal('HIT');
      return a.json.lease_id;
    }

    async function expectNotServed(token: string): Promise<void> {
      const r = await call(stack, 'GET', '/v1/database/creds/app', { token });
      expect(r.status).to.equal(403); // Vault's answer for the revoked token: never the cached creds
      expect(cacheHeader(r)).to.equal(null);
    }

    it('auth/token/revoke evicts the token, its leases and its children', async () => {
      const parent = await childToken();
      await cachedCreds(parent.token);
      const grandchild = (await call(stack, 'POST', '/v1/auth/token/create', { token: parent.token, body: JSON.stringify({ policies: ['lease-test'] }) })).json.auth.client_token as string;
      await cachedCreds(grandchild);
      const r = await call(stack, 'POST', '/v1/auth/token/revoke', { body: JSON.stringify({ token: parent.token }) });
      expect(r.status).to.equal(204);
      await expectNotServed(parent.token);
      await expectNotServed(grandchild);
    });

    it('auth/token/revoke-self', async () => {
      const t = await childToken();
      await cachedCreds(t.token);
      expect((await call(stack, 'POST', '/v1/auth/token/revoke-self', { token: t.token })).status).to.equal(204);
      await expectNotServed(t.token);
    });

    it('auth/token/revoke-accessor', async () => {
      const t = await childToken();
      await cachedCreds(t.token);
      expect((await call(stack, 'POST', '/v1/auth/token/revoke-accessor', { body: JSON.stringify({ accessor: t.accessor }) })).status).to.equal(204);
      await expectNotServed(t.token);
    });

    it('auth/token/revoke-orphan evicts the token and its leases; its children stay cached', async () => {
      const parent = await childToken();
      await cachedCreds(parent.token);
      const kid = (await call(stack, 'POST', '/v1/auth/token/create', { token: parent.token, body: JSON.stringify({ policies: ['lease-test'] }) })).json.auth.client_token as string;
      await cachedCreds(kid);
      expect((await call(stack, 'POST', '/v1/auth/token/revoke-orphan', { token: backend.rootToken, body: JSON.stringify({ token: parent.token }) })).status).to.equal(204);
      await expectNotServed(parent.token);
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/app', { token: kid }))).to.equal('HIT');
    });

    const forms: Array<[string, (id: string) => [string, string], boolean]> = [
      ['sys/leases/revoke (body)', (id: string) => ['/v1/sys/leases/revoke', JSON.stringify({ lease_id: id })], false],
      ['sys/leases/revoke/<id>', (id: string) => [`/v1/sys/leases/revoke/${id}`, ''], false],
      ['sys/revoke (legacy, body)', (id: string) => ['/v1/sys/revoke', JSON.stringify({ lease_id: id })], true],
      ['sys/revoke/<id> (legacy)', (id: string) => [`/v1/sys/revoke/${id}`, ''], true],
    ];
    for (const [name, how, legacy] of forms) {
      // OpenBao removed the legacy sys/revoke* paths (2.5.4, 2.6.0): 404, nothing revoked, so the
      // lease lives on in OpenBao and stays cached (evicting on a refusal would be wrong either way).
      if (legacy && kind === 'openbao') {
        it(`${name}: OpenBao answers 404 (the path is gone), revokes nothing, and the lease stays cached`, async () => {
          const t = await childToken();
          const id = await cachedCreds(t.token);
          const [path, body] = how(id);
          const r = await call(stack, 'PUT', path, { token: t.token, ...(body ? { body } : {}) });
          expect(r.status).to.equal(404);
          const lookup = await vaultApi(backend, 'PUT', 'sys/leases/lookup', { lease_id: id });
          expect(lookup.status, 'the lease is alive in OpenBao').to.equal(200);
          const after = await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
          expect(cacheHeader(after)).to.equal('HIT');
          expect(after.json.lease_id).to.equal(id);
        });
        continue;
      }
      it(`${name} evicts that lease`, async () => {
        const t = await childToken();
        const id = await cachedCreds(t.token);
        const [path, body] = how(id);
        expect((await call(stack, 'PUT', path, { token: t.token, ...(body ? { body } : {}) })).status).to.equal(204);
        const after = await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
        expect(cacheHeader(after)).to.equal('MISS');
        expect(after.json.lease_id).not.to.equal(id);
      });
    }

    for (const op of ['revoke-prefix', 'revoke-force']) {
      it(`sys/leases/${op}/<prefix> evicts the leases under it`, async () => {
        const t = await childToken();
        const id = await cachedCreds(t.token);
        expect((await call(stack, 'PUT', `/v1/sys/leases/${op}/database/creds/app`, { token: backend.rootToken })).status).to.equal(204);
        const after = await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
        expect(cacheHeader(after)).to.equal('MISS');
        expect(after.json.lease_id).not.to.equal(id);
      });
    }

    it('a refused revocation evicts nothing', async () => {
      const t = await childToken();
      const id = await cachedCreds(t.token);
      const refused = await call(stack, 'PUT', '/v1/sys/leases/revoke-prefix/database/creds/app', { token: t.token });
      expect(refused.status).to.equal(403);
      const after = await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
      expect(cacheHeader(after)).to.equal('HIT');
      expect(after.json.lease_id).to.equal(id);
    });

    it('a revocation done directly against Vault is fixed by cache-clear', async () => {
      const t = await childToken();
      const id = await cachedCreds(t.token);
      // Revoked in Vault itself (sys/leases/revoke sent straight to Vault): vault-extproc never sees it.
      await vaultApi(backend, 'PUT', 'sys/leases/revoke', { lease_id: id });
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/app', { token: t.token }))).to.equal('HIT'); // stale, as in Vault Agent
      const cleared = await call(stack, 'POST', '/agent/v1/cache-clear', { body: JSON.stringify({ type: 'lease', value: id }) });
      expect(cleared.status).to.equal(200);
      const after = await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
      expect(cacheHeader(after)).to.equal('MISS');
      expect(after.json.lease_id).not.to.equal(id);
    });
  });

  describe('cache-clear', () => {
    async function hits(path: string, token?: string): Promise<string | null> {
      return cacheHeader(await call(stack, 'GET', path, token ? { token } : {}));
    }

    for (const endpoint of ['/agent/v1/cache-clear', '/proxy/v1/cache-clear']) {
      it(`${endpoint} type request_path evicts by prefix: 200, empty body`, async () => {
        await call(stack, 'GET', '/v1/database/creds/app');
        expect(await hits('/v1/database/creds/app')).to.equal('HIT');
        const r = await call(stack, 'PUT', endpoint, { body: JSON.stringify({ type: 'request_path', value: '/v1/database/creds' }) });
        expect(r.status).to.equal(200);
        expect(r.body).to.equal('');
        expect(await hits('/v1/database/creds/app')).to.equal('MISS');
      });
    }

    it('type token evicts what the token created', async () => {
      const t = await childToken();
      await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
      const r = await call(stack, 'POST', '/agent/v1/cache-clear', { body: JSON.stringify({ type: 'token', value: t.token }) });
      expect([r.status, r.body]).to.deep.equal([200, '']);
      expect(await hits('/v1/database/creds/app', t.token)).to.equal('MISS');
    });

    it('type token_accessor', async () => {
      const t = await childToken();
      await call(stack, 'GET', '/v1/database/creds/app', { token: t.token });
      const r = await call(stack, 'POST', '/agent/v1/cache-clear', { body: JSON.stringify({ type: 'token_accessor', value: t.accessor }) });
      expect([r.status, r.body]).to.deep.equal([200, '']);
      expect(await hits('/v1/database/creds/app', t.token)).to.equal('MISS');
    });

    it('type all clears everything and keeps the auto-auth token managed', async () => {
      await call(stack, 'GET', '/v1/database/creds/app');
      const r = await call(stack, 'POST', '/agent/v1/cache-clear', { body: JSON.stringify({ type: 'all' }) });
      expect([r.status, r.body]).to.deep.equal([200, '']);
      expect(await hits('/v1/database/creds/app')).to.equal('MISS');
      expect(await hits('/v1/database/creds/app')).to.equal('HIT'); // still cached: the auto-auth token is managed
    });

    const errors: Array<[string, string | undefined, string]> = [
      ['an empty body', undefined, 'failed to parse JSON input: empty JSON provided'],
      ['a missing type', JSON.stringify({ value: 'x' }), 'failed to parse clear input: no type provided'],
      ['an unknown type', JSON.stringify({ type: 'everything' }), 'failed to clear cache: invalid type provided'],
      ['a missing value (request_path)', JSON.stringify({ type: 'request_path' }), 'failed to clear cache: request path not provided'],
      ['a missing value (token)', JSON.stringify({ type: 'token' }), 'failed to clear cache: token not provided'],
      ['a missing value (token_accessor)', JSON.stringify({ type: 'token_accessor' }), 'failed to clear cache: token accessor not provided'],
      ['a missing value (lease)', JSON.stringify({ type: 'lease' }), 'failed to clear cache: lease not provided'],
    ];
    for (const [what, body, message] of errors) {
      it(`answers 400 with {"errors":[...]} for ${what}`, async () => {
        const r = await call(stack, 'POST', '/agent/v1/cache-clear', body !== undefined ? { body } : { headers: { 'content-type': 'application/json' } });
        expect(r.status).to.equal(400);
        expect(r.json).to.deep.equal({ errors: [message] });
      });
    }

    it('refuses a body that is not JSON (415): no HTML form can clear the cache, and nothing is cleared', async () => {
      await call(stack, 'GET', '/v1/database/creds/app');
      expect(await hits('/v1/database/creds/app')).to.equal('HIT');
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const r = await call(stack, 'POST', '/agent/v1/cache-clear', { body: JSON.stringify({ type: 'all' }), headers: { 'content-type': type } });
        expect(r.status, type).to.equal(415);
        expect(r.json.errors[0]).to.include('JSON');
      }
      expect(await hits('/v1/database/creds/app')).to.equal('HIT');
    });

    it('answers 400 for bad JSON, naming the problem', async () => {
      const r = await call(stack, 'POST', '/agent/v1/cache-clear', { body: '{"type": ' });
      expect(r.status).to.equal(400);
      expect(r.json.errors).to.have.length(1);
      expect(r.json.errors[0]).to.match(/^failed to parse JSON input: /);
    });
  });

  describe('re-authentication', () => {
    it('a re-login of the auto-auth token retires what hung off the old one', async () => {
      const before = await call(stack, 'GET', '/v1/database/creds/app');
      expect(cacheHeader(await call(stack, 'GET', '/v1/database/creds/app'))).to.equal('HIT');
      const old = readFileSync(join(stack.dir, 'token'), 'utf8');
      await backend.revokeToken(old);
      // The next proxied request with the revoked token gets Vault's 403; the worker logs in again.
      await call(stack, 'GET', '/v1/sys/mounts');
      await waitFor('a new auto-auth token', () => (readFileSync(join(stack.dir, 'token'), 'utf8') !== old ? true : undefined), 10_000);
      await sleep(100);
      const after = await call(stack, 'GET', '/v1/database/creds/app');
      expect(cacheHeader(after)).to.equal('MISS');
      expect(after.json.lease_id).not.to.equal(before.json.lease_id);
    });
  });
}, { versions: 'all' });
