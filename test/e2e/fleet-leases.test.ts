// Fleet mode's leases (issue 16 step 5: "no lease is renewed by two replicas in steady state; when
// the owner dies, another owner renews the tracked leases"), on a real redis-server, three
// vault-extproc processes (`serve`, each behind its own real Envoy: test/support/fleet-harness.ts)
// and both Vault backends. Child tokens are created through different replicas with the auto-auth
// token (use_auto_auth_token): each replica's lease cache records its own, and the fleet tracks all.
//
// What is observed where: each replica's own /metrics (`vault_extproc_renewals_total{kind="token"}`:
// the lease renewals its worker made; `vault_extproc_fleet_owner`), the child tokens on the Vault
// (auth/token/lookup with the root token: valid past their TTL, `last_renewal_time` after the
// kill), and Redis's lease records (`vxp:l:*`: still there past the TTL they were written with, so
// the owner rewrote them after renewing).
import { expect } from 'chai';
import { forEachBackend, type Backend, type BackendKind } from '../support/backend.js';
import type { FleetHarness, FleetReplica } from '../support/fleet-harness.js';
import { useFleetSuite } from '../support/fleet-suite.js';
import { sleep, waitFor } from '../support/ports.js';
import type { RedisServer } from '../support/redis.js';

/** owner_lease_ttl (the config's minimum): another replica owns within two of it after a kill -9. */
const OWNER_LEASE_TTL_S = 5;
/** A child token's TTL: renewed at about two thirds of it; gone this long after its last renewal. */
const CHILD_TTL_S = 6;
/** The take-over's children: more than what a take-over (at most 2 × owner_lease_ttl + 1 s) leaves them at worst. */
const LONG_TTL_S = 60;
const WORKER_POLICY = `path "auth/token/create" { capabilities = ["create", "update"] }`;

interface Child { token: string; through: string }

