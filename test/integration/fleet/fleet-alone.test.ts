// Fleet mode with Redis unreachable (issue 16 step 7, "Redis trouble loses nothing"), against a real
// redis-server and both Vault backends: three replicas as processes (test/support/fleet-replica-procs.ts,
// the harness of fleet-owner.test.ts), AppRole auto_auth with a short renewable token TTL, a short
// owner lease. Only the owner renews the auto-auth token; with Redis down no replica is the owner,
// so after two lease periods each replica is "alone": it keeps the token it holds alive itself
// (one renew-self to adopt it, then renewals on Vault's schedule; a login only if Vault refuses it)
// and subscribes to KV events. Redis back: the owner lease decides again — one replica renews and
// holds the subscription, the others stop.
//
// What is counted where: logins and renew-selfs on the Vault (the simulator records requests, a
// real Vault's audit log names tokens by accessor); each replica's /metrics (renewals of kind auth,
// vault_agent_auth_success, fleet_owner, event_stream_connected, events_received); the token each
// replica holds in its sink file, checked with lookup-self on the Vault (never printed).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, hasEventStream, isSim, startBackend, type Backend } from '../../support/backend.js';
import { replicaMetric as metric, startReplicaProc, theOwner, type ReplicaProc } from '../../support/fleet-replica-procs.js';
import { sleep, waitFor } from '../../support/ports.js';
import { startRedis, type RedisServer } from '../../support/redis.js';
import { setupAppRole, vaultApi, writePolicy } from '../../support/vault-setup.js';
import { readOr } from '../../e2e/templates-helpers.js';

/** The owner lease's ttl here (config minimum 5 s; the replica's tuning shortens it). Alone after 2 × this. */
const LEASE_TTL_MS = 2_000;
/** The auto-auth token's ttl (renewable, max_ttl 1 h): renewed at about 70 % of it. */
const TOKEN_TTL_S = 9;
const LOGIN = '/v1/auth/approle/login';
const RENEW_SELF = '/v1/auth/token/renew-self';
const AUTH_RENEWALS: [string, string] = ['vault_extproc_renewals_total', 'kind="auth",outcome="success"'];
/** The longest the test keeps Redis down. */
const OUTAGE_MAX_MS = 25_000;

const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;

