import { expect } from 'chai';
import { MemoryStore, SLAB_BYTES } from '../../../src/cache/store.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (b: Uint8Array | undefined): string | undefined => (b ? new TextDecoder().decode(b) : undefined);
/** A value of `n` bytes that names its key, so a mix-up shows. */
const valueFor = (key: string, n: number): Uint8Array => bytes(`${key}:`.padEnd(n, '.'));

describe('cache: memory store', () => {
  it('stores, replaces and deletes; counts entries and budget bytes (value + key + 64)', () => {
    const s = new MemoryStore(1 << 20);
    s.set('a', bytes('one'));
    s.set('b', bytes('two'));
    s.set('a', bytes('uno'));
    expect(text(s.get('a'))).to.equal('uno');
    expect(text(s.get('b'))).to.equal('two');
    expect(s.size).to.equal(2);
    expect(s.bytes).to.equal(2 * (3 + 1 + 64));
    expect(s.delete('a')).to.equal(true);
    expect(s.delete('a')).to.equal(false);
    expect(s.get('a')).to.equal(undefined);
    expect(s.size).to.equal(1);
    expect(s.bytes).to.equal(3 + 1 + 64);
  });

  it('keeps a copy: the caller may reuse its buffer', () => {
    const s = new MemoryStore(1 << 20);
    const v = bytes('abc');
    s.set('k', v);
    v.fill(0);
    expect(text(s.get('k'))).to.equal('abc');
  });

  it('a value read stays intact after its entry is replaced or deleted (hits in flight)', () => {
    const s = new MemoryStore(1 << 20);
    s.set('k', bytes('first'));
    const held = s.get('k')!;
    s.set('k', bytes('again'));
    s.delete('k');
    for (let i = 0; i < 1000; i++) s.set(`x${i}`, valueFor(`x${i}`, 500));
    expect(text(held)).to.equal('first');
  });

  it('lists keys most recently used first; a read counts as a use', () => {
    const s = new MemoryStore(1 << 20);
    for (const k of ['a', 'b', 'c']) s.set(k, bytes(k));
    s.get('a');
    expect([...s.keys()]).to.deep.equal(['a', 'c', 'b']);
  });

  it('keeps within its budget, least recently used first, and says which keys went', () => {
    const evicted: string[] = [];
    const entry = 100 + 2 + 64;
    const s = new MemoryStore(3 * entry);
    s.onBudgetEviction((k) => evicted.push(k));
    for (const k of ['k1', 'k2', 'k3']) s.set(k, valueFor(k, 100));
    s.get('k1');
    s.set('k4', valueFor('k4', 100));
    expect(evicted).to.deep.equal(['k2']);
    expect([...s.keys()].sort()).to.deep.equal(['k1', 'k3', 'k4']);
    expect(s.bytes).to.equal(3 * entry);
    s.delete('k3'); // an explicit delete is not a budget eviction
    expect(evicted).to.deep.equal(['k2']);
  });

  it('a value that can never fit is not stored, and the old value of its key goes', () => {
    const evicted: string[] = [];
    const s = new MemoryStore(1000);
    s.onBudgetEviction((k) => evicted.push(k));
    s.set('big', bytes('small'));
    s.set('big', new Uint8Array(1000));
    expect(s.get('big')).to.equal(undefined);
    expect(s.size).to.equal(0);
    expect(s.bytes).to.equal(0);
    expect(evicted).to.deep.equal(['big']);
  });

  it('stores empty values and values bigger than a slab', () => {
    const s = new MemoryStore(1 << 24);
    s.set('empty', new Uint8Array(0));
    const large = valueFor('large', 3 * SLAB_BYTES + 7);
    s.set('large', large);
    s.set('small', bytes('s'));
    expect(s.get('empty')!.length).to.equal(0);
    expect(Buffer.compare(s.get('large')!, large)).to.equal(0);
    expect(text(s.get('small'))).to.equal('s');
    s.delete('large');
    expect(s.slabStats.allocatedBytes).to.equal(SLAB_BYTES);
  });

  it('packs entries into shared slabs and frees a slab once its entries are gone', () => {
    const s = new MemoryStore(1 << 30);
    const perSlab = Math.floor(SLAB_BYTES / 1000);
    const n = 4 * perSlab;
    for (let i = 0; i < n; i++) s.set(`k${i}`, valueFor(`k${i}`, 1000));
    expect(s.slabStats).to.deep.equal({ slabs: 4, allocatedBytes: 4 * SLAB_BYTES, liveBytes: n * 1000 });
    for (let i = 0; i < perSlab - 1; i++) s.delete(`k${i}`);
    expect(s.slabStats.slabs).to.equal(4);
    s.delete(`k${perSlab - 1}`); // the first slab's last entry
    expect(s.slabStats.slabs).to.equal(3);
  });

  it('compacts slabs that became mostly garbage, keeping every live entry as it was', () => {
    const s = new MemoryStore(1 << 30);
    const n = Math.ceil((40 * SLAB_BYTES) / 1000);
    for (let i = 0; i < n; i++) s.set(`k${i}`, valueFor(`k${i}`, 1000));
    const order = [...s.keys()];
    // Every other entry goes: each slab is half garbage, none empties by itself.
    for (let i = 0; i < n; i += 2) s.delete(`k${i}`);
    const { allocatedBytes, liveBytes } = s.slabStats;
    expect(liveBytes).to.equal(Math.floor(n / 2) * 1000);
    expect(allocatedBytes).to.be.below(liveBytes * 1.5);
    // Compaction moves bytes, not recency.
    expect([...s.keys()]).to.deep.equal(order.filter((k) => Number(k.slice(1)) % 2 === 1));
    for (let i = 1; i < n; i += 2) expect(text(s.get(`k${i}`)), `k${i}`).to.equal(text(valueFor(`k${i}`, 1000)));
  });
});
