// The Fleet object (src/fleet/fleet.ts) against a real redis-server: two replicas' fleets on one
// Redis elect exactly one owner and their /metrics say which; a killed Redis shows as down in both
// (metrics, /readyz: degraded, or not ready with required_for_ready) and the owner steps down;
// Redis back (empty) gives one owner again; stop() releases the lease and closes its connections.
// The plain describes involve no Vault; the last suite (the owner app's worker token shared through
// L2) runs per Vault backend.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startAdminServer, type AdminServer } from '../../../src/admin/server.js';
import { startApp, type App } from '../../../src/app.js';
import type { FleetConfig } from '../../../src/config/fleet.js';
import { parseConfig } from '../../../src/config/load.js';
import { startFleet, type Fleet } from '../../../src/fleet/fleet.js';
import type { SharedAutoAuthToken } from '../../../src/fleet/schema.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { sleep, waitFor } from '../../support/ports.js';
import { startRedis, type RedisServer } from '../../support/redis.js';
import { appRoleAutoAuth, setupAppRole } from '../../support/vault-setup.js';

const KEY_VAR = 'VXP_TEST_FLEET_KEY';
const env = { [KEY_VAR]: randomBytes(32).toString('base64') };
const silent = createLogger({ level: 'silent' });

interface Replica {
  id: string;
  fleet: Fleet;
  registry: Registry;
  admin: AdminServer;
}

/** One sample of a series from the replica's own /metrics (scraped over HTTP, as Prometheus does). */
async function metric(r: Replica, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${r.admin.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not in /metrics:\n${text}`);
  return Number(line.slice(name.length + 1));
}

async function readyz(r: Replica): Promise<{ status: number; body: { status: string; reasons?: string[]; degraded?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${r.admin.port}/readyz`);
  return { status: res.status, body: await res.json() as { status: string; reasons?: string[]; degraded?: string[] } };
}

