// What the adversarial suite found beyond issue 13's nine findings, each as the attack that found
// it, on the simulator and on a real Vault: a TTL shortened by a renewal, an auth method or a
// policy changed through Envoy, a trailing '/' on a cached login, a KV mount disabled, upgraded or
// mounted again; and the bounds of the same changes made directly in Vault.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { sleep, waitFor } from '../../support/ports.js';
import { type Stack } from '../../support/stack.js';
import { setupAppRole, vaultApi } from '../../support/vault-setup.js';
import { cacheStack, cached, createToken, kvWrite, logsOnFailure, postJson, read, send, writePolicies, type Res } from './support.js';

/** static_secret_token_capability_refresh_interval where a test sets it. */
const REFRESH_INTERVAL_MS = 2_000;
/** static_secret_refresh_interval where a test sets it: the bound for a secret gone from Vault unseen. */
const SECRET_REFRESH_MS = 2_000;
/** One round trip plus scheduling on a loaded machine. */
const ROUND_TRIP_MARGIN_MS = 1_000;
/** A token's access ends at its expiry: this much for the two clocks and the request. */
const EXPIRY_MARGIN_MS = 500;

forEachBackend('adversarial: beyond issue 13', function (kind) {
  this.timeout(90_000);
  let backend: Backend;
  /** Each test starts its own stack; it is stopped after the test. */
  const testStacks: Stack[] = [];
  logsOnFailure(testStacks, () => backend);
  afterEach(async () => {
    await Promise.all(testStacks.splice(0).map((s) => s.stop()));
  });

  before(async () => {
    backend = await startBackend(kind);
    await writePolicies(backend);
  });
  after(async () => {
    await Promise.all(testStacks.splice(0).map((s) => s.stop()));
    await backend?.close();
  });

  /** Vault's own answer to the same request, right now. */
  const direct = (method: string, path: string, headers: Array<[string, string]> = [], body?: string): Promise<Res> =>
    send(backend.url, method, path, headers, body);

  describe('beyond issue 13: a shortened TTL, a disabled auth method, a trailing slash, a disabled mount', () => {
    it('a renewal through Envoy that shortens a token\'s TTL ends its cached access at the new expiry', async () => {
      const stack = await cacheStack(backend, testStacks, { cache: 'static_secret_token_capability_refresh_interval = "1h"' });
      const t = (await createToken(backend, ['reader'])).token;
      await kvWrite(backend, 'b10/s', { v: 'renewed' });
      await cached(stack, '/v1/secret/data/b10/s', t);
      const renew = await postJson(stack.url, '/v1/auth/token/renew-self', t, { increment: '2s' });
      expect(renew.status).to.equal(200);
      expect(renew.json.auth.lease_duration).to.be.at.most(2);
      await sleep(2_000 + EXPIRY_MARGIN_MS);
      expect((await direct('GET', '/v1/secret/data/b10/s', [['x-vault-token', t]])).status, "Vault's own answer").to.equal(403);
      const after = await read(stack.url, '/v1/secret/data/b10/s', t);
      expect(after.cache).not.to.equal('HIT');
      expect(after.status).to.equal(403);
    });

    it(`a renewal directly in Vault that shortens a token's TTL: no HIT after the new expiry + one capability interval (${REFRESH_INTERVAL_MS} ms) + ${ROUND_TRIP_MARGIN_MS} ms`, async () => {
      const stack = await cacheStack(backend, testStacks, { cache: `static_secret_token_capability_refresh_interval = "${REFRESH_INTERVAL_MS / 1000}s"` });
      const t = (await createToken(backend, ['reader'])).token;
      await kvWrite(backend, 'b10/d', { v: 'renewed' });
      await cached(stack, '/v1/secret/data/b10/d', t);
      expect((await postJson(backend.url, '/v1/auth/token/renew-self', t, { increment: '1s' })).status).to.equal(200);
      await sleep(1_000 + REFRESH_INTERVAL_MS + ROUND_TRIP_MARGIN_MS);
      const after = await read(stack.url, '/v1/secret/data/b10/d', t);
      expect(after.cache).not.to.equal('HIT');
      expect(after.status).to.equal(403);
    });

    it('an auth method disabled through Envoy (Vault revokes its tokens): a token it issued gets no HIT afterwards', async () => {
      const stack = await cacheStack(backend, testStacks, { cache: 'static_secret_token_capability_refresh_interval = "1h"' });
      await vaultApi(backend, 'POST', 'sys/auth/b13', { type: 'userpass' });
      await vaultApi(backend, 'POST', 'auth/b13/users/u', { password: 'pw', token_policies: 'reader' });
      const login = await postJson(backend.url, '/v1/auth/b13/login/u', undefined, { password: 'pw' });
      expect(login.status).to.equal(200);
      const t = login.json.auth.client_token as string;
      await kvWrite(backend, 'b13/s', { v: 'issued' });
      await cached(stack, '/v1/secret/data/b13/s', t);
      expect((await send(stack.url, 'DELETE', '/v1/sys/auth/b13', [['x-vault-token', backend.rootToken]])).status).to.equal(204);
      expect((await direct('GET', '/v1/secret/data/b13/s', [['x-vault-token', t]])).status, "Vault's own answer").to.equal(403);
      const after = await read(stack.url, '/v1/secret/data/b13/s', t);
      expect(after.cache).not.to.equal('HIT');
      expect(after.status).to.equal(403);
    });

    it('a policy deleted or narrowed through Envoy: its tokens get no HIT afterwards', async () => {
      const stack = await cacheStack(backend, testStacks, { cache: 'static_secret_token_capability_refresh_interval = "1h"' });
      await kvWrite(backend, 'b15/s', { v: 'policy' });
      for (const [what, change] of [
        ['deleted', (name: string) => send(stack.url, 'DELETE', `/v1/sys/policies/acl/${name}`, [['x-vault-token', backend.rootToken]])],
        ['narrowed', (name: string) => postJson(stack.url, `/v1/sys/policies/acl/${name}`, backend.rootToken, { policy: 'path "secret/data/elsewhere/*" { capabilities = ["read"] }' })],
      ] as Array<[string, (name: string) => Promise<Res>]>) {
        const name = `b15-${what}`;
        await vaultApi(backend, 'PUT', `sys/policies/acl/${name}`, { policy: 'path "secret/data/b15/*" { capabilities = ["read"] }' });
        const t = (await createToken(backend, [name])).token;
        await cached(stack, '/v1/secret/data/b15/s', t);
        expect((await change(name)).status, what).to.equal(204);
        expect((await direct('GET', '/v1/secret/data/b15/s', [['x-vault-token', t]])).status, `Vault's own answer (${what})`).to.equal(403);
        const after = await read(stack.url, '/v1/secret/data/b15/s', t);
        expect(after.cache, what).not.to.equal('HIT');
        expect(after.status, what).to.equal(403);
      }
    });

    it("a login or token creation on a path ending in '/' (Vault: 400) is never answered from the lease cache", async () => {
      const stack = await cacheStack(backend, testStacks, {
        cache: 'static_secret_token_capability_refresh_interval = "1h"', leaseCache: true, useAutoAuthToken: true,
        workerPolicies: ['worker', 'creator', 'reader'],
      });
      const creds = await setupAppRole(backend, { role: 'b14', policies: ['reader'] });
      const login = { role_id: creds.roleId, secret_id: creds.secretId };
      const parent = await postJson(stack.url, '/v1/auth/token/create', undefined, { policies: ['reader', 'creator'], meta: { n: 'b14' } });
      expect(parent.status).to.equal(200);
      const p = parent.json.auth.client_token as string;
      const child = { policies: ['reader'], meta: { n: 'b14-child' } };
      for (const [what, path, token, body] of [
        ['an AppRole login', '/v1/auth/approle/login', undefined, login],
        ['a token creation', '/v1/auth/token/create', p, child],
      ] as Array<[string, string, string | undefined, unknown]>) {
        const first = await postJson(stack.url, path, token, body);
        expect((await postJson(stack.url, path, token, body)).cache, `${what}: cached`).to.equal('HIT');
        const vault = await postJson(backend.url, `${path}/`, token, body);
        expect(vault.status, `${what}: Vault's own answer`).to.equal(400);
        const slash = await postJson(stack.url, `${path}/`, token, body);
        expect(slash.cache, what).not.to.equal('HIT');
        expect(slash.status, what).to.equal(400);
        expect(slash.body.includes(first.json.auth.client_token as string), `${what}: the answer holds what it must not`).to.equal(false);
      }
    });

    it('a KV mount disabled through Envoy: its secrets are not served from the cache afterwards', async () => {
      const stack = await cacheStack(backend, testStacks, { cache: 'static_secret_token_capability_refresh_interval = "1h"' });
      await vaultApi(backend, 'POST', 'sys/mounts/b11', { type: 'kv', options: { version: '2' } });
      await vaultApi(backend, 'PUT', 'sys/policies/acl/b11', { policy: 'path "b11/*" { capabilities = ["read"] }' });
      await vaultApi(backend, 'POST', 'b11/data/x', { data: { v: 'mounted' } });
      const t = (await createToken(backend, ['b11'])).token;
      await cached(stack, '/v1/b11/data/x', t);
      expect((await send(stack.url, 'DELETE', '/v1/sys/mounts/b11', [['x-vault-token', backend.rootToken]])).status).to.equal(204);
      expect((await direct('GET', '/v1/b11/data/x', [['x-vault-token', t]])).status, "Vault's own answer").to.equal(404);
      const after = await read(stack.url, '/v1/b11/data/x', t);
      expect(after.cache).not.to.equal('HIT');
      expect(after.body.includes('mounted'), 'the answer holds what it must not').to.equal(false);
    });

    it('a KV v1 mount upgraded to v2 by a tune through Envoy: its v1 answers are not served from the cache afterwards', async () => {
      const stack = await cacheStack(backend, testStacks, { cache: 'static_secret_token_capability_refresh_interval = "1h"' });
      await vaultApi(backend, 'POST', 'sys/mounts/b16', { type: 'kv', options: { version: '1' } });
      await vaultApi(backend, 'PUT', 'sys/policies/acl/b16', { policy: 'path "b16/*" { capabilities = ["read"] }' });
      await vaultApi(backend, 'POST', 'b16/x', { v: 'v1-answer' });
      const t = (await createToken(backend, ['b16'])).token;
      await cached(stack, '/v1/b16/x', t);
      const tune = await postJson(stack.url, '/v1/sys/mounts/b16/tune', backend.rootToken, { options: { version: '2' } });
      expect(tune.status).to.be.oneOf([200, 204]);
      // The upgrade runs in the background: wait for Vault's own 404 at the v1 path.
      await waitFor('the upgrade', async () => ((await direct('GET', '/v1/b16/x', [['x-vault-token', t]])).status === 404 ? true : undefined), 10_000, 100);
      const after = await read(stack.url, '/v1/b16/x', t);
      expect(after.cache).not.to.equal('HIT');
      expect(after.body.includes('v1-answer'), 'the answer holds what it must not').to.equal(false);
    });

    it(`a KV mount disabled and mounted again directly in Vault: no HIT of the old secret after static_secret_refresh_interval (${SECRET_REFRESH_MS} ms) + ${ROUND_TRIP_MARGIN_MS} ms`, async () => {
      const stack = await cacheStack(backend, testStacks, {
        cache: `static_secret_token_capability_refresh_interval = "1h"\n  static_secret_refresh_interval = "${SECRET_REFRESH_MS / 1000}s"`,
      });
      await vaultApi(backend, 'POST', 'sys/mounts/b12', { type: 'kv', options: { version: '2' } });
      await vaultApi(backend, 'PUT', 'sys/policies/acl/b12', { policy: 'path "b12/*" { capabilities = ["read"] }' });
      await vaultApi(backend, 'POST', 'b12/data/x', { data: { v: 'old-mount' } });
      const t = (await createToken(backend, ['b12'])).token;
      await cached(stack, '/v1/b12/data/x', t);
      await vaultApi(backend, 'DELETE', 'sys/mounts/b12');
      await sleep(SECRET_REFRESH_MS + ROUND_TRIP_MARGIN_MS);
      const gone = await read(stack.url, '/v1/b12/data/x', t);
      expect(gone.cache, 'mount disabled').not.to.equal('HIT');
      expect(gone.status).to.equal(404);
      await vaultApi(backend, 'POST', 'sys/mounts/b12', { type: 'kv', options: { version: '2' } });
      await vaultApi(backend, 'POST', 'b12/data/x', { data: { v: 'new-mount' } });
      const again = await read(stack.url, '/v1/b12/data/x', t);
      expect(again.body.includes('old-mount'), 'mounted again: the answer holds what it must not').to.equal(false);
    });
  });
}, { versions: 'all' });
