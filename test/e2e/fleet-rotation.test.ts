// Fleet mode: rotating the encryption key across three running replicas, as the README's "Rotating
// the key" says (issue 16, build item 2: several keys, the newest seals, all open), on both backends.
// A real redis-server, three `vault-extproc serve` processes each behind its own real Envoy
// (test/support/fleet-harness.ts). Each step rewrites the one key file and restarts the replicas one
// at a time, so the fleet runs mixed for a while, as a rolling restart does:
//   1. [old, new]: every restarted replica opens what the old key sealed (an L2 HIT, no Vault read);
//   2. [new, old]: what a replica seals with the new key is opened by one not yet restarted (it has
//      the new key since step 1), and what is read is moved under the reader's first key: under the
//      new key once every replica runs [new, old];
//   3. [new]: what was read in step 2 is still an L2 HIT; what was never read since is a MISS with
//      Vault's value, never refused as tampered. The auto-auth token stays shared: one login in all.
// A client sees only X-Cache, Vault's answers and the replicas' /metrics.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { forEachBackend, type Backend, type BackendKind } from '../support/backend.js';
import { vaultReads, type Answer, type FleetHarness, type FleetReplica } from '../support/fleet-harness.js';
import { useFleetSuite } from '../support/fleet-suite.js';
import { sleep, waitFor } from '../support/ports.js';
import { vaultApi } from '../support/vault-setup.js';

const OWNER_LEASE_TTL_S = 5;
/** The fleet's bound for a change through one replica to reach the others. */
const FLEET_BOUND_MS = 1_000;
const PREFIX = 'fleet-rotation';
const APP_POLICY = `path "secret/data/${PREFIX}/*" { capabilities = ["read"] }`;
const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
const CACHE_HCL = `cache {
  cache_static_secrets = true
  static_secret_token_capability_refresh_interval = "1h"
  static_secret_refresh_interval = "1h"
}
api_proxy {
  use_auto_auth_token = true
}`;