describe('fleet: the Fleet object (real redis-server)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let replicas: Replica[] = [];

  beforeEach(async () => {
    server = await startRedis();
  });
  afterEach(async function () {
    for (const r of replicas.splice(0)) {
      await r.fleet.stop();
      await r.admin.close();
    }
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${server.logs()}\n`);
    await server.stop();
  });

  function config(id: string, over: Partial<FleetConfig> = {}): FleetConfig {
    return {
      redis: { displayUrl: server.url, host: server.host, port: server.port, database: 0 },
      keyEnvVar: KEY_VAR,
      keyPrefix: 'vxp:',
      replicaId: id,
      ownerLeaseTtlSeconds: 15,
      requiredForReady: false,
      maxStaleWithoutRedisSeconds: 10,
      ...over,
    };
  }

  /**
   * A replica's fleet with an admin server whose /readyz has only the fleet's say (as app.ts
   * composes it: the fleet's notReady reasons, and its degraded ones) and whose /metrics is the registry.
   */
  async function replica(id: string, over: Partial<FleetConfig> = {}): Promise<Replica> {
    const registry = new Registry();
    const fleet = startFleet(config(id, over), {
      registry, env, logger: silent,
      tuning: { ownerLeaseTtlMs: 1_500, reconnectMinMs: 50, reconnectMaxMs: 300, streamBlockMs: 200 },
    });
    const admin = await startAdminServer('127.0.0.1:0', () => {
      const f = fleet.readiness();
      return { ready: f.notReady.length === 0, reasons: f.notReady, degraded: f.degraded };
    }, { text: () => registry.metrics(), contentType: registry.contentType }, silent);
    const r = { id, fleet, registry, admin };
    replicas.push(r);
    return r;
  }

  const owners = (): string[] => replicas.filter((r) => r.fleet.isOwner).map((r) => r.id);

  async function oneOwner(timeoutMs: number): Promise<Replica> {
    const id = await waitFor('exactly one owner', () => {
      const o = owners();
      return o.length === 1 ? o[0] : undefined;
    }, timeoutMs, 10);
    return replicas.find((r) => r.id === id)!;
  }

  it('two replicas on one Redis: exactly one is the owner, and each one\'s /metrics says which', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    const owner = await oneOwner(5_000);
    const other = owner === a ? b : a;
    // Held across several renew periods (500 ms each), never two, never none.
    const seen = new Set<string>();
    for (let i = 0; i < 150; i++) {
      const o = owners();
      expect(o, `sample ${i}`).to.have.length(1);
      seen.add(o[0]!);
      await sleep(10);
    }
    expect([...seen]).to.deep.equal([owner.id]);
    expect(await metric(owner, 'vault_extproc_fleet_owner')).to.equal(1);
    expect(await metric(other, 'vault_extproc_fleet_owner')).to.equal(0);
    for (const r of [a, b]) {
      expect(await metric(r, 'vault_extproc_fleet_redis_up'), r.id).to.equal(1);
      expect(await readyz(r), r.id).to.deep.equal({ status: 200, body: { status: 'ready' } });
    }
    // The lease in Redis names the owner.
    expect((await server.cli('GET', 'vxp:owner')).trim()).to.equal(owner.id);
  });

  it('Redis killed: both say Redis is down (metrics; /readyz degraded, or not ready with required_for_ready), the owner steps down; Redis back empty: one owner again', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b', { requiredForReady: true });
    await waitFor('both connected', () => (a.fleet.redisUp && b.fleet.redisUp ? true : undefined), 5_000);
    await oneOwner(5_000);

    await server.kill();
    await waitFor('both see Redis down', () => (!a.fleet.redisUp && !b.fleet.redisUp ? true : undefined), 5_000);
    // A dropped connection makes the owner step down at once: nobody is the owner while Redis is away.
    expect(owners()).to.deep.equal([]);
    for (const r of [a, b]) {
      expect(await metric(r, 'vault_extproc_fleet_redis_up'), r.id).to.equal(0);
      expect(await metric(r, 'vault_extproc_fleet_owner'), r.id).to.equal(0);
    }
    const degraded = await readyz(a);
    expect(degraded.status).to.equal(200);
    expect(degraded.body.status).to.equal('degraded');
    expect(degraded.body.degraded).to.have.length(1);
    expect(degraded.body.degraded![0]).to.contain(`Redis at ${server.url} is unreachable`);
    const notReady = await readyz(b);
    expect(notReady.status).to.equal(503);
    expect(notReady.body.status).to.equal('not ready');
    expect(notReady.body.reasons![0]).to.contain(`Redis at ${server.url} is unreachable`);

    await server.restart({ keepData: false });
    await waitFor('both reconnected', () => (a.fleet.redisUp && b.fleet.redisUp ? true : undefined), 10_000);
    const owner = await oneOwner(5_000);
    const other = owner === a ? b : a;
    expect(await metric(owner, 'vault_extproc_fleet_owner')).to.equal(1);
    expect(await metric(other, 'vault_extproc_fleet_owner')).to.equal(0);
    for (const r of [a, b]) {
      expect(await metric(r, 'vault_extproc_fleet_redis_up'), r.id).to.equal(1);
      expect(await readyz(r), r.id).to.deep.equal({ status: 200, body: { status: 'ready' } });
    }
    // The restart lost the stream's epoch: each follower said so once (its L1 cannot be vouched for).
    await waitFor('a lost gap counted on both', async () => {
      const lost = await Promise.all([a, b].map((r) => metric(r, 'vault_extproc_fleet_stream_gaps_total{reason="lost"}')));
      return lost.every((n) => n === 1) ? true : undefined;
    }, 5_000);
  });

  it('required_for_ready: not ready until Redis is first reached', async () => {
    await server.kill();
    const r = await replica('replica-a', { requiredForReady: true });
    expect((await readyz(r)).status).to.equal(503);
    expect(await metric(r, 'vault_extproc_fleet_redis_up')).to.equal(0);
    await server.restart();
    await waitFor('ready once Redis is there', async () => ((await readyz(r)).status === 200 ? true : undefined), 10_000);
  });

  it('stop(): the owner releases the lease at once (the key is gone, not left to expire), the other takes over, and both connections close', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    const owner = await oneOwner(5_000);
    const other = owner === a ? b : a;
    const clientsBefore = (await server.cli('CLIENT', 'LIST')).trim().split('\n').length;
    await owner.fleet.stop();
    // Released, not left to expire: the key is gone (or already the other's) at once.
    const held = (await server.cli('GET', 'vxp:owner')).trim();
    expect(held === '' || held === other.id, `the lease after stop names "${held}"`).to.equal(true);
    expect(owner.fleet.isOwner).to.equal(false);
    expect(await metric(owner, 'vault_extproc_fleet_owner')).to.equal(0);
    await waitFor('the other replica takes over', () => (other.fleet.isOwner ? true : undefined), 5_000, 10);
    // The stopped fleet's two connections are gone (the CLIENT LIST one is redis-cli's own).
    await waitFor('two fewer clients', async () => {
      const n = (await server.cli('CLIENT', 'LIST')).trim().split('\n').length;
      return n === clientsBefore - 2 ? true : undefined;
    }, 5_000);
  });

  it('Redis hangs (SIGSTOP: connections stay open): /readyz degraded once unheard for max_stale_without_redis, and the owner steps down; resumed: ready and one owner', async () => {
    const a = await replica('replica-a', { maxStaleWithoutRedisSeconds: 1 });
    await oneOwner(5_000);
    server.pause();
    try {
      await waitFor('degraded', async () => ((await readyz(a)).body.status === 'degraded' ? true : undefined), 10_000);
      const r = await readyz(a);
      expect(r.status).to.equal(200);
      expect(r.body.degraded![0]).to.contain('has not answered for longer than max_stale_without_redis (1s)');
      expect(await metric(a, 'vault_extproc_fleet_stale')).to.equal(1);
      // Its renewals time out: it steps down by its own clock before the key can expire in Redis.
      await waitFor('stepped down', () => (!a.fleet.isOwner ? true : undefined), 5_000);
    } finally {
      server.resume();
    }
    await waitFor('ready again', async () => ((await readyz(a)).body.status === 'ready' ? true : undefined), 10_000);
    await oneOwner(5_000);
    expect(await metric(a, 'vault_extproc_fleet_stale')).to.equal(0);
  });

  it('stop() returns while Redis hangs (SIGSTOP: connections open, nothing answered), no longer the owner', async () => {
    const a = await replica('replica-a');
    await oneOwner(5_000);
    // Let the follower's blocking read be in flight when Redis stops answering.
    await sleep(300);
    server.pause();
    const done = await Promise.race([a.fleet.stop().then(() => 'stopped'), sleep(15_000).then(() => 'still stopping after 15 s')]);
    server.resume();
    expect(done).to.equal('stopped');
    expect(a.fleet.isOwner).to.equal(false);
  });

  it('an unreadable key is refused at start, naming its source, before any connection', async () => {
    const registry = new Registry();
    expect(() => startFleet(config('replica-a'), { registry, env: {}, logger: silent })).to.throw(KEY_VAR);
    const clients = (await server.cli('CLIENT', 'LIST')).trim().split('\n');
    expect(clients).to.have.length(1); // redis-cli itself
  });
});

describe('fleet: startApp with a fleet block (real redis-server, no Vault needed)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let app: App | undefined;

  beforeEach(async () => {
    server = await startRedis();
  });
  afterEach(async function () {
    await app?.stop(1_000);
    app = undefined;
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${server.logs()}\n`);
    await server.stop();
  });

  /** `serve` refuses a fleet block for now (src/config/fleet.ts); startApp is given one directly, as serve will. */
  async function startWithFleet(requiredForReady: boolean): Promise<App> {
    // Nothing listens on port 9: Vault is not part of this test (no auto_auth, so nothing waits for it).
    const { config, errors } = parseConfig(`
vault { address = "http://127.0.0.1:9" }
extproc {
  address = "127.0.0.1:0"
  admin_address = "127.0.0.1:0"
  tls_disable = true
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
`, 'fleet-app.hcl', {});
    expect(errors).to.deep.equal([]);
    config.fleet = {
      redis: { displayUrl: server.url, host: server.host, port: server.port, database: 0 },
      keyEnvVar: KEY_VAR, keyPrefix: 'vxp:', replicaId: 'app-replica',
      ownerLeaseTtlSeconds: 5, requiredForReady, maxStaleWithoutRedisSeconds: 10,
    };
    process.env[KEY_VAR] = env[KEY_VAR];
    try {
      app = await startApp({ config, log: silent, logLevel: 'silent' });
    } finally {
      delete process.env[KEY_VAR];
    }
    return app;
  }

  const get = async (a: App, path: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${a.adminPort}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it('the app\'s /metrics and /readyz carry the fleet: owner and Redis up; Redis killed → 200 degraded; app.stop() releases the lease', async () => {
    const a = await startWithFleet(false);
    await waitFor('the app\'s fleet is the owner', async () => ((await get(a, '/metrics')).text.includes('\nvault_extproc_fleet_owner 1\n') ? true : undefined), 10_000);
    expect((await get(a, '/metrics')).text).to.contain('\nvault_extproc_fleet_redis_up 1\n');
    expect(JSON.parse((await get(a, '/readyz')).text)).to.deep.equal({ status: 'ready' });
    expect((await server.cli('GET', 'vxp:owner')).trim()).to.equal('app-replica');

    await server.kill();
    await waitFor('/readyz says degraded', async () => (JSON.parse((await get(a, '/readyz')).text).status === 'degraded' ? true : undefined), 5_000);
    const r = await get(a, '/readyz');
    expect(r.status).to.equal(200);
    expect(JSON.parse(r.text).degraded[0]).to.contain('Redis at');
    const metrics = (await get(a, '/metrics')).text;
    expect(metrics).to.contain('\nvault_extproc_fleet_redis_up 0\n');
    expect(metrics).to.contain('\nvault_extproc_fleet_owner 0\n');

    await server.restart();
    await waitFor('the owner again', async () => ((await get(a, '/metrics')).text.includes('\nvault_extproc_fleet_owner 1\n') ? true : undefined), 10_000);
    await a.stop(1_000);
    app = undefined;
    expect((await server.cli('GET', 'vxp:owner')).trim()).to.equal('');
  });

  it('required_for_ready: the app\'s /readyz is 503 with the reason while Redis is down', async () => {
    const a = await startWithFleet(true);
    await waitFor('ready with Redis', async () => ((await get(a, '/readyz')).status === 200 ? true : undefined), 10_000);
    await server.kill();
    await waitFor('not ready', async () => ((await get(a, '/readyz')).status === 503 ? true : undefined), 5_000);
    const body = JSON.parse((await get(a, '/readyz')).text);
    expect(body.status).to.equal('not ready');
    expect(body.reasons.some((s: string) => s.includes(`Redis at ${server.url} is unreachable`))).to.equal(true);
  });
});