forEachBackend('e2e: fleet leases — only the owner renews the leases the fleet tracks; a new owner renews them after a kill -9 (real Redis, real Envoy, 3 replicas)', function (kind: BackendKind) {
  this.timeout(120_000);
  const tag = `[${kind}]`;
  let backend: Backend;
  let redis: RedisServer;
  let fleet: FleetHarness;
  let owner: FleetReplica;
  const children: Child[] = [];
  let created = 0;

  const suite = useFleetSuite(kind, {
    policies: { 'fleet-leases-worker': WORKER_POLICY },
    role: { name: 'fleet-leases', policies: ['fleet-leases-worker'], tokenTtl: '60s', tokenMaxTtl: '1h' },
    hcl: 'cache {}\napi_proxy {\n  use_auto_auth_token = true\n}',
    fleetHcl: `owner_lease_ttl = "${OWNER_LEASE_TTL_S}s"`,
  });

  before(async () => {
    ({ backend, redis, fleet } = suite);
    owner = await fleet.exactlyOneOwner(fleet.replicas, 3 * OWNER_LEASE_TTL_S * 1000);
  });


  /** Lease renewals (not the auto-auth token's) this replica's worker made. */
  const renewals = async (r: FleetReplica): Promise<number> => (await r.metric('vault_extproc_renewals_total', { kind: 'token', outcome: 'success' })) ?? 0;

  async function createChild(through: FleetReplica, ttlSeconds = CHILD_TTL_S): Promise<Child> {
    // Its own body (meta): the same request through two replicas would be one cache key, one lease.
    const answer = await through.request('POST', '/v1/auth/token/create', { body: { policies: ['default'], ttl: `${ttlSeconds}s`, explicit_max_ttl: '1h', meta: { n: String(++created) } } });
    expect(answer.status, `a child token created through ${through.name}`).to.equal(200);
    return { token: (JSON.parse(answer.body) as { auth: { client_token: string } }).auth.client_token, through: through.name };
  }

  async function lookup(c: Child): Promise<{ status: number; ttl?: number; lastRenewalMs?: number }> {
    const res = await fetch(`${backend.url}/v1/auth/token/lookup`, {
      method: 'POST', headers: { 'x-vault-token': backend.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ token: c.token }),
    });
    if (res.status !== 200) return { status: res.status };
    const d = ((await res.json()) as { data: { ttl: number; last_renewal_time?: number } }).data;
    return { status: 200, ttl: d.ttl, ...(d.last_renewal_time ? { lastRenewalMs: d.last_renewal_time * 1000 } : {}) };
  }

  const leaseRecords = async (): Promise<string[]> => (await redis.cli('--scan', '--pattern', 'vxp:l:*')).split('\n').filter(Boolean);

  it(`steady state: children created through each replica are all renewed by the owner alone (the others' renewals stay 0), live past their ${CHILD_TTL_S} s TTL, and their records in Redis follow; one revoked through its replica is renewed no more; revoked in Vault, the owner's refused renewal removes them everywhere`, async () => {
    const others = fleet.replicas.filter((r) => r !== owner);
    const before = await Promise.all(fleet.replicas.map(renewals));
    for (const r of [owner, ...others]) children.push(await createChild(r));
    const createdAt = Date.now();
    // Written to Redis through each replica's outbox, at once.
    await waitFor('three lease records in Redis', async () => ((await leaseRecords()).length === 3 ? true : undefined), 1_000, 20);
    // Two TTLs: each child needs at least one renewal (at about 2/3 of its TTL) to be alive now.
    await sleep(2 * CHILD_TTL_S * 1000 + 500);
    const infos = await Promise.all(children.map(lookup));
    const after = await Promise.all(fleet.replicas.map(renewals));
    const made = after.map((n, i) => n - before[i]!);
    const records = await leaseRecords();
    const pttls = await Promise.all(records.map(async (n) => Number(await redis.cli('PTTL', n))));
    console.log(`      ${tag} owner ${owner.name}; over ${Date.now() - createdAt} ms lease renewals per replica: ${fleet.replicas.map((r, i) => `${r.name} ${made[i]}`).join(', ')}; ` +
      `children (through ${children.map((c) => c.through).join(', ')}) ttl ${infos.map((i) => i.ttl ?? `gone ${i.status}`).join(', ')} s; Redis lease records ${records.length}, PTTL ${pttls.join(', ')} ms`);
    expect(infos.map((i) => i.status), 'every child is valid past its TTL').to.deep.equal([200, 200, 200]);
    expect(infos.every((i) => i.lastRenewalMs !== undefined && i.lastRenewalMs > createdAt), 'every child was renewed').to.equal(true);
    expect(made[fleet.replicas.indexOf(owner)], 'the owner renewed each child at least once').to.be.at.least(3);
    for (const r of others) expect(made[fleet.replicas.indexOf(r)], `${r.name} (not the owner) renewed nothing`).to.equal(0);
    // Each record was written with the child's 6 s TTL; 12 s later it is there because the owner rewrote it.
    expect(records).to.have.length(3);
    for (const p of pttls) expect(p).to.be.within(1, CHILD_TTL_S * 1000);

    // Revoked through the replica that recorded it (revoke-self with the child's own token): its
    // record goes at once, and nobody renews it any more.
    const revoked = children.pop()!;
    const through = fleet.replicas.find((r) => r.name === revoked.through)!;
    expect((await through.request('POST', '/v1/auth/token/revoke-self', { token: revoked.token })).status).to.equal(204);
    await waitFor('the revoked child\'s record is gone from Redis', async () => ((await leaseRecords()).length === 2 ? true : undefined), 1_000, 20);
    const ownerBefore = await renewals(owner);
    await sleep(CHILD_TTL_S * 1000);
    // Two children left, each renewed at least once per TTL; the revoked one is not (a renewal of it would fail and count as a failure).
    expect(await owner.metric('vault_extproc_renewals_total', { kind: 'token', outcome: 'failure' }) ?? 0, 'no renewal of the revoked child was tried').to.equal(0);
    expect((await renewals(owner)) - ownerBefore).to.be.within(2, 4);

    // Revoked in Vault directly (no replica sees it): the owner's next renewal is refused, and the
    // records go from Redis (lease-evicted: the recorders drop their copies).
    for (const c of children) expect((await fetch(`${backend.url}/v1/auth/token/revoke`, { method: 'POST', headers: { 'x-vault-token': backend.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ token: c.token }) })).status).to.equal(204);
    await waitFor('every lease record gone from Redis after the owner\'s renewals were refused', async () => ((await leaseRecords()).length === 0 ? true : undefined), CHILD_TTL_S * 1000, 50);
    expect(await owner.metric('vault_extproc_renewals_total', { kind: 'token', outcome: 'failure' })).to.equal(children.length);
    for (const r of others) expect(await r.metric('vault_extproc_renewals_total', { kind: 'token', outcome: 'failure' }) ?? 0, `${r.name} tried no renewal`).to.equal(0);
    children.length = 0;
  });

  it(`kill -9 of the owner: a new owner within 2 × owner_lease_ttl renews at once every tracked lease — also the one the dead owner recorded — and the survivor that is not the owner renews none`, async function () {
    this.timeout(90_000);
    // Leases that outlive a take-over: a kill just before a renewal leaves about a quarter of the TTL.
    for (const r of fleet.replicas) children.push(await createChild(r, LONG_TTL_S));
    await waitFor('three lease records in Redis', async () => ((await leaseRecords()).length === 3 ? true : undefined), 1_000, 20);
    const survivors = fleet.replicas.filter((r) => r !== owner);
    const survivorsBefore = await Promise.all(survivors.map(renewals));
    const killedAt = Date.now();
    await owner.kill9();
    const newOwner = await fleet.exactlyOneOwner(survivors, 3 * OWNER_LEASE_TTL_S * 1000);
    const ownedMs = Date.now() - killedAt;
    // The new owner lists every record and renews each within a second.
    const infos = await waitFor('every child renewed after the kill', async () => {
      const got = await Promise.all(children.map(lookup));
      return got.every((i) => i.lastRenewalMs !== undefined && i.lastRenewalMs > killedAt) ? got : undefined;
    }, 5_000, 100).catch(() => Promise.all(children.map(lookup)));
    const made = (await Promise.all(survivors.map(renewals))).map((n, i) => n - survivorsBefore[i]!);
    console.log(`      ${tag} ${owner.name} killed: ${newOwner.name} owner after ${ownedMs} ms; lease renewals since the kill: ${survivors.map((r, i) => `${r.name} ${made[i]}`).join(', ')}; ` +
      `children (through ${children.map((c) => c.through).join(', ')}): ${infos.map((i) => (i.status === 200 ? `ttl ${i.ttl} s, renewed ${i.lastRenewalMs === undefined ? 'never' : `${i.lastRenewalMs - killedAt} ms after the kill`}` : `gone ${i.status}`)).join('; ')}`);
    expect(ownedMs).to.be.at.most(2 * OWNER_LEASE_TTL_S * 1000);
    expect(infos.map((i) => i.status), 'every tracked child is valid').to.deep.equal(children.map(() => 200));
    expect(infos.every((i) => i.lastRenewalMs !== undefined && i.lastRenewalMs > killedAt), 'every tracked child was renewed after the kill').to.equal(true);
    expect(children.some((c) => c.through === owner.name), 'one child was recorded by the dead owner').to.equal(true);
    expect(made[survivors.indexOf(newOwner)], 'the new owner renewed them').to.be.at.least(children.length);
    for (const [i, r] of survivors.entries()) if (r !== newOwner) expect(made[i], `${r.name} (not the owner) renewed nothing`).to.equal(0);
    expect(await leaseRecords()).to.have.length(children.length);
  });
});
