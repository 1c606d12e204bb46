/**
 * Coalescing: while one request for a key is on its way to Vault, identical requests wait for
 * it and are then answered from the cache (or go to Vault themselves if nothing was cached).
 */
export class Inflight {
  private readonly pending = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  /** Undefined when nobody is fetching `key`; otherwise resolves when the leader is done. */
  waitFor(key: string): Promise<void> | undefined {
    return this.pending.get(key)?.promise;
  }

  /** Marks `key` as being fetched; the caller must end() it. */
  begin(key: string): void {
    if (this.pending.has(key)) return;
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((r) => { resolve = r; });
    this.pending.set(key, { promise, resolve });
  }

  end(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    p.resolve();
  }

  get size(): number {
    return this.pending.size;
  }
}
