// The fleet's leases (issue 16 step 5): the OWNER renews every lease the fleet tracks, whichever
// replica recorded it, and no lease is renewed by two replicas. Two or three replicas' caches
// (CacheMediator + FleetSync) over one InProcessSharedStore and a stream this test delivers, as in
// fleet-sync.test.ts, so every interleaving is exact; "the worker renews" is read off the
// lease-track / lease-untrack messages each replica's mediator sends its worker. The integration
// suite (test/integration/fleet/fleet-leases.test.ts) runs it with real processes, Redis and Vault.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { CacheMediator } from '../../../src/cache-mediator.js';
import type { LeaseEntry } from '../../../src/cache/lease-cache.js';
import { hashToken } from '../../../src/cache/token-hash.js';
import type { CacheConfig } from '../../../src/config/types.js';
import { FleetSync } from '../../../src/fleet/fleet-sync.js';
import { InProcessSharedStore } from '../../../src/fleet/in-process-store.js';
import { SharedStoreUnavailable, type SharedStore } from '../../../src/fleet/shared-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { Metrics } from '../../../src/telemetry/metrics.js';
import { HeldStream } from '../../support/fleet-stream.js';
import type { ExtprocMessage } from '../../../src/worker/protocol.js';

const CONFIG = { staticSecrets: false, leaseCache: true, cacheLogins: true, capabilityRefreshSeconds: 300, maxStaleSeconds: 0, maxBytes: 1 << 20 } as unknown as CacheConfig;

