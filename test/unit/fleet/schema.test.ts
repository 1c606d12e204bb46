import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { StaticEntry, StoredResponse } from '../../../src/cache/entry.js';
import type { LeaseEntry, LeaseEvictionReason } from '../../../src/cache/lease-cache.js';
import type { EvictionReason } from '../../../src/cache/static-cache.js';
import {
  PROTO_FILES, SchemaError, decodeAutoAuthToken, decodeEvent, decodeLeaseEntry, decodeStaticEntry, encodeAutoAuthToken,
  encodeEvent, encodeLeaseEntry, encodeStaticEntry, loadSchema, type FleetChange, type FleetEvent, type LeaseRenewal,
} from '../../../src/fleet/schema.js';

const PKG = 'vault_extproc.v1';
/** Every byte value, and then some: bodies must come back byte for byte. */
const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('{"data":{"data":{"password":"p\u00e4ss \ud83d\udd11"}}}')]);

function response(body: Uint8Array, storedAtMs: number, status = 200): StoredResponse {
  return { status, headers: [['content-type', 'application/json'], ['x-note', 'caf\u00e9'], ['x-note', 'second']], body, storedAtMs };
}

/** Every field set (`Required`): a field added to StaticEntry must be set here, and then must survive the schema. */
const FULL: Required<StaticEntry> = {
  path: 'secret/data/payments/db',
  tokens: ['hash-a', 'hash-b'],
  versionTokens: { 1: ['hash-a'], 3: ['hash-b', 'hash-c'], 4294967295: ['hash-d'] },
  latest: response(BINARY, 1_765_000_000_123),
  latestVersion: 4,
  versions: { 1: response(Buffer.from('v1'), 1_700_000_000_000), 3: response(Buffer.alloc(0), 1_700_000_000_001, 404), 4294967295: response(BINARY, Number.MAX_SAFE_INTEGER) },
  headerNamespaces: ['ns1/', 'ns1/team-\u00e9/'],
};

const LEASE: Required<LeaseEntry> = {
  key: 'lease-key-1', kind: 'token', response: response(BINARY, 1_765_000_000_000), ownerHash: 'owner-hash', tokenHash: 'child-hash',
  accessor: 'accessor-1', leaseId: 'auth/token/create/abc', requestPath: 'ns1/auth/token/create', namespace: 'ns1/',
};
const RENEWAL: LeaseRenewal = { renewToken: 'hvs.renew-with-me', ttlSeconds: 3600, recordedAtMs: 1_765_000_000_999 };

/** Bodies come back as views (Buffer or Uint8Array): compare them as bytes. */
function bytesOf(x: unknown): unknown {
  if (x instanceof Uint8Array) return `bytes:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`;
  if (Array.isArray(x)) return x.map(bytesOf);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, bytesOf(v)]));
  return x;
}

const STATIC_REASONS = { budget: true, no_reader: true, gone: true, cleared: true } satisfies Record<EvictionReason, true>;
const LEASE_REASONS = { revoked: true, renewal_stopped: true, parent_evicted: true, cleared: true, reauth: true } satisfies Record<LeaseEvictionReason, true>;

/** Every kind of change (the `satisfies` makes a new kind a compile error here), every reason, every cache-clear type. */
const CHANGES = {
  'static-recorded': [{ type: 'static-recorded', path: 'secret/data/a' }],
  'static-refetched': [
    { type: 'static-refetched', path: 'secret/data/a', failedTokenHashes: ['h1', 'h2'], kvVersion: 7 },
    { type: 'static-refetched', path: 'kv1/b', failedTokenHashes: [] },
    { type: 'static-refetched', path: 'secret/data/a', failedTokenHashes: [], kvVersion: 0 },
  ],
  'static-evicted': [...Object.keys(STATIC_REASONS) as EvictionReason[], 'other' as const].map((reason) => ({ type: 'static-evicted' as const, path: 'secret/data/a', reason })),
  'static-versions-dropped': [{ type: 'static-versions-dropped', path: 'secret/data/a', versions: [1, 2, 4294967295] }],
  'access-lost': [{ type: 'access-lost', tokenHash: 'h1', paths: ['secret/data/a', 'ns1/secret/data/b'] }],
  'token-revoked': [{ type: 'token-revoked', tokenHash: 'h1' }],
  'cache-cleared': [
    { type: 'cache-cleared', clear: { type: 'request_path', value: '/v1/secret/data/a', namespace: 'ns1/' } },
    { type: 'cache-cleared', clear: { type: 'token', tokenHash: 'h1' } },
    { type: 'cache-cleared', clear: { type: 'token_accessor', value: 'accessor-1' } },
    { type: 'cache-cleared', clear: { type: 'lease', value: 'database/creds/app/xyz' } },
    { type: 'cache-cleared', clear: { type: 'all' } },
  ],
  'lease-recorded': [{ type: 'lease-recorded', key: 'lease-key-1' }],
  'lease-evicted': [...Object.keys(LEASE_REASONS) as LeaseEvictionReason[], 'other' as const].map((reason) => ({ type: 'lease-evicted' as const, key: 'lease-key-1', reason })),
  'token-checked': [
    { type: 'token-checked', tokenHash: 'h1', accessor: 'acc-1', eligible: true, atMs: Number.MAX_SAFE_INTEGER, expiresAtMs: 1_700_000_000_000 },
    { type: 'token-checked', tokenHash: 'h2', accessor: '', eligible: false, atMs: 0 },
  ],
  'tokens-confirmed': [{ type: 'tokens-confirmed', tokenHashes: ['h1', 'h2'], atMs: 1_700_000_000_123 }, { type: 'tokens-confirmed', tokenHashes: [], atMs: 1 }],
  'revoked': [
    { type: 'revoked', kind: 'token-self', tokenHash: 'h1' },
    { type: 'revoked', kind: 'accessor', value: 'acc-1' },
    { type: 'revoked', kind: 'lease-prefix', value: 'database/creds/' },
    { type: 'revoked', kind: 'token' },
  ],
  'kv-changed': [{ type: 'kv-changed', paths: ['secret/data/a', 'ns1/kv/b'], prefixes: [] }, { type: 'kv-changed', paths: [], prefixes: [''] }],
} satisfies { [K in Exclude<FleetChange['type'], 'unknown'>]: Array<Extract<FleetChange, { type: K }>> };

