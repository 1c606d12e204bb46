// A token's first proof of access: one lookup-self decides whether it may ever be served from the
// cache (findings 4 and 6 of issue 13); what the worker then says and never does again.
import { expect } from 'chai';
import pino from 'pino';
import { hashToken } from '../../../../src/cache/token-hash.js';
import type { CacheConfig, VaultConfig } from '../../../../src/config/types.js';
import type { WorkerMessage } from '../../../../src/worker/protocol.js';
import { StaticCacheMaintainer } from '../../../../src/worker/static/maintainer.js';
import { FakeVault, until } from './fake-vault.js';

function harness(vault: FakeVault, intervalSeconds = 3600) {
  const sent: WorkerMessage[] = [];
  const m = new StaticCacheMaintainer({
    cache: { staticSecrets: true, capabilityRefreshSeconds: intervalSeconds, staticRefreshSeconds: 3600, maxStaleSeconds: intervalSeconds } as CacheConfig,
    vaultConfig: { address: 'http://127.0.0.1:1' } as VaultConfig,
    vault: vault.client, log: pino({ level: 'silent' }), send: (msg) => sent.push(msg),
    autoAuthToken: () => undefined, onInvalidToken: () => undefined,
  });
  m.start();
  const of = <T extends WorkerMessage['type']>(type: T) => sent.filter((s) => s.type === type) as Array<Extract<WorkerMessage, { type: T }>>;
  return { m, sent, of };
}

const LOOKUP = 'auth/token/lookup-self';
const CAPS = 'sys/capabilities-self';

