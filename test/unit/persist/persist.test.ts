import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { encodeEntry } from '../../../src/cache/entry.js';
import { MemoryStore } from '../../../src/cache/store.js';
import { TokenGrants } from '../../../src/cache/token-grants.js';
import { loadPersistKey, type PersistConfig } from '../../../src/config/persist.js';
import { Persistence } from '../../../src/persist/persistence.js';
import { restoreInto } from '../../../src/persist/restore.js';
import { persistSealer, SealError } from '../../../src/persist/seal.js';
import { STORE_FILE } from '../../../src/persist/store.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const log = createLogger({ level: 'silent' });
const TOKEN = 'hvs.CAESIpersisttesttoken0123456789';
const TOKEN_HASH = 'hash-of-the-token';
const SECRET = 'very-secret-password-9f8e7d';
const PATH = 'secret/data/payments/db';

function keyFile(dir: string, key = randomBytes(32)): string {
  const file = join(dir, `key-${Math.random()}`);
  writeFileSync(file, `${key.toString('base64')}\n`);
  return file;
}

function config(dir: string, key: string): PersistConfig {
  return { type: 'file', path: join(dir, 'store'), keyFile: key, keepAfterImport: true, exitOnErr: false, readiness: 'vault', flushMs: 10 };
}

/** A persistence with one secret, one token and one lease written, closed. */
async function written(dir: string, key: string, nowMs: number): Promise<void> {
  const p = new Persistence(config(dir, key), log, () => nowMs);
  p.setHooks({ refused: () => undefined, written: () => undefined, grantOf: () => ({ accessor: 'accessor-1', untilMs: nowMs + 60_000, expiresAtMs: nowMs + 3_600_000 }) });
  p.load({ staleMs: 0 });
  const store = p.wrapStaticStore(new MemoryStore(1 << 20));
  const body = Buffer.from(JSON.stringify({ data: { data: { password: SECRET } } }));
  store.set(PATH, encodeEntry({ path: PATH, tokens: [TOKEN_HASH], versionTokens: {}, headerNamespaces: [], versions: {}, latest: { status: 200, headers: [['content-type', 'application/json']], body, storedAtMs: nowMs } }));
  p.tokenSeen(TOKEN_HASH, TOKEN);
  p.leaseRecorded({
    key: 'lease-key', kind: 'lease', leaseId: 'database/creds/app/LEASEID123', ownerHash: TOKEN_HASH, requestPath: 'database/creds/app', namespace: '',
    response: { status: 200, headers: [], body: Buffer.from(`{"lease_id":"database/creds/app/LEASEID123","data":{"password":"${SECRET}"}}`), storedAtMs: nowMs },
  }, TOKEN, 3600);
  p.autoAuth({ token: `${TOKEN}-auto`, leaseDurationSeconds: 3600, renewable: true, obtainedAtMs: nowMs });
  await p.close();
}