forEachBackend('fleet: Redis unreachable — each replica alone keeps its auto-auth token alive and subscribes; Redis back, one owner again (real redis-server, replicas as processes)', function (kind) {
  this.timeout(90_000);
  let redis: RedisServer;
  let vault: Backend;
  let root: string;
  const replicas: ReplicaProc[] = [];
  const key = randomBytes(32).toString('base64');

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const r of replicas) process.stderr.write(`\n--- ${r.id} ---\n${r.proc.text}\n`);
    process.stderr.write(`\n${redis?.logs()}\n${vault?.logs()}\n`);
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.proc.stop()));
    await vault?.close();
    await redis?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const all = (name: string, labels = ''): Promise<number[]> => Promise.all(replicas.map((r) => metric(r, name, labels)));
  const sinkToken = (r: ReplicaProc): string => readOr(r.sink).trim();
  /** lookup-self on the Vault itself with the token in the replica's sink: its status and the TTL left. */
  const lookupSelf = async (r: ReplicaProc): Promise<{ status: number; ttl: number }> => {
    const t = sinkToken(r);
    if (t === '') return { status: 0, ttl: 0 };
    const res = await fetch(`${vault.url}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': t } });
    const body = (await res.json().catch(() => undefined)) as { data?: { ttl?: number } } | undefined;
    return { status: res.status, ttl: Number(body?.data?.ttl ?? 0) };
  };
  const aloneLogs = (r: ReplicaProc): Array<Record<string, unknown>> => r.proc.jsonLines.filter((l) => String(l['msg']).startsWith('Redis unreachable: this replica keeps its auto-auth token alive itself'));
  const backLogs = (r: ReplicaProc): Array<Record<string, unknown>> => r.proc.jsonLines.filter((l) => String(l['msg']).startsWith('Redis is back'));

  let token: string;
  let seen: string | undefined;
  let killedAt = 0;
  let loginsAtKill = 0;
  let authAtKill: number[] = [];

  before(async () => {
    redis = await startRedis();
    vault = await startBackend(kind);
    root = mkdtempSync(join(tmpdir(), 'vxp-fleet-alone-'));
    await writePolicy(vault, 'fleet-worker', WORKER_POLICY);
    const w = await vaultApi(vault, 'POST', 'secret/data/fleet/a', { data: { v: 'one' } });
    expect(w.status).to.equal(200);
    const creds = await setupAppRole(vault, { role: 'fleet-worker', policies: ['fleet-worker'], tokenTtl: `${TOKEN_TTL_S}s`, tokenMaxTtl: '1h' });
    vault.clearRequests();
    for (const id of ['replica-1', 'replica-2', 'replica-3']) {
      replicas.push(await startReplicaProc({
        root, id, vault, redis, creds, key,
        tuning: { ownerLeaseTtlMs: LEASE_TTL_MS, autoAuthPollMs: 200, streamBlockMs: 200, reconnectMinMs: 50, reconnectMaxMs: 500 },
      }));
    }
    await theOwner(replicas, 20_000);
    token = await waitFor('every sink holds the same token', () => {
      const tokens = replicas.map(sinkToken);
      return tokens.every((t) => t !== '' && t === tokens[0]) ? tokens[0] : undefined;
    }, 15_000);
    seen = await vault.tokenAsSeen(token);
  });

  it('Redis killed for longer than the token\'s TTL: after two lease periods every replica renews the token it holds itself (no login) and subscribes to KV events; every sink token answers lookup-self 200 throughout, past the TTL it had when Redis died', async () => {
    const owner = await theOwner(replicas, 5_000);
    // Kill Redis just after the owner's renewal, so the token's TTL left is known (9 s): a token that
    // ran out before the replicas are alone (two lease periods) would cost one login per replica.
    const ownerRenewals = await metric(owner, ...AUTH_RENEWALS);
    await waitFor('the owner renewed the token', async () => ((await metric(owner, ...AUTH_RENEWALS)) > ownerRenewals ? true : undefined), TOKEN_TTL_S * 1000 + 5_000, 50);
    loginsAtKill = vault.requestsTo(LOGIN).length;
    expect(loginsAtKill, 'one login before the outage (the owner\'s)').to.equal(1);
    authAtKill = await all('vault_agent_auth_success');
    const renewalsAtKill = await all(...AUTH_RENEWALS);
    const renewSelfsAtKill = vault.requestsTo(RENEW_SELF).length;
    const eventsAtKill = await all('vault_extproc_events_received_total');
    killedAt = Date.now();
    await redis.kill();

    // Through the outage, every 500 ms: each replica's sink token on the Vault, and its renewals.
    let checks = 0;
    let refused = 0;
    let lastOkAtMs = 0;
    let minTtl = Infinity;
    let renewedSince = [0, 0, 0];
    const subscribedAt: Array<number | undefined> = [undefined, undefined, undefined];
    let wrote = false;
    for (;;) {
      const elapsed = Date.now() - killedAt;
      const looks = await Promise.all(replicas.map(lookupSelf));
      for (const l of looks) {
        checks++;
        if (l.status !== 200) refused++;
        else minTtl = Math.min(minTtl, l.ttl);
      }
      if (looks.every((l) => l.status === 200)) lastOkAtMs = Date.now() - killedAt;
      renewedSince = (await all(...AUTH_RENEWALS)).map((n, i) => n - renewalsAtKill[i]!);
      const connected = await all('vault_extproc_event_stream_connected');
      connected.forEach((c, i) => { if (c === 1) subscribedAt[i] ??= Date.now() - killedAt; });
      // Once every replica is subscribed, a KV write made in Vault reaches each of them.
      if (hasEventStream(kind) && !wrote && subscribedAt.every((s) => s !== undefined)) {
        await sleep(300);
        expect((await vaultApi(vault, 'POST', 'secret/data/fleet/a', { data: { v: 'while-alone' } })).status).to.equal(200);
        wrote = true;
      }
      if (elapsed >= TOKEN_TTL_S * 1000 + 3_000 && renewedSince.every((n) => n >= 2)) break;
      if (elapsed >= OUTAGE_MAX_MS) break;
      await sleep(500);
    }
    const outageMs = Date.now() - killedAt;
    const logins = vault.requestsTo(LOGIN).length - loginsAtKill;
    const renewSelfs = vault.requestsTo(RENEW_SELF).slice(renewSelfsAtKill).filter((q) => q.token === seen && q.status === 200).length;
    const downFor = replicas.map((r) => aloneLogs(r)[0]?.['downForMs'] ?? '-');
    process.stdout.write(`      [${kind}] Redis down ${outageMs} ms (lease ttl ${LEASE_TTL_MS} ms, token ttl ${TOKEN_TTL_S} s): alone after ${downFor.join(', ')} ms; auth renewals per replica ${renewedSince.join(', ')}; renew-selfs of the token on the Vault ${renewSelfs}; logins ${logins}\n`);
    process.stdout.write(`      [${kind}] lookup-self with each sink token: ${checks} checks, ${refused} refused, last all-200 at ${lastOkAtMs} ms, least TTL left ${minTtl} s; subscribed at ${subscribedAt.map((s) => s ?? '-').join(', ')} ms\n`);

    expect(refused, 'lookup-self refusals of a replica\'s token during the outage').to.equal(0);
    expect(lastOkAtMs, 'every token still valid past the TTL it had when Redis died').to.be.above(TOKEN_TTL_S * 1000 + 2_000);
    for (const [i, r] of replicas.entries()) expect(renewedSince[i], `${r.id}'s auth renewals during the outage`).to.be.at.least(2);
    for (const r of replicas) expect(aloneLogs(r), `${r.id} said it is alone`).to.have.length(1);
    expect(renewSelfs, 'renew-selfs of the token on the Vault').to.be.at.least(2 * replicas.length);
    // No login storm: the token stayed renewable, so nobody logged in.
    expect(logins, 'logins during the outage').to.equal(0);
    expect(await all('vault_agent_auth_success')).to.deep.equal(authAtKill);
    expect(replicas.every((r) => sinkToken(r) === token), 'every sink still holds the same token').to.equal(true);
    if (hasEventStream(kind)) {
      for (const [i, r] of replicas.entries()) expect(subscribedAt[i], `${r.id} subscribed to KV events while alone`).to.not.equal(undefined);
      if (isSim(kind)) expect(vault.sim!.events.subscriberCount()).to.equal(3);
      const events = await waitFor('the write made while alone reached every replica', async () => {
        const now = await all('vault_extproc_events_received_total');
        return now.every((n, i) => n > eventsAtKill[i]!) ? now.map((n, i) => n - eventsAtKill[i]!) : undefined;
      }, 5_000);
      process.stdout.write(`      [${kind}] KV events received per replica while alone: ${events.join(', ')}\n`);
    }
  });

  it('Redis back (restarted empty): within a few lease periods exactly one replica is the owner; it alone renews the token and holds the KV event subscription, the others stop; still no login', async () => {
    expect(killedAt, 'the outage test ran').to.be.above(0);
    const t0 = Date.now();
    await redis.restart();
    const owner = await theOwner(replicas, 4 * LEASE_TTL_MS + 2_000);
    const tookMs = Date.now() - t0;
    const others = replicas.filter((r) => r !== owner);
    let subscribed = '-';
    if (hasEventStream(kind)) {
      const flags = await waitFor('only the owner subscribed', async () => {
        const c = await all('vault_extproc_event_stream_connected');
        return c.every((v, i) => v === (replicas[i] === owner ? 1 : 0)) ? c : undefined;
      }, 10_000);
      subscribed = flags.join(', ');
      if (isSim(kind)) await waitFor('one subscriber on the simulator', () => (vault.sim!.events.subscriberCount() === 1 ? true : undefined), 5_000);
    }
    // One renewal period of the token (⅔ of its TTL plus a grace): only the owner renews.
    await sleep(1_000);
    const base = await all(...AUTH_RENEWALS);
    const renewSelfsBase = vault.requestsTo(RENEW_SELF).length;
    await sleep((TOKEN_TTL_S * 1000 * 2) / 3 + 1_500);
    const delta = (await all(...AUTH_RENEWALS)).map((n, i) => n - base[i]!);
    const renewSelfs = vault.requestsTo(RENEW_SELF).slice(renewSelfsBase).filter((q) => q.token === seen && q.status === 200).length;
    const logins = vault.requestsTo(LOGIN).length - loginsAtKill;
    const owners = await all('vault_extproc_fleet_owner');
    const look = await Promise.all(replicas.map(lookupSelf));
    process.stdout.write(`      [${kind}] Redis restarted empty: ${owner.id} the owner after ${tookMs} ms; fleet_owner ${owners.join(', ')}; event_stream_connected ${subscribed}; auth renewals in the next ${Math.round((TOKEN_TTL_S * 2) / 3 + 1.5)} s ${delta.join(', ')} (renew-selfs on the Vault ${renewSelfs}); logins since the outage began ${logins}\n`);

    expect(owners, 'exactly the one owner').to.deep.equal(replicas.map((r) => (r === owner ? 1 : 0)));
    expect(delta[replicas.indexOf(owner)], 'the owner renews').to.be.at.least(1);
    for (const r of others) expect(delta[replicas.indexOf(r)], `${r.id} (not the owner) renews`).to.equal(0);
    expect(logins, 'logins since the outage began').to.equal(0);
    expect(await all('vault_agent_auth_success')).to.deep.equal(authAtKill);
    expect(look.map((l) => l.status), 'lookup-self with each sink token').to.deep.equal([200, 200, 200]);
    expect(replicas.every((r) => sinkToken(r) === token), 'every sink still holds the same token').to.equal(true);
    for (const r of replicas) expect(backLogs(r), `${r.id} said Redis is back`).to.have.length(1);
  });

  it('Redis killed when the token has less than two lease periods left: it runs out before the replicas are alone, so each logs in at most once (Vault refused the token it held), and its new token stays valid; Redis back, every sink converges on the owner\'s token', async () => {
    const owner = await theOwner(replicas, 10_000);
    // The owner renews ⅔ of the TTL plus a third of a 10–20 % grace after its last renewal (6.3–6.6 s
    // at 9 s): Redis dies 5.5 s after one, so the token has at most 3.5 s left, and the replicas are
    // alone 4 s (two lease periods) or more after Redis died.
    const ownerRenewals = await metric(owner, ...AUTH_RENEWALS);
    await waitFor('the owner renewed the token', async () => ((await metric(owner, ...AUTH_RENEWALS)) > ownerRenewals ? true : undefined), TOKEN_TTL_S * 1000 + 5_000, 50);
    const renewedAt = Date.now();
    await sleep(5_500);
    const loginsBefore = vault.requestsTo(LOGIN).length;
    const authBefore = await all('vault_agent_auth_success');
    const aloneBefore = replicas.map((r) => aloneLogs(r).length);
    const backBefore = replicas.map((r) => backLogs(r).length);
    const t0 = Date.now();
    await redis.kill();
    const expiredAt = await waitFor('the old token expired', async () => {
      const l = await lookupSelf(owner);
      return l.status === 403 ? Date.now() - t0 : undefined;
    }, TOKEN_TTL_S * 1000, 100);
    // Alone, each replica adopts the token it holds: refused, so it logs in; then every sink token is valid.
    const validAt = await waitFor('every sink token valid again', async () => {
      const looks = await Promise.all(replicas.map(lookupSelf));
      return looks.every((l) => l.status === 200) ? Date.now() - t0 : undefined;
    }, 15_000, 100);
    // Kept alive from then on, past the new tokens' first TTL.
    let refused = 0;
    while (Date.now() - t0 < validAt + TOKEN_TTL_S * 1000 + 1_000) {
      refused += (await Promise.all(replicas.map(lookupSelf))).filter((l) => l.status !== 200).length;
      await sleep(500);
    }
    const logins = vault.requestsTo(LOGIN).length - loginsBefore;
    const authDelta = (await all('vault_agent_auth_success')).map((n, i) => n - authBefore[i]!);
    const distinct = new Set(replicas.map(sinkToken)).size;
    process.stdout.write(`      [${kind}] Redis killed ${t0 - renewedAt} ms after the owner's renewal: the token refused ${expiredAt} ms later; every sink token valid again ${validAt} ms after the kill; logins ${logins} (per replica ${authDelta.join(', ')}); distinct tokens ${distinct}; refusals afterwards ${refused}\n`);
    expect(refused, 'a replica\'s token refused after it logged in alone').to.equal(0);
    for (const [i, r] of replicas.entries()) {
      expect(aloneLogs(r).length - aloneBefore[i]!, `${r.id} said it is alone`).to.equal(1);
      expect(authDelta[i], `${r.id}'s logins during the outage`).to.be.at.most(1);
    }
    expect(logins, 'logins on the Vault: at most one per replica').to.be.within(1, replicas.length);

    // Redis back: one owner; the others take its token (shared through Redis) and stop renewing their own.
    await redis.restart();
    const next = await theOwner(replicas, 4 * LEASE_TTL_MS + 2_000);
    const tokenNow = await waitFor('every sink holds the owner\'s token', () => {
      const tokens = replicas.map(sinkToken);
      return tokens.every((t) => t !== '' && t === tokens[0]) ? tokens[0] : undefined;
    }, TOKEN_TTL_S * 1000 + 5_000, 100);
    const convergedMs = Date.now() - t0;
    await sleep(1_000);
    const base = await all(...AUTH_RENEWALS);
    await sleep((TOKEN_TTL_S * 1000 * 2) / 3 + 1_500);
    const delta = (await all(...AUTH_RENEWALS)).map((n, i) => n - base[i]!);
    process.stdout.write(`      [${kind}] Redis back: ${next.id} the owner; every sink holds one token ${convergedMs} ms after the kill; auth renewals in the next ${Math.round((TOKEN_TTL_S * 2) / 3 + 1.5)} s ${delta.join(', ')}; logins since the kill ${vault.requestsTo(LOGIN).length - loginsBefore}\n`);
    expect((await lookupSelf(next)).status).to.equal(200);
    expect(delta[replicas.indexOf(next)], 'the owner renews').to.be.at.least(1);
    for (const r of replicas.filter((x) => x !== next)) expect(delta[replicas.indexOf(r)], `${r.id} (not the owner) renews`).to.equal(0);
    expect(vault.requestsTo(LOGIN).length - loginsBefore, 'no login once Redis is back').to.equal(logins);
    expect(tokenNow === token, 'a new token (the old one ran out)').to.equal(false);
    for (const [i, r] of replicas.entries()) expect(backLogs(r).length - backBefore[i]!, `${r.id} said Redis is back`).to.equal(1);
  });
});
