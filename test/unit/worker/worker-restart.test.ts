// The worker supervisor with a fake thread factory and a fake clock: restart backoff (1 s doubling
// to 30 s, reset after 60 s of running), the crash limit (5 within 5 minutes: give up), messages
// queued while no thread runs. And what the caches hand a restarted worker (CacheMediator.workerLost).
import { expect } from 'chai';
import { CacheMediator } from '../../../src/cache-mediator.js';
import { hashToken } from '../../../src/cache/token-hash.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { Metrics } from '../../../src/telemetry/metrics.js';
import type { ExtprocMessage, WorkerMessage } from '../../../src/worker/protocol.js';
import {
  DEFAULT_RESTART_POLICY, WorkerSupervisor, type CrashInfo, type SupervisorClock, type ThreadEvents, type WorkerThread,
} from '../../../src/worker/supervisor.js';
import type { CacheConfig } from '../../../src/config/types.js';

class FakeClock implements SupervisorClock {
  nowMs = 0;
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number { return this.nowMs; }
  after(ms: number, fn: () => void): () => void {
    const t = { at: this.nowMs + ms, fn, cancelled: false };
    this.timers.push(t);
    return () => { t.cancelled = true; };
  }
  /** Pending timers' delays from now. */
  pending(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.at - this.nowMs);
  }
  advance(ms: number): void {
    this.nowMs += ms;
    for (const t of this.timers.filter((x) => !x.cancelled && x.at <= this.nowMs)) {
      t.cancelled = true;
      t.fn();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
  }
}

class FakeThread implements WorkerThread {
  readonly sent: ExtprocMessage[] = [];
  stopped = false;
  terminated = false;
  /** Answers pings with pongs unless hung. */
  hung = false;
  constructor(readonly events: ThreadEvents, readonly generation: number) {}
  send(msg: ExtprocMessage): void {
    this.sent.push(msg);
    if (msg.type === 'ping' && !this.hung && this.answersPings) this.events.message({ type: 'pong', seq: msg.seq });
  }
  answersPings = true;
  hang(): void { this.hung = true; }
  terminate(): void {
    this.terminated = true;
    this.events.exit(1);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.events.exit(0);
  }
  crash(): void {
    this.events.error(new TypeError('boom with a secret in the message'));
    this.events.exit(1);
  }
}

/** The heartbeat is off unless a test turns it on: the backoff tests count pending timers. */
function harness(policy: Partial<typeof DEFAULT_RESTART_POLICY> = { heartbeatMs: 0 }) {
  const clock = new FakeClock();
  const threads: FakeThread[] = [];
  const log: string[] = [];
  const crashes: CrashInfo[] = [];
  const gaveUp: CrashInfo[] = [];
  const messages: WorkerMessage[] = [];
  const sup = new WorkerSupervisor((events, generation) => {
    const t = new FakeThread(events, generation);
    threads.push(t);
    return t;
  }, {
    message: (m) => messages.push(m),
    crashed: (info) => { crashes.push(info); log.push(`crashed ${info.crashesInWindow} restart in ${info.restartInMs}`); },
    restarted: (g) => log.push(`restarted ${g}`),
    online: (g) => log.push(`online ${g}`),
    gaveUp: (info) => { gaveUp.push(info); log.push(`gave up after ${info.crashesInWindow}`); },
  }, { clock, policy });
  return { clock, threads, log, crashes, gaveUp, messages, sup, last: () => threads[threads.length - 1]! };
}