/** A store whose every call fails while `down` (Redis unreachable), over a real in-process store. */
function switchable(inner: InProcessSharedStore): SharedStore & { down: boolean } {
  const s = { down: false } as SharedStore & { down: boolean };
  for (const m of ['getStatic', 'putStatic', 'deleteStatic', 'updateStatic', 'clearStatic', 'getLeases', 'putLeases', 'deleteLeases', 'clearLeases', 'listLeases', 'updateLease', 'getAutoAuthToken', 'putAutoAuthToken', 'deleteAutoAuthToken', 'clear'] as const) {
    (s as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => (s.down
      ? Promise.reject(new SharedStoreUnavailable('Redis is down'))
      : (inner[m] as (...a: unknown[]) => Promise<unknown>).apply(inner, args));
  }
  return s;
}

interface Replica {
  id: string;
  caches: CacheMediator;
  sync: FleetSync;
  sent: ExtprocMessage[];
  /** A token creation Vault answered through this replica (the token renews itself). */
  createToken(ttlSeconds?: number, key?: string): { entry: LeaseEntry; token: string };
  /** Keys this replica's worker renews now, by following its lease-track / lease-untrack messages. */
  renewing(): Set<string>;
}

function fleet() {
  const inner = new InProcessSharedStore({ keys: [randomBytes(32)] });
  const store = switchable(inner);
  const stream = new HeldStream();
  const parent = `hvs.parent-${randomBytes(6).toString('hex')}`;
  const replica = (id: string, maxPending?: number): Replica => {
    const sent: ExtprocMessage[] = [];
    const caches = new CacheMediator(CONFIG, new Metrics(), (m) => sent.push(m), createLogger({ level: 'silent' }));
    const sync = new FleetSync({ store, publisher: stream.publisher(id), staticTtlMs: 60_000, stale: () => false, retryMs: 5, ...(maxPending ? { maxPending } : {}) });
    caches.attachFleet(sync);
    stream.replicas.set(id, caches);
    return {
      id, caches, sync, sent,
      createToken(ttlSeconds = 3600, key = `key-${id}-${randomBytes(6).toString('hex')}`) {
        const token = `hvs.child-${randomBytes(8).toString('hex')}`;
        const entry: LeaseEntry = {
          key, kind: 'token',
          response: { status: 200, headers: [], body: Buffer.from('{"auth":{}}'), storedAtMs: Date.now() },
          ownerHash: hashToken(parent), tokenHash: hashToken(token), accessor: `acc-${token.slice(-6)}`,
          requestPath: 'auth/token/create', namespace: '',
        };
        caches.leaseRecorded({ type: 'lease-record', entry, renewToken: token, ttlSeconds });
        return { entry, token };
      },
      renewing() {
        const keys = new Set<string>();
        for (const m of sent) {
          if (m.type === 'lease-track') keys.add(m.key);
          if (m.type === 'lease-untrack') keys.delete(m.key);
        }
        return keys;
      },
    };
  };
  return { inner, store, stream, replica, parent };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

describe('fleet: leases — the owner renews every lease the fleet tracks (CacheMediator, FleetSync)', () => {
  it('a lease recorded on a non-owner goes to L2 with its renewal and is announced; only the owner\'s worker renews it, with the recorder\'s token', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    await settle();
    const { entry, token } = other.createToken(600);
    await settle();
    expect(other.renewing().size, 'the recording non-owner renews nothing').to.equal(0);
    const [shared] = await store.getLeases([entry.key], { withRenewal: true });
    expect(shared?.entry.key).to.equal(entry.key);
    expect(shared?.renewal?.renewToken).to.equal(token);
    expect(shared?.renewal?.ttlSeconds).to.equal(600);
    expect(stream.log.map((e) => e.change)).to.deep.equal([{ type: 'lease-recorded', key: entry.key }]);
    // The event carries the key only: no raw token on the stream.
    expect(JSON.stringify(stream.log)).to.not.include(token);
    stream.deliver();
    await settle();
    expect([...owner.renewing()]).to.deep.equal([entry.key]);
    const track = owner.sent.find((m) => m.type === 'lease-track');
    expect(track).to.deep.equal({ type: 'lease-track', key: entry.key, kind: 'token', token, ttlSeconds: 600 });
    // The recorder still serves it from its L1; the owner does not hold it in L1.
    expect(other.caches.lease!.lookup(entry.key)).to.not.equal(undefined);
    expect(owner.caches.lease!.lookup(entry.key)).to.equal(undefined);
  });

  it('a lease recorded on the owner: its own worker renews it at once; the others hear of it and renew nothing', async () => {
    const { stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    await settle();
    const { entry } = owner.createToken();
    await settle();
    stream.deliver();
    await settle();
    expect([...owner.renewing()]).to.deep.equal([entry.key]);
    expect(owner.sent.filter((m) => m.type === 'lease-track')).to.have.length(1);
    expect(other.renewing().size).to.equal(0);
  });

  it('take-over: the old owner stops renewing everything it renewed for the fleet; the new owner lists EVERY lease in L2 (recorded on any replica) and renews each now', async () => {
    const { stream, replica } = fleet();
    const r1 = replica('r1');
    const r2 = replica('r2');
    const r3 = replica('r3');
    r1.caches.fleetOwnerChanged(true);
    await settle();
    const keys = [r1.createToken().entry.key, r2.createToken().entry.key, r3.createToken().entry.key, r3.createToken().entry.key];
    await settle();
    stream.deliver();
    await settle();
    expect([...r1.renewing()].sort()).to.deep.equal([...keys].sort());
    // In steady state no lease is renewed by two replicas.
    expect(r2.renewing().size + r3.renewing().size).to.equal(0);

    r1.caches.fleetOwnerChanged(false); // its owner lease lost (Fleet 'lost')
    expect(r1.renewing().size, 'the old owner renews nothing').to.equal(0);
    r2.caches.fleetOwnerChanged(true);
    await settle();
    expect([...r2.renewing()].sort()).to.deep.equal([...keys].sort());
    const tracks = r2.sent.filter((m): m is Extract<ExtprocMessage, { type: 'lease-track' }> => m.type === 'lease-track');
    expect(tracks.every((m) => m.renewNow === true), 'renewed at once: nobody knows what is left').to.equal(true);
    expect(r1.renewing().size + r3.renewing().size).to.equal(0);
  });

  it('after a renewal the owner rewrites the record: its TTL and renewal follow the new lease; a non-owner\'s report changes nothing', async () => {
    const { inner, store, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    const { entry } = other.createToken(60);
    await settle();
    stream.deliver();
    await settle();
    const [name] = inner.names('lease', entry.key);
    expect(inner.records.ttlLeft(name!)).to.be.within(55_000, 60_000);
    const before = Date.now();
    owner.caches.leaseRenewed(entry.key, 3600);
    await settle();
    expect(inner.records.ttlLeft(name!)).to.be.within(3_590_000, 3_600_000);
    const [renewed] = await store.getLeases([entry.key], { withRenewal: true });
    expect(renewed?.renewal?.ttlSeconds).to.equal(3600);
    expect(renewed?.renewal?.recordedAtMs).to.be.at.least(before);
    other.caches.leaseRenewed(entry.key, 10);
    await settle();
    expect(inner.records.ttlLeft(name!)).to.be.above(3_500_000);
  });

  it('renewal stops on the owner (max TTL, refused): the record goes from L2, every replica evicts its copy, and it is told once', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    const { entry } = other.createToken();
    await settle();
    stream.deliver();
    await settle();
    owner.caches.leaseRenewalStopped(entry.key); // the worker's lease-evict
    await settle();
    expect(await store.getLeases([entry.key])).to.deep.equal([undefined]);
    expect(stream.kinds()).to.deep.equal(['lease-recorded', 'lease-evicted']);
    stream.deliver();
    await settle();
    expect(other.caches.lease!.lookup(entry.key), 'the recorder evicted its L1 copy').to.equal(undefined);
    expect(stream.kinds(), 'the recorder does not tell it again').to.deep.equal(['lease-recorded', 'lease-evicted']);
    // A renewal report racing with the eviction does not bring the record back.
    owner.caches.leaseRenewed(entry.key, 3600);
    await settle();
    expect(await store.getLeases([entry.key])).to.deep.equal([undefined]);
  });

  it('a token revoked through its recorder (or a cache-clear there): the owner stops renewing it and the record goes', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    const a = other.createToken();
    const b = other.createToken();
    await settle();
    stream.deliver();
    await settle();
    expect(owner.renewing().size).to.equal(2);
    other.caches.revoked('token-self', a.token);
    other.caches.cacheClear({ type: 'all' });
    await settle();
    stream.deliver();
    await settle();
    expect(owner.renewing().size).to.equal(0);
    expect(await store.getLeases([a.entry.key, b.entry.key])).to.deep.equal([undefined, undefined]);
  });

  it('a revocation through a third replica (which never held the lease): the recorder evicts on the event, and so does the owner\'s index of what it renews; the owner stops renewing', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const recorder = replica('recorder');
    const third = replica('third');
    owner.caches.fleetOwnerChanged(true);
    const a = recorder.createToken();
    await settle();
    stream.deliver();
    await settle();
    third.caches.revoked('token', a.token);
    await settle();
    stream.deliver(); // the recorder applies the revocation and tells lease-evicted
    await settle();
    stream.deliver();
    await settle();
    expect(owner.renewing().size).to.equal(0);
    expect(await store.getLeases([a.entry.key])).to.deep.equal([undefined]);
    // Told twice: by the owner (its index) and by the recorder (its L1); the second changes nothing.
    expect(stream.kinds()).to.deep.equal(['lease-recorded', 'revoked', 'lease-evicted', 'lease-evicted']);
  });

  it('a token revoked while the replica that recorded its child token and that child\'s lease is gone: the owner\'s index takes both out of L2 (no replica serves them from there) and stops renewing them', async () => {
    const { store, stream, replica, parent } = fleet();
    const owner = replica('owner');
    const recorder = replica('recorder');
    const third = replica('third');
    owner.caches.fleetOwnerChanged(true);
    const child = recorder.createToken(600);
    // The child token (created by `parent`) and a lease the child token made.
    const leaseEntry: LeaseEntry = {
      key: `lease-of-child-${randomBytes(4).toString('hex')}`, kind: 'lease',
      response: { status: 200, headers: [], body: Buffer.from('{"lease_id":"database/creds/app/x"}'), storedAtMs: Date.now() },
      ownerHash: hashToken(child.token), leaseId: 'database/creds/app/x', requestPath: 'database/creds/app', namespace: '',
    };
    recorder.caches.leaseRecorded({ type: 'lease-record', entry: leaseEntry, renewToken: child.token, ttlSeconds: 600 });
    await settle();
    stream.deliver();
    await settle();
    expect([...owner.renewing()].sort()).to.deep.equal([child.entry.key, leaseEntry.key].sort());
    stream.replicas.delete('recorder'); // gone: no L1 holds either any more
    third.caches.revoked('token', 'hvs.another-token'); // a token nobody's lease belongs to
    await settle();
    stream.deliver();
    await settle();
    expect(owner.renewing().size, 'a revocation of another token takes nothing').to.equal(2);
    // Revoking the parent revokes the child token and the child's lease, in Vault as in the cache.
    third.caches.revoked('token', parent);
    await settle();
    stream.deliver();
    await settle();
    expect(owner.renewing().size, 'leases the owner renews after the revocation').to.equal(0);
    expect(await store.getLeases([child.entry.key, leaseEntry.key])).to.deep.equal([undefined, undefined]);
    for (const key of [child.entry.key, leaseEntry.key]) {
      await third.caches.sharedLeaseLookup(key);
      expect(third.caches.lease!.lookup(key), `${key} taken from L2 after the revocation`).to.equal(undefined);
    }
  });

  it('the same request made through two replicas (one cache key, two leases): the later one replaces the earlier in L2 and in the owner\'s renewals; the earlier replica drops its copy; nothing is evicted fleet-wide', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const r2 = replica('r2');
    const r3 = replica('r3');
    owner.caches.fleetOwnerChanged(true);
    const first = r2.createToken(3600, 'same-request');
    await settle();
    stream.deliver();
    await settle();
    const second = r3.createToken(3600, 'same-request');
    await settle();
    stream.deliver();
    await settle();
    expect(r2.caches.lease!.lookup('same-request'), 'r2 no longer serves the lease nobody renews').to.equal(undefined);
    expect(r3.caches.lease!.lookup('same-request')?.tokenHash).to.equal(hashToken(second.token));
    const [shared] = await store.getLeases(['same-request'], { withRenewal: true });
    expect(shared?.renewal?.renewToken).to.equal(second.token);
    const tracks = owner.sent.filter((m): m is Extract<ExtprocMessage, { type: 'lease-track' }> => m.type === 'lease-track');
    expect(tracks.map((m) => m.token)).to.deep.equal([first.token, second.token]);
    expect(stream.kinds()).to.deep.equal(['lease-recorded', 'lease-recorded']);
  });

  it('a gap drops L1\'s leases but not their records: nothing is told, and the owner keeps renewing them', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    const a = other.createToken();
    await settle();
    stream.deliver();
    await settle();
    other.caches.fleetGap();
    await settle();
    expect(other.caches.lease!.size).to.equal(0);
    expect(stream.kinds()).to.deep.equal(['lease-recorded']);
    expect((await store.getLeases([a.entry.key]))[0]?.entry.key).to.equal(a.entry.key);
    expect([...owner.renewing()]).to.deep.equal([a.entry.key]);
  });

  it('Redis down while a lease is recorded: the record and its announcement wait and go out in order; one that expired meanwhile goes nowhere', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    await settle();
    store.down = true;
    const a = other.createToken(3600);
    const short = other.createToken(1);
    await settle();
    expect(other.sync.pending).to.equal(2);
    await new Promise((r) => setTimeout(r, 1_100));
    store.down = false;
    await new Promise((r) => setTimeout(r, 50));
    expect(other.sync.pending).to.equal(0);
    expect(stream.log.map((e) => e.change)).to.deep.equal([{ type: 'lease-recorded', key: a.entry.key }]);
    expect(await store.getLeases([short.entry.key])).to.deep.equal([undefined]);
    const [rec] = await store.getLeases([a.entry.key], { withRenewal: true });
    expect(rec?.renewal?.ttlSeconds).to.equal(3600);
    stream.deliver();
    await settle();
    // Heard more than a tenth of a 1 s lease late would be renewed now; this one (1 s of 3600) on schedule.
    expect(owner.sent.filter((m) => m.type === 'lease-track')).to.deep.equal([
      { type: 'lease-track', key: a.entry.key, kind: 'token', token: a.token, ttlSeconds: 3600 },
    ]);
  });

  it('an eviction heard while the owner reads a recorded lease: it is not renewed after it was evicted', async () => {
    const { inner, stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    const a = other.createToken();
    await settle();
    // The owner reads the record (L2 still holds it) while the recorder's eviction arrives.
    const getLeases = inner.getLeases.bind(inner);
    let release: (() => void) | undefined;
    inner.getLeases = async (...args) => {
      const read = await getLeases(...args);
      await new Promise<void>((r) => { release = r; });
      return read;
    };
    stream.deliver(); // lease-recorded: the owner's read starts
    await settle();
    other.caches.cacheClear({ type: 'all' });
    await settle();
    stream.deliver(); // cache-cleared, lease-evicted
    release!();
    await settle();
    release?.();
    await settle();
    expect(owner.renewing().size).to.equal(0);
    expect(owner.sent.filter((m) => m.type === 'lease-track')).to.deep.equal([]);
  });

  it('an eviction heard while a new owner lists the leases: the evicted one is not renewed, the others are', async () => {
    const { inner, stream, replica } = fleet();
    const r1 = replica('r1');
    const r2 = replica('r2');
    const keep = r2.createToken();
    const gone = r2.createToken();
    await settle();
    stream.deliver();
    const listLeases = inner.listLeases.bind(inner);
    let release: (() => void) | undefined;
    let calls = 0;
    inner.listLeases = async (...args) => {
      const listed = await listLeases(...args);
      if (++calls === 1) await new Promise<void>((r) => { release = r; });
      return listed;
    };
    r1.caches.fleetOwnerChanged(true); // lists: both records are there
    await settle();
    r2.caches.revoked('token-self', gone.token); // the record goes, lease-evicted is told
    await settle();
    stream.deliver();
    release!();
    await settle();
    expect(calls, 'listed again after the eviction').to.equal(2);
    expect([...r1.renewing()]).to.deep.equal([keep.entry.key]);
  });

  it('a worker restarted on the owner gets every shared lease again (from L2, renewed now); on a non-owner, none, and no L1 lease is evicted as unrenewable', async () => {
    const { stream, replica } = fleet();
    const owner = replica('owner');
    const other = replica('other');
    owner.caches.fleetOwnerChanged(true);
    const keys = [other.createToken().entry.key, owner.createToken().entry.key];
    await settle();
    stream.deliver();
    await settle();
    owner.sent.length = 0;
    other.sent.length = 0;
    owner.caches.workerLost(undefined);
    other.caches.workerLost(undefined);
    await settle();
    expect([...owner.renewing()].sort()).to.deep.equal([...keys].sort());
    expect(other.renewing().size).to.equal(0);
    expect(other.caches.lease!.size).to.equal(1);
    expect(owner.caches.lease!.size).to.equal(1);
  });

  it('a lease another replica recorded is served from L2 for exactly its key (taken into L1, not renewed here), never after its eviction, and not when an eviction raced the read', async () => {
    const { stream, replica } = fleet();
    const owner = replica('owner');
    const r2 = replica('r2');
    const r3 = replica('r3');
    owner.caches.fleetOwnerChanged(true);
    const { entry } = r2.createToken();
    await settle();
    stream.deliver();
    await r3.caches.sharedLeaseLookup(entry.key);
    expect(r3.caches.lease!.lookup(entry.key)?.tokenHash).to.equal(entry.tokenHash);
    expect(r3.renewing().size).to.equal(0);
    await r3.caches.sharedLeaseLookup('another-request-key');
    expect(r3.caches.lease!.lookup('another-request-key')).to.equal(undefined);
    // Revoked through the replica that recorded it: every copy goes, and L2's.
    r2.caches.revoked('token', 'hvs.not-this-one');
    r2.caches.leaseRenewalStopped(entry.key);
    await settle();
    stream.deliver();
    expect(r3.caches.lease!.lookup(entry.key)).to.equal(undefined);
    await r3.caches.sharedLeaseLookup(entry.key);
    expect(r3.caches.lease!.lookup(entry.key)).to.equal(undefined);

    // An eviction heard while the shared read is under way: what was read is not taken.
    const { entry: second } = r2.createToken();
    await settle();
    stream.deliver();
    const reading = r3.caches.sharedLeaseLookup(second.key);
    r3.caches.applyFleetEvent({ origin: 'r2', atMs: Date.now(), change: { type: 'lease-evicted', key: second.key, reason: 'revoked' } });
    await reading;
    expect(r3.caches.lease!.lookup(second.key)).to.equal(undefined);
  });
  it('an outbox that overflows while Redis is down becomes a cache-clear of everything, lease records included, then the lease records it held: the revoked lease\'s record is gone from L2 when Redis is back (no replica serves it), the one recorded meanwhile is there and the owner renews it', async () => {
    const { store, stream, replica } = fleet();
    const r1 = replica('r1', 4);
    const r2 = replica('r2');
    r2.caches.fleetOwnerChanged(true);
    const revoked = r1.createToken(600);
    await settle();
    stream.deliver();
    await settle();
    expect([...r2.renewing()], 'the owner renews the first lease').to.deep.equal([revoked.entry.key]);
    store.down = true;
    stream.down = true;
    const recorded = r1.createToken(600);
    r1.caches.revoked('token', revoked.token); // its lease goes: the record's removal waits in the outbox
    for (let i = 0; i < 6; i++) r1.caches.cacheClear({ type: 'lease', value: `database/creds/x/${i}` }); // more changes than the outbox holds
    await settle();
    const mark = stream.log.length;
    store.down = false;
    stream.down = false;
    for (let i = 0; i < 50 && r1.sync.pending > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(r1.sync.pending).to.equal(0);
    const [gone, kept] = await store.getLeases([revoked.entry.key, recorded.entry.key]);
    expect(gone, 'the revoked lease\'s record').to.equal(undefined);
    expect(kept?.entry.key, 'the lease recorded while Redis was down').to.equal(recorded.entry.key);
    expect(stream.log.slice(mark).map((e) => e.change.type)).to.deep.equal(['cache-cleared', 'revoked', 'lease-recorded', 'cache-cleared']);
    stream.deliver();
    await settle();
    // Another replica cannot take the revoked lease from L2; the owner renews only the recorded one.
    await r2.caches.sharedLeaseLookup(revoked.entry.key);
    expect(r2.caches.lease!.lookup(revoked.entry.key)).to.equal(undefined);
    expect([...r2.renewing()]).to.deep.equal([recorded.entry.key]);
    r1.sync.stop();
  });
  it('a cache-clear of everything through any replica: every lease record goes from L2, also those whose recorder is gone, and the owner renews none of them', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const recorder = replica('recorder');
    const clearer = replica('clearer');
    owner.caches.fleetOwnerChanged(true);
    const a = recorder.createToken(600);
    const b = owner.createToken(600);
    await settle();
    stream.deliver();
    await settle();
    expect([...owner.renewing()].sort()).to.deep.equal([a.entry.key, b.entry.key].sort());
    stream.replicas.delete('recorder'); // it died: no L1 evicts its lease
    clearer.caches.cacheClear({ type: 'all' });
    await settle();
    stream.deliver();
    await settle();
    expect(await store.getLeases([a.entry.key, b.entry.key])).to.deep.equal([undefined, undefined]);
    expect([...owner.renewing()], 'leases the owner renews after the clear').to.deep.equal([]);
    await clearer.caches.sharedLeaseLookup(a.entry.key);
    expect(clearer.caches.lease!.lookup(a.entry.key)).to.equal(undefined);
  });
  it('a replica that heard a revocation before the replicas that remove the shared records did: it does not take the revoked token\'s lease from L2 meanwhile (counted as raced)', async () => {
    const { store, stream, replica } = fleet();
    const owner = replica('owner');
    const recorder = replica('recorder');
    const early = replica('early');
    owner.caches.fleetOwnerChanged(true);
    const a = recorder.createToken(600);
    await settle();
    stream.deliver();
    await settle();
    // Only `early` hears the revocation now; the owner and the recorder, which delete the record, later.
    const late = new Map([['owner', owner.caches], ['recorder', recorder.caches]]);
    for (const id of late.keys()) stream.replicas.delete(id);
    replica('revoker').caches.revoked('token', a.token);
    await settle();
    stream.deliver();
    await settle();
    expect(await store.getLeases([a.entry.key]), 'the record, still in L2').to.have.length(1).and.not.deep.equal([undefined]);
    await early.caches.sharedLeaseLookup(a.entry.key);
    expect(early.caches.lease!.lookup(a.entry.key), 'taken from L2 after the revocation').to.equal(undefined);
    // Then they hear it (and then the others hear what they tell): the record goes.
    const revocation = stream.log.find((e) => e.change.type === 'revoked')!;
    for (const [id, c] of late) {
      stream.replicas.set(id, c);
      c.applyFleetEvent({ origin: revocation.from, atMs: Date.now(), change: revocation.change });
    }
    await settle();
    stream.deliver();
    await settle();
    expect(await store.getLeases([a.entry.key])).to.deep.equal([undefined]);
  });
});
