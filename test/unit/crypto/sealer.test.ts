import { expect } from 'chai';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { SEAL_DOMAINS } from '../../../src/crypto/keyring.js';
import { SealError, Sealer, type SealRefusal } from '../../../src/crypto/sealer.js';
import { persistSealer } from '../../../src/persist/seal.js';

const fleet = (...keys: Buffer[]): Sealer => new Sealer(keys, { domain: SEAL_DOMAINS.fleet });

function refusal(f: () => unknown): SealRefusal | 'opened' {
  try {
    f();
    return 'opened';
  } catch (err) {
    if (err instanceof SealError) return err.reason;
    throw err;
  }
}

/**
 * The persist format as release 0.1.0 wrote it, spelled out here on purpose (not imported): if the
 * shared Sealer's derivation, layout or additional data drift, these disagree with it.
 */
const release = {
  derive(key: Buffer, binding: Buffer) {
    const salt = Buffer.from('vault-extproc persist v1');
    const nameKey = Buffer.from(hkdfSync('sha256', key, salt, 'names', 32));
    return {
      encKey: Buffer.from(hkdfSync('sha256', key, salt, 'seal', 32)),
      nameKey,
      keyId: Buffer.from(hkdfSync('sha256', key, salt, 'key id', 4)),
      binding: createHmac('sha256', nameKey).update('binding').update(binding).digest(),
    };
  },
  name(key: Buffer, kind: string, what: string): string {
    const { nameKey } = release.derive(key, Buffer.alloc(0));
    return `${kind}${createHmac('sha256', nameKey).update(kind).update('\u0000').update(what).digest('base64url')}`;
  },
  aad(name: string, bindingMac: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`vault-extproc/1\u0000${name}\u0000`), bindingMac]);
  },
  seal(key: Buffer, name: string, plain: Buffer, binding = Buffer.alloc(0)): Buffer {
    const d = release.derive(key, binding);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', d.encKey, nonce);
    c.setAAD(release.aad(name, d.binding));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([Buffer.from([1]), d.keyId, nonce, body, c.getAuthTag()]);
  },
  open(key: Buffer, name: string, sealed: Buffer, binding = Buffer.alloc(0)): Buffer {
    const d = release.derive(key, binding);
    expect(sealed[0]).to.equal(1);
    expect(sealed.subarray(1, 5).equals(d.keyId)).to.equal(true);
    const c = createDecipheriv('aes-256-gcm', d.encKey, sealed.subarray(5, 17));
    c.setAAD(release.aad(name, d.binding));
    c.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([c.update(sealed.subarray(17, sealed.length - 16)), c.final()]);
  },
};

/** Bytes sealed by src/persist/seal.ts at commit 26a58cc (release code), key = bytes 0..31. */
const GOLDEN = {
  key: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
  keyId: '191ba3f9',
  name: 'swLBk7vTtkDiWPOEEYdRAjBju_p0XHYiLFrBdOPfOOvc', // name('s', 'secret/data/golden')
  plain: '{"golden":true}',
  sealed: '01191ba3f906338a1c550f2e0180218afbdc39189584e172aa6ab349de1a382c69152395f3449113a714a93f31d53040',
  sealedBound: '01191ba3f9793a02bb0aae795e33014c0d5236467d692f309eb9f1e3745faa129f1648cb85a1c0f93198332f5b13a486', // binding 'service-account-jwt'
};

/** A stand-in for Redis: MGET, and SET + DEL of the names a rewrite makes obsolete. */
class FakeRedis {
  readonly data = new Map<string, Buffer>();
  mget(names: string[]): Array<Buffer | null> {
    return names.map((n) => this.data.get(n) ?? null);
  }
}

/** What a fleet replica does: ask every name at once, serve the newest that opens, migrate it, drop the rest. */
function readThrough(sealer: Sealer, redis: FakeRedis, kind: string, what: string): { plain?: string; refused?: SealRefusal; rewrote: boolean } {
  const names = sealer.names(kind, what);
  const found = sealer.openNewest(names, redis.mget(names));
  for (const n of found.obsolete) redis.data.delete(n);
  if (found.plain && found.rewrite) redis.data.set(names[0]!, sealer.seal(names[0]!, found.plain));
  return { ...(found.plain ? { plain: found.plain.toString() } : {}), ...(found.refused ? { refused: found.refused.reason } : {}), rewrote: found.rewrite };
}

function write(sealer: Sealer, redis: FakeRedis, kind: string, what: string, plain: string): void {
  const [newest, ...older] = sealer.names(kind, what);
  redis.data.set(newest!, sealer.seal(newest!, Buffer.from(plain)));
  for (const n of older) redis.data.delete(n);
}

