// The fleet's shared store (L2) contract, run against the in-process store and the Redis store on a
// real redis-server (test/support/shared-stores.ts's forEachStore): exact round trips, misses,
// batches, deletes, TTLs, a clear that keeps to its prefix, key rotation, and a stored value that
// was tampered with, swapped, misfiled or sealed under an unknown key is never returned — it is
// refused, deleted and counted. After all that, no name and no value in the space shows a token,
// a secret or a path. Redis only: Redis killed fails every call fast with a named error; Redis
// restarted empty answers misses and takes writes again.
// (No Vault is involved: these suites do not run per Vault backend.)
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { StaticEntry, StoredResponse } from '../../../src/cache/entry.js';
import type { LeaseEntry } from '../../../src/cache/lease-cache.js';
import { hashToken } from '../../../src/cache/token-hash.js';
import { SEAL_DOMAINS } from '../../../src/crypto/keyring.js';
import { Sealer } from '../../../src/crypto/sealer.js';
import { encodeLeaseEntry, encodeStaticEntry, type LeaseRenewal, type SharedAutoAuthToken } from '../../../src/fleet/schema.js';
import { RECORD_KINDS, SharedStoreUnavailable, type SharedLease } from '../../../src/fleet/shared-store.js';
import { sleep, waitFor } from '../../support/ports.js';
import { fleetKey, forEachStore, type StoreFixture, type StoreKind } from '../../support/shared-stores.js';

// --- test data: every token, secret value, path and key written is remembered, so the leak scan can look for it ---

const SENSITIVE = new Set<string>();
function remember(s: string): string {
  SENSITIVE.add(s);
  return s;
}
const rnd = (): string => randomBytes(9).toString('base64url');
function rawToken(): string {
  return remember(`hvs.CAES${randomBytes(24).toString('base64url')}`);
}
function tokenHash(): string {
  // The hash of a client token: what an entry holds instead of the token. Sealed like the rest.
  return remember(hashToken(rawToken()));
}
/** Every byte value plus a JSON secret: bodies must come back byte for byte. */
function body(secret: string): Buffer {
  return Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(`{"data":{"data":{"password":"${secret}"}}}`)]);
}
function response(secret: string, storedAtMs: number, status = 200): StoredResponse {
  return { status, headers: [['content-type', 'application/json'], ['x-vault-note', 'caf\u00e9']], body: body(secret), storedAtMs };
}
function staticEntry(path = remember(`secret/data/team-${rnd()}/db`)): StaticEntry {
  remember(path);
  return {
    path,
    tokens: [tokenHash(), tokenHash()],
    versionTokens: { 3: [tokenHash()] },
    latest: response(remember(`s3cr3t-${rnd()}`), 1_765_000_000_123),
    latestVersion: 4,
    versions: { 3: response(remember(`older-s3cr3t-${rnd()}`), 1_765_000_000_000) },
    headerNamespaces: ['ns1/'],
  };
}
function lease(): SharedLease {
  const entry: LeaseEntry = {
    key: remember(randomBytes(32).toString('base64url')),
    kind: 'lease',
    response: response(remember(`db-password-${rnd()}`), 1_765_000_000_456),
    ownerHash: tokenHash(),
    leaseId: remember(`database/creds/app-${rnd()}/${rnd()}`),
    requestPath: remember(`database/creds/app-${rnd()}`),
    namespace: '',
  };
  const renewal: LeaseRenewal = { renewToken: rawToken(), ttlSeconds: 3600, recordedAtMs: 1_765_000_000_789 };
  return { entry, renewal };
}
function autoAuth(): SharedAutoAuthToken {
  return { token: rawToken(), leaseDurationSeconds: 2764800, renewable: true, obtainedAtMs: 1_765_000_001_000 };
}

/** Bodies come back as views (Buffer or Uint8Array): compare them as bytes. */
function bytesOf(x: unknown): unknown {
  if (x instanceof Uint8Array) return `bytes:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`;
  if (Array.isArray(x)) return x.map(bytesOf);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, bytesOf(v)]));
  return x;
}

const TTL = 60_000;

/** `it` for the Redis store only (what only a real server can do: die, restart, redis-cli). */
function redisOnly(kind: StoreKind): Mocha.TestFunction | ((title: string, fn?: Mocha.AsyncFunc) => void) {
  return kind === 'redis' ? it : () => undefined;
}

