/**
 * Where cache entries live. The in-memory store is the embedded default; a shared (Redis)
 * store implements the same interface later.
 */
export interface CacheStore {
  /** The stored bytes; a view that stays valid (and unchanged) after the entry is replaced or deleted. */
  get(key: string): Buffer | undefined;
  /** Stores a copy of `value`: the caller may reuse its buffer. */
  set(key: string, value: Uint8Array): void;
  delete(key: string): boolean;
  keys(): IterableIterator<string>;
  readonly bytes: number;
  readonly size: number;
  /** Registers who hears about entries dropped to stay within the budget. */
  onBudgetEviction?(listener: (key: string) => void): void;
}

/** What the budget counts per entry besides its bytes and key (the index and bookkeeping). */
const ENTRY_OVERHEAD_BYTES = 64;
/** Entries are packed into slabs of this size; bigger entries get a slab of their own. */
export const SLAB_BYTES = 256 * 1024;
const OWN_SLAB_BYTES = SLAB_BYTES / 4;
const NONE = -1;

/**
 * In-memory store with a byte budget; the least recently used entries go first.
 *
 * Entries are copied into large slabs rather than kept as one Buffer each: a small Buffer either
 * costs its own ArrayBuffer (~450 bytes of bookkeeping) or a slice of Node's shared 8 KiB pool,
 * which a long-lived entry pins together with whatever short-lived data was allocated next to
 * it (measured: ~3.3 KB resident per 1.3 KB entry). The index is typed arrays and one Map.
 * Slab memory is never rewritten: a deleted entry's bytes stay as they were (a view returned by
 * get() may still be in use), and slabs that became mostly garbage are compacted by moving
 * their live entries into fresh slabs.
 */
export class MemoryStore implements CacheStore {
  private readonly slabs = new Slabs();
  private readonly ids = new Map<string, number>();
  private keyOf: Array<string | undefined> = [];
  private prev: Int32Array = new Int32Array(1024);
  private next: Int32Array = new Int32Array(1024);
  private slabOf: Int32Array = new Int32Array(1024);
  private offsetOf: Int32Array = new Int32Array(1024);
  private lengthOf: Int32Array = new Int32Array(1024);
  private readonly freeIds: number[] = [];
  /** Least and most recently used ids. */
  private head = NONE;
  private tail = NONE;
  private accounted = 0;
  private readonly listeners: Array<(key: string) => void> = [];

  constructor(private readonly maxBytes: number) {}

  onBudgetEviction(listener: (key: string) => void): void {
    this.listeners.push(listener);
  }

  get(key: string): Buffer | undefined {
    const id = this.ids.get(key);
    if (id === undefined) return undefined;
    this.touch(id);
    return this.slabs.view(this.slabOf[id]!, this.offsetOf[id]!, this.lengthOf[id]!);
  }

  set(key: string, value: Uint8Array): void {
    const size = budgetSize(key, value.length);
    let id = this.ids.get(key);
    if (size > this.maxBytes) {
      // It could never fit: the old value goes too, as it no longer is the value of `key`.
      if (id !== undefined) this.evict(id);
      return;
    }
    if (id !== undefined) {
      // Replaced in place: the entry keeps its id and key string, its old bytes are garbage.
      this.slabs.release(this.slabOf[id]!, this.lengthOf[id]!);
      this.accounted -= budgetSize(key, this.lengthOf[id]!);
      this.unlink(id);
    }
    while (this.head !== NONE && this.accounted + size > this.maxBytes) this.evict(this.head);
    id ??= this.newId(key);
    const [slab, offset] = this.slabs.add(value);
    this.slabOf[id] = slab;
    this.offsetOf[id] = offset;
    this.lengthOf[id] = value.length;
    this.accounted += size;
    this.linkAsNewest(id);
    this.compactIfWasteful();
  }

  delete(key: string): boolean {
    const id = this.ids.get(key);
    if (id === undefined) return false;
    this.remove(id);
    this.compactIfWasteful();
    return true;
  }

  /** Most recently used first. A snapshot: the store may change while it is iterated. */
  keys(): IterableIterator<string> {
    const out: string[] = [];
    for (let id = this.tail; id !== NONE; id = this.prev[id]!) out.push(this.keyOf[id]!);
    return out.values();
  }

  get bytes(): number {
    return this.accounted;
  }

  get size(): number {
    return this.ids.size;
  }

  /** Slab memory: bytes reserved for entries, and bytes of live entries in them. */
  get slabStats(): { slabs: number; allocatedBytes: number; liveBytes: number } {
    return this.slabs.stats();
  }

  private evict(id: number): void {
    const key = this.keyOf[id]!;
    this.remove(id);
    for (const l of this.listeners) l(key);
  }

  private remove(id: number): void {
    this.slabs.release(this.slabOf[id]!, this.lengthOf[id]!);
    this.accounted -= budgetSize(this.keyOf[id]!, this.lengthOf[id]!);
    this.unlink(id);
    this.ids.delete(this.keyOf[id]!);
    this.keyOf[id] = undefined;
    this.freeIds.push(id);
  }