describe('worker restart: the supervisor (fake threads, fake clock)', () => {
  it('restarts a crashed thread after 1 s, then 2, 4, 8 s while it keeps crashing; the 5th crash within 5 minutes gives up', () => {
    const h = harness();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.clock.advance(1_000); // it runs a second each time
      h.last().crash();
      delays.push(h.clock.pending()[0]!);
      h.clock.advance(h.clock.pending()[0]!);
    }
    expect(delays).to.deep.equal([1_000, 2_000, 4_000, 8_000]);
    expect(h.threads.map((t) => t.generation)).to.deep.equal([1, 2, 3, 4, 5]);
    h.last().crash();
    expect(h.gaveUp).to.have.length(1);
    expect(h.gaveUp[0]!.crashesInWindow).to.equal(5);
    expect(h.gaveUp[0]!.restartInMs).to.equal(undefined);
    expect(h.clock.pending()).to.deep.equal([]);
    expect(h.sup.generation).to.equal(undefined);
  });

  it('doubling stops at 30 s (crashes spread out so the limit is not reached)', () => {
    const h = harness({ maxCrashes: 100, heartbeatMs: 0 });
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      h.clock.advance(10); // crashes at once after each start
      h.last().crash();
      delays.push(h.clock.pending()[0]!);
      h.clock.advance(h.clock.pending()[0]!);
    }
    expect(delays).to.deep.equal([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('a thread that ran 60 s before crashing restarts after 1 s again', () => {
    const h = harness();
    h.clock.advance(10);
    h.last().crash();
    h.clock.advance(1_000);
    h.clock.advance(10);
    h.last().crash();
    expect(h.clock.pending()).to.deep.equal([2_000]);
    h.clock.advance(2_000);
    h.clock.advance(DEFAULT_RESTART_POLICY.resetAfterMs);
    h.last().crash();
    expect(h.clock.pending()).to.deep.equal([1_000]);
  });

  it('crashes older than 5 minutes do not count toward the limit', () => {
    const h = harness();
    for (let i = 0; i < 4; i++) {
      h.clock.advance(10);
      h.last().crash();
      h.clock.advance(h.clock.pending()[0]!);
    }
    h.clock.advance(DEFAULT_RESTART_POLICY.crashWindowMs); // the four are now old
    h.last().crash();
    expect(h.gaveUp).to.have.length(0);
    expect(h.crashes[h.crashes.length - 1]!.crashesInWindow).to.equal(1);
  });

  it('messages sent between the crash and the restart reach the new thread, in order, before it is announced', () => {
    const h = harness();
    const first = h.last();
    h.sup.send({ type: 'lease-untrack', key: 'a' });
    first.crash();
    h.sup.send({ type: 'lease-untrack', key: 'b' });
    h.sup.send({ type: 'static-forget', path: 'secret/x' });
    expect(h.sup.queued).to.equal(2);
    h.clock.advance(1_000);
    expect(first.sent).to.deep.equal([{ type: 'lease-untrack', key: 'a' }]);
    expect(h.last().sent).to.deep.equal([{ type: 'lease-untrack', key: 'b' }, { type: 'static-forget', path: 'secret/x' }]);
    expect(h.log).to.deep.equal(['crashed 1 restart in 1000', 'restarted 2']);
    h.last().events.online();
    expect(h.log[h.log.length - 1]).to.equal('online 2');
  });

  it("a dead thread's late messages and events are ignored; a stop is not a crash and cancels a pending restart", async () => {
    const h = harness();
    const first = h.last();
    first.crash();
    first.events.message({ type: 'recheck-done', seq: 1 });
    first.events.exit(1);
    expect(h.messages).to.deep.equal([]);
    expect(h.crashes).to.have.length(1);
    await h.sup.stop();
    expect(h.clock.pending()).to.deep.equal([]);
    h.clock.advance(60_000);
    expect(h.threads).to.have.length(1);

    const h2 = harness();
    await h2.sup.stop();
    expect(h2.threads[0]!.stopped).to.equal(true);
    expect(h2.crashes).to.deep.equal([]);
  });

  it("names the uncaught error's class and place, never its message", () => {
    const h = harness();
    h.last().crash();
    expect(h.crashes[0]!.error!.name).to.equal('TypeError');
    expect(JSON.stringify(h.crashes[0])).to.not.include('secret');
  });

  it('a thread that answers no heartbeat for 30 s is hung: terminated, counted as a crash (hung: true) and restarted; one that answers is left alone', () => {
    const h = harness({ heartbeatMs: 5_000, hangTimeoutMs: 30_000 });
    const first = h.last();
    for (let i = 0; i < 12; i++) h.clock.advance(5_000); // a minute of pings and pongs
    expect(first.sent.filter((m) => m.type === 'ping')).to.have.length(12);
    expect(h.messages, 'pongs are not passed on').to.deep.equal([]);
    expect(first.terminated).to.equal(false);
    first.hang();
    for (let i = 0; i < 5; i++) h.clock.advance(5_000);
    expect(first.terminated, 'after 25 s without a pong').to.equal(false);
    h.clock.advance(5_000);
    expect(first.terminated, 'after 30 s without a pong').to.equal(true);
    expect(h.crashes).to.have.length(1);
    expect(h.crashes[0]).to.deep.include({ hung: true, exitCode: 1, restartInMs: 1_000 });
    h.clock.advance(1_000);
    expect(h.threads).to.have.length(2);
    expect(h.sup.generation).to.equal(2);
  });

  it('a thread that never answers a ping from its start is hung too (30 s after it started)', () => {
    const h = harness({ heartbeatMs: 5_000, hangTimeoutMs: 30_000 });
    h.last().answersPings = false;
    h.clock.advance(25_000);
    expect(h.last().terminated).to.equal(false);
    h.clock.advance(5_000);
    expect(h.threads[0]!.terminated).to.equal(true);
  });

  it('crash() is false when no thread runs (between a crash and its restart)', () => {
    const h = harness();
    expect(h.sup.crash()).to.equal(true);
    expect(h.sup.crash()).to.equal(false);
  });
});

describe('worker restart: what the caches hand a new worker (CacheMediator.workerLost)', () => {
  const cacheConfig = {
    staticSecrets: true, leaseCache: true, capabilityRefreshSeconds: 300, maxStaleSeconds: 0, maxBytes: 1 << 20, cacheLogins: true,
  } as unknown as CacheConfig;
  const json = (v: unknown) => ({ status: 200, headers: [] as Array<[string, string]>, body: Buffer.from(JSON.stringify(v)), storedAtMs: Date.now() });

  function setup() {
    const sent: ExtprocMessage[] = [];
    const caches = new CacheMediator(cacheConfig, new Metrics(), (m) => sent.push(m), createLogger({ level: 'silent' }));
    return { caches, sent };
  }

  it('re-tracks every lease whose renewing token it holds (renew now), keeps the auto-auth and lease-cache tokens\' access, drops every other token\'s', () => {
    const { caches, sent } = setup();
    const auto = 'hvs.auto-auth';
    const child = 'hvs.child-created-through-us';
    const plain = 'hvs.plain-token-nobody-holds';
    caches.autoAuthToken(auto);
    // A child token created with the auto-auth token, a lease created with the child, a lease created by a token nobody holds.
    caches.leaseRecorded({ type: 'lease-record', renewToken: child, ttlSeconds: 3600, entry: {
      key: 'k-child', kind: 'token', tokenHash: hashToken(child), ownerHash: hashToken(auto), requestPath: 'auth/token/create', namespace: '',
      response: json({ auth: { client_token: child, accessor: 'acc', renewable: true, lease_duration: 3600 } }),
    } });
    caches.leaseRecorded({ type: 'lease-record', renewToken: child, ttlSeconds: 600, entry: {
      key: 'k-lease', kind: 'lease', leaseId: 'database/creds/app/1', ownerHash: hashToken(child), requestPath: 'database/creds/app', namespace: '',
      response: json({ lease_id: 'database/creds/app/1', renewable: true, lease_duration: 600, data: {} }),
    } });
    // Proofs of access: each token read a KV path (and the worker looked it up).
    for (const [t, path] of [[auto, 'secret/data/a'], [child, 'secret/data/b'], [plain, 'secret/data/a'], [plain, 'secret/data/c']] as const) {
      caches.staticRecorded({ type: 'static-record', key: { path, version: 0, header: '' }, token: t, tokenHash: hashToken(t), sentAtMs: Date.now(), response: json({ data: { data: {} } }) });
      caches.tokenInfo({ type: 'token-info', tokenHash: hashToken(t), accessor: `acc-${t}`, eligible: true, atMs: Date.now() });
    }
    expect(caches.grants!.allows(hashToken(plain), Date.now())).to.equal(true);
    sent.length = 0;

    const out = caches.workerLost(auto);
    expect(out).to.deep.equal({ leasesTracked: 2, leasesEvicted: 0, tokensKept: 2, tokensDropped: 1 });
    const tracks = sent.filter((m) => m.type === 'lease-track');
    expect(tracks.map((m) => [m.key, m.token, m.ttlSeconds, m.renewNow])).to.deep.equal([
      ['k-child', child, 3600, true], ['k-lease', child, 600, true],
    ]);
    const access = sent.filter((m) => m.type === 'static-access').map((m) => [m.path, m.token]);
    expect(access).to.have.deep.members([['secret/data/a', auto], ['secret/data/b', child]]);
    // The plain token: no grant, out of every entry; secret/data/c (read by it alone) is gone.
    expect(caches.grants!.allows(hashToken(plain), Date.now())).to.equal(false);
    expect(caches.static!.provers('secret/data/a')).to.deep.equal([hashToken(auto)]);
    expect(caches.static!.paths()).to.not.include('secret/data/c');
    expect(caches.grants!.allows(hashToken(auto), Date.now())).to.equal(true);
  });

  it('a lease whose creating token it does not hold is evicted (nobody could renew it)', () => {
    const { caches } = setup();
    const auto = 'hvs.auto-auth';
    caches.autoAuthToken(auto);
    caches.leaseRecorded({ type: 'lease-record', renewToken: auto, ttlSeconds: 600, entry: {
      key: 'k-lease', kind: 'lease', leaseId: 'database/creds/app/1', ownerHash: hashToken(auto), requestPath: 'database/creds/app', namespace: '',
      response: json({ lease_id: 'database/creds/app/1', renewable: true, lease_duration: 600, data: {} }),
    } });
    // The crash came while no auto-auth token was known to this side.
    expect(caches.workerLost(undefined)).to.deep.include({ leasesTracked: 0, leasesEvicted: 1 });
    expect(caches.lease!.size).to.equal(0);
  });
});