/** A Root of today's schema to change into another release's. */
function release(change: (root: protobuf.Root) => void): protobuf.Root {
  const root = loadSchema();
  change(root);
  root.resolveAll();
  return root;
}

describe('fleet: our schema (proto/vault_extproc/v1, protobufjs)', () => {
  it('the .proto files are where the package ships them (package.json `files` holds proto/)', () => {
    for (const f of PROTO_FILES) expect(existsSync(f), f).to.equal(true);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { files: string[] };
    expect(pkg.files).to.include('proto');
  });

  describe('round trips (exact)', () => {
    it('a static entry with every field: responses, versions, proofs, header namespaces; bodies byte for byte', () => {
      const back = decodeStaticEntry(encodeStaticEntry(FULL));
      expect(Object.keys(back).sort()).to.deep.equal(Object.keys(FULL).sort());
      expect(bytesOf(back)).to.deep.equal(bytesOf(FULL));
      expect(Buffer.from(back.latest!.body).equals(BINARY)).to.equal(true);
      expect(back.versions['4294967295']!.storedAtMs).to.equal(Number.MAX_SAFE_INTEGER);
    });

    it('an entry holding little: no latest, no version (absent stays absent), and version 0 (present stays present)', () => {
      const bare: StaticEntry = { path: 'kv1/a', tokens: [], versionTokens: {}, versions: {}, headerNamespaces: [] };
      expect(bytesOf(decodeStaticEntry(encodeStaticEntry(bare)))).to.deep.equal(bare);
      expect(decodeStaticEntry(encodeStaticEntry(bare))).to.not.have.any.keys('latest', 'latestVersion');
      expect(decodeStaticEntry(encodeStaticEntry({ ...bare, latestVersion: 0 })).latestVersion).to.equal(0);
    });

    it('a version that is not a KV version number is refused at encode, not stored wrong', () => {
      expect(() => encodeStaticEntry({ ...FULL, versions: { latest: response(BINARY, 1) } })).to.throw(/not a KV version number/);
      expect(() => encodeStaticEntry({ ...FULL, versionTokens: { 4294967296: [] } })).to.throw(/not a KV version number/);
    });

    it('lease-cache entries: a token with every field and its renewal, a lease, an orphan without renewal', () => {
      const full = decodeLeaseEntry(encodeLeaseEntry(LEASE, RENEWAL));
      expect(Object.keys(full.entry).sort()).to.deep.equal(Object.keys(LEASE).sort());
      expect(bytesOf(full)).to.deep.equal(bytesOf({ entry: LEASE, renewal: RENEWAL }));
      const lease: LeaseEntry = { key: 'k2', kind: 'lease', response: response(Buffer.from('{}'), 5), ownerHash: 'o', leaseId: 'database/creds/app/1', requestPath: 'database/creds/app', namespace: '' };
      expect(bytesOf(decodeLeaseEntry(encodeLeaseEntry(lease, RENEWAL)))).to.deep.equal(bytesOf({ entry: lease, renewal: RENEWAL }));
      const orphan: LeaseEntry = { key: 'k3', kind: 'token', response: response(Buffer.alloc(0), 6), tokenHash: 't', accessor: 'a', requestPath: 'auth/token/create-orphan', namespace: '' };
      const back = decodeLeaseEntry(encodeLeaseEntry(orphan));
      expect(bytesOf(back)).to.deep.equal(bytesOf({ entry: orphan }));
      expect(back.entry).to.not.have.any.keys('ownerHash', 'leaseId');
    });

    it('the shared auto-auth token', () => {
      const t = { token: 'hvs.auto', leaseDurationSeconds: 2764800, renewable: true, obtainedAtMs: 1_765_000_000_000 };
      expect(decodeAutoAuthToken(encodeAutoAuthToken(t))).to.deep.equal(t);
      expect(decodeAutoAuthToken(encodeAutoAuthToken({ ...t, renewable: false, leaseDurationSeconds: 0 }))).to.deep.equal({ ...t, renewable: false, leaseDurationSeconds: 0 });
    });

    it('every event kind, every eviction reason, every cache-clear type', () => {
      const all = Object.values(CHANGES).flat() as FleetChange[];
      expect(all).to.have.length(34);
      for (const change of all) {
        const e: FleetEvent = { origin: 'replica-2', atMs: 1_765_000_000_456, change };
        expect(decodeEvent(encodeEvent(e)), JSON.stringify(change)).to.deep.equal(e);
      }
    });

    it('bytes that are not a message are refused (SchemaError malformed)', () => {
      // Field 1, length-delimited, 100 bytes announced, none follow (a Buffer: protobufjs's Buffer reader would cut it short silently).
      for (const decodeOne of [decodeStaticEntry, decodeLeaseEntry, decodeEvent, decodeAutoAuthToken]) {
        expect(() => decodeOne(Buffer.from([0x0a, 0x64])), decodeOne.name).to.throw(SchemaError).with.property('reason', 'malformed');
        expect(() => decodeOne(Buffer.from([0x0a, 0x01, 0x41, 0x07])), decodeOne.name).to.throw(SchemaError).with.property('reason', 'malformed'); // wire type 7
      }
      const whole = encodeStaticEntry(FULL);
      for (const cut of [1, 10, whole.length - 1]) expect(() => decodeStaticEntry(Buffer.from(whole).subarray(0, cut)), `cut at ${cut}`).to.throw(SchemaError);
      expect(() => decodeLeaseEntry(new Uint8Array(0))).to.throw(SchemaError).with.property('reason', 'unsupported'); // no kind
    });
  });

  describe('rolling upgrades: two releases share Redis', () => {
    it('a newer release\'s entry (fields this one does not know, also inside a response) decodes: unknown fields skipped, known fields intact', () => {
      const newer = release((root) => {
        const entry = root.lookupType(`${PKG}.StaticEntry`);
        (root.lookup(PKG) as protobuf.Namespace).add(new protobuf.Type('Provenance').add(new protobuf.Field('replica', 1, 'string')).add(new protobuf.Field('seq', 2, 'uint64')));
        entry.add(new protobuf.Field('futureNote', 100, 'string'));
        entry.add(new protobuf.Field('futureProvenance', 101, 'Provenance'));
        entry.add(new protobuf.Field('futureFlags', 102, 'uint32', 'repeated'));
        root.lookupType(`${PKG}.StoredResponse`).add(new protobuf.Field('futureDigest', 50, 'bytes'));
      });
      const type = newer.lookupType(`${PKG}.StaticEntry`);
      const today = encodeStaticEntry(FULL);
      const message = type.decode(today) as unknown as Record<string, unknown> & { latest: Record<string, unknown> };
      message['futureNote'] = 'from release N+1';
      message['futureProvenance'] = { replica: 'r9', seq: 42 };
      message['futureFlags'] = [1, 2, 3];
      message.latest['futureDigest'] = Buffer.from('digest');
      const bytes = type.encode(message).finish();
      // The newer bytes do carry the new fields (else this test proves nothing)…
      expect(bytes.length).to.be.greaterThan(today.length);
      expect((type.decode(bytes) as unknown as { futureNote: string }).futureNote).to.equal('from release N+1');
      // …and today's reader skips them.
      const back = decodeStaticEntry(bytes);
      expect(bytesOf(back)).to.deep.equal(bytesOf(FULL));
    });

    it('a newer release\'s event: an unknown kind or cache-clear type decodes as `unknown` (origin and time intact); an unknown reason as `other`; extra fields skipped', () => {
      const newer = release((root) => {
        const ns = root.lookup(PKG) as protobuf.Namespace;
        ns.add(new protobuf.Type('SecretRotated').add(new protobuf.Field('path', 1, 'string')));
        const event = root.lookupType(`${PKG}.InvalidationEvent`);
        const kind = new protobuf.Field('secretRotated', 40, 'SecretRotated');
        event.add(kind);
        event.oneofs['change']!.add(kind);
        event.add(new protobuf.Field('traceId', 99, 'string'));
        const clear = root.lookupType(`${PKG}.CacheCleared`);
        const target = new protobuf.Field('entityId', 20, 'string');
        clear.add(target);
        clear.oneofs['target']!.add(target);
        root.lookupEnum(`${PKG}.StaticEvictionReason`).add('STATIC_EVICTION_REASON_QUOTA', 9);
      });
      const event = newer.lookupType(`${PKG}.InvalidationEvent`);
      const at = 1_765_000_000_789;
      const enc = (body: Record<string, unknown>): Uint8Array => event.encode(event.fromObject({ origin: 'r-new', atMs: at, traceId: 't-1', ...body })).finish();
      expect(decodeEvent(enc({ secretRotated: { path: 'secret/data/a' } }))).to.deep.equal({ origin: 'r-new', atMs: at, change: { type: 'unknown' } });
      expect(decodeEvent(enc({ cacheCleared: { entityId: 'e-1' } }))).to.deep.equal({ origin: 'r-new', atMs: at, change: { type: 'unknown' } });
      // A revocation of a kind this release does not apply, or whose value sits in a field it does not know: never guessed at.
      expect(decodeEvent(enc({ revoked: { kind: 'entity-disable', value: 'e-1' } }))).to.deep.equal({ origin: 'r-new', atMs: at, change: { type: 'unknown' } });
      expect(decodeEvent(enc({ revoked: { kind: 'token', entityId: 'e-1' } }))).to.deep.equal({ origin: 'r-new', atMs: at, change: { type: 'unknown' } });
      expect(decodeEvent(enc({ staticEvicted: { path: 'secret/data/a', reason: 'STATIC_EVICTION_REASON_QUOTA' } })).change)
        .to.deep.equal({ type: 'static-evicted', path: 'secret/data/a', reason: 'other' });
      expect(decodeEvent(enc({ tokenRevoked: { tokenHash: 'h1' } }))).to.deep.equal({ origin: 'r-new', atMs: at, change: { type: 'token-revoked', tokenHash: 'h1' } });
    });

    it('a newer release\'s lease kind is refused (unsupported), not guessed', () => {
      const newer = release((root) => root.lookupEnum(`${PKG}.LeaseKind`).add('LEASE_KIND_WRAPPED', 3));
      const type = newer.lookupType(`${PKG}.LeaseEntry`);
      const message = type.decode(encodeLeaseEntry(LEASE, RENEWAL)) as unknown as { kind: number };
      message.kind = 3;
      expect(() => decodeLeaseEntry(type.encode(message).finish())).to.throw(SchemaError).with.property('reason', 'unsupported');
    });

    it('an older release\'s records, without fields added since, decode with their defaults', () => {
      const older = release((root) => {
        const entry = root.lookupType(`${PKG}.StaticEntry`);
        entry.remove(entry.fields['headerNamespaces']!);
        entry.remove(entry.fields['latestVersion']!);
        const lease = root.lookupType(`${PKG}.LeaseEntry`);
        lease.remove(lease.fields['renewal']!);
        const refetched = root.lookupType(`${PKG}.StaticRefetched`);
        refetched.remove(refetched.fields['kvVersion']!);
      });
      const entryType = older.lookupType(`${PKG}.StaticEntry`);
      const oldEntry = entryType.encode(entryType.decode(encodeStaticEntry(FULL))).finish();
      expect(oldEntry.length).to.be.lessThan(encodeStaticEntry(FULL).length);
      const { headerNamespaces: _ns, latestVersion: _lv, ...rest } = FULL;
      const back = decodeStaticEntry(oldEntry);
      expect(back.headerNamespaces).to.deep.equal([]); // the header forms answer again first, as with persist's older entries
      expect(back).to.not.have.property('latestVersion');
      expect(bytesOf(back)).to.deep.equal(bytesOf({ ...rest, headerNamespaces: [] }));

      const leaseType = older.lookupType(`${PKG}.LeaseEntry`);
      const oldLease = decodeLeaseEntry(leaseType.encode(leaseType.decode(encodeLeaseEntry(LEASE, RENEWAL))).finish());
      expect(bytesOf(oldLease)).to.deep.equal(bytesOf({ entry: LEASE }));

      const eventType = older.lookupType(`${PKG}.InvalidationEvent`);
      const e: FleetEvent = { origin: 'r-old', atMs: 1, change: { type: 'static-refetched', path: 'secret/data/a', failedTokenHashes: ['h'], kvVersion: 3 } };
      expect(decodeEvent(eventType.encode(eventType.decode(encodeEvent(e))).finish()).change)
        .to.deep.equal({ type: 'static-refetched', path: 'secret/data/a', failedTokenHashes: ['h'] });
    });
  });
});
