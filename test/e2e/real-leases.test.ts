// The lease cache on real, renewable leases: a real Vault's `database` secrets engine issuing
// PostgreSQL logins, read through real Envoy + vault-extproc. What the simulator's database engine
// stands in for in lease-cache.test.ts is checked here against the real thing: the credentials
// log in, renewals move the lease's expiry in Vault, and revoked leases' roles are gone.
import { expect } from 'chai';
import { backendKinds, backendLabel, startBackend, type Backend } from '../support/backend.js';
import { sleep, waitFor } from '../support/ports.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';

const POLICY = `path "database/creds/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }`;

/** Long enough that nothing renews during a test: the cache, not the renewer, is under test. */
const LONG = { default_ttl: '1h', max_ttl: '2h' };
/** Renewed about every 2.1 s; renewals stop extending it 9 s after issue. */
const SHORT = { default_ttlSeconds: 3, max_ttlSeconds: 9 };

interface Res { status: number; headers: Headers; json: any }
interface Creds { leaseId: string; username: string; password: string }

async function call(stack: Stack, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Res> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(opts.token ? { 'x-vault-token': opts.token } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

const cacheHeader = (r: Res): string | null => r.headers.get('x-cache');
const credsOf = (r: Res): Creds => ({ leaseId: r.json.lease_id, username: r.json.data.username, password: r.json.data.password });

if (backendKinds().includes('real')) {
  describe(`e2e: lease cache on real database leases (PostgreSQL) ${backendLabel('real')}`, function () {
    this.timeout(60_000);
    let pg: Postgres | undefined;
    let vault: Backend | undefined;
    let stack: Stack | undefined;
    showLogsOnFailure(() => [stack]);
    afterEach(function () {
      if (this.currentTest?.state !== 'failed') return;
      process.stderr.write(`\n${vault?.logs() ?? ''}\n${pg?.logs() ?? ''}\n`);
    });

    const s = (): Stack => stack!;
    const v = (): Backend => vault!;
    const db = (): Postgres => pg!;

    async function read(role: string, token?: string): Promise<Res> {
      const r = await call(s(), 'GET', `/v1/database/creds/${role}`, token ? { token } : {});
      expect(r.status, JSON.stringify(r.json)).to.equal(200);
      return r;
    }

    /** A MISS then a HIT for the same token; returns the cached credentials. */
    async function cachedCreds(role: string, token?: string): Promise<Creds> {
      const a = await read(role, token);
      const b = await read(role, token);
      expect([cacheHeader(a), cacheHeader(b)]).to.deep.equal(['MISS', 'HIT']);
      expect(credsOf(b)).to.deep.equal(credsOf(a));
      return credsOf(a);
    }

    /** A token created through Envoy with the auto-auth token, so the cache manages it. */
    let created = 0;
    async function childToken(): Promise<string> {
      const r = await call(s(), 'POST', '/v1/auth/token/create', { body: { policies: ['real-leases'], ttl: '1h', meta: { n: String(++created) } } });
      expect(r.status).to.equal(200);
      return r.json.auth.client_token;
    }

    async function expectLogsIn(c: Creds): Promise<void> {
      const login = await db().canLogin(c.username, c.password);
      expect(login.ok, `login as ${c.username}: ${login.output}`).to.equal(true);
    }

    /** Vault revoked the lease: PostgreSQL dropped the role and the password no longer works. */
    async function expectRevokedInPostgres(c: Creds): Promise<void> {
      expect(await db().roleExists(c.username), `role ${c.username} still exists`).to.equal(false);
      const login = await db().canLogin(c.username, c.password);
      expect(login.ok).to.equal(false);
      expect(login.output).to.match(/password authentication failed|role .* does not exist/);
    }

    async function leaseLookup(leaseId: string): Promise<{ expireTimeMs: number; ttlSeconds: number }> {
      const r = await vaultApi(v(), 'PUT', 'sys/leases/lookup', { lease_id: leaseId });
      return { expireTimeMs: Date.parse(r.json.data.expire_time), ttlSeconds: r.json.data.ttl };
    }

    before(async () => {
      [pg, vault] = await Promise.all([startPostgres(), startBackend('real')]);
      await vaultApi(v(), 'POST', 'sys/mounts/database', { type: 'database' });
      await vaultApi(v(), 'POST', 'database/config/pg', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: db().vaultConnectionUrl,
        username: db().superuser,
        password: db().password,
        allowed_roles: '*',
        verify_connection: true,
      });
      const creation = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];
      const role = (name: string, ttl: { default_ttl: string | number; max_ttl: string | number }): Promise<unknown> =>
        vaultApi(v(), 'POST', `database/roles/${name}`, { db_name: 'pg', creation_statements: creation, ...ttl });
      await role('app', LONG);
      await role('prefix', LONG);
      await role('short', { default_ttl: SHORT.default_ttlSeconds, max_ttl: SHORT.max_ttlSeconds });
      await writePolicy(v(), 'real-leases', POLICY);
      const creds = await setupAppRole(v(), { role: 'real-leases', policies: ['real-leases'] });
      stack = await startStack({
        vault: v(),
        hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds)}
api_proxy { use_auto_auth_token = true }
cache {}
`,
      });
    });
    after(async () => {
      await stack?.stop();
      await vault?.close();
      await pg?.stop();
    });

    it('the same creds read twice with the same token: MISS, then a HIT with the same login and an Age; Vault issued one; it logs in', async () => {
      v().clearRequests();
      const first = await read('app');
      await sleep(1_100);
      const second = await read('app');
      expect([cacheHeader(first), cacheHeader(second)]).to.deep.equal(['MISS', 'HIT']);
      expect(first.headers.get('age')).to.equal(null);
      expect(Number(second.headers.get('age'))).to.be.within(1, 3);
      expect(second.json).to.deep.equal(first.json);
      expect(first.json.renewable).to.equal(true);
      expect(v().requestsTo('/v1/database/creds/app')).to.have.length(1);
      const c = credsOf(second);
      expect(c.username).to.match(/^v-/);
      await expectLogsIn(c);
    });

    it('another managed token: a MISS with other credentials (then its own HIT); both log in', async () => {
      const mine = credsOf(await read('app'));
      const child = await childToken();
      v().clearRequests();
      const theirs = await cachedCreds('app', child);
      expect(v().requestsTo('/v1/database/creds/app')).to.have.length(1);
      expect(theirs.leaseId).not.to.equal(mine.leaseId);
      expect(theirs.username).not.to.equal(mine.username);
      expect(theirs.password).not.to.equal(mine.password);
      await expectLogsIn(theirs);
      await expectLogsIn(mine);
    });

    it("renews the lease on Vault's schedule (its expire_time moves forward, the login outlives the first TTL); at max TTL evicts, and Vault drops the role", async () => {
      const { default_ttlSeconds: ttl, max_ttlSeconds: maxTtl } = SHORT;
      v().clearRequests();
      const issuedAt = Date.now();
      const first = await read('short');
      expect(cacheHeader(first)).to.equal('MISS');
      expect(first.json.lease_duration).to.equal(ttl);
      const c = credsOf(first);
      const initial = await leaseLookup(c.leaseId);
      expect(cacheHeader(await read('short'))).to.equal('HIT');

      const renewalsOf = (): number[] => v().requestsTo('/v1/sys/leases/renew').filter((r) => r.body.includes(c.leaseId)).map((r) => r.at - issuedAt);
      await waitFor('the first renewal', () => (renewalsOf().length >= 1 ? true : undefined), ttl * 1000 + 1_000);
      // ⅔ × 3 s + a third of a 10–20 % grace ≈ 2.1–2.2 s after the lease was issued.
      expect(renewalsOf()[0]).to.be.within(1_500, ttl * 1000);
      const renewed = await leaseLookup(c.leaseId);
      expect(renewed.expireTimeMs - initial.expireTimeMs).to.be.above(1_000);

      // Past the first lease's end: the role is still valid because the renewals extended it.
      await waitFor('a second renewal', () => (renewalsOf().length >= 2 ? true : undefined), ttl * 1000 + 1_000);
      expect(Date.now() - issuedAt).to.be.above(ttl * 1000);
      expect(cacheHeader(await read('short'))).to.equal('HIT');
      await expectLogsIn(c);
      expect((await leaseLookup(c.leaseId)).expireTimeMs).to.be.above(renewed.expireTimeMs);

      // Renewals stop extending the lease near max TTL: the entry goes before Vault expires it.
      const next = await waitFor('eviction at max TTL', async () => {
        const r = await read('short');
        return cacheHeader(r) === 'MISS' ? r : undefined;
      }, maxTtl * 1000 + 2_000, 100);
      const evictedAfterMs = Date.now() - issuedAt;
      expect(evictedAfterMs).to.be.within((maxTtl - ttl) * 1000, maxTtl * 1000 + 500);
      expect(credsOf(next).leaseId).not.to.equal(c.leaseId);
      expect(credsOf(next).username).not.to.equal(c.username);
      await expectLogsIn(credsOf(next));
      expect(renewalsOf().length).to.be.within(2, 5);

      // At max TTL Vault's expiration manager revokes the old lease: its role is dropped.
      await waitFor('Vault to revoke the expired lease', async () => (!(await db().roleExists(c.username)) ? true : undefined), Math.max(1_000, maxTtl * 1000 + 5_000 - (Date.now() - issuedAt)), 200);
      await expectRevokedInPostgres(c);
    });

    it('sys/leases/revoke through Envoy evicts the entry (next read a MISS with new credentials); the revoked login is dropped', async () => {
      const token = await childToken();
      const c = await cachedCreds('app', token);
      await expectLogsIn(c);
      const revoked = await call(s(), 'PUT', '/v1/sys/leases/revoke', { token, body: { lease_id: c.leaseId } });
      expect(revoked.status).to.equal(204);
      await expectRevokedInPostgres(c);
      const after = await read('app', token);
      expect(cacheHeader(after)).to.equal('MISS');
      expect(credsOf(after).leaseId).not.to.equal(c.leaseId);
      await expectLogsIn(credsOf(after));
    });

    it('sys/leases/revoke-prefix through Envoy evicts every lease under the prefix, and only those', async () => {
      const [t1, t2] = [await childToken(), await childToken()];
      const under = [await cachedCreds('prefix', t1), await cachedCreds('prefix', t2)];
      const outside = await cachedCreds('app', t1);
      const revoked = await call(s(), 'PUT', '/v1/sys/leases/revoke-prefix/database/creds/prefix', { token: v().rootToken });
      expect(revoked.status).to.equal(204);
      for (const c of under) await expectRevokedInPostgres(c);
      for (const [token, c] of [[t1, under[0]!], [t2, under[1]!]] as const) {
        const after = await read('prefix', token);
        expect(cacheHeader(after)).to.equal('MISS');
        expect(credsOf(after).leaseId).not.to.equal(c.leaseId);
      }
      const still = await read('app', t1);
      expect(cacheHeader(still)).to.equal('HIT');
      expect(credsOf(still)).to.deep.equal(outside);
      await expectLogsIn(outside);
    });
  });
}