forEachBackend('e2e: fleet mode — rotating the key across three running replicas, one restart at a time', function (kind: BackendKind) {
  this.timeout(180_000);
  let backend: Backend;
  let fleet: FleetHarness;
  let token: string;
  let oldKey: string;
  const newKey = randomBytes(32).toString('base64');
  const values = new Map<string, string>();
  const tag = `[${kind}]`;
  /** AppRole logins Vault saw before its request log was last cleared. */
  let loginsCleared = 0;

  const logins = (): number => backend.requests.filter((q) => q.path === '/v1/auth/approle/login').length;
  function clearVaultLog(): void {
    loginsCleared += logins();
    backend.clearRequests();
  }

  const api = (name: string): string => `/v1/secret/data/${PREFIX}/${name}`;
  const dataOf = (a: Answer): unknown => JSON.parse(a.body).data.data;

  async function putSecret(name: string): Promise<void> {
    const v = `${name}-${randomBytes(8).toString('hex')}`;
    await vaultApi(backend, 'POST', `secret/data/${PREFIX}/${name}`, { data: { v } });
    values.set(name, v);
  }

  function writeKeys(keys: string[]): void {
    writeFileSync(fleet.keyFile, `${keys.join('\n')}\n`, { mode: 0o600 });
  }

  const sharedHits = async (r: FleetReplica): Promise<number> => (await r.metric('vault_extproc_fleet_shared_reads_total', { outcome: 'hit' })) ?? 0;

  /**
   * Stops `r` (it hands the owner lease on if it held it), starts it with the key file as it is now,
   * and lets its Envoy reach it again. Then the token is confirmed on it (a read of a secret of its
   * own, until a HIT): a restarted replica reads L2 for a token only once that token holds a grant.
   */
  async function restart(r: FleetReplica): Promise<void> {
    await r.stop();
    await r.start();
    await waitFor(`${r.name} answers through its Envoy`, async () => ((await r.get('/v1/sys/health').catch(() => undefined))?.status === 200 ? true : undefined), 20_000, 100);
    const confirm = await r.pollUntil(api(`confirm-${r.name}`), token, (a) => a.cache === 'HIT', 10_000);
    expect(confirm.map((a) => a.status), `${r.name}: the token's reads after the restart`).to.satisfy((s: number[]) => s.every((x) => x === 200));
    expect(confirm[confirm.length - 1]!.cache, `${r.name}: the token confirmed after the restart`).to.equal('HIT');
  }

  /** `name` through `r` is served from L2 (a HIT that read Redis), with Vault's value, and Vault saw no read of it. */
  async function expectL2Hit(r: FleetReplica, name: string, step: string): Promise<void> {
    const before = await sharedHits(r);
    clearVaultLog();
    const a = await r.get(api(name), token);
    expect([a.status, a.cache], `${step}: ${name} through ${r.name}`).to.deep.equal([200, 'HIT']);
    expect(dataOf(a)).to.deep.equal({ v: values.get(name) });
    expect((await sharedHits(r)) - before, `${step}: ${name} through ${r.name} came from Redis`).to.equal(1);
    expect(await vaultReads(backend, api(name), token), `${step}: ${name} read from Vault`).to.equal(0);
  }

  /** A use_auto_auth_token request through every replica is answered by Vault (200). */
  async function autoAuthWorks(step: string): Promise<void> {
    for (const r of fleet.replicas) expect((await r.get(api('auto-auth'))).status, `${step}: an auto-auth read through ${r.name}`).to.equal(200);
  }

  const suite = useFleetSuite(kind, {
    policies: { 'fleet-rotation-app': APP_POLICY, 'fleet-rotation-worker': WORKER_POLICY },
    role: { name: 'fleet-rotation', policies: ['fleet-rotation-worker'], tokenTtl: '1h', tokenMaxTtl: '2h' },
    hcl: CACHE_HCL,
    fleetHcl: `owner_lease_ttl = "${OWNER_LEASE_TTL_S}s"`,
  });

  before(async () => {
    ({ backend, fleet } = suite);
    oldKey = readFileSync(fleet.keyFile, 'utf8').trim();
    token = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['fleet-rotation-app'], ttl: '1h' })).json.auth.client_token as string;
    for (const name of ['auto-auth', 'read-each-step', 'never-read-again', 'sealed-new', ...fleet.replicas.map((r) => `confirm-${r.name}`)]) await putSecret(name);
    await sleep(FLEET_BOUND_MS); // the writes' KV events reach every replica before anything is cached
    // Both secrets are recorded in Redis under the old key (the one key so far), through replica 1.
    const r1 = fleet.replicas[0]!;
    for (const name of ['read-each-step', 'never-read-again']) {
      const a = await r1.pollUntil(api(name), token, (x) => x.cache === 'HIT', 10_000);
      expect([a[0]!.status, a[0]!.cache, a[a.length - 1]!.cache], `${name} through replica 1`).to.deep.equal([200, 'MISS', 'HIT']);
    }
    await sleep(FLEET_BOUND_MS);
    await autoAuthWorks('at the start');
  });

  it('step 1, keys [old, new] rolled out one replica at a time: each restarted replica serves what the old key sealed from Redis, with no Vault read', async () => {
    writeKeys([oldKey, newKey]);
    for (const r of fleet.replicas) {
      await restart(r);
      await expectL2Hit(r, 'read-each-step', 'step 1');
    }
    await autoAuthWorks('step 1');
  });

  it('step 2, keys [new, old]: what the first restarted replica seals with the new key is a HIT on a replica not yet restarted; what is read is moved under the new key', async () => {
    writeKeys([newKey, oldKey]);
    const [r1, r2, r3] = fleet.replicas as [FleetReplica, FleetReplica, FleetReplica];
    await restart(r1);
    // Recorded by replica 1 only, so sealed with the new key only.
    const miss = await r1.get(api('sealed-new'), token);
    expect([miss.status, miss.cache], 'sealed-new through replica 1').to.deep.equal([200, 'MISS']);
    await sleep(FLEET_BOUND_MS);
    // Replica 2 still runs with [old, new]: it opens the new key since step 1.
    await expectL2Hit(r2, 'sealed-new', 'step 2, replica 2 not restarted yet');
    for (const r of [r2, r3]) {
      await restart(r);
      await expectL2Hit(r, 'read-each-step', 'step 2');
    }
    // Replica 2's read (its first key was the old one then) moved the record under the old key; a
    // read on a replica with [new, old] moves it under the new key again, for step 3.
    await expectL2Hit(r3, 'sealed-new', 'step 2, every replica restarted');
    await autoAuthWorks('step 2');
  });

  it('step 3, keys [new]: what was read in step 2 is still an L2 HIT; what was never read since is a MISS with Vault\'s value, nothing refused as tampered; one AppRole login in all', async () => {
    writeKeys([newKey]);
    const [r1, r2] = fleet.replicas as [FleetReplica, FleetReplica, FleetReplica];
    for (const r of fleet.replicas) {
      await restart(r);
      await expectL2Hit(r, 'read-each-step', 'step 3');
      await expectL2Hit(r, 'sealed-new', 'step 3');
    }
    // Sealed under the old key only and never read under [new, old]: gone for the fleet, so Vault answers.
    clearVaultLog();
    const miss = await r1.get(api('never-read-again'), token);
    expect([miss.status, miss.cache], 'never-read-again through replica 1').to.deep.equal([200, 'MISS']);
    expect(dataOf(miss)).to.deep.equal({ v: values.get('never-read-again') });
    expect(await vaultReads(backend, api('never-read-again'), token), 'never-read-again read from Vault').to.equal(1);
    await sleep(FLEET_BOUND_MS);
    // Recorded again, under the new key: the next replica serves it from Redis.
    await expectL2Hit(r2, 'never-read-again', 'step 3, recorded again');
    for (const r of fleet.replicas) {
      expect((await r.metric('vault_extproc_fleet_refused_total')) ?? 0, `${r.name}: values refused`).to.equal(0);
    }
    await autoAuthWorks('step 3');
    const all = loginsCleared + logins();
    console.log(`      ${tag} key rotated over 3 replicas in 3 rolling restarts (9 restarts): AppRole logins since the start ${all}; 0 values refused`);
    expect(all, 'AppRole logins by the fleet since it started').to.equal(1);
  });
});
