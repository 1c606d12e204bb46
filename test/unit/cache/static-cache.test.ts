import { expect } from 'chai';
import { StaticCache } from '../../../src/cache/static-cache.js';
import { MemoryStore } from '../../../src/cache/store.js';
import { hashToken } from '../../../src/cache/token-hash.js';
import type { StoredResponse } from '../../../src/cache/entry.js';

function response(text: string, storedAtMs = 1_000): StoredResponse {
  return { status: 200, headers: [['content-type', 'application/json']], body: new TextEncoder().encode(text), storedAtMs };
}
const text = (r: StoredResponse | undefined): string | undefined => (r ? new TextDecoder().decode(r.body) : undefined);
const A = hashToken('hvs.A');
const B = hashToken('hvs.B');
const latest = { path: 'secret/data/x', version: 0, header: '' };

describe('cache: static cache — who may read what', () => {
  it('serves an entry only to tokens that proved read access', () => {
    const c = new StaticCache(new MemoryStore(1 << 20));
    expect(c.record(latest, A, response('a'))).to.equal(true);
    expect(text(c.lookup(latest, A))).to.equal('a');
    expect(c.lookup(latest, B)).to.equal(undefined);
    expect(c.record(latest, B, response('b'))).to.equal(true);
    expect(c.record(latest, B, response('b'))).to.equal(false);
    expect(text(c.lookup(latest, A))).to.equal('b');
  });

  it('keeps versions apart; each form is its own proof of access (a policy may allow one and deny the other)', () => {
    const c = new StaticCache(new MemoryStore(1 << 20));
    c.record(latest, A, response('v3'), 3);
    // A read the latest only: ?version=3 (the same answer) is not proven for A.
    expect(c.lookup({ ...latest, version: 3 }, A)).to.equal(undefined);
    c.record({ ...latest, version: 1 }, A, response('v1'));
    expect(text(c.lookup({ ...latest, version: 1 }, A))).to.equal('v1');
    // B read ?version=1 only: the latest is not proven for B.
    c.record({ ...latest, version: 1 }, B, response('v1'));
    expect(c.lookup(latest, B)).to.equal(undefined);
    expect(text(c.lookup({ ...latest, version: 1 }, B))).to.equal('v1');
    // ?version=3 proven: served from the latest's answer, no second copy.
    c.record({ ...latest, version: 3 }, A, response('v3'));
    expect(text(c.lookup({ ...latest, version: 3 }, A))).to.equal('v3');
    expect(c.lookup({ ...latest, version: 2 }, A)).to.equal(undefined);
    c.dropVersions(latest.path, [1]);
    expect(c.lookup({ ...latest, version: 1 }, A)).to.equal(undefined);
  });

  it('a revoked token leaves its entries at once; an entry nobody may read is evicted', () => {
    const forgotten: string[] = [];
    const c = new StaticCache(new MemoryStore(1 << 20), (p) => forgotten.push(p));
    c.record(latest, A, response('a'));
    c.record(latest, B, response('a'));
    c.revoke(A, [latest.path]);
    expect(c.lookup(latest, A)).to.equal(undefined);
    expect(text(c.lookup(latest, B))).to.equal('a');
    c.revoke(B, [latest.path]);
    expect(c.lookup(latest, B)).to.equal(undefined);
    expect(c.size).to.equal(0);
    expect(forgotten).to.deep.equal([latest.path]);
  });

  it('a refetch drops the tokens Vault refused and replaces the response', () => {
    const c = new StaticCache(new MemoryStore(1 << 20));
    c.record(latest, A, response('old'));
    c.record(latest, B, response('old'));
    c.update(latest.path, response('new', 5_000), [A]);
    expect(c.lookup(latest, A)).to.equal(undefined);
    expect(text(c.lookup(latest, B))).to.equal('new');
    expect(c.lookup(latest, B)!.storedAtMs).to.equal(5_000);
    c.update(latest.path, response('newer'), [B]);
    expect(c.size).to.equal(0);
  });

  it('a header form (X-Vault-Namespace) is served only where it has answered itself; a path form proves only the path form', () => {
    // `ns1/secret/data/x` read by path, then `ns1` + `secret/data/x` by header: one canonical path,
    // but OpenBao answers the header form 404 when no namespace `ns1` exists (a root mount may be
    // named `ns1/secret`).
    const c = new StaticCache(new MemoryStore(1 << 20));
    const byPath = { path: 'ns1/secret/data/x', version: 0, header: '' };
    const byHeader = { ...byPath, header: 'ns1/' };
    c.record(byPath, A, response('root-mount'));
    expect(text(c.lookup(byPath, A))).to.equal('root-mount');
    expect(c.lookup(byHeader, A)).to.equal(undefined);
    expect(c.lookup({ ...byHeader, version: 1 }, A)).to.equal(undefined);
    // The header form answered (the namespace exists): both forms are the same secret now.
    c.record(byHeader, B, response('in-ns1'), 1);
    expect(text(c.lookup(byHeader, B))).to.equal('in-ns1');
    expect(text(c.lookup(byHeader, A))).to.equal('in-ns1');
    expect(text(c.lookup(byPath, B))).to.equal('in-ns1');
    // Another header naming a different split (`ns1/secret` + `data/x`) has not answered.
    expect(c.lookup({ ...byPath, header: 'ns1/secret/' }, B)).to.equal(undefined);
    // A refetch with the same answer keeps the header form; a changed answer makes it answer again.
    c.update(byPath.path, response('in-ns1', 2_000), []);
    expect(text(c.lookup(byHeader, B))).to.equal('in-ns1');
    c.update(byPath.path, response('changed', 3_000), []);
    expect(c.lookup(byHeader, B)).to.equal(undefined);
    expect(text(c.lookup(byPath, B))).to.equal('changed');
  });

  it('a refetch whose answer differs only in Vault\'s request_id is the same answer (update says same, the header form stays); another field is a change', () => {
    const c = new StaticCache(new MemoryStore(1 << 20));
    const kv = (requestId: string, v: string) => response(JSON.stringify({ request_id: requestId, lease_id: '', data: { data: { v } } }));
    const byHeader = { ...latest, header: 'ns1/' };
    c.record(byHeader, A, kv('r-1', 'x'));
    expect(c.update(latest.path, kv('r-2', 'x'), [])).to.equal('same');
    expect(c.lookup(byHeader, A)).to.not.equal(undefined);
    expect(c.update(latest.path, kv('r-3', 'y'), [])).to.equal('changed');
    expect(c.lookup(byHeader, A)).to.equal(undefined);
    // Not JSON: only the very same bytes are the same answer.
    c.record(latest, B, response('plain'));
    expect(c.update(latest.path, response('plain'), [])).to.equal('same');
    expect(c.update(latest.path, response('plain!'), [])).to.equal('changed');
  });

  it('a refetch keeps only the version it read: versions may have changed unseen', () => {
    const c = new StaticCache(new MemoryStore(1 << 20));
    c.record({ ...latest, version: 1 }, A, response('v1'));
    c.record(latest, A, response('v2'), 2);
    c.record({ ...latest, version: 2 }, A, response('v2'));
    c.update(latest.path, response('v3'), [], 3);
    expect(c.lookup({ ...latest, version: 1 }, A)).to.equal(undefined);
    expect(c.lookup({ ...latest, version: 2 }, A)).to.equal(undefined);
    // Version proofs go with their answers; the latest stays proven.
    expect(c.lookup({ ...latest, version: 3 }, A)).to.equal(undefined);
    expect(text(c.lookup(latest, A))).to.equal('v3');
  });

  it('keeps within its byte budget, least recently used first, and tells the worker', () => {
    const forgotten: string[] = [];
    const c = new StaticCache(new MemoryStore(16 * 1024), (p, reason) => forgotten.push(`${p} ${reason}`));
    const kib = 'x'.repeat(1024);
    for (let i = 0; i < 40; i++) c.record({ path: `secret/data/s${i}`, version: 0, header: '' }, A, response(kib));
    expect(c.bytes).to.be.at.most(16 * 1024);
    expect(c.lookup({ path: 'secret/data/s39', version: 0, header: '' }, A)).not.to.equal(undefined);
    expect(c.lookup({ path: 'secret/data/s0', version: 0, header: '' }, A)).to.equal(undefined);
    expect(forgotten).to.include('secret/data/s0 budget');
  });

  it('a hit served from the decoded copy never outlives a change of its entry', () => {
    // Each case: a lookup makes the decoded copy, the change happens, the next lookup must see it.
    const cases: Array<[string, (c: StaticCache) => void, (c: StaticCache) => void]> = [
      ['revoke', (c) => c.revoke(A, [latest.path]), (c) => expect(c.lookup(latest, A)).to.equal(undefined)],
      ['revoke everywhere', (c) => c.revokeEverywhere(A), (c) => expect(c.lookup(latest, A)).to.equal(undefined)],
      ['refetch refused', (c) => c.update(latest.path, response('new'), [A]), (c) => expect(c.lookup(latest, A)).to.equal(undefined)],
      ['refetch', (c) => c.update(latest.path, response('new'), []), (c) => expect(text(c.lookup(latest, A))).to.equal('new')],
      ['record', (c) => c.record(latest, B, response('by B')), (c) => expect(text(c.lookup(latest, A))).to.equal('by B')],
      ['evict', (c) => c.evict(latest.path, 'gone'), (c) => expect(c.lookup(latest, A)).to.equal(undefined)],
      ['evict prefix', (c) => c.evictPrefix('secret/'), (c) => expect(c.lookup(latest, A)).to.equal(undefined)],
      ['clear', (c) => c.clear(), (c) => expect(c.lookup(latest, A)).to.equal(undefined)],
      ['drop versions', (c) => c.dropVersions(latest.path, [1]), (c) => expect(c.lookup({ ...latest, version: 1 }, A)).to.equal(undefined)],
    ];
    for (const [name, change, check] of cases) {
      const c = new StaticCache(new MemoryStore(1 << 20));
      c.record(latest, A, response('old'));
      c.record({ ...latest, version: 1 }, A, response('v1'));
      expect(text(c.lookup(latest, A)), name).to.equal('old');
      expect(text(c.lookup({ ...latest, version: 1 }, A)), name).to.equal('v1');
      change(c);
      check(c);
    }
  });

  it('a secret dropped for the budget is not served from its decoded copy; a hot secret counts as used', () => {
    const c = new StaticCache(new MemoryStore(16 * 1024));
    const kib = 'x'.repeat(1024);
    const key = (i: number): { path: string; version: number; header: string } => ({ path: `secret/data/s${i}`, version: 0, header: '' });
    c.record(key(0), A, response(`hot ${kib}`));
    c.record(key(1), A, response(`cold ${kib}`));
    expect(c.lookup(key(1), A)).not.to.equal(undefined); // decoded copy of s1 made
    for (let i = 2; i < 40; i++) {
      c.record(key(i), A, response(kib));
      expect(text(c.lookup(key(0), A))?.startsWith('hot')).to.equal(true); // read on every round: never the LRU victim
    }
    expect(c.lookup(key(1), A)).to.equal(undefined);
  });
});
