import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { SealError, type RefusedReason, type Sealer } from './seal.js';

/** The LMDB file in the persist directory (LMDB adds `<file>-lock`). */
export const STORE_FILE = 'vault-extproc-cache.mdb';

export interface LoadedRecord {
  name: string;
  plain: Buffer;
}

/**
 * The sealed key-value store on disk: LMDB (lmdb-js), one file in the persist directory. Names
 * and values come sealed from the caller's Sealer; this layer writes changes in batches (one LMDB
 * transaction per flush) and, on load, opens every record — a record that does not open (another
 * key, a changed byte, a value moved under another name) is refused, reported and deleted.
 */
export class SealedStore {
  private readonly pending = new Map<string, Buffer | null>();
  /** Batches handed to an asynchronous LMDB transaction that has not run yet (a synchronous write scrubs them). */
  private readonly queued = new Set<Map<string, Buffer | null>>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly db: RootDatabase<Buffer, string>,
    readonly file: string,
    /** The file was there before this process opened it (something to import). */
    readonly existed: boolean,
    private readonly sealer: Sealer,
    private readonly flushMs: number,
    private readonly onWritten: (records: number) => void,
  ) {}

  static open(dir: string, sealer: Sealer, opts: { flushMs: number; onWritten?: (records: number) => void }): SealedStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, STORE_FILE);
    const existed = existsSync(file);
    // Binary values (already sealed), string keys (HMAC names); no compression (sealed bytes do not compress).
    const db = open<Buffer, string>({ path: file, encoding: 'binary', keyEncoding: 'ordered-binary', compression: false });
    // Owner only, as the sink files: the values are sealed, but their names and sizes are the cache's shape.
    for (const f of [file, `${file}-lock`]) {
      try {
        chmodSync(f, 0o600);
      } catch {
        // not ours to change (a store prepared by another user): left as it is
      }
    }
    return new SealedStore(db, file, existed, sealer, opts.flushMs, opts.onWritten ?? (() => undefined));
  }

  /** Every record that opens; the others are reported with why, and deleted. */
  load(onRefused: (reason: RefusedReason) => void): LoadedRecord[] {
    const out: LoadedRecord[] = [];
    const bad: string[] = [];
    for (const { key, value } of this.db.getRange()) {
      try {
        out.push({ name: key, plain: this.sealer.open(key, value) });
      } catch (err) {
        onRefused(err instanceof SealError ? err.reason : 'malformed');
        bad.push(key);
      }
    }
    if (bad.length) {
      this.db.transactionSync(() => {
        for (const k of bad) this.db.removeSync(k);
      });
    }
    return out;
  }

  /** Sets (sealed now) or deletes a record at the next flush. */
  put(name: string, plain: Uint8Array): void {
    if (this.closed) return;
    this.pending.set(name, this.sealer.seal(name, plain));
    this.schedule();
  }

  remove(name: string): void {
    if (this.closed) return;
    this.pending.set(name, null);
    this.schedule();
  }

  /** Writes what is pending now, in one asynchronous transaction (batched writes: what adds access). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return this.writing;
    const batch = new Map(this.pending);
    this.pending.clear();
    this.queued.add(batch);
    this.writing = this.writing.then(() => this.db.transaction(() => {
      this.queued.delete(batch);
      for (const [k, v] of batch) {
        if (v) this.db.put(k, v);
        else this.db.remove(k);
      }
    })).then(() => this.onWritten(batch.size), () => this.onWritten(0));
    return this.writing;
  }

  /**
   * Writes what is pending now, synchronously, in one LMDB transaction: committed when this returns
   * (a SIGKILL right after cannot undo it). For what removes access. Older values of the same
   * records still queued for an asynchronous transaction are dropped from it, so they cannot land
   * after this one.
   */
  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    for (const q of this.queued) for (const [k] of batch) q.delete(k);
    this.db.transactionSync(() => {
      for (const [k, v] of batch) {
        if (v) this.db.putSync(k, v);
        else this.db.removeSync(k);
      }
    });
    this.onWritten(batch.length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.db.close();
  }

  /** keep_after_import = false: the store is read once and deleted (Vault Agent's behaviour). */
  async destroy(): Promise<void> {
    this.pending.clear();
    this.closed = true;
    await this.db.close();
    rmSync(this.file, { force: true });
    rmSync(`${this.file}-lock`, { force: true });
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.flushMs);
    this.timer.unref?.();
  }
}