  private newId(key: string): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.keyOf.length;
      if (id === this.prev.length) this.grow(id * 2);
    }
    const own = ownString(key);
    this.keyOf[id] = own;
    this.ids.set(own, id);
    return id;
  }

  private grow(capacity: number): void {
    const resized = (a: Int32Array): Int32Array => {
      const b = new Int32Array(capacity);
      b.set(a);
      return b;
    };
    this.prev = resized(this.prev);
    this.next = resized(this.next);
    this.slabOf = resized(this.slabOf);
    this.offsetOf = resized(this.offsetOf);
    this.lengthOf = resized(this.lengthOf);
  }

  private touch(id: number): void {
    if (id === this.tail) return;
    this.unlink(id);
    this.linkAsNewest(id);
  }

  private linkAsNewest(id: number): void {
    this.prev[id] = this.tail;
    this.next[id] = NONE;
    if (this.tail !== NONE) this.next[this.tail] = id;
    else this.head = id;
    this.tail = id;
  }

  private unlink(id: number): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
  }

  /** Moves the live entries out of mostly-empty slabs, so that those can go. */
  private compactIfWasteful(): void {
    const victims = this.slabs.worthCompacting();
    if (!victims) return;
    for (let id = this.head; id !== NONE; id = this.next[id]!) {
      if (!victims.has(this.slabOf[id]!)) continue;
      const [slab, offset] = this.slabs.move(this.slabOf[id]!, this.offsetOf[id]!, this.lengthOf[id]!);
      this.slabOf[id] = slab;
      this.offsetOf[id] = offset;
    }
  }
}

/**
 * The same string, in memory of its own. Keys are often slices of a larger string (a request's
 * :path, a whole decoded message), and V8 keeps all of that alive for as long as the slice
 * lives; a long-lived key should not. (UTF-16 both ways keeps every code unit; ASCII stays one
 * byte per character.)
 */
export function ownString(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

function budgetSize(key: string, length: number): number {
  return length + key.length + ENTRY_OVERHEAD_BYTES;
}

/**
 * Append-only slabs: bytes are written once and never overwritten. A slab goes when none of its
 * entries is live any more (views handed out keep its memory alive until they are dropped).
 */
class Slabs {
  private readonly slabs: Array<Buffer | undefined> = [];
  private readonly live: number[] = [];
  private readonly freeSlabIds: number[] = [];
  private current = NONE;
  private writeAt = 0;
  private allocated = 0;
  private liveTotal = 0;

  view(slab: number, offset: number, length: number): Buffer {
    return slab === NONE ? Buffer.alloc(0) : this.slabs[slab]!.subarray(offset, offset + length);
  }

  /** Copies `value` in; returns where it went (nowhere for an empty value). */
  add(value: Uint8Array): [number, number] {
    if (value.length === 0) return [NONE, 0];
    if (value.length >= OWN_SLAB_BYTES) {
      const slab = this.newSlab(value.length);
      this.slabs[slab]!.set(value);
      this.used(slab, value.length);
      return [slab, 0];
    }
    if (this.current === NONE || this.writeAt + value.length > SLAB_BYTES) {
      const full = this.current;
      this.current = this.newSlab(SLAB_BYTES);
      this.writeAt = 0;
      if (full !== NONE && this.live[full] === 0) this.drop(full);
    }
    const offset = this.writeAt;
    this.slabs[this.current]!.set(value, offset);
    this.writeAt += value.length;
    this.used(this.current, value.length);
    return [this.current, offset];
  }

  release(slab: number, length: number): void {
    if (slab === NONE) return;
    this.live[slab]! -= length;
    this.liveTotal -= length;
    if (this.live[slab] === 0 && slab !== this.current) this.drop(slab);
  }

  move(slab: number, offset: number, length: number): [number, number] {
    const to = this.add(this.view(slab, offset, length));
    this.release(slab, length);
    return to;
  }

  /**
   * The shared slabs at most 3/4 live, when more than a third of all slab memory is garbage
   * (and more than a few slabs' worth). Moving their entries frees at least a quarter of each.
   */
  worthCompacting(): Set<number> | undefined {
    const waste = this.allocated - this.liveTotal - (this.current === NONE ? 0 : SLAB_BYTES - this.writeAt);
    if (waste < 4 * SLAB_BYTES || waste * 3 < this.allocated) return undefined;
    const victims = new Set<number>();
    for (let s = 0; s < this.slabs.length; s++) {
      const slab = this.slabs[s];
      if (slab && s !== this.current && slab.length === SLAB_BYTES && this.live[s]! * 4 <= SLAB_BYTES * 3) victims.add(s);
    }
    return victims.size ? victims : undefined;
  }

  stats(): { slabs: number; allocatedBytes: number; liveBytes: number } {
    return { slabs: this.slabs.length - this.freeSlabIds.length, allocatedBytes: this.allocated, liveBytes: this.liveTotal };
  }

  private used(slab: number, length: number): void {
    this.live[slab]! += length;
    this.liveTotal += length;
  }

  private newSlab(bytes: number): number {
    // Not zeroed: pages are only touched (resident) as entries are written.
    const buf = Buffer.allocUnsafeSlow(bytes);
    const id = this.freeSlabIds.pop() ?? this.slabs.length;
    this.slabs[id] = buf;
    this.live[id] = 0;
    this.allocated += bytes;
    return id;
  }

  private drop(slab: number): void {
    this.allocated -= this.slabs[slab]!.length;
    this.slabs[slab] = undefined;
    this.freeSlabIds.push(slab);
  }
}