describe('persist: the sealed persistent store', () => {
  let dir: string;
  const now = 1_700_000_000_000;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-persist-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('sealing (AES-256-GCM, HMAC names)', () => {
    it('opens what it sealed; a wrong key, a flipped byte and a value under another name are refused', () => {
      const s = persistSealer(randomBytes(32));
      const a = s.name('s', 'secret/data/a');
      const b = s.name('s', 'secret/data/b');
      const sealed = s.seal(a, Buffer.from('value-a'));
      expect(s.open(a, sealed).toString()).to.equal('value-a');
      const reason = (f: () => unknown): string => { try { f(); return 'opened'; } catch (e) { return (e as SealError).reason; } };
      expect(reason(() => persistSealer(randomBytes(32)).open(a, sealed))).to.equal('wrong_key');
      for (const at of [0, 1, 5, 20, sealed.length - 1]) {
        const flipped = Buffer.from(sealed);
        flipped[at]! ^= 0x01;
        expect(reason(() => s.open(a, flipped)), `byte ${at}`).to.be.oneOf(['tampered', 'wrong_key', 'malformed']);
      }
      const body = Buffer.from(sealed);
      body[20]! ^= 0x80;
      expect(reason(() => s.open(a, body))).to.equal('tampered');
      expect(reason(() => s.open(b, sealed))).to.equal('tampered');
      // A fresh nonce each time: the same value seals differently.
      expect(s.seal(a, Buffer.from('value-a')).equals(sealed)).to.equal(false);
    });

    it('binds records to the kubernetes flavour\'s service account token (another token: refused)', () => {
      const key = randomBytes(32);
      const name = persistSealer(key, Buffer.from('jwt-1')).name('t', 'x');
      const sealed = persistSealer(key, Buffer.from('jwt-1')).seal(name, Buffer.from('v'));
      expect(() => persistSealer(key, Buffer.from('jwt-2')).open(name, sealed)).to.throw(SealError);
    });

    it('reads the key as `openssl rand -base64 32` writes it; a short, long or non-base64 key is refused', () => {
      const k = randomBytes(32);
      expect(loadPersistKey({ keyFile: keyFile(dir, k) }).equals(k)).to.equal(true);
      expect(() => loadPersistKey({ keyFile: keyFile(dir, randomBytes(16)) })).to.throw(/holds 16 bytes/);
      expect(() => loadPersistKey({ keyFile: keyFile(dir, randomBytes(48)) })).to.throw(/holds 48 bytes/);
      const bad = join(dir, 'bad');
      writeFileSync(bad, 'not base64 at all!\n');
      expect(() => loadPersistKey({ keyFile: bad })).to.throw(/does not hold base64/);
      expect(() => loadPersistKey({ keyFile: join(dir, 'missing') })).to.throw(/cannot read the key file/);
      expect(loadPersistKey({ keyEnvVar: 'VXP_K' }, { VXP_K: k.toString('base64') }).equals(k)).to.equal(true);
      expect(() => loadPersistKey({ keyEnvVar: 'VXP_K' }, {})).to.throw(/VXP_K is not set/);
    });
  });

  describe('the store on disk (LMDB)', () => {
    it('round trip: a secret with its proof, a token with its grant, a lease, the auto-auth token', async () => {
      const key = keyFile(dir);
      await written(dir, key, now);
      const p = new Persistence(config(dir, key), log, () => now + 1_000);
      const state = p.load({ staleMs: 0 });
      await p.close();
      expect(state.refused).to.equal(0);
      expect(state.statics.map((s) => s.path)).to.deep.equal([PATH]);
      expect(state.tokens).to.deep.equal([{ tokenHash: TOKEN_HASH, token: TOKEN, accessor: 'accessor-1', untilMs: now + 60_000, expiresAtMs: now + 3_600_000 }]);
      expect(state.leases.map((l) => [l.entry.leaseId, l.renewToken, l.expiresAtMs])).to.deep.equal([['database/creds/app/LEASEID123', TOKEN, now + 3_600_000]]);
      expect(state.autoAuth?.token).to.equal(`${TOKEN}-auto`);

      // Restored: the token is served until its grant's old end, not one moment longer.
      const grants = new TokenGrants(60_000, () => now);
      const memory = new MemoryStore(1 << 20);
      const r = restoreInto({ staticMemory: memory, grants }, state, now + 1_000);
      expect(grants.allows(TOKEN_HASH, now + 59_999)).to.equal(true);
      expect(grants.allows(TOKEN_HASH, now + 60_000)).to.equal(false);
      expect(r.workerMessages).to.deep.equal([{ type: 'static-access', path: PATH, token: TOKEN }]);
      expect(memory.size).to.equal(1);
    });

    it('holds no token, secret, accessor, lease id or path in clear (raw LMDB keys and values read by hand)', async () => {
      const key = keyFile(dir);
      await written(dir, key, now);
      const db = open<Buffer, string>({ path: join(dir, 'store', STORE_FILE), encoding: 'binary', keyEncoding: 'ordered-binary', readOnly: true });
      const raw: Buffer[] = [];
      let records = 0;
      for (const { key: k, value } of db.getRange()) {
        records++;
        raw.push(Buffer.from(k), Buffer.from(value));
      }
      await db.close();
      const file = readFileSync(join(dir, 'store', STORE_FILE));
      expect(records).to.equal(4);
      for (const needle of [TOKEN, TOKEN.slice(4, 20), TOKEN_HASH, SECRET, PATH, 'payments', 'accessor-1', 'LEASEID123', 'database/creds', 'password']) {
        for (const hay of [...raw, file]) expect(hay.includes(Buffer.from(needle)), needle).to.equal(false);
        expect(file.includes(Buffer.from(needle, 'utf16le')), needle).to.equal(false);
      }
    });

    it('a wrong key: every record refused (counted), none loaded, and deleted', async () => {
      await written(dir, keyFile(dir), now);
      const refused: string[] = [];
      const p = new Persistence(config(dir, keyFile(dir)), log, () => now);
      p.setHooks({ refused: (r) => refused.push(r), written: () => undefined, grantOf: () => undefined });
      const state = p.load({ staleMs: 0 });
      await p.close();
      expect(state.statics.length + state.tokens.length + state.leases.length).to.equal(0);
      expect(state.autoAuth).to.equal(undefined);
      expect(refused).to.deep.equal(['wrong_key', 'wrong_key', 'wrong_key', 'wrong_key']);
    });

    it('a flipped byte in a stored value, and two values swapped: those records refused, the others loaded', async () => {
      const key = keyFile(dir);
      await written(dir, key, now);
      const db = open<Buffer, string>({ path: join(dir, 'store', STORE_FILE), encoding: 'binary', keyEncoding: 'ordered-binary' });
      const all = [...db.getRange()].map(({ key: k, value }) => ({ k, v: Buffer.from(value) }));
      const s = all.find((r) => r.k.startsWith('s'))!;
      const t = all.find((r) => r.k.startsWith('t'))!;
      const l = all.find((r) => r.k.startsWith('l'))!;
      s.v[s.v.length - 20]! ^= 0x01;
      await db.transaction(() => {
        db.put(s.k, s.v);
        db.put(t.k, l.v); // the lease's value under the token's name, and the other way round
        db.put(l.k, t.v);
      });
      await db.close();
      const refused: string[] = [];
      const p = new Persistence(config(dir, key), log, () => now);
      p.setHooks({ refused: (r) => refused.push(r), written: () => undefined, grantOf: () => undefined });
      const state = p.load({ staleMs: 0 });
      await p.close();
      expect(refused).to.deep.equal(['tampered', 'tampered', 'tampered']);
      expect(state.statics).to.have.length(0);
      expect(state.tokens).to.have.length(0);
      expect(state.leases).to.have.length(0);
      expect(state.autoAuth?.token).to.equal(`${TOKEN}-auto`);
    });

    it('never loads past an expiry: a token past its grant (no serve_stale) or expiry, a lease past its TTL', async () => {
      const key = keyFile(dir);
      await written(dir, key, now);
      const p = new Persistence(config(dir, key), log, () => now + 60_000);
      const state = p.load({ staleMs: 0 });
      expect(state.tokens).to.have.length(0);
      expect(state.leases).to.have.length(1);
      await p.close();
      const later = new Persistence(config(dir, key), log, () => now + 3_600_000);
      const s2 = later.load({ staleMs: 10 * 3_600_000 });
      await later.close();
      expect(s2.leases).to.have.length(0);
      expect(s2.autoAuth).to.equal(undefined);
    });
  });

  describe('the store belongs to one Vault (its address, its cluster id)', () => {
    it('another address or another cluster refuses every record (other_vault); the same address offline loads, knowing the cluster id', async () => {
      const key = keyFile(dir);
      const vaultA = { address: 'https://vault-a:8200', clusterId: 'cluster-a' };
      const first = new Persistence(config(dir, key), log, () => now);
      first.setHooks({ refused: () => undefined, written: () => undefined, grantOf: () => undefined });
      first.load({ staleMs: 0, vault: { ...vaultA } });
      first.autoAuth({ token: TOKEN, leaseDurationSeconds: 3600, renewable: true, obtainedAtMs: now });
      await first.close();
      const loadWith = async (vault: { address: string; clusterId?: string }): Promise<{ refused: string[]; auto: boolean; clusterId: string | undefined }> => {
        const refused: string[] = [];
        const p = new Persistence(config(dir, key), log, () => now);
        p.setHooks({ refused: (r) => refused.push(r), written: () => undefined, grantOf: () => undefined });
        const state = p.load({ staleMs: 0, vault });
        // Put back what was there (a refused store is deleted): the next case starts from the same store.
        if (state.autoAuth) p.autoAuth(state.autoAuth);
        const clusterId = p.clusterId;
        await p.close();
        return { refused, auto: state.autoAuth !== undefined, clusterId };
      };
      expect(await loadWith({ address: 'https://vault-a:8200' })).to.deep.equal({ refused: [], auto: true, clusterId: 'cluster-a' });
      expect(await loadWith({ ...vaultA })).to.deep.equal({ refused: [], auto: true, clusterId: 'cluster-a' });
      expect(await loadWith({ address: 'https://vault-a:8200', clusterId: 'cluster-b' })).to.deep.equal({ refused: ['other_vault', 'other_vault'], auto: false, clusterId: 'cluster-b' });
    });

    it('a store whose Vault record is missing is refused whole', async () => {
      const key = keyFile(dir);
      await written(dir, key, now); // written without naming its Vault
      const refused: string[] = [];
      const p = new Persistence(config(dir, key), log, () => now);
      p.setHooks({ refused: (r) => refused.push(r), written: () => undefined, grantOf: () => undefined });
      const state = p.load({ staleMs: 0, vault: { address: 'https://vault-b:8200' } });
      await p.close();
      expect(state.statics.length + state.tokens.length + state.leases.length).to.equal(0);
      expect(refused).to.deep.equal(['other_vault', 'other_vault', 'other_vault', 'other_vault']);
    });
  });

  describe('grants after a restart (the bound)', () => {
    it('fresh until the old grant ends; stale only with serve_stale, only while Vault is down, only within serve_stale_max, never past expiry', () => {
      let down = false;
      let staleCount = 0;
      const g = new TokenGrants(60_000, () => now);
      g.restore('h', 'acc', now + 10_000, now + 100_000);
      expect(g.servable('h', now + 9_000)).to.equal('fresh');
      expect(g.servable('h', now + 11_000)).to.equal(undefined);
      g.serveStale(30_000, () => down, () => staleCount++);
      expect(g.servable('h', now + 11_000)).to.equal(undefined); // Vault up: no stale answer
      down = true;
      expect(g.servable('h', now + 11_000)).to.equal('stale');
      expect(g.servable('h', now + 39_999)).to.equal('stale');
      expect(g.servable('h', now + 40_000)).to.equal(undefined);
      expect(g.servable('never-proven', now + 11_000)).to.equal(undefined);
      expect(staleCount).to.equal(2);
      const e = new TokenGrants(60_000, () => now);
      e.restore('h', 'acc', now + 10_000, now + 12_000);
      e.serveStale(30_000, () => true);
      expect(e.servable('h', now + 11_000)).to.equal('stale');
      expect(e.servable('h', now + 12_000)).to.equal(undefined);
      e.expireAll();
      expect(e.servable('h', now + 11_000)).to.equal(undefined);
    });
  });
});
