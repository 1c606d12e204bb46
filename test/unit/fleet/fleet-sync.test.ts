// Two replicas' caches sharing one L2 and one invalidation stream (src/fleet/fleet-sync.ts, the fleet
// part of src/cache-mediator.ts), in one process: the stream is a queue this test delivers from, so
// every interleaving below is exact. The e2e suite (test/e2e/fleet.test.ts) runs the same through
// real processes, Envoy, Redis and Vault.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { CacheMediator } from '../../../src/cache-mediator.js';
import type { StoredResponse } from '../../../src/cache/entry.js';
import type { StaticKey } from '../../../src/cache/static-key.js';
import { hashToken } from '../../../src/cache/token-hash.js';
import type { CacheConfig } from '../../../src/config/types.js';
import { FleetSync } from '../../../src/fleet/fleet-sync.js';
import { InProcessSharedStore } from '../../../src/fleet/in-process-store.js';
import type { SharedStore } from '../../../src/fleet/shared-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { Metrics } from '../../../src/telemetry/metrics.js';
import { HeldStream } from '../../support/fleet-stream.js';
import type { ExtprocMessage } from '../../../src/worker/protocol.js';

const CONFIG = { staticSecrets: true, leaseCache: false, capabilityRefreshSeconds: 300, maxStaleSeconds: 0, maxBytes: 1 << 20 } as unknown as CacheConfig;
const A = 'hvs.reader-a';
const B = 'hvs.reader-b';
const P = 'secret/data/app';
const LATEST: StaticKey = { path: P, version: 0, header: '' };

function response(v: string): StoredResponse {
  return { status: 200, headers: [], body: Buffer.from(JSON.stringify({ data: { data: { v } } })), storedAtMs: Date.now() };
}

interface Replica {
  caches: CacheMediator;
  sync: FleetSync;
  sent: ExtprocMessage[];
  reads: string[];
  /** Vault answered `token`'s read of the latest of P here, and the worker looked the token up. */
  read(token: string, v?: string): void;
  serves(token: string, key?: StaticKey): boolean;
}

function fleet(opts: { store?: SharedStore } = {}) {
  const store = opts.store ?? new InProcessSharedStore({ keys: [randomBytes(32)] });
  const stream = new HeldStream();
  const replica = (id: string): Replica => {
    const sent: ExtprocMessage[] = [];
    const reads: string[] = [];
    const caches = new CacheMediator(CONFIG, new Metrics(), (m) => sent.push(m), createLogger({ level: 'silent' }));
    const sync = new FleetSync({ store, publisher: stream.publisher(id), staticTtlMs: 60_000, stale: () => false, retryMs: 5, onSharedRead: (o) => reads.push(o) });
    caches.attachFleet(sync);
    stream.replicas.set(id, caches);
    return {
      caches, sync, sent, reads,
      read(token, v = 'one') {
        caches.staticRecorded({ type: 'static-record', key: LATEST, token, tokenHash: hashToken(token), sentAtMs: Date.now(), response: response(v) });
        caches.tokenInfo({ type: 'token-info', tokenHash: hashToken(token), accessor: `acc-${hashToken(token).slice(0, 8)}`, eligible: true, atMs: Date.now() });
      },
      serves(token, key = LATEST) {
        return caches.static!.lookup(key, hashToken(token)) !== undefined && caches.grants!.allows(hashToken(token), Date.now());
      },
    };
  };
  return { store, stream, replica };
}

