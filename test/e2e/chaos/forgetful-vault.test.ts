// Chaos (issue 17, item 5): the Vault dev server is replaced by a new one on the same port that
// forgot everything — a new root token, none of the old tokens, leases or secrets. Auto-auth is
// token_file: the test makes a new auto-auth token on the new server and writes it to the token
// file (with AppRole the role would be gone too). What must happen, through real Envoy on both
// backends: vault-extproc finds its token refused and logs in again (reads the file: the new
// token), nothing the forgotten Vault answered is served past the documented bound (every HIT is
// checked against the new Vault: Differential), what hung off the old auto-auth token leaves the
// lease cache, and a token created through Envoy afterwards is tracked and renewed on the new Vault.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, backendName } from '../../support/backend.js';
import { sleep, waitFor } from '../../support/ports.js';
import { showLogsOnFailure, untilCacheWatching, type Stack } from '../../support/stack.js';
import { vaultApi, writePolicy } from '../../support/vault-setup.js';
import { Differential, hookedStack, metric, readyz, recovered, send, startForgetfulVault, type ForgetfulVault } from './support.js';

const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "auth/token/create" { capabilities = ["update"] }`;
const READER_POLICY = 'path "secret/data/*" { capabilities = ["read"] }';
/**
 * Long on purpose: a token of the forgotten Vault must lose its cached access when vault-extproc
 * reaches the new Vault (the resync after the event stream reconnects reads every cached secret
 * again with its tokens: the new Vault refuses them), not when its own capability check comes round.
 */
const CAPABILITY_INTERVAL_MS = 30_000;
/** The no-leak bound: capability refresh interval + static_secret_max_stale (one interval), and a second of margin. */
const ACCESS_BOUND_MS = 2 * CAPABILITY_INTERVAL_MS + 1_000;
const CHILD_TTL_S = 6;

/** Policies, two secrets holding `value`, an auto-auth token and a reader token (made with the root token). */
async function provision(v: ForgetfulVault, value: string): Promise<{ auto: string; plain: string }> {
  await writePolicy(v, 'chaos-worker', WORKER_POLICY);
  await writePolicy(v, 'chaos-reader', READER_POLICY);
  for (const name of ['auto', 'plain']) await vaultApi(v, 'POST', `secret/data/chaos/${name}`, { data: { v: value } });
  const auto = (await vaultApi(v, 'POST', 'auth/token/create', { policies: ['chaos-worker'], ttl: '1h' })).json.auth.client_token as string;
  const plain = (await vaultApi(v, 'POST', 'auth/token/create', { policies: ['chaos-reader'], ttl: '1h' })).json.auth.client_token as string;
  return { auto, plain };
}

forEachBackend('e2e chaos: the Vault dev server forgot everything', function (kind) {
  this.timeout(120_000);
  let vault: ForgetfulVault | undefined;
  let stack: Stack;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);
  let before1: { auto: string; plain: string };
  let diff: Differential;
  let upAt: number;

  before(async () => {
    vault = await startForgetfulVault(kind, 'root-before');
    const v = vault;
    before1 = await provision(v, 'before');
    stack = await hookedStack({
      vault: v,
      hcl: ({ dir }) => {
        writeFileSync(join(dir, 'auto-token'), before1.auto);
        return `auto_auth {
  method "token_file" {
    config = { token_file_path = "${join(dir, 'auto-token')}" }
  }
  sink "file" {
    config = { path = "${join(dir, 'token')}" }
  }
}
api_proxy { use_auto_auth_token = true }
cache {
  cache_static_secrets = true
  static_secret_token_capability_refresh_interval = "${CAPABILITY_INTERVAL_MS / 1000}s"
}
`;
      },
    });
    stacks.push(stack);
    await untilCacheWatching(stack, kind);
    diff = new Differential(v);
    for (const [path, token] of [['/v1/secret/data/chaos/plain', before1.plain], ['/v1/secret/data/chaos/auto', undefined]] as const) {
      await waitFor(`a HIT on ${path}`, async () => ((await diff.read(stack, path, token)).cache === 'HIT' ? true : undefined), 5_000, 25);
    }
    const created = await send(stack.url, 'POST', '/v1/auth/token/create', [['content-type', 'application/json']], JSON.stringify({ ttl: '1h', meta: { chaos: 'forgotten' } }));
    expect(created.status).to.equal(200);
    expect(await metric(stack, 'vault_extproc_cache_entries', { cache: 'lease' })).to.equal(1);
  });
  after(async () => {
    if (diff) process.stdout.write(`      [chaos ${backendName(kind)}] forgetful Vault differential: ${diff.hits} HITs, ${diff.confirmed} confirmed by Vault directly, ${diff.withinBound} refused inside the bound, ${diff.unverifiable} while Vault was down (inside the bound), ${diff.refused.length} refused\n`);
    await Promise.all(stacks.map((s) => s.stop()));
    await vault?.close();
  });

  it('a new empty dev server on the same port: vault-extproc logs in again (the new token from the file), serves the new Vault\'s answers, and once the resync reached the new Vault no token of the forgotten Vault gets a HIT', async () => {
    const v = vault!;
    await v.stop();
    diff.vaultDown(ACCESS_BOUND_MS);
    await v.startFresh('root-after');
    upAt = Date.now();
    diff.vaultChanged(ACCESS_BOUND_MS);
    const after1 = await provision(v, 'after');
    writeFileSync(join(stack.dir, 'auto-token'), after1.auto);
    // Until it is back: keep reading as clients would, every HIT checked against the new Vault.
    const backAt = await waitFor('the new auto-auth token in use and the new Vault\'s answer served', async () => {
      await diff.read(stack, '/v1/secret/data/chaos/plain', before1.plain, 'the forgotten Vault\'s reader token');
      const r = await diff.read(stack, '/v1/secret/data/chaos/auto', undefined, 'auto-auth');
      const sink = readFileSync(join(stack.dir, 'token'), 'utf8').trim();
      return sink === after1.auto && r.status === 200 && r.json?.data?.data?.v === 'after' ? Date.now() : undefined;
    }, 60_000, 100);
    recovered(kind, 'dev server forgot everything → logged in again with the new token, new answers served', backAt - upAt);
    expect(stack.service.jsonLines.filter((l) => l['msg'] === 'authenticated').length, 'logins').to.be.at.least(2);
    // Once the event stream is back, the resync read every cached secret again with its tokens and the
    // new Vault refused the forgotten ones: from then on the old reader token is refused as the new Vault
    // refuses it, long before its own capability check is due — no HIT it refuses was asked for after that.
    const endedAt = await waitFor('the resync after the reconnect', () => {
      const line = stack.service.jsonLines.filter((l) => l['msg'] === 'subscribed to KV events')[1];
      return line ? Date.parse(String(line['time'])) : undefined;
    }, 5_000);
    await waitFor('the forgotten reader token refused', async () => {
      const r = await diff.read(stack, '/v1/secret/data/chaos/plain', before1.plain, 'the forgotten Vault\'s reader token, after the reconnect');
      return r.status === 403 ? true : undefined;
    }, 5_000, 50);
    const endedAt2 = Date.now();
    recovered(kind, 'dev server forgot everything → the forgotten reader token refused (resync after the reconnect)', endedAt2 - upAt);
    for (let i = 0; i < 5; i++) {
      const old = await diff.read(stack, '/v1/secret/data/chaos/plain', before1.plain, 'the forgotten Vault\'s reader token, after the resync');
      expect([old.status, old.cache]).to.deep.equal([403, null]);
      await sleep(100);
    }
    expect(diff.withinBoundSentAt.filter((t) => t > endedAt2), 'refused HITs asked for after the resync').to.deep.equal([]);
    expect(endedAt).to.be.at.most(endedAt2);
    const fresh = await diff.read(stack, '/v1/secret/data/chaos/plain', after1.plain, 'the new Vault\'s reader token');
    expect([fresh.status, fresh.json?.data?.data?.v]).to.deep.equal([200, 'after']);
    expect((await readyz(stack)).status).to.equal(200);
    diff.check();
  });

  it('the lease cache let go of what hung off the forgotten token; a token created through Envoy now is tracked and renewed on the new Vault', async () => {
    expect(await metric(stack, 'vault_extproc_cache_entries', { cache: 'lease' })).to.equal(0);
    const created = await send(stack.url, 'POST', '/v1/auth/token/create', [['content-type', 'application/json']], JSON.stringify({ ttl: `${CHILD_TTL_S}s`, meta: { chaos: 'after' } }));
    expect([created.status, created.cache]).to.deep.equal([200, 'MISS']);
    const child = created.json.auth.client_token as string;
    // Past its first TTL it is alive only if we renewed it.
    await sleep(CHILD_TTL_S * 1000 + 1_500);
    const self = await vaultApi(vault!, 'GET', 'auth/token/lookup-self', undefined, child);
    expect(self.json.data.ttl).to.be.above(0);
    expect(await metric(stack, 'vault_extproc_renewals_total', { kind: 'token', outcome: 'success' })).to.be.at.least(1);
  });
});
