// Fleet mode's one elected worker (issue 16 step 5), against a real redis-server and both Vault
// backends: three replicas, each its own process running the built app (test/support/fleet-replica.ts)
// with an AppRole auto_auth, the static cache and a template. Only the owner's worker logs in,
// renews the auto-auth token and holds the KV event subscription; the others use its token, shared
// sealed through Redis, and never log in. SIGKILL of the owner (no lease release): another replica
// becomes the owner within two lease periods, takes the same token over (no login), renews it, and
// subscribes again — a KV write made in Vault then re-renders the new owner's template.
//
// What is counted where: logins and renew-selfs on the Vault (the simulator records requests, a
// real Vault's audit log names tokens by accessor); each replica's own /metrics (fleet_owner,
// vault_agent_auth_success, renewals, event_stream_connected, events_received); the token each
// replica holds in its sink file; gRPC health as Envoy asks it.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, hasEventStream, isSim, startBackend, type Backend } from '../../support/backend.js';
import { replicaMetric, startReplicaProc, theOwner, type ReplicaProc } from '../../support/fleet-replica-procs.js';
import { sleep, waitFor } from '../../support/ports.js';
import { startRedis, type RedisServer } from '../../support/redis.js';
import { setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../../support/vault-setup.js';
import { fileBecomes, readOr } from '../../e2e/templates-helpers.js';

const KEY_VAR = 'VXP_TEST_FLEET_KEY';
/** The owner lease's ttl here (the config's minimum is 5 s; the replica's tuning shortens it). */
const LEASE_TTL_MS = 3_000;
/** The auto-auth token's ttl: the owner renews it at about 70 % of that. */
const TOKEN_TTL_S = 9;
const LOGIN = '/v1/auth/approle/login';
const RENEW_SELF = '/v1/auth/token/renew-self';

/** The auto-auth token's policy: read the template's secret and subscribe to KV events (Vault Proxy's documented policy). */
const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;

/** A replica process and the file its template renders. */
type Replica = ReplicaProc & { out: string };

function healthClient(port: number): { check(): Promise<string>; close(): void } {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String })) as any;
  const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    check: () => new Promise<string>((resolve, reject) => client.Check(
      { service: 'envoy.service.ext_proc.v3.ExternalProcessor' },
      (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r.status)),
    )),
    close: () => client.close(),
  };
}