/** Lets the outbox and L2 writes (promise chains) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('fleet: two replicas\' caches over one shared store and stream (FleetSync, CacheMediator)', () => {
  it('a read through replica 1 is served by replica 2 from L2 once its grant arrived, for exactly that token and that form; its own worker is told', async () => {
    const { stream, replica } = fleet();
    const r1 = replica('r1');
    const r2 = replica('r2');
    r1.read(A);
    await settle();
    stream.deliver(); // token-checked: r2 holds A's grant, not its proof
    expect(r2.serves(A)).to.equal(false);
    await r2.caches.sharedLookup(LATEST, hashToken(A), A);
    expect(r2.serves(A)).to.equal(true);
    expect(r2.sent).to.deep.include({ type: 'static-access', path: P, token: A });
    // B never proved P; A never proved ?version=1 nor the header form of namespace ns1/.
    await r2.caches.sharedLookup(LATEST, hashToken(B), B);
    await r2.caches.sharedLookup({ path: P, version: 1, header: '' }, hashToken(A), A);
    await r2.caches.sharedLookup({ ...LATEST, header: 'ns1/' }, hashToken(A), A);
    expect(r2.caches.static!.lookup(LATEST, hashToken(B))).to.equal(undefined);
    expect(r2.caches.static!.lookup({ path: P, version: 1, header: '' }, hashToken(A))).to.equal(undefined);
    expect(r2.reads).to.deep.equal(['hit', 'miss', 'miss', 'miss']);
  });

  it('a token revoked through replica 2 is served by replica 1 no more, and never granted again by a lookup that raced with the revocation', async () => {
    const { stream, replica } = fleet();
    const r1 = replica('r1');
    const r2 = replica('r2');
    r1.read(A);
    await settle();
    stream.deliver();
    expect(r1.serves(A)).to.equal(true);
    r2.caches.revoked('token-self', A);
    await settle();
    stream.deliver();
    expect(r1.serves(A)).to.equal(false);
    expect(stream.log.at(-1)!.change).to.deep.equal({ type: 'revoked', kind: 'token-self', tokenHash: hashToken(A) });
    // A third replica's lookup of A began before the revocation and is heard after it; its clock is
    // a second ahead, so its time alone cannot tell.
    const skewed = Date.now() + 1000;
    r1.caches.applyFleetEvent({ origin: 'r3', atMs: skewed, change: { type: 'token-checked', tokenHash: hashToken(A), accessor: 'acc', eligible: true, atMs: skewed } });
    r1.caches.applyFleetEvent({ origin: 'r3', atMs: skewed, change: { type: 'tokens-confirmed', tokenHashes: [hashToken(A)], atMs: skewed } });
    await r1.caches.sharedLookup(LATEST, hashToken(A), A);
    expect(r1.serves(A)).to.equal(false);
    expect(r1.caches.grants!.allows(hashToken(A), Date.now())).to.equal(false);
    // Nothing of the raw token reached the stream.
    expect(JSON.stringify(stream.log)).to.not.include(A);
  });

  it('a removal while a shared read is under way: the record read before it is not taken into L1 (raced)', async () => {
    const inner = new InProcessSharedStore({ keys: [randomBytes(32)] });
    let release: (() => void) | undefined;
    const gated: SharedStore = Object.assign(Object.create(inner) as SharedStore, {
      getStatic: async (paths: readonly string[]) => {
        const found = await inner.getStatic(paths);
        if (release === undefined) await new Promise<void>((r) => { release = r; });
        return found;
      },
    });
    const { stream, replica } = fleet({ store: gated });
    const r1 = replica('r1');
    const r2 = replica('r2');
    r1.read(A);
    await settle();
    stream.deliver();
    const lookup = r2.caches.sharedLookup(LATEST, hashToken(A), A);
    await settle();
    expect(release).to.be.a('function');
    // The capability refresh on replica 1 says A lost P; replica 2 hears it while its read is in flight.
    r1.caches.staticRevoked({ type: 'static-revoke', tokenHash: hashToken(A), paths: [P] });
    await settle();
    stream.deliver();
    release!();
    await lookup;
    expect(r2.serves(A)).to.equal(false);
    expect(r2.reads).to.deep.equal(['raced']);
    // And the shared record went before the others heard of it.
    expect(await inner.getStatic([P])).to.deep.equal([undefined]);
  });

  it('a proof another replica removed never comes back from a replica that still held it: L2 merges only the proof Vault just gave', async () => {
    const { store, stream, replica } = fleet();
    const r1 = replica('r1');
    const r2 = replica('r2');
    r1.read(A);
    await settle();
    stream.deliver();
    r2.caches.staticRevoked({ type: 'static-revoke', tokenHash: hashToken(A), paths: [P] });
    await settle();
    // r1 has not heard yet, still holds A on P, and records B's read of P.
    expect(r1.caches.static!.lookup(LATEST, hashToken(A))).to.not.equal(undefined);
    r1.read(B);
    await settle();
    const [shared] = await store.getStatic([P]);
    expect(shared!.tokens).to.deep.equal([hashToken(B)]);
    stream.deliver();
    expect(r1.serves(A)).to.equal(false);
    expect(r1.serves(B)).to.equal(true);
  });

  it('a refetch that changed nothing is not told to anyone; one that changed the answer is, and the shared record goes', async () => {
    const { store, stream, replica } = fleet();
    const r1 = replica('r1');
    replica('r2');
    r1.read(A, 'one');
    await settle();
    const before = stream.log.length;
    r1.caches.staticRefetched({ type: 'static-update', path: P, response: response('one'), failedTokens: [] });
    await settle();
    expect(stream.log.length).to.equal(before);
    expect((await store.getStatic([P]))[0]).to.not.equal(undefined);
    r1.caches.staticRefetched({ type: 'static-update', path: P, response: response('two'), failedTokens: [] });
    await settle();
    expect(stream.kinds().slice(before)).to.deep.equal(['static-refetched']);
    expect(await store.getStatic([P])).to.deep.equal([undefined]);
  });

  it('Redis down: changes wait in order and go out when it is back; an outbox over its bound becomes "drop everything, check every token"', async () => {
    const { stream, replica } = fleet();
    const r1 = replica('r1');
    r1.read(A);
    await settle();
    const before = stream.log.length;
    stream.down = true;
    r1.caches.revoked('token-self', A);
    r1.caches.cacheClear({ type: 'all' });
    await settle();
    expect(r1.sync.pending).to.equal(2);
    stream.down = false;
    await new Promise((r) => setTimeout(r, 30));
    expect(stream.log.slice(before).map((e) => e.change)).to.deep.equal([
      { type: 'revoked', kind: 'token-self', tokenHash: hashToken(A) },
      { type: 'cache-cleared', clear: { type: 'all' } },
    ]);
    expect(r1.sync.pending).to.equal(0);

    const small = new FleetSync({ store: new InProcessSharedStore({ keys: [randomBytes(32)] }), publisher: stream.publisher('r9'), staticTtlMs: 1000, stale: () => false, retryMs: 5, maxPending: 3 });
    stream.down = true;
    for (const p of ['a', 'b', 'c', 'd']) small.publish({ type: 'static-evicted', path: `secret/data/${p}`, reason: 'gone' });
    await settle();
    const mark = stream.log.length;
    stream.down = false;
    await new Promise((r) => setTimeout(r, 30));
    expect(stream.log.slice(mark).map((e) => e.change)).to.deep.equal([
      { type: 'cache-cleared', clear: { type: 'all' } },
      { type: 'revoked', kind: 'token' },
      { type: 'static-evicted', path: 'secret/data/d', reason: 'gone' },
    ]);
    small.stop();
  });

  it('a gap, or an event of a kind this release does not know: L1 and every grant go, and the worker checks every token again', async () => {
    for (const drop of ['gap', 'unknown'] as const) {
      const { stream, replica } = fleet();
      const r1 = replica('r1');
      r1.read(A);
      await settle();
      stream.deliver();
      r1.sent.length = 0;
      if (drop === 'gap') r1.caches.fleetGap();
      else r1.caches.applyFleetEvent({ origin: 'r-new', atMs: Date.now(), change: { type: 'unknown' } });
      expect(r1.caches.static!.size, drop).to.equal(0);
      expect(r1.caches.grants!.allows(hashToken(A), Date.now()), drop).to.equal(false);
      expect(r1.sent.some((m) => m.type === 'recheck'), drop).to.equal(true);
      // What a replica drops for itself is not told to the others.
      const before = stream.log.length;
      await settle();
      expect(stream.log.length, drop).to.equal(before);
    }
  });

  it('a cache-clear through one replica: every replica drops it, the shared static records go, and a token clear travels as its hash', async () => {
    const { store, stream, replica } = fleet();
    const r1 = replica('r1');
    const r2 = replica('r2');
    r1.read(A);
    await settle();
    stream.deliver();
    await r2.caches.sharedLookup(LATEST, hashToken(A), A);
    expect(r2.serves(A)).to.equal(true);
    r1.caches.cacheClear({ type: 'request_path', value: '/v1/secret/', namespace: '' });
    await settle();
    stream.deliver();
    expect(r2.serves(A)).to.equal(false);
    expect(await store.getStatic([P])).to.deep.equal([undefined]);
    r1.caches.cacheClear({ type: 'token', value: B });
    await settle();
    expect(stream.log.at(-1)!.change).to.deep.equal({ type: 'cache-cleared', clear: { type: 'token', tokenHash: hashToken(B) } });
  });

  it('a token\'s lookup is told to the others once: the worker repeating a known token\'s info (at each new path) appends nothing; a new lookup does', async () => {
    const { stream, replica } = fleet();
    const r1 = replica('r1');
    replica('r2');
    const info = (atMs: number) => r1.caches.tokenInfo({ type: 'token-info', tokenHash: hashToken(A), accessor: 'acc-a', eligible: true, atMs });
    info(1_000);
    info(1_000);
    info(1_000);
    info(2_000);
    await settle();
    expect(stream.log.filter((e) => e.change.type === 'token-checked').map((e) => (e.change as { atMs: number }).atMs)).to.deep.equal([1_000, 2_000]);
  });
});
