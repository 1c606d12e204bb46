// The fleet's Redis client against a real redis-server: Redis trouble never hangs a caller nor
// crashes the process, reconnects back off, `up`/`down` follow the server, TLS and ACL users work,
// and a password (also one inside the URL) never reaches a log line or an error.
// (No Vault is involved: these suites do not run per Vault backend.)
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ClientOfflineError, TimeoutReadError } from 'redis';
import { AppError } from '../../../src/errors.js';
import { FleetRedis, redactRedisUrl, type FleetRedisOptions } from '../../../src/fleet/redis-client.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { sleep, waitFor } from '../../support/ports.js';
import { startRedis, type RedisServer } from '../../support/redis.js';

interface Probe {
  redis: FleetRedis;
  logs: string[];
  events: Array<{ event: 'up' | 'down'; reason?: string }>;
}

/** How long `p` takes to settle, and whether it rejected (with what). */
async function settle(p: Promise<unknown>): Promise<{ ms: number; error: Error | undefined }> {
  const began = performance.now();
  try {
    await p;
    return { ms: performance.now() - began, error: undefined };
  } catch (err) {
    return { ms: performance.now() - began, error: err as Error };
  }
}

describe('fleet: Redis client (real redis-server)', function () {
  this.timeout(40_000);
  const servers: RedisServer[] = [];
  const probes: Probe[] = [];

  afterEach(async function () {
    for (const p of probes.splice(0)) await p.redis.close();
    for (const s of servers.splice(0)) {
      if (this.currentTest?.state === 'failed') process.stderr.write(`\n${s.logs()}\n`);
      await s.stop();
    }
  });

  async function server(opts: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
    const s = await startRedis(opts);
    servers.push(s);
    return s;
  }

  function probe(opts: FleetRedisOptions): Probe {
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => { logs.push(line); } } });
    const redis = new FleetRedis({ reconnectMinMs: 50, reconnectMaxMs: 500, ...opts, logger });
    const p: Probe = { redis, logs, events: [] };
    redis.on('up', () => p.events.push({ event: 'up' }));
    redis.on('down', (reason) => p.events.push({ event: 'down', reason }));
    redis.start();
    probes.push(p);
    return p;
  }

  it('Redis killed: an in-flight command and every command while down reject at once (no hang, no queue); `down` then `up` after the restart, and commands work again', async () => {
    const s = await server();
    const { redis, events } = probe({ url: s.url, commandTimeoutMs: 2_000 });
    expect(await redis.untilUp(5_000)).to.equal(true);
    await redis.client.set(redis.key('k'), 'v');
    expect(await redis.client.get(redis.key('k'))).to.equal('v');

    // A blocking read on the wire (exempt from the command timeout) when the server dies.
    const blocked = settle(redis.client.blPop(redis.key('empty-list'), 0));
    await sleep(100);
    await s.kill();
    const inFlight = await blocked;
    expect(inFlight.error, 'the in-flight BLPOP rejects when the connection drops').to.be.instanceOf(Error);
    await waitFor('down', () => (redis.isUp ? undefined : true), 2_000, 5);
    expect(events.map((e) => e.event)).to.deep.equal(['up', 'down']);

    const whileDown = await Promise.all([settle(redis.client.get(redis.key('k'))), settle(redis.client.set(redis.key('k'), 'x'))]);
    for (const r of whileDown) {
      expect(r.error, 'rejected as offline, not queued').to.be.instanceOf(ClientOfflineError);
      expect(r.ms, 'fails fast: well before the 2000 ms command timeout').to.be.lessThan(200);
    }
    process.stdout.write(`      while down: commands rejected in ${whileDown.map((r) => r.ms.toFixed(1)).join(' / ')} ms\n`);

    await s.restart({ keepData: false });
    expect(await redis.untilUp(5_000)).to.equal(true);
    expect(events.map((e) => e.event)).to.deep.equal(['up', 'down', 'up']);
    expect(await redis.client.get(redis.key('k')), 'restarted empty').to.equal(null);
    await redis.client.set(redis.key('k'), 'again');
    expect(await redis.client.get(redis.key('k'))).to.equal('again');
  });

  it('Redis hung (SIGSTOP, connection open): a command rejects after commandTimeoutMs instead of waiting forever; resumed, the connection serves again', async () => {
    const s = await server();
    const { redis } = probe({ url: s.url, commandTimeoutMs: 800 });
    expect(await redis.untilUp(5_000)).to.equal(true);
    s.pause();
    let hung: { ms: number; error: Error | undefined };
    try {
      // Capped at 10 s so that a GET that would wait forever fails here, named, not at mocha's timeout.
      hung = await settle(Promise.race([
        redis.client.get(redis.key('k')),
        sleep(10_000).then(() => 'still pending after 10 s' as const),
      ]).then((v) => {
        if (v === 'still pending after 10 s') throw new Error(v);
        return v;
      }));
    } finally {
      s.resume();
    }
    process.stdout.write(`      hung Redis: GET rejected after ${Math.round(hung.ms)} ms (${hung.error?.message})\n`);
    expect(hung.error, 'the sent GET is rejected as timed out').to.be.instanceOf(TimeoutReadError);
    expect(hung.ms).to.be.within(700, 5_000);
    await redis.client.set(redis.key('k'), 'after');
    expect(await redis.client.get(redis.key('k')), 'the late reply was discarded, replies still match their commands').to.equal('after');
  });

  it('Redis down at start: start() returns, nothing throws, commands reject as offline; `up` once the server is there', async () => {
    const s = await server();
    await s.kill();
    const { redis, events } = probe({ url: s.url });
    expect(await redis.untilUp(300)).to.equal(false);
    const r = await settle(redis.client.get(redis.key('k')));
    expect(r.error).to.be.instanceOf(ClientOfflineError);
    await s.restart();
    expect(await redis.untilUp(5_000)).to.equal(true);
    expect(events.map((e) => e.event)).to.deep.equal(['up']);
  });

  it('reconnects back off (capped, jittered): a 3 s outage costs a handful of connection attempts, not a storm', async () => {
    const s = await server();
    const { redis } = probe({ url: s.url, reconnectMinMs: 100, reconnectMaxMs: 1_000 });
    expect(await redis.untilUp(5_000)).to.equal(true);
    let attempts = 0;
    redis.client.on('reconnecting', () => { attempts += 1; });
    await s.kill();
    await sleep(3_000);
    process.stdout.write(`      reconnect attempts in a 3 s outage (100 ms doubling to 1000 ms): ${attempts}\n`);
    // 100, 200, 400, 800, 1000 … ms (75–100 % each): at most about 6 in 3 s.
    expect(attempts).to.be.within(2, 8);
    await s.restart();
    expect(await redis.untilUp(3_000)).to.equal(true);
  });

  it('a password in the URL never appears in a log line, an event or an error: good password, wrong password, outage and restart', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    const s = await server({ password });
    const url = `redis://:${password}@127.0.0.1:${s.port}/0`;
    const good = probe({ url });
    const bad = probe({ url: `redis://:${wrong}@127.0.0.1:${s.port}/0` });
    expect(good.redis.target).to.equal(`redis://:***@127.0.0.1:${s.port}/0`);
    expect(await good.redis.untilUp(5_000)).to.equal(true);
    await good.redis.client.set(good.redis.key('k'), 'v');
    expect(await bad.redis.untilUp(1_000), 'a wrong password never comes up').to.equal(false);
    await waitFor('the wrong password logged as unreachable', () => (bad.logs.some((l) => l.includes('WRONGPASS')) ? true : undefined), 3_000, 20);

    await s.kill();
    const offline = await settle(good.redis.client.get(good.redis.key('k')));
    await s.restart();
    expect(await good.redis.untilUp(5_000)).to.equal(true);

    const seen = [
      ...good.logs, ...bad.logs,
      JSON.stringify(good.events), JSON.stringify(bad.events),
      String(offline.error?.message), String(offline.error?.stack),
      good.redis.target, bad.redis.target,
    ].join('\n');
    expect(good.logs.join(''), 'the log names the outage').to.match(/"msg":"redis down"/).and.to.match(/"msg":"redis up"/);
    expect(seen).to.include('127.0.0.1');
    expect(seen).not.to.include(password);
    expect(seen).not.to.include(wrong);

    // The redaction itself, and a URL that is refused is not echoed with its password.
    expect(redactRedisUrl('redis://alice:s3cr%40t@redis.internal:6380/2')).to.equal('redis://alice:***@redis.internal:6380/2');
    expect(redactRedisUrl('rediss://:only-pass@h:6379')).to.equal('rediss://:***@h:6379');
    expect(redactRedisUrl('redis://h:6379/0')).to.equal('redis://h:6379/0');
    expect(redactRedisUrl('not a url:hunter2@h')).to.not.include('hunter2');
    expect(redactRedisUrl('redis://u:12#ss@h:6379')).to.equal('redis://u:***@h:6379');
    const refused = (() => {
      try {
        return new FleetRedis({ url: 'http://u:hunter2@h:1' });
      } catch (err) {
        return err as AppError;
      }
    })();
    expect(refused).to.be.instanceOf(AppError).with.property('code', 'CONFIG_INVALID');
    expect((refused as AppError).message).not.to.include('hunter2');
    expect(() => new FleetRedis({ url: 'redis://:a@h:1', password: 'b' }), 'a password given twice').to.throw(AppError, /given twice/);
  });

  it('rediss:// with the CA file and an ACL user limited to the key prefix: up, reads and writes its keys, NOPERM outside; an untrusted certificate never comes up', async () => {
    const userPassword = `acl-${randomBytes(8).toString('hex')}`;
    const s = await server({ tls: true, users: [{ name: 'vxp', password: userPassword, rules: ['~vxp:*', '+@all'] }] });
    expect(s.url.startsWith('rediss://')).to.equal(true);
    const trusted = probe({ url: s.url, username: 'vxp', password: userPassword, tls: { caFile: s.pki!.caCert } });
    const untrusted = probe({ url: s.url, username: 'vxp', password: userPassword });
    expect(await trusted.redis.untilUp(5_000)).to.equal(true);
    await trusted.redis.client.set(trusted.redis.key('k'), 'over-tls');
    expect(await trusted.redis.client.get('vxp:k')).to.equal('over-tls');
    const outside = await settle(trusted.redis.client.set('other:k', 'x'));
    expect(outside.error?.message).to.match(/^NOPERM/);
    expect(await untrusted.redis.untilUp(1_000), 'a certificate from an unknown CA is refused').to.equal(false);
    await waitFor('the TLS failure logged', () => (untrusted.logs.some((l) => l.includes('redis unreachable')) ? true : undefined), 3_000, 20);
    expect([...trusted.logs, ...untrusted.logs].join('')).not.to.include(userPassword);
  });
});