forEachBackend('fleet: one elected worker logs in, renews and subscribes; a SIGKILLed owner is taken over without a login (real redis-server, replicas as processes)', function (kind) {
  this.timeout(120_000);
  let redis: RedisServer;
  let vault: Backend;
  let root: string;
  const replicas: Replica[] = [];
  const key = randomBytes(32).toString('base64');

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const r of replicas) process.stderr.write(`\n--- ${r.id} ---\n${r.proc.text}\n`);
    process.stderr.write(`\n${redis.logs()}\n${vault.logs()}\n`);
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.proc.stop()));
    await vault?.close();
    await redis?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function startReplica(id: string, creds: AppRoleCreds): Promise<Replica> {
    const r = await startReplicaProc({
      root, id, vault, redis, creds, key, keyVar: KEY_VAR,
      tuning: { ownerLeaseTtlMs: LEASE_TTL_MS, autoAuthPollMs: 200, streamBlockMs: 200, reconnectMinMs: 50, reconnectMaxMs: 500 },
      extraHcl: `template {
  contents = ${JSON.stringify('v={{ with secret "secret/data/fleet/a" }}{{ .Data.data.v }}{{ end }}\n')}
  destination = "${join(root, id, 'out.txt')}"
}`,
      // POST /test/worker/crash on the admin port (a worker thread that dies as a bug would make it).
      env: { VAULT_EXTPROC_TEST_HOOKS: '1' },
    });
    const replica = { ...r, out: join(r.dir, 'out.txt') };
    replicas.push(replica);
    return replica;
  }

  const metric = (r: Replica, name: string, labels = ''): Promise<number> => replicaMetric(r, name, labels);
  const alive = (): Replica[] => replicas.filter((r) => r.proc.pid !== undefined && !killed.has(r));
  const killed = new Set<Replica>();

  /** The token every given replica's sink holds, once they all hold the same one. */
  async function sameSinkToken(among: Replica[], timeoutMs = 15_000): Promise<string> {
    return waitFor('every sink holds the same token', () => {
      const tokens = among.map((r) => readOr(r.sink).trim());
      return tokens.every((t) => t !== '' && t === tokens[0]) ? tokens[0] : undefined;
    }, timeoutMs);
  }

  /** The one auto-auth record in Redis (its name is an HMAC) and its TTL left. */
  async function sharedRecordPttl(): Promise<number> {
    const names = (await redis.cli('--scan', '--pattern', 'vxp:a:*')).trim().split('\n').filter(Boolean);
    if (names.length !== 1) return -2;
    return Number(await redis.cli('PTTL', names[0]!));
  }

  const kvWrite = async (v: string): Promise<void> => {
    const r = await vaultApi(vault, 'POST', 'secret/data/fleet/a', { data: { v } });
    if (r.status !== 200) throw new Error(`writing secret/data/fleet/a: ${r.status}`);
  };

  let owner: Replica;
  let token: string;
  let loginAtMs: number;
  /** The value last written to secret/data/fleet/a. */
  let latest = 'one';

  before(async () => {
    redis = await startRedis();
    vault = await startBackend(kind);
    root = mkdtempSync(join(tmpdir(), 'vxp-fleet-owner-'));
    await writePolicy(vault, 'fleet-worker', WORKER_POLICY);
    await kvWrite(latest);
    const creds = await setupAppRole(vault, { role: 'fleet-worker', policies: ['fleet-worker'], tokenTtl: `${TOKEN_TTL_S}s` });
    vault.clearRequests();
    for (const id of ['replica-1', 'replica-2', 'replica-3']) await startReplica(id, creds);
    owner = await theOwner(replicas, 20_000);
    token = await sameSinkToken(replicas);
    loginAtMs = Date.now();
  });

  it('steady state: one owner; exactly one login on the Vault; every replica holds that token and is SERVING; only the owner renews it and is subscribed to KV events', async () => {
    const others = replicas.filter((r) => r !== owner);
    // Several share polls (200 ms) and owner renewals (1 s) later: still one login.
    await sleep(2_000);
    const logins = vault.requestsTo(LOGIN);
    process.stdout.write(`      [${kind}] owner ${owner.id}; logins on the Vault: ${logins.length}; vault_agent_auth_success per replica: ${(await Promise.all(replicas.map((r) => metric(r, 'vault_agent_auth_success')))).join(', ')}\n`);
    expect(logins).to.have.length(1);
    expect(await metric(owner, 'vault_agent_auth_success')).to.equal(1);
    for (const r of others) expect(await metric(r, 'vault_agent_auth_success'), r.id).to.equal(0);
    // The same token in every sink (compared as booleans: a failure never prints a token).
    expect(replicas.every((r) => readOr(r.sink).trim() === token), 'every sink holds the owner\'s token').to.equal(true);
    for (const r of replicas) {
      const h = healthClient(r.extprocPort);
      try {
        expect(await h.check(), `${r.id} gRPC health`).to.equal('SERVING');
      } finally {
        h.close();
      }
      expect((await fetch(`${r.adminUrl}/readyz`)).status, `${r.id} /readyz`).to.equal(200);
      await fileBecomes(r.out, (t) => t === 'v=one\n', 10_000);
    }
    // Only the owner is subscribed to KV events.
    if (hasEventStream(kind)) {
      await waitFor('the owner subscribed', async () => ((await metric(owner, 'vault_extproc_event_stream_connected')) === 1 ? true : undefined), 10_000);
      for (const r of others) expect(await metric(r, 'vault_extproc_event_stream_connected'), r.id).to.equal(0);
      if (isSim(kind)) expect(vault.sim!.events.subscriberCount()).to.equal(1);
      const before = await Promise.all(replicas.map((r) => metric(r, 'vault_extproc_events_received_total')));
      await kvWrite(latest = 'two');
      await fileBecomes(owner.out, (t) => t === 'v=two\n', 5_000);
      const after = await Promise.all(replicas.map((r) => metric(r, 'vault_extproc_events_received_total')));
      process.stdout.write(`      [${kind}] KV events received per replica after a write: ${after.map((n, i) => n - before[i]!).join(', ')}\n`);
      expect(after[replicas.indexOf(owner)]! - before[replicas.indexOf(owner)]!).to.be.at.least(1);
      for (const r of others) expect(after[replicas.indexOf(r)], r.id).to.equal(0);
    }
    // The owner renews the token, the others never do; each renewal is shared again, so the sealed
    // record outlives the token's first lease (it would expire TOKEN_TTL_S after the login otherwise).
    await waitFor('the owner renewed the token', async () => ((await metric(owner, 'vault_extproc_renewals_total', 'kind="auth",outcome="success"')) >= 1 ? true : undefined), TOKEN_TTL_S * 1000 + 5_000);
    for (const r of others) expect(await metric(r, 'vault_extproc_renewals_total', 'kind="auth",outcome="success"'), r.id).to.equal(0);
    const seen = await vault.tokenAsSeen(token);
    const renewers = vault.requestsTo(RENEW_SELF).filter((q) => q.token === seen && q.status === 200);
    expect(renewers.length).to.be.at.least(1);
    await sleep(Math.max(0, loginAtMs + TOKEN_TTL_S * 1000 + 1_000 - Date.now()));
    const pttl = await sharedRecordPttl();
    process.stdout.write(`      [${kind}] ${TOKEN_TTL_S + 1} s after the login: renew-selfs ${renewers.length}; the shared record's TTL left ${pttl} ms\n`);
    expect(pttl, 'the shared token\'s record is still in Redis, with a TTL').to.be.above(0);
    expect(vault.requestsTo(LOGIN)).to.have.length(1);
  });

  it('a crashed worker thread learns its role again: the owner\'s takes the token over (no login) and subscribes again; a non-owner\'s is back and ready without logging in or subscribing', async () => {
    const other = replicas.find((r) => r !== owner)!;
    const loginsBefore = vault.requestsTo(LOGIN).length;
    const crash = async (r: Replica): Promise<void> => {
      const restartsBefore = await metric(r, 'vault_extproc_worker_restarts_total');
      expect((await fetch(`${r.adminUrl}/test/worker/crash`, { method: 'POST' })).status, `${r.id} crash hook`).to.equal(202);
      await waitFor(`${r.id}'s worker restarted`, async () => ((await metric(r, 'vault_extproc_worker_restarts_total')) === restartsBefore + 1 ? true : undefined), 15_000);
      await waitFor(`${r.id} ready again`, async () => ((await fetch(`${r.adminUrl}/readyz`)).status === 200 ? true : undefined), 15_000);
    };

    // The owner's worker: the new thread starts as a non-owner, is told it is the owner, adopts the
    // token (one renew-self) and subscribes again.
    const seen = await vault.tokenAsSeen(token);
    const renewsBefore = vault.requestsTo(RENEW_SELF).length;
    await crash(owner);
    await waitFor('the owner\'s new worker renewed the token', () => (vault.requestsTo(RENEW_SELF).slice(renewsBefore).some((q) => q.token === seen && q.status === 200) ? true : undefined), 10_000);
    if (hasEventStream(kind)) {
      if (isSim(kind)) await waitFor('one subscriber on the simulator', () => (vault.sim!.events.subscriberCount() === 1 ? true : undefined), 10_000);
      await sleep(500);
      await kvWrite(latest = 'after-crash');
      await fileBecomes(owner.out, (t) => t === 'v=after-crash\n', 10_000);
    }

    // A non-owner's worker: back (ready) with the token it held, no login, no subscription.
    const otherEventsBefore = await metric(other, 'vault_extproc_events_received_total');
    await crash(other);
    expect(readOr(other.sink).trim() === token, 'the non-owner still holds the owner\'s token').to.equal(true);
    const h = healthClient(other.extprocPort);
    try {
      expect(await h.check()).to.equal('SERVING');
    } finally {
      h.close();
    }
    if (hasEventStream(kind)) {
      await kvWrite(latest = 'after-crash-2');
      await fileBecomes(owner.out, (t) => t === 'v=after-crash-2\n', 10_000);
      expect(await metric(other, 'vault_extproc_events_received_total')).to.equal(otherEventsBefore);
      if (isSim(kind)) expect(vault.sim!.events.subscriberCount()).to.equal(1);
    }
    const logins = vault.requestsTo(LOGIN).length - loginsBefore;
    process.stdout.write(`      [${kind}] worker threads crashed and restarted on ${owner.id} (owner) and ${other.id}; logins since: ${logins}\n`);
    expect(logins).to.equal(0);
    expect(await metric(owner, 'vault_extproc_fleet_owner')).to.equal(1);
  });

  it('SIGKILL of the owner: another becomes the owner within two lease periods, takes the same token over (no login) and renews it, and the KV event subscription comes back', async () => {
    const survivors = replicas.filter((r) => r !== owner);
    const loginsBefore = vault.requestsTo(LOGIN).length;
    const renewsBefore = vault.requestsTo(RENEW_SELF).length;
    const t0 = performance.now();
    owner.proc.signal('SIGKILL');
    killed.add(owner);
    await owner.proc.exited;
    const next = await theOwner(survivors, 2 * LEASE_TTL_MS + 5_000);
    const tookMs = Math.round(performance.now() - t0);
    const other = survivors.find((r) => r !== next)!;
    // The adopted token: one renew-self (which both proves Vault honours it and renews it), no login.
    const seen = await vault.tokenAsSeen(token);
    await waitFor('the new owner renewed the token', () => (vault.requestsTo(RENEW_SELF).slice(renewsBefore).some((q) => q.token === seen && q.status === 200) ? true : undefined), 10_000);
    await waitFor('the new owner counts its renewal', async () => ((await metric(next, 'vault_extproc_renewals_total', 'kind="auth",outcome="success"')) >= 1 ? true : undefined), 10_000);
    await sleep(1_500);
    const logins = vault.requestsTo(LOGIN).length - loginsBefore;
    process.stdout.write(`      [${kind}] owner ${owner.id} SIGKILLed; ${next.id} the owner after ${tookMs} ms (lease ttl ${LEASE_TTL_MS} ms); logins since: ${logins}; renew-selfs since: ${vault.requestsTo(RENEW_SELF).length - renewsBefore}\n`);
    expect(tookMs, 'taken over within two lease periods').to.be.at.most(2 * LEASE_TTL_MS);
    expect(logins, 'no login at the take-over').to.equal(0);
    expect(await metric(next, 'vault_agent_auth_success')).to.equal(0);
    expect(await metric(other, 'vault_agent_auth_success')).to.equal(0);
    expect(survivors.every((r) => readOr(r.sink).trim() === token), 'both survivors still hold the same token').to.equal(true);
    for (const r of survivors) {
      const h = healthClient(r.extprocPort);
      try {
        expect(await h.check(), `${r.id} gRPC health`).to.equal('SERVING');
      } finally {
        h.close();
      }
    }
    if (hasEventStream(kind)) {
      await waitFor('the new owner subscribed', async () => ((await metric(next, 'vault_extproc_event_stream_connected')) === 1 ? true : undefined), 10_000);
      expect(await metric(other, 'vault_extproc_event_stream_connected')).to.equal(0);
      if (isSim(kind)) await waitFor('one subscriber on the simulator', () => (vault.sim!.events.subscriberCount() === 1 ? true : undefined), 5_000);
      // Subscribed again, it refetched what it caches: the value written while it was not the owner.
      await fileBecomes(next.out, (t) => t === `v=${latest}\n`, 5_000);
      const otherBefore = await metric(other, 'vault_extproc_events_received_total');
      await kvWrite('three');
      const { ms } = await fileBecomes(next.out, (t) => t === 'v=three\n', 5_000);
      process.stdout.write(`      [${kind}] a KV write re-rendered the new owner's template after ${Math.round(ms)} ms (its events received: ${await metric(next, 'vault_extproc_events_received_total')})\n`);
      expect(await metric(next, 'vault_extproc_events_received_total')).to.be.at.least(1);
      expect(await metric(other, 'vault_extproc_events_received_total')).to.equal(otherBefore);
    }
    expect(alive()).to.have.length(2);
  });
});
