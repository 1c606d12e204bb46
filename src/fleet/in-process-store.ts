// The fleet's L2 kept in this process: the same record layer as the Redis store (sealed values,
// HMAC names, rotation, refusal, a TTL on every record; src/fleet/shared-store.ts), its bytes in a
// Map. It is the second store of the contract suite (test/integration/fleet/shared-store.test.ts)
// and the shape the embedded default takes once the request path speaks SharedStore.
import { SealedSharedStore, type RecordSpace, type SealedStoreOptions } from './shared-store.js';

export interface InProcessSharedStoreOptions extends SealedStoreOptions {
  /** Default `vxp:`, like the Redis store's. */
  prefix?: string;
  /** Wall clock in ms (default Date.now): when records expire. */
  now?: () => number;
}

export class InProcessSharedStore extends SealedSharedStore {
  /** The space itself: tests read and change the stored bytes through it, as redis-cli does for Redis. */
  readonly records: InProcessRecordSpace;

  constructor(opts: InProcessSharedStoreOptions) {
    const space = new InProcessRecordSpace(opts.prefix ?? 'vxp:', opts.now ?? Date.now);
    super(space, opts);
    this.records = space;
  }
}

type Held = Map<string, { value: Buffer; expiresAt: number }>;

export class InProcessRecordSpace implements RecordSpace {
  constructor(readonly prefix: string, private readonly now: () => number, private readonly held: Held = new Map()) {}

  /** A space over the same records with another prefix (as two fleets share one Redis). */
  withPrefix(prefix: string): InProcessRecordSpace {
    return new InProcessRecordSpace(prefix, this.now, this.held);
  }

  /** Every name held now, whatever its prefix (expired ones dropped), in no particular order. */
  names(): string[] {
    return [...this.held.keys()].filter((n) => this.live(n));
  }

  /** A copy of the value under `name`, if any. */
  raw(name: string): Buffer | undefined {
    return this.live(name) ? Buffer.from(this.held.get(name)!.value) : undefined;
  }

  /** Sets `name` to a copy of `value` (a test playing someone with write access to the space). */
  setRaw(name: string, value: Uint8Array, ttlMs: number): void {
    this.held.set(name, { value: Buffer.from(value), expiresAt: this.now() + ttlMs });
  }

  /** Milliseconds `name` has left, undefined when it is not held. */
  ttlLeft(name: string): number | undefined {
    return this.live(name) ? this.held.get(name)!.expiresAt - this.now() : undefined;
  }

  mget(names: readonly string[]): Promise<Array<Buffer | null>> {
    return Promise.resolve(names.map((n) => this.raw(n) ?? null));
  }

  write(sets: ReadonlyArray<{ name: string; value: Buffer; ttlMs: number }>, deletes: readonly string[]): Promise<void> {
    for (const s of sets) this.setRaw(s.name, s.value, s.ttlMs);
    for (const n of deletes) this.held.delete(n);
    return Promise.resolve();
  }

  move(from: string, expected: Buffer, to: string, value: Buffer, others: readonly string[]): Promise<boolean> {
    const current = this.raw(from);
    if (!current?.equals(expected)) return Promise.resolve(false);
    const left = this.ttlLeft(from)!;
    if (left > 0 && !this.live(to)) this.setRaw(to, value, left);
    for (const n of [from, ...others]) this.held.delete(n);
    return Promise.resolve(true);
  }

  compareAndSet(name: string, expected: Buffer | null, value: Buffer, ttlMs: number, others: readonly string[]): Promise<boolean> {
    const current = this.raw(name);
    if (expected ? !current?.equals(expected) : current !== undefined) return Promise.resolve(false);
    this.setRaw(name, value, ttlMs);
    for (const n of others) this.held.delete(n);
    return Promise.resolve(true);
  }

  delete(names: readonly string[]): Promise<void> {
    for (const n of names) this.held.delete(n);
    return Promise.resolve();
  }

  deleteByPrefix(prefixes: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const n of [...this.held.keys()]) {
      if (!prefixes.some((p) => n.startsWith(p))) continue;
      if (this.live(n)) deleted++;
      this.held.delete(n);
    }
    return Promise.resolve(deleted);
  }

  scan(prefix: string): Promise<string[]> {
    return Promise.resolve(this.names().filter((n) => n.startsWith(prefix)));
  }

  private live(name: string): boolean {
    const r = this.held.get(name);
    if (!r) return false;
    if (r.expiresAt > this.now()) return true;
    this.held.delete(name);
    return false;
  }
}
