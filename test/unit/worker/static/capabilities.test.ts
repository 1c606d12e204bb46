// The capability refresh: a fixed cadence per token in a bounded pool, batched confirmations,
// revocations, rechecks, and what happens while Vault cannot serve (issue 13, finding 7).
import { expect } from 'chai';
import pino from 'pino';
import { hashToken } from '../../../../src/cache/token-hash.js';
import type { CacheConfig, VaultConfig } from '../../../../src/config/types.js';
import type { WorkerMessage } from '../../../../src/worker/protocol.js';
import { StaticCacheMaintainer } from '../../../../src/worker/static/maintainer.js';
import { FakeVault, until } from './fake-vault.js';

const CAPS = 'sys/capabilities-self';

interface Logged { level: string; msg: string }

/**
 * The maintainer with the static cache's answers to its verdicts (src/cache-mediator.ts): a
 * `static-revoke` comes back as `static-drop`, as the owner of who reads what sends it. With
 * `owner: false` nothing answers, to show that the worker changes nothing on its own.
 */
function harness(vault: FakeVault, intervalSeconds: number, opts: { owner?: boolean } = {}) {
  const sent: Array<{ atMs: number; msg: WorkerMessage }> = [];
  const logged: Logged[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => { const j = JSON.parse(line) as { level: number; msg: string }; logged.push({ level: pino.levels.labels[j.level]!, msg: j.msg }); } });
  const m = new StaticCacheMaintainer({
    cache: { staticSecrets: true, capabilityRefreshSeconds: intervalSeconds, staticRefreshSeconds: 3600, maxStaleSeconds: intervalSeconds } as CacheConfig,
    vaultConfig: { address: 'http://127.0.0.1:1' } as VaultConfig,
    vault: vault.client, log,
    send: (msg) => {
      sent.push({ atMs: Date.now(), msg });
      if (msg.type === 'static-revoke' && opts.owner !== false) setImmediate(() => m.accessLost(msg.tokenHash, msg.paths));
    },
    autoAuthToken: () => undefined, onInvalidToken: () => undefined,
  });
  m.start();
  const of = <T extends WorkerMessage['type']>(type: T) => sent.filter((s) => s.msg.type === type).map((s) => s.msg) as Array<Extract<WorkerMessage, { type: T }>>;
  const timed = <T extends WorkerMessage['type']>(type: T) => sent.filter((s) => s.msg.type === type) as Array<{ atMs: number; msg: Extract<WorkerMessage, { type: T }> }>;
  return { m, sent, of, timed, logged };
}

/** `n` tokens that read their own path; resolves when every one has its token-info. */
async function register(vault: FakeVault, h: ReturnType<typeof harness>, n: number, prefix = 't'): Promise<string[]> {
  const tokens = Array.from({ length: n }, (_, i) => `hvs.${prefix}${i}`);
  tokens.forEach((t, i) => vault.addToken(t, { reads: [`secret/data/${prefix}${i}`] }));
  tokens.forEach((t, i) => h.m.access(`secret/data/${prefix}${i}`, t));
  await until('token-info for every token', () => (h.of('token-info').length >= n ? true : undefined), 20_000);
  return tokens;
}

const confirmedHashes = (h: ReturnType<typeof harness>, sinceMs = 0) =>
  new Set(h.timed('tokens-confirmed').filter((s) => s.msg.atMs >= sinceMs).flatMap((s) => s.msg.tokenHashes));

