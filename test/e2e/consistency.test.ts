import { expect } from 'chai';
import { forEachBackend, simOnly, startBackend, type Backend, isSim } from '../support/backend.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { waitFor } from '../support/ports.js';

/** Vault Proxy's documented policy for the static cache's auto-auth token, plus writes under secret/ for the tests. */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "secret/data/c/*" { capabilities = ["create", "update", "read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
const READ_C = 'path "secret/data/c/*" { capabilities = ["read"] }';

interface Res { status: number; body: string; headers: Headers }

async function send(stack: Stack, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Res> {
  const res = await fetch(`${stack.url}${path}`, {
    method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

async function consistencyStack(v: Backend, stacks: Stack[], when: string, extra = ''): Promise<Stack> {
  const creds = await setupAppRole(v, { role: `c-${stacks.length}`, policies: ['worker'] });
  const stack = await startStack({
    vault: v,
    hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy {
  use_auto_auth_token = true
  enforce_consistency = "always"
  when_inconsistent = "${when}"
}
${extra}
`,
  });
  stacks.push(stack);
  return stack;
}

const writeC = (stack: Stack, name: string, v: string): Promise<Res> => send(stack, 'POST', `/v1/secret/data/c/${name}`, {}, { data: { v } });
const readC = (stack: Stack, name: string, headers: Record<string, string> = {}): Promise<Res> => send(stack, 'GET', `/v1/secret/data/c/${name}`, headers);

forEachBackend('e2e: enforce_consistency through real Envoy', function (kind) {
  this.timeout(90_000);
  let vault: Backend;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await writePolicy(vault, 'worker', WORKER);
    await writePolicy(vault, 'readc', READ_C);
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault.close();
  });

  // Vault Community never answers X-Vault-Index: nothing may change. forward is the sharpest probe:
  // a real 1.15.6 answers 400 to X-Vault-Inconsistent (forwarding by header is Enterprise's).
  for (const when of ['fail', 'retry', 'forward']) {
    it(`on Vault Community, when_inconsistent = "${when}" changes nothing: writes and reads through Envoy answer as Vault does`, async () => {
      const stack = await consistencyStack(vault, stacks, when);
      expect((await writeC(stack, `ce-${when}`, 'one')).status).to.equal(200);
      for (let i = 0; i < 2; i++) {
        const read = await readC(stack, `ce-${when}`);
        expect(read.status, read.body).to.equal(200);
        expect(read.headers.get('x-vault-index')).to.equal(null);
        expect(JSON.parse(read.body).data.data).to.deep.equal({ v: 'one' });
      }
      if (vault.sim) {
        const seen = vault.sim.requestsTo('/v1/secret/data/c/ce-' + when);
        expect(seen.map((r) => [r.headers['x-vault-index'], r.headers['x-vault-inconsistent']])).to.deep.equal([[undefined, undefined], [undefined, undefined], [undefined, undefined]]);
      }
      await stack.stop();
    });
  }

  it('attack: with the static cache on, an index or forwarding header never turns a cached secret into an answer for a token Vault refuses', async () => {
    const stack = await consistencyStack(vault, stacks, 'forward', 'cache {\n  cache_static_secrets = true\n  disable_caching_dynamic_secrets = true\n}');
    await untilCacheWatching(stack, kind);
    await vaultApi(vault, 'POST', 'secret/data/c/cached', { data: { v: 'a-only' } });
    const a = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['readc'], ttl: '1h' })).json.auth.client_token as string;
    const b = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['default'], ttl: '1h' })).json.auth.client_token as string;
    await waitFor('a HIT for A', async () => ((await readC(stack, 'cached', { 'x-vault-token': a })).headers.get('x-cache') === 'HIT' ? true : undefined), 5_000, 50);
    const someState = Buffer.from('v1:forged:99:99:00').toString('base64');
    for (const extra of [{}, { 'x-vault-index': someState }, { 'x-vault-inconsistent': 'forward-active-node' }, { 'x-vault-forward': 'active-node' }] as Array<Record<string, string>>) {
      const viaEnvoy = await readC(stack, 'cached', { 'x-vault-token': b, ...extra });
      const direct = await fetch(`${vault.url}/v1/secret/data/c/cached`, { headers: { 'x-vault-token': b, ...extra } });
      expect(viaEnvoy.headers.get('x-cache'), JSON.stringify(extra)).to.equal(null);
      expect(viaEnvoy.status, JSON.stringify(extra)).to.equal(direct.status);
      expect(viaEnvoy.status).to.be.oneOf([400, 403, 412]);
      expect(viaEnvoy.body).not.to.include('a-only');
      // A's own request with such a header goes to Vault too (it changes Vault's answer).
      const aWith = await readC(stack, 'cached', { 'x-vault-token': a, ...extra });
      if (Object.keys(extra).length > 0) expect(aWith.headers.get('x-cache'), JSON.stringify(extra)).not.to.equal('HIT');
    }
    await stack.stop();
  });

  describe('Vault Enterprise\'s X-Vault-Index (the simulator\'s consistency profile)', function () {
    let ent: Backend;
    before(async function () {
      if (!isSim(kind)) return;
      ent = await startBackend('sim', { sim: { consistency: true } });
      await writePolicy(ent, 'worker', WORKER);
    });
    after(async () => {
      await ent?.close();
    });

    simOnly(kind)('fail: the next request requires the write\'s state; a lagging node\'s 412 reaches the client as Vault sent it', async () => {
      const stack = await consistencyStack(ent, stacks, 'fail');
      // The node answering reads stops taking in writes: the next write is not visible there.
      ent.sim!.consistency!.hold();
      const written = await writeC(stack, 'f', 'one');
      expect(written.status).to.equal(200);
      const state = written.headers.get('x-vault-index');
      expect(state, 'the write\'s X-Vault-Index reaches the client').to.be.a('string');
      ent.sim!.clearRequests();
      const stale = await readC(stack, 'f');
      expect(stale.status).to.equal(412);
      expect(JSON.parse(stale.body)).to.deep.equal({ errors: ['required index state not present'] });
      expect(ent.sim!.requestsTo('/v1/secret/data/c/f').map((r) => r.headers['x-vault-index'])).to.deep.equal([state]);
      ent.sim!.consistency!.release();
      const fresh = await readC(stack, 'f');
      expect(fresh.status).to.equal(200);
      expect(JSON.parse(fresh.body).data.data).to.deep.equal({ v: 'one' });
      await stack.stop();
    });

    simOnly(kind)('retry: Envoy retries the 412 (same index each time) until the node catches up; the client sees only the 200', async () => {
      const stack = await consistencyStack(ent, stacks, 'retry');
      // The node sees the write only after refusing two requests that need it.
      ent.sim!.consistency!.lag(2);
      const state = (await writeC(stack, 'r', 'two')).headers.get('x-vault-index');
      ent.sim!.clearRequests();
      const read = await readC(stack, 'r');
      expect(read.status, read.body).to.equal(200);
      expect(JSON.parse(read.body).data.data).to.deep.equal({ v: 'two' });
      const attempts = ent.sim!.requestsTo('/v1/secret/data/c/r');
      expect(attempts.map((r) => [r.status, r.headers['x-vault-index']])).to.deep.equal([[412, state], [412, state], [200, state]]);
      await stack.stop();
    });

    simOnly(kind)('forward: X-Vault-Inconsistent: forward-active-node goes with the index; the active node answers a lagging read', async () => {
      const stack = await consistencyStack(ent, stacks, 'forward');
      ent.sim!.consistency!.hold();
      await writeC(stack, 'w', 'three');
      const before = ent.sim!.consistency!.forwarded;
      ent.sim!.clearRequests();
      const read = await readC(stack, 'w');
      ent.sim!.consistency!.release();
      expect(read.status, read.body).to.equal(200);
      expect(ent.sim!.consistency!.forwarded).to.equal(before + 1);
      expect(ent.sim!.requestsTo('/v1/secret/data/c/w')[0]!.headers['x-vault-inconsistent']).to.equal('forward-active-node');
      await stack.stop();
    });

    simOnly(kind)('the newest state is required: a later write replaces the earlier one; a client\'s own X-Vault-Index is left as it sent it', async () => {
      const stack = await consistencyStack(ent, stacks, 'fail');
      const first = (await writeC(stack, 'm1', 'a')).headers.get('x-vault-index');
      const second = (await writeC(stack, 'm2', 'b')).headers.get('x-vault-index');
      expect(second).not.to.equal(first);
      ent.sim!.clearRequests();
      expect((await readC(stack, 'm1')).status).to.equal(200);
      expect(ent.sim!.requestsTo('/v1/secret/data/c/m1')[0]!.headers['x-vault-index']).to.equal(second);
      // The client's own state goes unchanged (and alone): Vault Proxy manages only requests without one.
      ent.sim!.clearRequests();
      expect((await readC(stack, 'm1', { 'x-vault-index': first! })).status).to.equal(200);
      expect(ent.sim!.requestsTo('/v1/secret/data/c/m1')[0]!.headers['x-vault-index']).to.equal(first);
      await stack.stop();
    });
  });
});