describe('fleet: the auto-auth token shared through L2 (real redis-server)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const fleets: Array<{ id: string; fleet: Fleet; heard: SharedAutoAuthToken[] }> = [];

  beforeEach(async () => {
    server = await startRedis();
  });
  afterEach(async function () {
    for (const f of fleets.splice(0)) await f.fleet.stop();
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${server.logs()}\n`);
    await server.stop();
  });

  function replica(id: string): { id: string; fleet: Fleet; heard: SharedAutoAuthToken[] } {
    const heard: SharedAutoAuthToken[] = [];
    const fleet = startFleet({
      redis: { displayUrl: server.url, host: server.host, port: server.port, database: 0 },
      keyEnvVar: KEY_VAR, keyPrefix: 'vxp:', replicaId: id,
      ownerLeaseTtlSeconds: 15, requiredForReady: false, maxStaleWithoutRedisSeconds: 10,
    }, {
      registry: new Registry(), env, logger: silent,
      onSharedAutoAuthToken: (t) => heard.push(t),
      tuning: { ownerLeaseTtlMs: 1_500, reconnectMinMs: 50, reconnectMaxMs: 300, streamBlockMs: 200, autoAuthPollMs: 100 },
    });
    const r = { id, fleet, heard };
    fleets.push(r);
    return r;
  }

  const token = (raw: string, obtainedAtMs = Date.now()): SharedAutoAuthToken => ({ token: raw, leaseDurationSeconds: 3600, renewable: true, obtainedAtMs });
  const theOwner = async (): Promise<{ id: string; fleet: Fleet; heard: SharedAutoAuthToken[] }> => waitFor('exactly one owner', () => {
    const o = fleets.filter((f) => f.fleet.isOwner);
    return o.length === 1 ? o[0] : undefined;
  }, 5_000, 10);

  /** Every key in Redis and its value, as redis-cli prints them. */
  async function dump(): Promise<string> {
    const keys = (await server.cli('--scan')).trim().split('\n').filter(Boolean);
    const values = await Promise.all(keys.map((k) => server.cli('GET', k).catch(() => '(not a string)')));
    return keys.map((k, i) => `${k} ${values[i]}`).join('\n');
  }

  it('the owner shares its token, the others hear it (a non-owner cannot share); Redis holds it only sealed, with the token\'s remaining lease as TTL', async () => {
    replica('replica-a');
    replica('replica-b');
    replica('replica-c');
    const owner = await theOwner();
    const others = fleets.filter((f) => f !== owner);
    const raw = `hvs.${randomBytes(18).toString('base64url')}`;
    expect(await others[0]!.fleet.autoAuth.share(token('hvs.not-the-owner'))).to.equal(false);
    expect(await owner.fleet.autoAuth.share(token(raw))).to.equal(true);
    await waitFor('both others heard it', () => (others.every((o) => o.heard.length === 1) ? true : undefined), 5_000);
    for (const o of others) expect(o.heard.map((t) => t.token), o.id).to.deep.equal([raw]);
    expect(owner.heard).to.deep.equal([]);
    // Heard once, not at every read.
    await sleep(400);
    for (const o of others) expect(o.heard, o.id).to.have.length(1);

    const all = await dump();
    expect(all).to.not.contain(raw);
    expect(all).to.not.contain('not-the-owner');
    const names = (await server.cli('--scan', '--pattern', 'vxp:a:*')).trim().split('\n').filter(Boolean);
    expect(names).to.have.length(1);
    const pttl = Number(await server.cli('PTTL', names[0]!));
    expect(pttl).to.be.above(3_500_000).and.at.most(3_600_000);
  });

  it('after the owner stops, the new owner\'s token reaches the replica left; an expired token is not shared', async () => {
    replica('replica-a');
    replica('replica-b');
    replica('replica-c');
    const first = await theOwner();
    expect(await first.fleet.autoAuth.share(token('hvs.first'))).to.equal(true);
    await waitFor('the others heard the first', () => (fleets.every((f) => f === first || f.heard.length === 1) ? true : undefined), 5_000);
    await first.fleet.stop();
    fleets.splice(fleets.indexOf(first), 1);
    const second = await theOwner();
    const left = fleets.find((f) => f !== second)!;
    expect(await second.fleet.autoAuth.share(token('hvs.expired', Date.now() - 3_601_000))).to.equal(false);
    expect(await second.fleet.autoAuth.share(token('hvs.second'))).to.equal(true);
    await waitFor('the replica left heard the second', () => (left.heard.length === 2 ? true : undefined), 5_000);
    expect(left.heard.map((t) => t.token)).to.deep.equal(['hvs.first', 'hvs.second']);
  });
});

describe('fleet: Redis credentials never reach a log (real redis-server with an ACL user)', function () {
  this.timeout(60_000);
  const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
  const WRONG = `wrong-${randomBytes(12).toString('hex')}`;
  let server: RedisServer;
  let dir: string;
  let fleet: Fleet | undefined;

  beforeEach(async () => {
    server = await startRedis({ users: [{ name: 'vxp', password: PASSWORD, rules: ['~vxp:*', '+@all'] }] });
    dir = mkdtempSync(join(tmpdir(), 'vxp-fleet-pw-'));
  });
  afterEach(async function () {
    await fleet?.stop();
    fleet = undefined;
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${server.logs()}\n`);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(password: string, lines: string[]): Fleet {
    const file = join(dir, 'redis.password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => { lines.push(s); } } });
    fleet = startFleet({
      redis: { displayUrl: `${server.url}/0`, host: server.host, port: server.port, database: 0, username: 'vxp', passwordFile: file },
      keyEnvVar: KEY_VAR, keyPrefix: 'vxp:', replicaId: 'replica-a',
      ownerLeaseTtlSeconds: 15, requiredForReady: false, maxStaleWithoutRedisSeconds: 10,
    }, { registry: new Registry(), env, logger, tuning: { ownerLeaseTtlMs: 1_500, reconnectMinMs: 50, reconnectMaxMs: 300, streamBlockMs: 200 } });
    return fleet;
  }

  it('the right password from password_file: the owner, through a Redis restart; the debug log names the URL, never the password', async () => {
    const lines: string[] = [];
    const f = start(PASSWORD, lines);
    await waitFor('the owner', () => (f.isOwner ? true : undefined), 5_000);
    await server.kill();
    await waitFor('down', () => (!f.redisUp ? true : undefined), 5_000);
    await server.restart();
    await waitFor('the owner again', () => (f.isOwner ? true : undefined), 10_000);
    await f.stop();
    const log = lines.join('');
    expect(log).to.contain(`${server.url}/0`);
    expect(log).to.contain('redis down');
    expect(log).to.not.contain(PASSWORD);
  });

  it('a wrong password: never up, /readyz degraded; the debug log says why and shows neither password', async () => {
    const lines: string[] = [];
    const f = start(WRONG, lines);
    await waitFor('a few refused attempts logged', () => (lines.filter((l) => /WRONGPASS|invalid username-password/i.test(l)).length >= 2 ? true : undefined), 10_000);
    expect(f.redisUp).to.equal(false);
    expect(f.isOwner).to.equal(false);
    expect(f.readiness().degraded).to.have.length(1);
    await f.stop();
    const log = lines.join('');
    expect(log).to.not.contain(WRONG);
    expect(log).to.not.contain(PASSWORD);
  });
});

forEachBackend('fleet: the owner app shares its worker\'s auto-auth token through L2 (real redis-server)', function (kind) {
  this.timeout(60_000);
  let server: RedisServer;
  let backend: Backend;
  let app: App | undefined;
  let other: Fleet | undefined;
  let dir: string;

  beforeEach(async () => {
    server = await startRedis();
    backend = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-fleet-app-'));
  });
  afterEach(async function () {
    await other?.stop();
    other = undefined;
    await app?.stop(1_000);
    app = undefined;
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${server.logs()}\n`);
    await backend.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a non-owner replica hears the token the owner\'s worker logged in with (the sink\'s token); Redis never holds it in the clear', async () => {
    const creds = await setupAppRole(backend);
    const { config, errors } = parseConfig(`
vault { address = "${backend.serviceUrl}" }
extproc {
  address = "127.0.0.1:0"
  admin_address = "127.0.0.1:0"
  tls_disable = true
}
${appRoleAutoAuth(dir, creds, { sink: true })}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
`, 'fleet-owner.hcl', {});
    expect(errors).to.deep.equal([]);
    const fleetConfig = (id: string): FleetConfig => ({
      redis: { displayUrl: server.url, host: server.host, port: server.port, database: 0 },
      keyEnvVar: KEY_VAR, keyPrefix: 'vxp:', replicaId: id,
      ownerLeaseTtlSeconds: 5, requiredForReady: false, maxStaleWithoutRedisSeconds: 10,
    });
    config.fleet = fleetConfig('app-owner');
    process.env[KEY_VAR] = env[KEY_VAR];
    try {
      app = await startApp({ config, log: silent, logLevel: 'silent' });
    } finally {
      delete process.env[KEY_VAR];
    }
    const a = app;
    await waitFor('the app is the owner', async () => ((await (await fetch(`http://127.0.0.1:${a.adminPort}/metrics`)).text()).includes('\nvault_extproc_fleet_owner 1\n') ? true : undefined), 10_000);
    await waitFor('the app\'s token', () => (a.hasToken() ? true : undefined), 15_000);
    const sinkToken = await waitFor('the sink', () => {
      try {
        return readFileSync(join(dir, 'token'), 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    }, 10_000);

    const heard: SharedAutoAuthToken[] = [];
    other = startFleet(fleetConfig('replica-b'), {
      registry: new Registry(), env, logger: silent, onSharedAutoAuthToken: (t) => heard.push(t),
      tuning: { autoAuthPollMs: 100, streamBlockMs: 200 },
    });
    await waitFor('replica-b heard a token', () => (heard.length > 0 ? true : undefined), 10_000);
    expect(other.isOwner).to.equal(false);
    expect(heard.map((t) => t.token)).to.deep.equal([sinkToken]);
    expect(heard[0]!.leaseDurationSeconds).to.be.above(0);

    const keys = (await server.cli('--scan')).trim().split('\n').filter(Boolean);
    const values = await Promise.all(keys.map((k) => server.cli('GET', k).catch(() => '')));
    expect(keys.some((k) => k.startsWith('vxp:a:'))).to.equal(true);
    expect(`${keys.join('\n')}\n${values.join('\n')}`).to.not.contain(sinkToken);
  });
});