describe('worker: capability refresh', () => {
  const running: StaticCacheMaintainer[] = [];
  afterEach(() => running.splice(0).forEach((m) => m.stop()));
  function start(vault: FakeVault, intervalSeconds: number, opts: { owner?: boolean } = {}) {
    const h = harness(vault, intervalSeconds, opts);
    running.push(h.m);
    return h;
  }

  it('finding 7: 150 tokens, a 100 ms Vault, a 2 s interval: a token revoked directly loses cached access within one interval plus one round trip (was 14.8 s)', async function () {
    this.timeout(20_000);
    const vault = new FakeVault();
    vault.latencyMs = 100;
    const h = start(vault, 2);
    const tokens = await register(vault, h, 150);
    const victim = Math.floor(Math.random() * tokens.length);
    await new Promise((r) => setTimeout(r, Math.random() * 2_000));
    const revokedAtMs = Date.now();
    vault.tokens.get(tokens[victim]!)!.revoked = true;
    const drop = await until('the static-revoke', () => h.timed('static-revoke').find((s) => s.msg.tokenHash === hashToken(tokens[victim]!)), 10_000);
    const maxRttMs = Math.max(...vault.callsTo(CAPS).filter((c) => c.endMs).map((c) => c.endMs! - c.startMs));
    const elapsedMs = drop.atMs - revokedAtMs;
    expect(elapsedMs).to.be.at.most(2_000 + maxRttMs);
    expect(drop.msg.paths).to.deep.equal([`secret/data/t${victim}`]);
  });

  it('checks each token once per 0.9 interval and never twice at once, in a bounded pool', async function () {
    this.timeout(20_000);
    const vault = new FakeVault();
    vault.latencyMs = 20;
    const h = start(vault, 0.5);
    const tokens = await register(vault, h, 300);
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 2_600));
    const to = Date.now();
    const checks = vault.callsTo(CAPS);
    // Per token: a check every 0.45 s (0.9 interval) is 5-6 checks started in 2.6 s, never overlapping.
    for (const t of tokens) {
      const mine = checks.filter((c) => c.token === t).sort((a, b) => a.startMs - b.startMs);
      const inWindow = mine.filter((c) => c.startMs >= from && c.startMs < to);
      expect(inWindow.length, t).to.be.within(5, 6);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.startMs, t).to.be.at.least(mine[i - 1]!.endMs!);
    }
    expect(vault.peakInFlight).to.be.at.most(128);
  });

  it('sends confirmations in batches, each as of when its checks were sent', async function () {
    this.timeout(20_000);
    const vault = new FakeVault();
    const h = start(vault, 0.5);
    await register(vault, h, 1_000);
    const since = Date.now();
    await until('every token confirmed by a check', () => (confirmedHashes(h, since).size >= 1_000 ? true : undefined), 5_000);
    const batches = h.timed('tokens-confirmed').filter((s) => s.msg.atMs >= since);
    // One message per 100 ms or 500 tokens: checks spread over 0.5 s make about 5-7 messages, not 1,000.
    expect(batches.length).to.be.below(20);
    // Each confirmation is as of the earliest check of its batch: no later than the start of the
    // check that confirmed the token, which ended before the batch went out.
    const checksOf = new Map<string, Array<{ startMs: number; endMs: number }>>();
    for (const c of vault.callsTo(CAPS)) {
      const list = checksOf.get(hashToken(c.token!)) ?? [];
      list.push({ startMs: c.startMs, endMs: c.endMs ?? Infinity });
      checksOf.set(hashToken(c.token!), list);
    }
    for (const b of batches) {
      for (const hash of b.msg.tokenHashes) {
        expect(checksOf.get(hash)!.some((c) => c.startMs >= b.msg.atMs && c.endMs <= b.atMs), 'a check that confirms').to.equal(true);
      }
    }
  });

  it('a path without read is revoked for that token only; a 403 revokes every path of the token and it is not checked again', async function () {
    this.timeout(10_000);
    const vault = new FakeVault();
    vault.addToken('hvs.A', { reads: ['p1', 'p2'] });
    vault.addToken('hvs.B', { reads: ['p1'] });
    const h = start(vault, 0.2);
    for (const p of ['p1', 'p2']) h.m.access(p, 'hvs.A');
    h.m.access('p1', 'hvs.B');
    // A's second proof came during its lookup: one token-info each.
    await until('token-info', () => (h.of('token-info').length >= 2 ? true : undefined));
    vault.tokens.get('hvs.A')!.reads.delete('p2');
    await until('a static-revoke for A', () => h.of('static-revoke').find((r) => r.tokenHash === hashToken('hvs.A')));
    expect(h.of('static-revoke')).to.deep.equal([{ type: 'static-revoke', tokenHash: hashToken('hvs.A'), paths: ['p2'] }]);
    vault.tokens.get('hvs.B')!.revoked = true;
    await until('a static-revoke for B', () => h.of('static-revoke').find((r) => r.tokenHash === hashToken('hvs.B')));
    const checksOfB = vault.callsTo(CAPS).filter((c) => c.token === 'hvs.B').length;
    await new Promise((r) => setTimeout(r, 500));
    expect(vault.callsTo(CAPS).filter((c) => c.token === 'hvs.B')).to.have.length(checksOfB);
    expect(h.of('static-revoke').find((r) => r.tokenHash === hashToken('hvs.B'))!.paths).to.deep.equal(['p1']);
  });

  it('a verdict changes nothing in the worker until the static cache answers: without static-drop the token keeps its paths; with it, it is not checked again', async function () {
    this.timeout(10_000);
    const vault = new FakeVault();
    vault.addToken('hvs.A', { reads: ['p1'] });
    const h = start(vault, 0.2, { owner: false });
    h.m.access('p1', 'hvs.A');
    await until('token-info', () => (h.of('token-info').length >= 1 ? true : undefined));
    vault.tokens.get('hvs.A')!.revoked = true;
    await until('a static-revoke', () => h.of('static-revoke')[0]);
    const registry = (h.m as unknown as { registry: { pathsOf(hash: string): string[] } }).registry;
    expect(registry.pathsOf(hashToken('hvs.A'))).to.deep.equal(['p1']);
    h.m.accessLost(hashToken('hvs.A'), ['p1']);
    expect(registry.pathsOf(hashToken('hvs.A'))).to.deep.equal([]);
    const checks = vault.callsTo(CAPS).filter((c) => c.token === 'hvs.A').length;
    await new Promise((r) => setTimeout(r, 600));
    expect(vault.callsTo(CAPS).filter((c) => c.token === 'hvs.A')).to.have.length(checks);
  });

  it('a check is never retried by the client and lasts at most one interval', async () => {
    const vault = new FakeVault();
    const h = start(vault, 0.3);
    await register(vault, h, 3);
    await until('a check', () => vault.callsTo(CAPS)[0]);
    for (const c of vault.callsTo(CAPS)) {
      expect(c.retry).to.equal(false);
      expect(c.timeoutMs).to.be.at.most(1_000);
    }
  });

  it('checks Vault refuses (400) confirm nothing and are logged once per interval, not once per token', async function () {
    this.timeout(10_000);
    const vault = new FakeVault();
    const h = start(vault, 0.3);
    await register(vault, h, 50);
    vault.failWith = 400;
    await new Promise((r) => setTimeout(r, 350));
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 950));
    expect(confirmedHashes(h, since).size).to.equal(0);
    expect(vault.callsTo(CAPS).filter((c) => c.startMs >= since).length).to.be.at.least(100);
    const warnings = h.logged.filter((l) => l.level === 'warn' && l.msg.startsWith('capability checks failed'));
    expect(warnings.length).to.be.within(3, 5);
  });

  for (const fault of ['unreachable', 500, 503] as const) {
    it(`Vault ${fault === 'unreachable' ? 'unreachable' : `answering ${fault}`}: nothing confirmed, one probe at a time with a backoff; when it is back every token is confirmed again`, async function () {
      this.timeout(15_000);
      const vault = new FakeVault();
      const h = start(vault, 0.5);
      await register(vault, h, 200);
      const fail = (on: boolean) => {
        if (fault === 'unreachable') vault.unreachable = on;
        else vault.failWith = on ? fault : undefined;
      };
      fail(true);
      const downAtMs = Date.now();
      await new Promise((r) => setTimeout(r, 500));
      const later = vault.calls.length;
      await new Promise((r) => setTimeout(r, 2_000));
      const attempts = vault.calls.length - later;
      // A check that started in the same millisecond, before the fault, may confirm as of that
      // millisecond: only checks started after it count.
      expect(confirmedHashes(h, downAtMs + 1).size).to.equal(0);
      // 2 s at a 0.5 s interval: a storm is 800 calls; the probe makes at most one per 0.375 s (5).
      expect(attempts).to.be.within(1, 8);
      const infos = h.of('vault-info').length;
      fail(false);
      const backAtMs = Date.now();
      await until('every token confirmed again', () => (confirmedHashes(h, backAtMs).size >= 200 ? true : undefined), 10_000);
      await until('vault-info again', () => (h.of('vault-info').length > infos ? true : undefined), 10_000);
    });
  }

  it('recheck: every token is checked now, a check under way is repeated, then recheck-done', async function () {
    this.timeout(10_000);
    const vault = new FakeVault();
    vault.latencyMs = 30;
    const h = start(vault, 3600);
    const tokens = await register(vault, h, 20);
    expect(vault.callsTo(CAPS)).to.deep.equal([]);
    const askedAtMs = Date.now();
    h.m.recheck(7);
    h.m.recheck(8);
    await until('recheck-done 8', () => h.of('recheck-done').find((d) => d.seq === 8));
    expect(h.of('recheck-done').map((d) => d.seq)).to.deep.equal([7, 8]);
    for (const t of tokens) {
      const mine = vault.callsTo(CAPS).filter((c) => c.token === t);
      // Recheck 8 came while the checks of recheck 7 ran: each token once more, after that.
      expect(mine.length, t).to.equal(2);
      expect(mine[1]!.startMs).to.be.at.least(mine[0]!.endMs!);
      expect(mine[0]!.startMs).to.be.at.least(askedAtMs);
    }
    // Confirmations come before the end of the recheck.
    const doneAt = h.sent.findIndex((s) => s.msg.type === 'recheck-done' && s.msg.seq === 8);
    const confirmed = new Set(h.sent.slice(0, doneAt).filter((s) => s.msg.type === 'tokens-confirmed').flatMap((s) => (s.msg as { tokenHashes: string[] }).tokenHashes));
    expect(confirmed.size).to.equal(20);
  });

  it('recheck while Vault is unreachable still ends with recheck-done', async function () {
    this.timeout(10_000);
    const vault = new FakeVault();
    const h = start(vault, 3600);
    await register(vault, h, 30);
    vault.unreachable = true;
    h.m.recheck(1);
    await until('recheck-done', () => h.of('recheck-done')[0], 3_000);
    expect(h.of('tokens-confirmed')).to.deep.equal([]);
    expect(vault.callsTo(CAPS).length).to.be.at.most(30);
  });
});
