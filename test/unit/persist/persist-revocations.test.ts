// Finding F5: a change that removes access must be on disk before the answer that revealed it goes
// out (a SIGKILL right after must not bring the access back); changes that add access stay batched.
// "On disk" here: what a second reader of the LMDB file sees (committed), with the writer's timer
// (flush_interval) set to a minute so nothing is written by it during the test.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntry } from '../../../src/cache/entry.js';
import { MemoryStore } from '../../../src/cache/store.js';
import type { PersistConfig } from '../../../src/config/persist.js';
import { Persistence, type RestoredState } from '../../../src/persist/persistence.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const log = createLogger({ level: 'silent' });
const PATH = 'secret/data/app/revoked';

describe('persist: removals of access are written at once (F5)', () => {
  let dir: string;
  let cfg: PersistConfig;
  const open: Persistence[] = [];
  const now = Date.now();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-persist-rev-'));
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`);
    cfg = { type: 'file', path: join(dir, 'store'), keyFile, keepAfterImport: true, exitOnErr: false, readiness: 'vault', flushMs: 60_000 };
  });
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A writer with grants for `granted` tokens (the hook TokenGrants.snapshot answers). */
  function writer(granted: Set<string>): { p: Persistence; store: ReturnType<Persistence['wrapStaticStore']> } {
    const p = new Persistence(cfg, log);
    open.push(p);
    p.setHooks({ refused: () => undefined, written: () => undefined, grantOf: (h) => (granted.has(h) ? { accessor: `acc-${h}`, untilMs: now + 600_000 } : undefined) });
    p.load({ staleMs: 0 });
    return { p, store: p.wrapStaticStore(new MemoryStore(1 << 20)) };
  }

  /** What a restart would load now: a second reader of the same file (the writer stays open: nothing closes it, as after a SIGKILL). */
  function onDisk(): RestoredState {
    const r = new Persistence(cfg, log);
    r.setHooks({ refused: () => undefined, written: () => undefined, grantOf: () => undefined });
    return r.load({ staleMs: 0 });
  }

  function entry(tokens: string[]): Buffer {
    return Buffer.from(encodeEntry({ path: PATH, tokens, versionTokens: {}, headerNamespaces: [], versions: {}, latest: { status: 200, headers: [], body: Buffer.from('{"data":{"data":{"v":"x"}}}'), storedAtMs: now } }));
  }

  it('a forgotten token (revoked through Envoy), every grant expired, a narrowed entry, an eviction and a lease gone are on disk when the call returns; additions wait for the timer', async () => {
    const granted = new Set(['h-a', 'h-b']);
    const { p, store } = writer(granted);
    store.set(PATH, entry(['h-a', 'h-b']));
    store.set(`${PATH}-2`, entry(['h-b']));
    p.tokenSeen('h-a', 'token-a');
    p.tokenSeen('h-b', 'token-b');
    p.leaseRecorded({ key: 'lease-1', kind: 'lease', leaseId: 'database/creds/app/L1', requestPath: 'database/creds/app', namespace: '', response: { status: 200, headers: [], body: Buffer.from('{}'), storedAtMs: now } }, 'token-a', 3600);
    await p.flush();
    const before = onDisk();
    expect(before.tokens.map((t) => t.tokenHash).sort()).to.deep.equal(['h-a', 'h-b']);
    expect(before.statics.length).to.equal(2);
    expect(before.leases.length).to.equal(1);

    // An addition is batched: not on disk before the timer (a minute away).
    store.set(`${PATH}-3`, entry(['h-a']));
    expect(onDisk().statics.length, 'an addition is written at once (it may wait for flush_interval)').to.equal(2);

    // revoke-self of token-a through Envoy: CacheMediator.dropToken rewrites the entry without it and forgets it; then flushUrgent.
    store.set(PATH, entry(['h-b']));
    granted.delete('h-a');
    p.tokenForgotten('h-a');
    p.flushUrgent();
    const afterRevoke = onDisk();
    expect(afterRevoke.tokens.map((t) => t.tokenHash), 'the revoked token is still on disk after the answer').to.deep.equal(['h-b']);
    expect(afterRevoke.statics.find((s) => s.path === PATH)?.bytes.equals(entry(['h-b'])), 'the narrowed entry on disk').to.equal(true);

    // expireAll (a revocation that may reach tokens we cannot name): every grant ends; no explicit flush, the microtask writes it.
    granted.clear();
    p.allTokensChanged();
    await Promise.resolve();
    expect(onDisk().tokens, 'grants ended by expireAll are still on disk after this turn').to.deep.equal([]);

    // An eviction (secret deleted in Vault, cache-clear) and a lease gone.
    store.delete(`${PATH}-2`);
    p.leaseGone('lease-1');
    p.flushUrgent();
    const last = onDisk();
    expect(last.statics.map((s) => s.path).sort(), 'an evicted entry is still on disk').to.not.include(`${PATH}-2`);
    expect(last.leases, 'a lease gone is still on disk').to.deep.equal([]);
  });

  it('an older value queued for the batched write does not land after the synchronous removal', async () => {
    const granted = new Set(['h-a']);
    const { p } = writer(granted);
    p.tokenSeen('h-a', 'token-a');
    const batched = p.flush(); // queued for an asynchronous LMDB transaction
    granted.delete('h-a');
    p.tokenForgotten('h-a');
    p.flushUrgent();
    await batched;
    await p.flush();
    expect(onDisk().tokens, 'the queued put resurrected the removed token').to.deep.equal([]);
  });
});