describe('worker: the first proof of access of a token (lookup-self)', () => {
  const running: StaticCacheMaintainer[] = [];
  afterEach(() => running.splice(0).forEach((m) => m.stop()));
  function start(vault: FakeVault, intervalSeconds?: number) {
    const h = harness(vault, intervalSeconds);
    running.push(h.m);
    return h;
  }

  it('an eligible token: one lookup-self, token-info with its accessor as of the lookup; a repeated proof is answered from memory', async () => {
    const vault = new FakeVault();
    vault.addToken('hvs.A', { reads: ['secret/data/a', 'secret/data/b'] });
    const { m, of } = start(vault);
    const before = Date.now();
    m.access('secret/data/a', 'hvs.A');
    const [info] = await until('token-info', () => (of('token-info').length ? of('token-info') : undefined));
    expect(info).to.deep.include({ tokenHash: hashToken('hvs.A'), accessor: 'acc-hvs.A', eligible: true });
    expect(info!.atMs).to.be.within(before, vault.callsTo(LOOKUP)[0]!.endMs!);
    m.access('secret/data/b', 'hvs.A');
    expect(of('token-info')).to.have.length(2);
    expect(of('token-info')[1]).to.deep.equal(info);
    expect(vault.callsTo(LOOKUP)).to.have.length(1);
    expect(vault.callsTo(LOOKUP)[0]!.retry).to.equal(false);
  });

  for (const [what, numUses] of [['num_uses = 5', 5], ['num_uses = -1 (the lookup spent its last use)', 1]] as const) {
    it(`a use-limited token (${what}) is ineligible, and the worker never calls Vault with it again`, async () => {
      const vault = new FakeVault();
      vault.addToken('hvs.U', { numUses, reads: ['secret/data/a'] });
      const { m, of } = start(vault, 0.1);
      m.access('secret/data/a', 'hvs.U');
      const [info] = await until('token-info', () => (of('token-info').length ? of('token-info') : undefined));
      expect(info).to.deep.include({ tokenHash: hashToken('hvs.U'), accessor: 'acc-hvs.U', eligible: false });
      // More proofs, capability rounds and a refetch of everything: no call with this token.
      m.access('secret/data/a', 'hvs.U');
      m.access('secret/data/b', 'hvs.U');
      (m as unknown as { refetchAll(why: string): void }).refetchAll('test');
      await new Promise((r) => setTimeout(r, 400));
      expect(vault.calls.filter((c) => c.token === 'hvs.U').map((c) => c.path)).to.deep.equal([LOOKUP]);
      expect(of('token-info')).to.have.length(1);
      expect(of('tokens-confirmed')).to.deep.equal([]);
    });
  }

  it('a token bound to CIDRs is ineligible', async () => {
    const vault = new FakeVault();
    vault.addToken('hvs.C', { boundCidrs: ['10.0.0.0/8'], reads: ['secret/data/a'] });
    const { m, of } = start(vault, 0.1);
    m.access('secret/data/a', 'hvs.C');
    const [info] = await until('token-info', () => (of('token-info').length ? of('token-info') : undefined));
    expect(info!.eligible).to.equal(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(vault.calls.filter((c) => c.token === 'hvs.C')).to.have.length(1);
  });

  it('a token Vault refuses (403): token-info eligible=false and static-revoke of what it proved; its next proof asks again', async () => {
    const vault = new FakeVault();
    const { m, of } = start(vault);
    m.access('secret/data/a', 'hvs.gone');
    m.access('secret/data/b', 'hvs.gone');
    await until('static-revoke', () => (of('static-revoke').length ? true : undefined));
    expect(of('token-info')).to.have.length(1);
    expect(of('token-info')[0]).to.deep.include({ tokenHash: hashToken('hvs.gone'), eligible: false });
    expect(of('static-revoke')).to.deep.equal([{ type: 'static-revoke', tokenHash: hashToken('hvs.gone'), paths: ['secret/data/a', 'secret/data/b'] }]);
    m.access('secret/data/a', 'hvs.gone');
    await until('a second lookup', () => (vault.callsTo(LOOKUP).length === 2 ? true : undefined));
  });

  it('Vault unreachable at the first lookup: no token-info (no grant); the next proof asks again', async () => {
    const vault = new FakeVault();
    vault.addToken('hvs.A', { reads: ['secret/data/a'] });
    vault.unreachable = true;
    const { m, of } = start(vault);
    m.access('secret/data/a', 'hvs.A');
    await until('the lookup', () => (vault.callsTo(LOOKUP)[0]?.endMs ? true : undefined));
    await new Promise((r) => setTimeout(r, 20));
    expect(of('token-info')).to.deep.equal([]);
    vault.unreachable = false;
    // The pool probes Vault again after its backoff (0.5 s at first).
    m.access('secret/data/a', 'hvs.A');
    const [info] = await until('token-info', () => (of('token-info').length ? of('token-info') : undefined));
    expect(info!.eligible).to.equal(true);
  });

  it('proofs that arrive during the lookup wait for it: one lookup, every path registered', async () => {
    const vault = new FakeVault();
    vault.latencyMs = 30;
    vault.addToken('hvs.A', { reads: ['p1', 'p2', 'p3'] });
    const { m, of } = start(vault);
    for (const p of ['p1', 'p2', 'p3']) m.access(p, 'hvs.A');
    await until('token-info', () => (of('token-info').length ? true : undefined));
    expect(vault.callsTo(LOOKUP)).to.have.length(1);
    expect((m as unknown as { registry: { pathsOf(h: string): string[] } }).registry.pathsOf(hashToken('hvs.A'))).to.deep.equal(['p1', 'p2', 'p3']);
  });

  it('token-revoked: the token is forgotten without a call to Vault (no more checks); during its lookup, the answer is dropped', async () => {
    const vault = new FakeVault();
    vault.addToken('hvs.A', { reads: ['p1'] });
    vault.addToken('hvs.B', { reads: ['p1'] });
    const { m, of } = start(vault, 0.1);
    m.access('p1', 'hvs.A');
    await until('token-info', () => (of('token-info').length ? true : undefined));
    m.tokenRevoked(hashToken('hvs.A'));
    const callsAfter = vault.calls.filter((c) => c.token === 'hvs.A').length;
    vault.latencyMs = 50;
    m.access('p1', 'hvs.B');
    await new Promise((r) => setTimeout(r, 10));
    m.tokenRevoked(hashToken('hvs.B'));
    await new Promise((r) => setTimeout(r, 400));
    expect(vault.calls.filter((c) => c.token === 'hvs.A')).to.have.length(callsAfter);
    expect(vault.calls.filter((c) => c.token === 'hvs.B').map((c) => c.path)).to.deep.equal([LOOKUP]);
    expect(of('token-info').filter((i) => i.tokenHash === hashToken('hvs.B'))).to.deep.equal([]);
    expect(of('tokens-confirmed').filter((c) => c.tokenHashes.includes(hashToken('hvs.B')))).to.deep.equal([]);
  });

  it('a token loses its cached access when Vault says it expires', async () => {
    const vault = new FakeVault();
    vault.addToken('hvs.E', { expireTime: new Date(Date.now() + 150).toISOString(), reads: ['p1'] });
    const { m, of } = start(vault);
    m.access('p1', 'hvs.E');
    await until('static-revoke', () => (of('static-revoke').length ? true : undefined), 2_000);
    expect(of('static-revoke')).to.deep.equal([{ type: 'static-revoke', tokenHash: hashToken('hvs.E'), paths: ['p1'] }]);
    // Forgotten: its next proof is a first proof again.
    m.access('p1', 'hvs.E');
    await until('a second lookup', () => (vault.callsTo(LOOKUP).length === 2 ? true : undefined));
    expect(vault.callsTo(CAPS)).to.deep.equal([]);
  });
});
