// The shared store's lease listing and lease rewrite (issue 16 step 5: a new owner renews every
// lease the fleet tracks; after a renewal it rewrites the record's TTL), part of the store contract:
// run against the in-process store and the Redis store on a real redis-server
// (test/support/shared-stores.ts's forEachStore; Redis: SCAN MATCH, then MGET).
// (No Vault is involved: these suites do not run per Vault backend.)
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { LeaseEntry } from '../../../src/cache/lease-cache.js';
import { SEAL_DOMAINS } from '../../../src/crypto/keyring.js';
import { Sealer } from '../../../src/crypto/sealer.js';
import { encodeLeaseEntry, type LeaseRenewal } from '../../../src/fleet/schema.js';
import type { SharedLease } from '../../../src/fleet/shared-store.js';
import { fleetKey, forEachStore, type StoreFixture } from '../../support/shared-stores.js';

const rnd = (): string => randomBytes(9).toString('base64url');

function lease(): Required<SharedLease> {
  const entry: LeaseEntry = {
    key: randomBytes(32).toString('base64url'),
    kind: 'lease',
    response: { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(`{"data":{"password":"${rnd()}"}}`), storedAtMs: 1_765_000_000_456 },
    ownerHash: randomBytes(32).toString('hex'),
    leaseId: `database/creds/app/${rnd()}`,
    requestPath: 'database/creds/app',
    namespace: '',
  };
  const renewal: LeaseRenewal = { renewToken: `hvs.${rnd()}`, ttlSeconds: 3600, recordedAtMs: 1_765_000_000_789 };
  return { entry, renewal };
}

/** What a lease is, as comparable data (bodies as hex). */
function shape(l: SharedLease | undefined): unknown {
  return l && JSON.parse(JSON.stringify(l, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : (v as { type?: string; data?: number[] })?.type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v)));
}

function byKey(ls: readonly SharedLease[]): unknown[] {
  return [...ls].sort((a, b) => a.entry.key.localeCompare(b.entry.key)).map(shape);
}

const TTL = 60_000;