forEachStore('fleet: shared store (L2) contract', function (kind, fixture) {
  this.timeout(30_000);
  let f: StoreFixture;
  beforeEach(() => {
    f = fixture();
  });

  it('round trip: a static entry, a lease entry with its renewal and the auto-auth token come back exactly (bodies byte for byte)', async () => {
    const s = f.open();
    const e = staticEntry();
    const l = lease();
    const a = autoAuth();
    await s.putStatic([e], TTL);
    await s.putLeases([l], TTL);
    await s.putAutoAuthToken(a, TTL);
    const [gotE] = await s.getStatic([e.path]);
    expect(bytesOf(gotE)).to.deep.equal(bytesOf(e));
    const [gotL] = await s.getLeases([l.entry.key], { withRenewal: true });
    expect(bytesOf(gotL)).to.deep.equal(bytesOf(l));
    expect(await s.getAutoAuthToken()).to.deep.equal(a);
    expect(f.refusals).to.deep.equal([]);
  });

  it('a lease read without withRenewal has no renewal: a serving replica never holds the raw renewal token', async () => {
    const s = f.open();
    const l = lease();
    await s.putLeases([l], TTL);
    const [got] = await s.getLeases([l.entry.key]);
    expect(got).to.have.keys(['entry']);
    expect(bytesOf(got!.entry)).to.deep.equal(bytesOf(l.entry));
    expect(JSON.stringify(got)).not.to.include(l.renewal!.renewToken);
  });

  it('miss: what was never written is undefined for every kind; an empty batch asks nothing', async () => {
    const s = f.open();
    expect(await s.getStatic(['secret/data/never'])).to.deep.equal([undefined]);
    expect(await s.getLeases(['never'])).to.deep.equal([undefined]);
    expect(await s.getAutoAuthToken()).to.equal(undefined);
    expect(await s.getStatic([])).to.deep.equal([]);
    expect(f.refusals).to.deep.equal([]);
  });

  it('overwrite: the second write wins, and the record lives under one name', async () => {
    const s = f.open();
    const first = staticEntry();
    const second = { ...staticEntry(first.path), tokens: [tokenHash()] };
    await s.putStatic([first], TTL);
    await s.putStatic([second], TTL);
    expect(bytesOf((await s.getStatic([first.path]))[0])).to.deep.equal(bytesOf(second));
    const mine = (await f.names()).filter((n) => n.startsWith(f.prefix));
    expect(mine).to.deep.equal(s.names('static', first.path));
  });

  it('batch: one read of 5 paths, 2 of them missing, answers in order (Redis: in one MGET)', async () => {
    const s = f.open();
    const es = [staticEntry(), staticEntry(), staticEntry()];
    await s.putStatic(es, TTL);
    const ask = [es[0]!.path, 'secret/data/missing-1', es[1]!.path, 'secret/data/missing-2', es[2]!.path];
    const before = await f.server?.commandCalls();
    const got = await s.getStatic(ask);
    const after = await f.server?.commandCalls();
    expect(got.map(bytesOf)).to.deep.equal([bytesOf(es[0]), undefined, bytesOf(es[1]), undefined, bytesOf(es[2])]);
    if (before && after) {
      expect((after.mget ?? 0) - (before.mget ?? 0), 'MGETs for one batch read').to.equal(1);
      expect((after.get ?? 0) - (before.get ?? 0), 'GETs for one batch read').to.equal(0);
    }
  });

  it('delete: deleted entries are misses, the others stay; deleting what is absent is fine', async () => {
    const s = f.open();
    const [a, b, c] = [staticEntry(), staticEntry(), staticEntry()];
    const [la, lb] = [lease(), lease()];
    await s.putStatic([a!, b!, c!], TTL);
    await s.putLeases([la!, lb!], TTL);
    await s.putAutoAuthToken(autoAuth(), TTL);
    await s.deleteStatic([a!.path, c!.path, 'secret/data/never']);
    await s.deleteLeases([lb!.entry.key]);
    await s.deleteAutoAuthToken();
    expect((await s.getStatic([a!.path, b!.path, c!.path])).map((e) => e?.path)).to.deep.equal([undefined, b!.path, undefined]);
    expect((await s.getLeases([la!.entry.key, lb!.entry.key])).map((l) => l?.entry.key)).to.deep.equal([la!.entry.key, undefined]);
    expect(await s.getAutoAuthToken()).to.equal(undefined);
  });

  it('TTL: every record is written with one (PX), and is a miss once it ran out', async () => {
    const s = f.open();
    const e = staticEntry();
    const l = lease();
    await s.putStatic([e], 400);
    await s.putLeases([l], 400);
    await s.putAutoAuthToken(autoAuth(), 400);
    const names = (await f.names()).filter((n) => n.startsWith(f.prefix));
    expect(names).to.have.length(3);
    for (const n of names) {
      const left = await f.ttlLeft(n);
      expect(left, `ttl of ${n}`).to.be.within(1, 400);
    }
    expect((await s.getStatic([e.path]))[0]?.path).to.equal(e.path);
    await waitFor('the records to expire', async () => ((await s.getStatic([e.path]))[0] === undefined ? true : undefined), 5_000, 50);
    expect(await s.getLeases([l.entry.key])).to.deep.equal([undefined]);
    expect(await s.getAutoAuthToken()).to.equal(undefined);
    expect((await f.names()).filter((n) => n.startsWith(f.prefix))).to.deep.equal([]);
    await expectRejects(s.putStatic([e], 0), RangeError);
    await expectRejects(s.putStatic([e], 1.5), RangeError);
  });

  it("clear(): removes this store's records only — another fleet's keys, and other keys under our prefix (the owner lease), survive", async () => {
    const s = f.open();
    const foreignPrefix = `other-fleet-${rnd()}:`;
    const foreign = [`${foreignPrefix}s:abc`, `${foreignPrefix}owner`, `${f.prefix.slice(0, -1)}x:s:lookalike`];
    const ours = `${f.prefix}owner`;
    for (const n of [...foreign, ours]) await f.setRaw(n, Buffer.from('not ours to clear'), TTL);
    // The same path written by another fleet (same key, other prefix) is another record.
    const theirs = await f.openFleet(foreignPrefix);
    const e = staticEntry();
    await theirs.putStatic([e], TTL);
    await s.putStatic([e, staticEntry()], TTL);
    await s.putLeases([lease()], TTL);
    await s.putAutoAuthToken(autoAuth(), TTL);
    expect(await s.clear()).to.equal(4);
    expect(await s.getStatic([e.path])).to.deep.equal([undefined]);
    for (const n of [...foreign, ours]) expect((await f.raw(n))?.toString(), n).to.equal('not ours to clear');
    expect(bytesOf((await theirs.getStatic([e.path]))[0]), "the other fleet's record of the same path").to.deep.equal(bytesOf(e));
  });

  it('rotation: keys [old] → [new, old] reads move records under the new key (TTL kept) → [new] still reads them; a record never read under [new, old] is a miss', async () => {
    const oldKey = f.key;
    const newKey = fleetKey();
    const [moved, unmoved, written] = [staticEntry(), staticEntry(), staticEntry()];
    const l = lease();
    await f.open([oldKey]).putStatic([moved!, unmoved!], TTL);
    await f.open([oldKey]).putLeases([l], TTL);
    await f.open([oldKey]).putAutoAuthToken(autoAuth(), TTL);

    const both = f.open([newKey, oldKey]);
    const [underNew, underOld] = both.names('static', moved!.path);
    expect(await f.raw(underOld!)).to.be.instanceOf(Buffer);
    expect(await f.raw(underNew!)).to.equal(undefined);
    const ttlBefore = (await f.ttlLeft(underOld!))!;

    // Step 2 of a rotation: the new key first. A read finds the old record and moves it.
    expect(bytesOf((await both.getStatic([moved!.path]))[0])).to.deep.equal(bytesOf(moved));
    expect(bytesOf((await both.getLeases([l.entry.key], { withRenewal: true }))[0])).to.deep.equal(bytesOf(l));
    expect(await both.getAutoAuthToken()).to.not.equal(undefined);
    expect(await f.raw(underOld!), 'the old name is deleted').to.equal(undefined);
    expect(await f.raw(underNew!), 'the record is under the new name').to.be.instanceOf(Buffer);
    const ttlAfter = (await f.ttlLeft(underNew!))!;
    expect(ttlAfter, 'the moved record keeps the time it had left').to.be.within(1, ttlBefore);
    // A write under [new, old] goes under the new name.
    await both.putStatic([written!], TTL);
    expect(await f.raw(both.names('static', written!.path)[0]!)).to.be.instanceOf(Buffer);

    // Step 3: the old key is gone from the ring.
    const onlyNew = f.open([newKey]);
    const got = await onlyNew.getStatic([moved!.path, unmoved!.path, written!.path]);
    expect(got.map(bytesOf)).to.deep.equal([bytesOf(moved), undefined, bytesOf(written)]);
    expect(bytesOf((await onlyNew.getLeases([l.entry.key], { withRenewal: true }))[0])).to.deep.equal(bytesOf(l));
    expect(await onlyNew.getAutoAuthToken()).to.not.equal(undefined);
    // And the old key alone no longer reads what moved (its name under the old key is gone).
    expect((await f.open([oldKey]).getStatic([moved!.path]))[0]).to.equal(undefined);
    expect(f.refusals).to.deep.equal([]);
  });

  it('compare-and-move (rotation): a record deleted or rewritten between the read and the move is not brought back nor overwritten; the TTL left is kept', async () => {
    const sp = f.space;
    const n = (s: string): string => `${f.prefix}s:move-${s}`;
    const v = (s: string): Buffer => Buffer.from(`value-${s}`);
    // Deleted meanwhile (an eviction, a revocation): nothing comes back under the new name.
    expect(await sp.move(n('old1'), v('read'), n('new1'), v('moved'), [])).to.equal(false);
    expect(await f.raw(n('new1'))).to.equal(undefined);
    // Rewritten meanwhile under the old name: neither copied nor deleted.
    await sp.write([{ name: n('old2'), value: v('rewritten'), ttlMs: TTL }], []);
    expect(await sp.move(n('old2'), v('read'), n('new2'), v('moved'), [])).to.equal(false);
    expect((await f.raw(n('old2')))?.toString()).to.equal('value-rewritten');
    expect(await f.raw(n('new2'))).to.equal(undefined);
    // A newer write under the new name wins; the old name and the others go.
    await sp.write([{ name: n('old3'), value: v('read'), ttlMs: TTL }, { name: n('new3'), value: v('newer'), ttlMs: TTL }, { name: n('older3'), value: v('x'), ttlMs: TTL }], []);
    expect(await sp.move(n('old3'), v('read'), n('new3'), v('moved'), [n('older3')])).to.equal(true);
    expect((await f.raw(n('new3')))?.toString()).to.equal('value-newer');
    expect(await f.raw(n('old3'))).to.equal(undefined);
    expect(await f.raw(n('older3'))).to.equal(undefined);
    // The ordinary case: moved, with the time it had left.
    await sp.write([{ name: n('old4'), value: v('read'), ttlMs: 5_000 }], []);
    expect(await sp.move(n('old4'), v('read'), n('new4'), v('moved'), [])).to.equal(true);
    expect((await f.raw(n('new4')))?.toString()).to.equal('value-moved');
    expect(await f.ttlLeft(n('new4'))).to.be.within(1, 5_000);
    expect(await f.raw(n('old4'))).to.equal(undefined);
  });

  it('a flipped byte anywhere in a stored value is never returned: refused (malformed, wrong_key or tampered), deleted and counted', async () => {
    const s = f.open();
    const e = staticEntry();
    await s.putStatic([e], TTL);
    const [name] = s.names('static', e.path);
    const sealed = (await f.raw(name!))!;
    // version byte, key id, nonce, ciphertext (a body byte), the tag's last byte.
    const cases: Array<[number, string]> = [[0, 'malformed'], [2, 'wrong_key'], [8, 'tampered'], [300, 'tampered'], [sealed.length - 1, 'tampered']];
    for (const [at, reason] of cases) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      await f.setRaw(name!, bad, TTL);
      expect(await s.getStatic([e.path]), `byte ${at} flipped`).to.deep.equal([undefined]);
      expect(await f.raw(name!), `byte ${at} flipped: deleted`).to.equal(undefined);
      expect(f.refusals.at(-1)).to.deep.equal({ kind: 'static', reason });
    }
    expect(f.refusals).to.have.length(cases.length);
    // The intact value is still good (it was the flip that was refused).
    await f.setRaw(name!, sealed, TTL);
    expect((await s.getStatic([e.path]))[0]?.path).to.equal(e.path);
  });

  it('two swapped values (two paths, a static and a lease record, one path in two fleets) are never returned: refused, deleted, counted', async () => {
    const s = f.open();
    const [a, b] = [staticEntry(), staticEntry()];
    const l = lease();
    await s.putStatic([a!, b!], TTL);
    await s.putLeases([l], TTL);
    const [na] = s.names('static', a!.path);
    const [nb] = s.names('static', b!.path);
    const [nl] = s.names('lease', l.entry.key);
    const [va, vb, vl] = [await f.raw(na!), await f.raw(nb!), await f.raw(nl!)];
    await f.setRaw(na!, vb!, TTL);
    await f.setRaw(nb!, va!, TTL);
    expect(await s.getStatic([a!.path, b!.path])).to.deep.equal([undefined, undefined]);
    await f.setRaw(nl!, va!, TTL);
    expect(await s.getLeases([l.entry.key])).to.deep.equal([undefined]);
    // The same path, the same key, another fleet's prefix: the prefix is in the additional data.
    const otherFleet = `${f.prefix.slice(0, -1)}-other:`;
    const theirs = await f.openFleet(otherFleet);
    const [theirName] = theirs.names('static', a!.path);
    expect(theirName).to.equal(`${otherFleet}${na!.slice(f.prefix.length)}`);
    await f.setRaw(theirName!, va!, TTL);
    expect(await theirs.getStatic([a!.path])).to.deep.equal([undefined]);
    expect(f.refusals).to.deep.equal([
      { kind: 'static', reason: 'tampered' }, { kind: 'static', reason: 'tampered' },
      { kind: 'lease', reason: 'tampered' }, { kind: 'static', reason: 'tampered' },
    ]);
    for (const n of [na, nb, nl, theirName]) expect(await f.raw(n!), `${n} deleted`).to.equal(undefined);
  });

  it('a value that opens but is not a record (undecodable) or names another path than its name (misfiled) is refused, deleted, counted', async () => {
    const s = f.open();
    // Someone holding the key (a bug in a writer, or a forger): sealed properly, wrong contents.
    const sealer = new Sealer([f.key], { domain: SEAL_DOMAINS.fleet });
    const a = staticEntry();
    const b = staticEntry();
    const l = lease();
    const [na] = s.names('static', a.path);
    const [nl] = s.names('lease', l.entry.key);
    await f.setRaw(na!, sealer.seal(na!, encodeStaticEntry(b)), TTL);
    expect(await s.getStatic([a.path])).to.deep.equal([undefined]);
    await f.setRaw(nl!, sealer.seal(nl!, encodeLeaseEntry({ ...l.entry, key: 'another-key' }, l.renewal)), TTL);
    expect(await s.getLeases([l.entry.key], { withRenewal: true })).to.deep.equal([undefined]);
    await f.setRaw(na!, sealer.seal(na!, Buffer.from([0xff, 0xff, 0xff, 0xff])), TTL);
    expect(await s.getStatic([a.path])).to.deep.equal([undefined]);
    expect(f.refusals).to.deep.equal([
      { kind: 'static', reason: 'misfiled' }, { kind: 'lease', reason: 'misfiled' }, { kind: 'static', reason: 'undecodable' },
    ]);
    expect(await f.raw(na!)).to.equal(undefined);
    expect(await f.raw(nl!)).to.equal(undefined);
  });

  it('a value sealed under a key this store does not hold is refused as wrong_key (an older key dropped too early), never served', async () => {
    const stranger = f.open([fleetKey()]);
    const s = f.open();
    const e = staticEntry();
    // Written by a replica with another key under the name our key gives the path.
    const [name] = s.names('static', e.path);
    await f.setRaw(name!, new Sealer([fleetKey()], { domain: SEAL_DOMAINS.fleet }).seal(name!, encodeStaticEntry(e)), TTL);
    expect(await s.getStatic([e.path])).to.deep.equal([undefined]);
    expect(f.refusals).to.deep.equal([{ kind: 'static', reason: 'wrong_key' }]);
    // And a replica with another key names the path differently: it simply misses.
    await s.putStatic([e], TTL);
    expect(await stranger.getStatic([e.path])).to.deep.equal([undefined]);
  });

  it('leak scan: after writing every kind of record, no name and no value anywhere in the space shows a token, token hash, secret, path, lease id or lease key', async () => {
    const s = f.open();
    await s.putStatic([staticEntry(), staticEntry()], TTL);
    await s.putLeases([lease(), lease()], TTL);
    await s.putAutoAuthToken(autoAuth(), TTL);
    const names = await f.names();
    if (kind === 'redis') {
      // redis-cli --scan sees what the client's SCAN sees.
      const cli = (await f.server!.cli('--scan')).split('\n').filter(Boolean);
      expect([...cli].sort()).to.deep.equal([...names].sort());
    }
    const record = new RegExp(`^vxp-t\\d+:(${Object.values(RECORD_KINDS).join('|')})[A-Za-z0-9_-]{43}$`);
    let records = 0;
    let bytes = 0;
    const needles = [...SENSITIVE].map((s) => Buffer.from(s));
    expect(needles.length, 'sensitive strings written by this suite').to.be.greaterThan(50);
    for (const n of names) {
      for (const needle of SENSITIVE) expect(n.includes(needle), `name ${n} shows ${needle.slice(0, 12)}…`).to.equal(false);
      const value = await f.raw(n);
      if (!value) continue; // expired meanwhile
      bytes += value.length;
      for (const needle of needles) expect(value.includes(needle), `value of ${n} shows a remembered string`).to.equal(false);
      if (!record.test(n)) continue; // the clear test's foreign keys
      records++;
      expect(await f.ttlLeft(n), `${n} has a TTL`).to.be.greaterThan(0);
    }
    expect(records).to.be.greaterThan(5);
    process.stdout.write(`      (${kind}: ${names.length} names, ${records} records, ${bytes} value bytes scanned; ${needles.length} remembered strings, none found)\n`);
  });

  redisOnly(kind)('Redis hung (SIGSTOP, connection open): a read and a write reject with SharedStoreUnavailable once the command timeout passes, never later; resumed, both work again', async () => {
    const s = f.open();
    const e = staticEntry();
    await s.putStatic([e], TTL);
    const limitMs = f.redis!.commandTimeoutMs;
    f.server!.pause();
    try {
      const began = performance.now();
      const settled = await Promise.all([s.getStatic([e.path]), s.putStatic([staticEntry()], TTL)].map((p) => p.then(() => undefined, (x: unknown) => x)));
      const ms = performance.now() - began;
      for (const err of settled) expect(err).to.be.instanceOf(SharedStoreUnavailable);
      expect(ms, 'settled by the command timeout (+1 s of slack), not left hanging').to.be.below(limitMs + 1_000);
      process.stdout.write(`      (hung Redis: both calls rejected after ${Math.round(ms)} ms; command timeout ${limitMs} ms)\n`);
    } finally {
      f.server!.resume();
    }
    await waitFor('answers again', async () => ((await s.getStatic([e.path]).catch(() => undefined))?.[0] ? true : undefined), 10_000, 50);
    expect(bytesOf((await s.getStatic([e.path]))[0])).to.deep.equal(bytesOf(e));
    expect(f.refusals).to.deep.equal([]);
  });

  redisOnly(kind)('Redis killed: every call rejects at once with SharedStoreUnavailable naming Redis (no hang, no unhandled rejection); restarted empty: misses, then writes and reads work again', async () => {
    const s = f.open();
    const e = staticEntry();
    await s.putStatic([e], TTL);
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown): void => {
      unhandled.push(r);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await f.server!.kill();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['getStatic', () => s.getStatic([e.path])],
        ['putStatic', () => s.putStatic([e], TTL)],
        ['deleteStatic', () => s.deleteStatic([e.path])],
        ['getLeases', () => s.getLeases(['k'])],
        ['putAutoAuthToken', () => s.putAutoAuthToken(autoAuth(), TTL)],
        ['getAutoAuthToken', () => s.getAutoAuthToken()],
        ['clear', () => s.clear()],
      ];
      let slowestMs = 0;
      for (const [what, call] of calls) {
        const began = performance.now();
        const err = await call().then(() => undefined, (x: unknown) => x);
        const ms = performance.now() - began;
        expect(err, `${what} while Redis is down`).to.be.instanceOf(SharedStoreUnavailable);
        expect((err as Error).message).to.match(/^fleet store: \w+ at redis:\/\/127\.0\.0\.1:\d+\/? failed: /);
        expect(ms, `${what} settles within the command timeout, not later`).to.be.below(f.redis!.commandTimeoutMs);
        slowestMs = Math.max(slowestMs, ms);
      }
      process.stdout.write(`      (Redis killed: ${calls.length} calls rejected, the slowest after ${slowestMs.toFixed(1)} ms)\n`);
      await f.server!.restart({ keepData: false });
      await waitFor('the client to reconnect', () => (f.redis!.isUp ? true : undefined), 10_000, 20);
      expect(await s.getStatic([e.path]), 'an empty Redis: a miss').to.deep.equal([undefined]);
      await s.putStatic([e], TTL);
      expect(bytesOf((await s.getStatic([e.path]))[0])).to.deep.equal(bytesOf(e));
      await sleep(50);
      expect(unhandled).to.deep.equal([]);
      expect(f.refusals).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

async function expectRejects(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  const err = await p.then(() => undefined, (x: unknown) => x);
  expect(err).to.be.instanceOf(type);
}