describe('crypto: the sealer (AES-256-GCM, HMAC names, a keyring)', () => {
  describe('persist keeps its format: files written by earlier releases open', () => {
    it('opens bytes the release code sealed (pinned), with the same record name and key id, bound or not', () => {
      const s = persistSealer(GOLDEN.key);
      expect(s.keyId.toString('hex')).to.equal(GOLDEN.keyId);
      expect(s.name('s', 'secret/data/golden')).to.equal(GOLDEN.name);
      expect(s.open(GOLDEN.name, Buffer.from(GOLDEN.sealed, 'hex')).toString()).to.equal(GOLDEN.plain);
      const bound = persistSealer(GOLDEN.key, Buffer.from('service-account-jwt'));
      expect(bound.open(GOLDEN.name, Buffer.from(GOLDEN.sealedBound, 'hex')).toString()).to.equal(GOLDEN.plain);
      expect(refusal(() => bound.open(GOLDEN.name, Buffer.from(GOLDEN.sealed, 'hex')))).to.equal('tampered');
    });

    it('opens what the release derivation seals under random keys and names, and the release opens what it seals (a downgrade)', () => {
      for (let i = 0; i < 20; i++) {
        const key = randomBytes(32);
        const binding = i % 2 ? randomBytes(40) : Buffer.alloc(0);
        const what = `secret/data/app-${i}`;
        const s = persistSealer(key, binding);
        const name = s.name('t', what);
        expect(name).to.equal(release.name(key, 't', what));
        const plain = randomBytes(i * 7);
        expect(s.open(name, release.seal(key, name, plain, binding)).equals(plain)).to.equal(true);
        expect(release.open(key, name, s.seal(name, plain), binding).equals(plain)).to.equal(true);
      }
    });
  });

  describe('domains', () => {
    it('the same key under the fleet domain derives other names and another key id: a persist record does not open as a fleet one', () => {
      const key = randomBytes(32);
      const p = persistSealer(key);
      const f = fleet(key);
      expect(f.name('s', 'secret/data/a')).to.not.equal(p.name('s', 'secret/data/a'));
      expect(f.keyId.equals(p.keyId)).to.equal(false);
      const name = p.name('s', 'secret/data/a');
      expect(refusal(() => f.open(name, p.seal(name, Buffer.from('x'))))).to.equal('wrong_key');
    });
  });

  describe('refusals (typed, never a partial result)', () => {
    const key = randomBytes(32);
    const s = fleet(key);
    const a = s.name('s', 'secret/data/a');
    const b = s.name('s', 'secret/data/b');
    const sealed = s.seal(a, Buffer.from('value-a'));

    it('opens what it sealed; a fresh nonce each time', () => {
      expect(s.open(a, sealed).toString()).to.equal('value-a');
      const nonces = new Set<string>();
      for (let i = 0; i < 1000; i++) nonces.add(s.seal(a, Buffer.from('value-a')).subarray(5, 17).toString('hex'));
      expect(nonces.size).to.equal(1000);
    });

    it('every single byte flipped (each of 3 masks, every position of a 40-byte record) is refused: version → malformed, key id → wrong_key, the rest → tampered', () => {
      expect(sealed.length).to.equal(1 + 4 + 12 + 7 + 16);
      const seen: Record<string, number> = {};
      for (let at = 0; at < sealed.length; at++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const flipped = Buffer.from(sealed);
          flipped[at]! ^= mask;
          const want = at === 0 ? 'malformed' : at < 5 ? 'wrong_key' : 'tampered';
          const got = refusal(() => s.open(a, flipped));
          expect(got, `byte ${at} ^ ${mask}`).to.equal(want);
          seen[got] = (seen[got] ?? 0) + 1;
        }
      }
      expect(seen).to.deep.equal({ malformed: 3, wrong_key: 12, tampered: 105 });
    });

    it('a key id changed to another key of the ring is refused (tampered), not opened', () => {
      const other = randomBytes(32);
      const ring = fleet(key, other);
      const moved = Buffer.from(sealed);
      fleet(other).keyId.copy(moved, 1);
      expect(refusal(() => ring.open(a, moved))).to.equal('tampered');
      expect(ring.open(a, sealed).toString()).to.equal('value-a');
    });

    it('two values swapped between their names are both refused', () => {
      const sealedB = s.seal(b, Buffer.from('value-b'));
      expect(refusal(() => s.open(b, sealed))).to.equal('tampered');
      expect(refusal(() => s.open(a, sealedB))).to.equal('tampered');
      const redis = new FakeRedis();
      redis.data.set(a, sealedB);
      redis.data.set(b, sealed);
      expect(readThrough(s, redis, 's', 'secret/data/a')).to.deep.equal({ refused: 'tampered', rewrote: false });
      expect(redis.data.has(a)).to.equal(false); // refused values are deleted
    });

    it('an unknown key id is refused as wrong_key', () => {
      expect(refusal(() => fleet(randomBytes(32)).open(a, sealed))).to.equal('wrong_key');
    });

    it('truncated at every length, extended, empty, or of another format version: refused, never opened', () => {
      for (let len = 0; len < sealed.length; len++) {
        expect(refusal(() => s.open(a, sealed.subarray(0, len))), `length ${len}`).to.equal(len < 33 ? 'malformed' : 'tampered');
      }
      expect(refusal(() => s.open(a, Buffer.concat([sealed, Buffer.from([0])])))).to.equal('tampered');
      const v2 = Buffer.from(sealed);
      v2[0] = 2;
      expect(refusal(() => s.open(a, v2))).to.equal('malformed');
      // A view into a larger buffer opens as itself.
      const padded = Buffer.concat([Buffer.from('xx'), sealed, Buffer.from('yy')]);
      expect(s.open(a, new Uint8Array(padded.buffer, padded.byteOffset + 2, sealed.length)).toString()).to.equal('value-a');
    });

    it('a keyring of no key, a short key or the same key twice is refused at construction', () => {
      expect(() => fleet()).to.throw(/at least one key/);
      expect(() => fleet(randomBytes(31))).to.throw(/31 bytes, not 32/);
      expect(() => fleet(key, randomBytes(32), key)).to.throw(/key 3 .* key id of an earlier key/);
    });
  });

  describe('rotation: the newest key seals, every key opens, names are found across it', () => {
    const what = 'secret/data/payments/db';

    it('a ring of one key asks one name; names are per key, newest first', () => {
      const [k1, k2] = [randomBytes(32), randomBytes(32)];
      expect(fleet(k1).names('s', what)).to.deep.equal([fleet(k1).name('s', what)]);
      expect(fleet(k2, k1).names('s', what)).to.deep.equal([fleet(k2).name('s', what), fleet(k1).name('s', what)]);
      expect(fleet(k2, k1).keyId.equals(fleet(k2).keyId)).to.equal(true);
    });

    it('the three steps (add second, move first, remove the old) with replicas on different steps: every read finds the latest write, records migrate, the old key ends with nothing under it', () => {
      const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
      const redis = new FakeRedis();
      const before = fleet(oldKey);
      write(before, redis, 's', what, 'v1');
      write(before, redis, 's', 'secret/data/cold', 'cold');

      // Step 1 rolling: some replicas have [old, new], others [old]. Both still seal under old.
      const step1 = fleet(oldKey, newKey);
      expect(readThrough(step1, redis, 's', what)).to.deep.equal({ plain: 'v1', rewrote: false });
      write(step1, redis, 's', what, 'v2');
      expect(readThrough(before, redis, 's', what)).to.deep.equal({ plain: 'v2', rewrote: false });

      // Step 2 rolling: [new, old] seals under new; step-1 replicas open it and find it first.
      const step2 = fleet(newKey, oldKey);
      expect(readThrough(step2, redis, 's', what)).to.deep.equal({ plain: 'v2', rewrote: true }); // migrated
      expect([...redis.data.keys()]).to.include(step2.name('s', what)).and.not.include(before.name('s', what));
      // Until step 2 reaches every replica, a step-1 replica moves what it reads back under its sealing key (old).
      expect(readThrough(step1, redis, 's', what)).to.deep.equal({ plain: 'v2', rewrote: true });
      expect(readThrough(step2, redis, 's', what)).to.deep.equal({ plain: 'v2', rewrote: true });
      write(step1, redis, 's', what, 'v3'); // a step-1 replica writes under old: it deletes the new name too
      expect(readThrough(step2, redis, 's', what)).to.deep.equal({ plain: 'v3', rewrote: true });
      write(step2, redis, 's', what, 'v4');
      expect(redis.mget(step2.names('s', what)).map((v) => v !== null)).to.deep.equal([true, false]); // one record, under the new name
      expect(readThrough(step2, redis, 's', what)).to.deep.equal({ plain: 'v4', rewrote: false });

      // Step 3: [new]. The migrated record opens; the cold one, never read since, is a miss (not refused).
      const after = fleet(newKey);
      expect(readThrough(after, redis, 's', what)).to.deep.equal({ plain: 'v4', rewrote: false });
      expect(readThrough(after, redis, 's', 'secret/data/cold')).to.deep.equal({ rewrote: false });
      expect(refusal(() => after.open(before.name('s', 'secret/data/cold'), redis.data.get(before.name('s', 'secret/data/cold'))!))).to.equal('wrong_key');
    });

    it('a value under the newest name that does not open is refused and deletes every name: an older value is not served in its place', () => {
      const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
      const ring = fleet(newKey, oldKey);
      const [n0, n1] = ring.names('s', what) as [string, string];
      const older = fleet(oldKey).seal(n1, Buffer.from('older'));
      const newer = ring.seal(n0, Buffer.from('newer'));
      newer[20]! ^= 1;
      const found = ring.openNewest([n0, n1], [newer, older]);
      expect(found).to.deep.equal({ rewrite: false, refused: { name: n0, reason: 'tampered' }, obsolete: [n0, n1] });
      expect(ring.openNewest([n0, n1], [null, older])).to.deep.include({ rewrite: true, obsolete: [n1] });
      expect(ring.openNewest([n0, n1], [ring.seal(n0, Buffer.from('newer')), older])).to.deep.include({ rewrite: false, obsolete: [n1] });
      expect(ring.openNewest([n0, n1], [null, undefined])).to.deep.equal({ rewrite: false, obsolete: [] });
    });
  });
});
