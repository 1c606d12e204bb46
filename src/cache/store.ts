import { LRUCache } from 'lru-cache';

/**
 * Where cache entries live. The in-memory store is the embedded default; a shared (Redis)
 * store implements the same interface later.
 */
export interface CacheStore {
  get(key: string): Buffer | undefined;
  set(key: string, value: Buffer): void;
  delete(key: string): boolean;
  keys(): IterableIterator<string>;
  readonly bytes: number;
  readonly size: number;
  /** Registers who hears about entries dropped to stay within the budget. */
  onBudgetEviction?(listener: (key: string) => void): void;
}

/** In-memory store with a byte budget; the least recently used entries go first. */
export class MemoryStore implements CacheStore {
  private readonly lru: LRUCache<string, Buffer>;
  private readonly listeners: Array<(key: string) => void> = [];

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: maxBytes,
      sizeCalculation: (value, key) => value.length + key.length + 64,
      dispose: (_value, key, reason) => {
        if (reason === 'evict') for (const l of this.listeners) l(key);
      },
    });
  }

  onBudgetEviction(listener: (key: string) => void): void {
    this.listeners.push(listener);
  }

  get(key: string): Buffer | undefined {
    return this.lru.get(key);
  }

  set(key: string, value: Buffer): void {
    this.lru.set(key, value);
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.lru.keys();
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get size(): number {
    return this.lru.size;
  }
}
