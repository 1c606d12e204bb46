// The store contract for merging one proof into a shared static record (SharedStore.updateStatic,
// a compare-and-set) and for clearing the static and lease records (clearStatic, clearLeases), on the in-process store and
// on a real redis-server (forEachStore): the write never lands over a deletion or a newer write it
// did not read, and a record it cannot open is not carried over.
import { expect } from 'chai';
import type { StaticEntry, StoredResponse } from '../../../src/cache/entry.js';
import { withProof } from '../../../src/cache/static-cache.js';
import type { StaticKey } from '../../../src/cache/static-key.js';
import type { SharedLease } from '../../../src/fleet/shared-store.js';
import { fleetKey, forEachStore } from '../../support/shared-stores.js';

const P = 'secret/data/merge';
const LATEST: StaticKey = { path: P, version: 0, header: '' };

function response(v: string): StoredResponse {
  return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ data: { data: { v } } })), storedAtMs: 1_765_000_000_000 };
}

const add = (tokenHash: string, v = 'one') => (current: StaticEntry | undefined): StaticEntry => withProof(current, LATEST, tokenHash, response(v), 3);

forEachStore('fleet store: one proof merged into a shared record (updateStatic), clearStatic', function (_kind, fixture) {
  it('proofs from two writers accumulate; the latest answer is the last one Vault gave', async () => {
    const store = fixture().open();
    expect(await store.updateStatic(P, add('h-a', 'one'), 60_000)).to.equal(true);
    expect(await store.updateStatic(P, add('h-b', 'two'), 60_000)).to.equal(true);
    const [entry] = await store.getStatic([P]);
    expect(entry!.tokens).to.deep.equal(['h-a', 'h-b']);
    expect(Buffer.from(entry!.latest!.body).toString()).to.include('"two"');
    expect(entry!.latestVersion).to.equal(3);
  });

  it('a deletion between the read and the write: the write does not land over it; it reads again and carries only its own proof', async () => {
    const store = fixture().open();
    await store.updateStatic(P, add('h-a'), 60_000);
    let calls = 0;
    const ok = await store.updateStatic(P, (current) => {
      calls++;
      // The first time, another replica removes the record (a revocation) after this one read it.
      if (calls === 1) void store.deleteStatic([P]);
      return add('h-b')(current);
    }, 60_000);
    expect(ok).to.equal(true);
    expect(calls).to.equal(2);
    const [entry] = await store.getStatic([P]);
    expect(entry!.tokens).to.deep.equal(['h-b']);
  });

  it('gives up after its attempts when every write loses the race (nothing written over a newer write)', async () => {
    const f = fixture();
    const store = f.open();
    const other = f.open();
    await store.updateStatic(P, add('h-a'), 60_000);
    let n = 0;
    const ok = await store.updateStatic(P, (current) => {
      n++;
      // Another replica writes the record between this one's read and its write (sent first).
      void other.putStatic([add(`h-other-${n}`)(undefined)], 60_000);
      return add('h-b')(current);
    }, 60_000, 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(ok).to.equal(false);
    expect(n).to.equal(3);
    const [entry] = await store.getStatic([P]);
    expect(entry!.tokens).to.deep.equal(['h-other-3']);
  });

  it('a record that does not open (a flipped byte) is refused, counted and replaced by the new proof alone', async () => {
    const f = fixture();
    const store = f.open();
    await store.updateStatic(P, add('h-a'), 60_000);
    const [name] = store.names('static', P);
    const raw = (await f.raw(name!))!;
    raw[raw.length - 3] = raw[raw.length - 3]! ^ 0x01;
    await f.setRaw(name!, raw, 60_000);
    expect(await store.updateStatic(P, add('h-b'), 60_000)).to.equal(true);
    expect(f.refusals).to.deep.equal([{ kind: 'static', reason: 'tampered' }]);
    const [entry] = await store.getStatic([P]);
    expect(entry!.tokens).to.deep.equal(['h-b']);
  });

  it('a record under an older key is not carried over (only the new proof, under the newest key)', async () => {
    const f = fixture();
    const old = f.open();
    await old.updateStatic(P, add('h-a'), 60_000);
    const rotated = f.open([fleetKey(), f.key]);
    expect(await rotated.updateStatic(P, add('h-b'), 60_000)).to.equal(true);
    const [entry] = await rotated.getStatic([P]);
    expect(entry!.tokens).to.deep.equal(['h-b']);
    // One name holds it: the older key's went in the same script.
    const held = (await f.names()).filter((n) => n.startsWith(`${f.prefix}s:`));
    expect(held).to.have.length(1);
  });

  it('clearStatic removes every static record of this prefix and nothing else (the auto-auth token stays)', async () => {
    const store = fixture().open();
    for (const p of ['secret/data/a', 'secret/data/b', 'kv/c']) await store.updateStatic(p, (c) => withProof(c, { ...LATEST, path: p }, 'h-a', response('x')), 60_000);
    await store.putAutoAuthToken({ token: 'hvs.auto', leaseDurationSeconds: 60, renewable: true, obtainedAtMs: Date.now() }, 60_000);
    expect(await store.clearStatic()).to.equal(3);
    expect(await store.getStatic(['secret/data/a', 'secret/data/b', 'kv/c'])).to.deep.equal([undefined, undefined, undefined]);
    expect((await store.getAutoAuthToken())?.token).to.equal('hvs.auto');
  });

  it('clearLeases removes every lease record of this prefix and nothing else (static records and the auto-auth token stay)', async () => {
    const store = fixture().open();
    const lease = (key: string): SharedLease => ({ entry: { key, kind: 'token', response: response('x'), requestPath: 'auth/token/create', namespace: '' } as SharedLease['entry'] });
    await store.putLeases([lease('k1'), lease('k2')], 60_000);
    await store.updateStatic(P, (c) => withProof(c, LATEST, 'h-a', response('x')), 60_000);
    await store.putAutoAuthToken({ token: 'hvs.auto', leaseDurationSeconds: 60, renewable: true, obtainedAtMs: Date.now() }, 60_000);
    expect(await store.clearLeases()).to.equal(2);
    expect(await store.getLeases(['k1', 'k2'])).to.deep.equal([undefined, undefined]);
    expect((await store.getStatic([P]))[0]?.tokens).to.deep.equal(['h-a']);
    expect((await store.getAutoAuthToken())?.token).to.equal('hvs.auto');
  });
});