forEachStore('fleet: shared store (L2) contract, leases: listLeases and updateLease', function (kind, fixture) {
  this.timeout(60_000);
  let f: StoreFixture;
  beforeEach(() => {
    f = fixture();
  });

  it('listLeases: every lease record of this prefix, exactly (withRenewal: with the renewal token; else without); no static or auto-auth record, no other fleet\'s lease', async () => {
    const s = f.open();
    expect(await s.listLeases()).to.deep.equal([]);
    const mine = [lease(), lease(), lease()];
    await s.putLeases(mine.slice(0, 2), TTL);
    await s.putLeases([mine[2]!], TTL);
    await s.putStatic([{ path: 'secret/data/x', tokens: [], versionTokens: {}, versions: {}, headerNamespaces: [] }], TTL);
    await s.putAutoAuthToken({ token: 'hvs.auto', leaseDurationSeconds: 60, renewable: true, obtainedAtMs: 1 }, TTL);
    const theirs = await f.openFleet(`${f.prefix}other:`);
    await theirs.putLeases([lease()], TTL);
    const withRenewal = await s.listLeases({ withRenewal: true });
    expect(byKey(withRenewal)).to.deep.equal(byKey(mine));
    const plain = await s.listLeases();
    expect(plain.map((l) => Object.keys(l))).to.deep.equal([['entry'], ['entry'], ['entry']]);
    expect(JSON.stringify(shape(plain[0]))).to.not.include('hvs.');
    expect(f.refusals).to.deep.equal([]);
  });

  it('listLeases over more records than one MGET batch (1,203): each exactly once', async () => {
    const s = f.open();
    const all = Array.from({ length: 1203 }, () => lease());
    for (let i = 0; i < all.length; i += 300) await s.putLeases(all.slice(i, i + 300), TTL);
    const listed = await s.listLeases({ withRenewal: true });
    expect(listed).to.have.length(1203);
    expect(new Set(listed.map((l) => l.entry.key)).size).to.equal(1203);
    expect(new Set(listed.map((l) => l.entry.key))).to.deep.equal(new Set(all.map((l) => l.entry.key)));
  });

  it('listLeases refuses what reads refuse: a flipped byte, two swapped values, a misfiled or undecodable record, another key\'s value — never listed, deleted, counted; the good ones are', async () => {
    const s = f.open();
    const good = lease();
    const [flipped, swapA, swapB, misfiled, undecodable, stranger] = Array.from({ length: 6 }, () => lease());
    await s.putLeases([good, flipped!, swapA!, swapB!], TTL);
    const name = (l: SharedLease): string => s.names('lease', l.entry.key)[0]!;
    const sealer = new Sealer([f.key], { domain: SEAL_DOMAINS.fleet });
    const bad = Buffer.from((await f.raw(name(flipped!)))!);
    bad[40]! ^= 0x01;
    await f.setRaw(name(flipped!), bad, TTL);
    const [va, vb] = [await f.raw(name(swapA!)), await f.raw(name(swapB!))];
    await f.setRaw(name(swapA!), vb!, TTL);
    await f.setRaw(name(swapB!), va!, TTL);
    // Sealed properly for its name (someone holding the key), naming another lease.
    await f.setRaw(name(misfiled!), sealer.seal(name(misfiled!), encodeLeaseEntry({ ...misfiled!.entry, key: good.entry.key }, misfiled!.renewal)), TTL);
    await f.setRaw(name(undecodable!), sealer.seal(name(undecodable!), Buffer.from([0xff, 0xff, 0xff])), TTL);
    await f.setRaw(name(stranger!), new Sealer([fleetKey()], { domain: SEAL_DOMAINS.fleet }).seal(name(stranger!), encodeLeaseEntry(stranger!.entry, stranger!.renewal)), TTL);

    const listed = await s.listLeases({ withRenewal: true });
    expect(byKey(listed)).to.deep.equal(byKey([good]));
    expect(f.refusals.map((r) => r.kind)).to.deep.equal(Array(6).fill('lease'));
    expect(f.refusals.map((r) => r.reason).sort()).to.deep.equal(['misfiled', 'tampered', 'tampered', 'tampered', 'undecodable', 'wrong_key']);
    for (const l of [flipped, swapA, swapB, misfiled, undecodable, stranger]) expect(await f.raw(name(l!)), 'deleted').to.equal(undefined);
    expect(await f.raw(name(good))).to.be.instanceOf(Buffer);
  });

  it('listLeases during a key rotation: records under the old key are listed by a [new, old] store (moved under the new name), each once', async () => {
    const oldKey = f.key;
    const newKey = fleetKey();
    const [a, b] = [lease(), lease()];
    await f.open([oldKey]).putLeases([a], TTL);
    const both = f.open([newKey, oldKey]);
    await both.putLeases([b], TTL);
    const listed = await both.listLeases({ withRenewal: true });
    expect(byKey(listed)).to.deep.equal(byKey([a, b]));
    const [underNew, underOld] = both.names('lease', a.entry.key);
    expect(await f.raw(underOld!)).to.equal(undefined);
    expect(await f.raw(underNew!)).to.be.instanceOf(Buffer);
    expect(f.refusals).to.deep.equal([]);
  });

  it('updateLease: rewrites a record that is there (its renewal and TTL); a record deleted meanwhile is never written back; nothing is created', async () => {
    const s = f.open();
    const l = lease();
    await s.putLeases([l], 5_000);
    const [name] = s.names('lease', l.entry.key);
    expect(await s.updateLease(l.entry.key, (cur) => ({ entry: cur.entry, renewal: { ...cur.renewal!, ttlSeconds: 7200, recordedAtMs: 42 } }), 7_200_000)).to.equal(true);
    expect((await f.ttlLeft(name!))!).to.be.within(7_100_000, 7_200_000);
    const [got] = await s.getLeases([l.entry.key], { withRenewal: true });
    expect(got?.renewal).to.deep.equal({ renewToken: l.renewal.renewToken, ttlSeconds: 7200, recordedAtMs: 42 });

    // Deleted between the read and the write (an eviction racing with a renewal report).
    let calls = 0;
    const raced = await s.updateLease(l.entry.key, (cur) => {
      calls++;
      void s.deleteLeases([l.entry.key]);
      return cur;
    }, 7_200_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(raced).to.equal(false);
    expect(calls).to.equal(1);
    expect(await f.raw(name!)).to.equal(undefined);
    expect(await s.updateLease('never-written', (cur) => cur, 1000)).to.equal(false);
    expect(await f.names().then((ns) => ns.filter((n) => n.startsWith(f.prefix)))).to.deep.equal([]);
  });

  it('updateLease against a concurrent rewrite: compares, reads again, and writes over what it read last', async () => {
    const s = f.open();
    const l = lease();
    await s.putLeases([l], TTL);
    let calls = 0;
    const ok = await s.updateLease(l.entry.key, (cur) => {
      calls++;
      if (calls === 1) void s.putLeases([{ entry: l.entry, renewal: { ...l.renewal, ttlSeconds: 99 } }], TTL);
      return { entry: cur.entry, renewal: { ...cur.renewal!, recordedAtMs: 7 } };
    }, TTL);
    expect(ok).to.equal(true);
    expect(calls).to.equal(2);
    const [got] = await s.getLeases([l.entry.key], { withRenewal: true });
    expect(got?.renewal).to.deep.equal({ renewToken: l.renewal.renewToken, ttlSeconds: 99, recordedAtMs: 7 });
  });
});
