// The fleet's owner election against a real redis-server: one owner at every instant, a dead
// owner replaced within two lease periods, a graceful stop handed over at once, a Redis outage
// never making two owners, and a bounded number of commands per period.
// (No Vault is involved: these suites do not run per Vault backend.)
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { OwnerLease, type OwnerLostReason } from '../../../src/fleet/owner-lease.js';
import { FleetRedis } from '../../../src/fleet/redis-client.js';
import { sleep, waitFor } from '../../support/ports.js';
import { Proc } from '../../support/process.js';
import { startRedis, type RedisServer } from '../../support/redis.js';

interface LeaseEvent {
  event: 'acquired' | 'lost';
  reason?: OwnerLostReason;
  at: number;
}

interface Contender {
  id: string;
  redis: FleetRedis;
  lease: OwnerLease;
  events: LeaseEvent[];
}

const CONTENDER_CHILD = fileURLToPath(new URL('./contender.ts', import.meta.url));

describe('fleet: owner lease (real redis-server)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let contenders: Contender[] = [];
  const children: Proc[] = [];

  beforeEach(async () => {
    server = await startRedis();
  });
  afterEach(async function () {
    for (const c of contenders.splice(0)) {
      await c.lease.stop();
      await c.redis.close();
    }
    for (const p of children.splice(0)) await p.stop();
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${server.logs()}\n`);
    await server.stop();
  });

  function contender(id: string, ttlMs: number): Contender {
    const redis = new FleetRedis({ url: server.url, reconnectMinMs: 50, reconnectMaxMs: 500 });
    const lease = new OwnerLease({ redis, replicaId: id, ttlMs });
    const c: Contender = { id, redis, lease, events: [] };
    lease.on('acquired', () => c.events.push({ event: 'acquired', at: performance.now() }));
    lease.on('lost', (reason) => c.events.push({ event: 'lost', reason, at: performance.now() }));
    redis.start();
    lease.start();
    contenders.push(c);
    return c;
  }

  const owners = (): string[] => contenders.filter((c) => c.lease.isOwner).map((c) => c.id);
  const ownerKey = (c: Contender): string => c.lease.key;

  /** Samples `owners()` every ~10 ms for `ms`; returns every sample. */
  async function sample(ms: number): Promise<string[][]> {
    const samples: string[][] = [];
    const end = performance.now() + ms;
    while (performance.now() < end) {
      samples.push(owners());
      await sleep(10);
    }
    return samples;
  }

  async function oneOwner(timeoutMs: number): Promise<Contender> {
    const id = await waitFor('an owner', () => {
      const o = owners();
      return o.length === 1 ? o[0] : undefined;
    }, timeoutMs, 10);
    return contenders.find((c) => c.id === id)!;
  }

  it('three contenders: exactly one owner at every sampled instant over four lease periods, the one Redis names', async () => {
    const ttl = 1500;
    for (const id of ['r1', 'r2', 'r3']) contender(id, ttl);
    const owner = await oneOwner(3 * ttl);
    const samples = await sample(4 * ttl);
    const counts = samples.map((s) => s.length);
    expect(samples.length, 'samples taken').to.be.greaterThan(100);
    expect(counts.filter((n) => n !== 1), `samples without exactly one owner (of ${samples.length})`).to.deep.equal([]);
    expect(new Set(samples.flat()), 'the same owner throughout').to.deep.equal(new Set([owner.id]));
    expect((await server.cli('GET', ownerKey(owner))).trim()).to.equal(owner.id);
    const pttl = Number((await server.cli('PTTL', ownerKey(owner))).trim());
    expect(pttl, 'the key expires by itself (PX ttl)').to.be.within(1, ttl);
  });

  it('commands stay bounded: about one command per contender per ttl/3 period (acquire or renew), counted by INFO commandstats', async () => {
    const ttl = 1500;
    for (const id of ['r1', 'r2', 'r3']) contender(id, ttl);
    await oneOwner(3 * ttl);
    await server.cli('CONFIG', 'RESETSTAT');
    const windowMs = 6 * ttl;
    const began = performance.now();
    await sleep(windowMs);
    const calls = await server.commandCalls();
    const elapsed = performance.now() - began;
    // Our own redis-cli calls: CONFIG RESETSTAT and this INFO. Redis also counts the commands a
    // script runs (GET, PEXPIRE, DEL inside the renew and release scripts) under their own names.
    const { info: _info, 'config|resetstat': _reset, ...leaseCalls } = calls;
    const sent = (leaseCalls['set'] ?? 0) + (leaseCalls['eval'] ?? 0);
    const periods = elapsed / (ttl / 3);
    const perContenderPeriod = sent / (3 * periods);
    process.stdout.write(`      commands in ${Math.round(elapsed)} ms (${periods.toFixed(1)} periods, 3 contenders): ${JSON.stringify(leaseCalls)}; sent (set + eval) = ${perContenderPeriod.toFixed(2)} per contender per period\n`);
    expect(Object.keys(leaseCalls).filter((k) => !['set', 'eval', 'get', 'pexpire', 'del'].includes(k)), 'nothing but acquire (set) and the scripts').to.deep.equal([]);
    expect(leaseCalls['get'] ?? 0, 'GET only inside the scripts').to.be.at.most(leaseCalls['eval'] ?? 0);
    expect(leaseCalls['eval'], 'the owner renews about once a period').to.be.within(Math.floor(periods) - 1, Math.ceil(periods) + 1);
    expect(perContenderPeriod).to.be.lessThan(1.5);
  });

  it('the owner killed with SIGKILL (no release): another owner within two lease periods of the kill, and only one', async () => {
    const ttl = 2000;
    const child = new Proc('contender-child', process.execPath, ['--import', 'tsx', CONTENDER_CHILD, server.url, 'doomed', String(ttl)]);
    children.push(child);
    await waitFor('the child process owns the lease', () => (child.text.includes('"event":"acquired"') ? true : undefined), 20_000, 20);
    const a = contender('a', ttl);
    const b = contender('b', ttl);
    await waitFor('both in-process contenders connected', () => (a.redis.isUp && b.redis.isUp ? true : undefined), 5_000, 10);
    await sleep(ttl);
    expect(owners(), 'nobody else while the child owns it').to.deep.equal([]);
    expect((await server.cli('GET', ownerKey(a))).trim()).to.equal('doomed');

    const killedAt = performance.now();
    child.signal('SIGKILL');
    const next = await oneOwner(4 * ttl);
    const takeoverMs = next.events.find((e) => e.event === 'acquired')!.at - killedAt;
    process.stdout.write(`      takeover after SIGKILL: ${Math.round(takeoverMs)} ms (ttl ${ttl} ms, bound ${2 * ttl} ms)\n`);
    expect(takeoverMs).to.be.lessThan(2 * ttl);
    const samples = await sample(ttl);
    expect(samples.filter((s) => s.length !== 1), 'exactly one owner after the takeover').to.deep.equal([]);
    expect((await server.cli('GET', ownerKey(a))).trim()).to.equal(next.id);
  });

  it('graceful stop releases the lease: another contender takes over within one acquire period, well before the ttl', async () => {
    const ttl = 3000;
    for (const id of ['r1', 'r2', 'r3']) contender(id, ttl);
    const owner = await oneOwner(3 * ttl);
    await sleep(ttl / 2);
    const stoppedAt = performance.now();
    await owner.lease.stop();
    expect(owner.events.at(-1)).to.include({ event: 'lost', reason: 'stopped' });
    expect(owner.lease.isOwner).to.equal(false);
    const next = await waitFor('the next owner', () => contenders.find((c) => c !== owner && c.lease.isOwner), 2 * ttl, 10);
    const takeoverMs = next.events.find((e) => e.event === 'acquired')!.at - stoppedAt;
    const period = owner.lease.periodMs;
    process.stdout.write(`      takeover after stop(): ${Math.round(takeoverMs)} ms (acquire period ${period} ms; without the release the key would live ${ttl - period}+ ms)\n`);
    // One acquire period plus the command's latency; a stop that did not release could be taken over
    // only when the key expires, at least ttl - period after the stop.
    expect(takeoverMs).to.be.lessThan(period * 1.5);
    expect((await server.cli('GET', ownerKey(next))).trim()).to.equal(next.id);
  });

  it('Redis killed: the owner steps down no later than ttl after its last renew, nobody is owner while Redis is down; restarted EMPTY: exactly one owner again', async () => {
    const ttl = 1500;
    for (const id of ['r1', 'r2', 'r3']) contender(id, ttl);
    const owner = await oneOwner(3 * ttl);
    await sleep(ttl / 2);
    const killedAt = performance.now();
    await server.kill();
    // Until the owner steps down: at most the old owner; after: nobody.
    const during: string[][] = [];
    while (owner.lease.isOwner) {
      during.push(owners());
      await sleep(10);
    }
    const lost = await waitFor('the lost event', () => owner.events.find((e) => e.event === 'lost' && e.at > killedAt), 2 * ttl, 5);
    const afterLastRenew = lost.at - owner.lease.lastRenewAt;
    process.stdout.write(`      owner stepped down ${Math.round(afterLastRenew)} ms after its last renew (${Math.round(lost.at - killedAt)} ms after the kill; ttl ${ttl} ms)\n`);
    expect(lost.reason, 'the dropped connection').to.equal('redis-down');
    expect(afterLastRenew).to.be.at.most(ttl);
    expect(during.filter((s) => s.length > 1 || (s.length === 1 && s[0] !== owner.id)), 'nobody else while the owner may still be owner').to.deep.equal([]);
    const down = await sample(ttl);
    expect(down.filter((s) => s.length !== 0), 'nobody is owner while Redis is down').to.deep.equal([]);

    await server.restart({ keepData: false });
    expect((await server.cli('DBSIZE')).trim(), 'restarted empty').to.equal('0');
    await oneOwner(3 * ttl);
    const after = await sample(2 * ttl);
    expect(after.filter((s) => s.length !== 1), 'exactly one owner after the empty restart').to.deep.equal([]);
  });

  it('Redis hung (SIGSTOP, connections open, no answers): the owner steps down by its own clock no later than ttl after its last renew, nobody else is owner; resumed: exactly one', async () => {
    const ttl = 1500;
    for (const id of ['r1', 'r2', 'r3']) contender(id, ttl);
    const owner = await oneOwner(3 * ttl);
    await sleep(ttl / 2);
    server.pause();
    try {
      const lost = await waitFor('the owner steps down', () => owner.events.find((e) => e.event === 'lost'), 3 * ttl, 5);
      const afterLastRenew = lost.at - owner.lease.lastRenewAt;
      process.stdout.write(`      hung Redis: owner stepped down ${Math.round(afterLastRenew)} ms after its last successful renew (ttl ${ttl} ms)\n`);
      expect(lost.reason).to.equal('expired');
      expect(afterLastRenew).to.be.at.most(ttl);
      expect(contenders.every((c) => c.redis.isUp), 'the connections stayed up: the clock, not a disconnect, decided').to.equal(true);
      const hung = await sample(ttl);
      expect(hung.filter((s) => s.length !== 0), 'nobody is owner while Redis does not answer').to.deep.equal([]);
    } finally {
      server.resume();
    }
    await oneOwner(4 * ttl);
    const after = await sample(ttl);
    expect(after.filter((s) => s.length !== 1), 'exactly one owner once Redis answers again').to.deep.equal([]);
  });

  it('Redis restarted EMPTY while the owner is still valid: never two owners, exactly one again after', async () => {
    const ttl = 3000;
    for (const id of ['r1', 'r2', 'r3']) contender(id, ttl);
    await oneOwner(3 * ttl);
    const samples: string[][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(owners());
        await sleep(5);
      }
    })();
    await server.restart({ keepData: false }); // well within the ttl: the owner's lease is still valid by its clock
    const owner = await waitFor('one owner after the restart', () => {
      const o = owners();
      return o.length === 1 && contenders.every((c) => c.redis.isUp) ? o[0] : undefined;
    }, 3 * ttl, 10);
    await sleep(ttl);
    sampling = false;
    await sampler;
    expect(samples.filter((s) => s.length > 1), `samples with two owners (of ${samples.length})`).to.deep.equal([]);
    expect((await server.cli('GET', contenders[0]!.lease.key)).trim()).to.equal(owners()[0]);
    expect(owners()).to.have.length(1);
    void owner;
  });

  it('a renew never extends another replica\'s lease: the key replaced under the owner makes it step down, the intruder\'s ttl untouched', async () => {
    const ttl = 1500;
    for (const id of ['r1', 'r2']) contender(id, ttl);
    const owner = await oneOwner(3 * ttl);
    // What a replica that acquired after the key vanished (an empty restart, a flush) looks like to the old owner.
    await server.cli('SET', owner.lease.key, 'intruder', 'PX', '60000');
    const lost = await waitFor('the owner steps down', () => owner.events.find((e) => e.event === 'lost'), 2 * ttl, 10);
    expect(lost.reason).to.equal('taken');
    await sample(owner.lease.periodMs * 2).then((s) => expect(s.filter((o) => o.length !== 0), 'nobody owner while the intruder holds it').to.deep.equal([]));
    expect((await server.cli('GET', owner.lease.key)).trim()).to.equal('intruder');
    const pttl = Number((await server.cli('PTTL', owner.lease.key)).trim());
    expect(pttl, 'the intruder\'s ttl was not renewed down to ours').to.be.greaterThan(50_000);
  });
});
