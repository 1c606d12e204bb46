// The fleet's L2: what one replica records, every replica can serve (issue 16 steps 2 and 8).
//
// `SharedStore` is the seam a network store needs: every call is asynchronous (it may wait on
// Redis, and may fail: SharedStoreUnavailable, never a hang — the Redis client has no offline
// queue and a timeout on every command) and batched (one MGET for every record a read asks for,
// one MULTI for every record a write sets). Two implementations share one record layer
// (`SealedSharedStore`) and differ only in where the sealed bytes live (`RecordSpace`):
// `RedisSharedStore` (src/fleet/redis-store.ts) and `InProcessSharedStore`
// (src/fleet/in-process-store.ts, the embedded default's twin and the contract suite's second
// store). test/integration/fleet/shared-store.test.ts runs one contract suite against both.
//
// A record in the space:
// - name: key_prefix + kind + base64url HMAC-SHA256 of what it names (the path, the lease-cache
//   key, a fixed word for the auto-auth token) under a name key of the fleet keyring
//   (Sealer.names): never a raw path, token or secret in a name;
// - value: the record encoded with our schema (src/fleet/schema.ts), sealed with AES-256-GCM under
//   the newest key, the full name (prefix included) as additional data: a value moved under
//   another name, or into another fleet's prefix, does not open;
// - a TTL on every record (SET … PX): nothing in the space lives forever.
// Reads ask for a record's name under every key of the ring in the same MGET and follow
// Sealer.openNewest: the newest value present decides. Found under an older key, it is moved under
// the newest name (compare-and-move, RecordSpace.move: only while the old name still holds what was
// read, never over a newer write, keeping its remaining TTL), and the other names are deleted. A
// value that does not open (tampered, swapped, a key no longer in the ring, not our format), does
// not decode, or decodes as another record than its name says (`misfiled`) is refused: never
// returned, deleted, and counted through `onRefused(kind, reason)`.
//
// WHO WRITES WHAT in a fleet (step 8: raw client tokens travel no further than they must):
// - Static entries: the serving replica — the one that had Vault's answer and the token that
//   proved it — writes the entry. The entry carries the proofs of access as token HASHES only
//   (StaticEntry.tokens, SHA-256): a raw client token never leaves the replica it arrived at for
//   a static secret, not even sealed. Other replicas serve from it by hashing their own caller's
//   token, exactly as L1 does.
// - Lease-cache entries: the serving replica writes the entry (hashes and the lease id) once, when
//   Vault created the token or lease; the raw token the lease is renewed with travels only inside
//   that sealed record's `renewal`, because after a take-over the elected owner must renew leases
//   it never saw created (issue 16 step 5). `getLeases` strips the renewal unless the caller asks
//   for it (`withRenewal`: the owner's renewal loop only), so serving replicas do not even hold
//   other clients' raw tokens in memory. Afterwards only the owner rewrites the record (a new TTL
//   after a renewal).
// - The auto-auth token: the owner writes it (it logs in), every replica reads it.
// - Invalidation events (src/fleet/invalidation-stream.ts) carry hashes, never raw tokens.
import type { StaticEntry } from '../cache/entry.js';
import type { LeaseEntry } from '../cache/lease-cache.js';
import { SEAL_DOMAINS } from '../crypto/keyring.js';
import { SealError, Sealer, type SealRefusal } from '../crypto/sealer.js';
import {
  decodeAutoAuthToken, decodeLeaseEntry, decodeStaticEntry, encodeAutoAuthToken, encodeLeaseEntry, encodeStaticEntry,
  type LeaseRenewal, type SharedAutoAuthToken,
} from './schema.js';

/** The kinds of record in the shared store; each is a prefix of its names (`<key_prefix>s:…`). */
export const RECORD_KINDS = { static: 's:', lease: 'l:', auto_auth: 'a:' } as const;
export type RecordKind = keyof typeof RECORD_KINDS;

/** What the auto-auth token's name is an HMAC of (there is one per fleet). */
const AUTO_AUTH_NAME = 'auto-auth token';

/**
 * Why a stored value was refused (for the metric `…_refused_total{kind,reason}`):
 * the sealer's `wrong_key` | `tampered` | `malformed`; `undecodable`: opened but is not a record
 * of our schema (SchemaError); `misfiled`: opened and decoded, but names another path or lease key
 * than the name it was read under (a bug or a forged record: never served).
 */
export type RefusalReason = SealRefusal | 'undecodable' | 'misfiled';

export type RefusedListener = (kind: RecordKind, reason: RefusalReason) => void;

/** A lease-cache entry as shared, with what the elected worker renews it with. */
export interface SharedLease {
  entry: LeaseEntry;
  /** Holds a raw token (sealed in the store): only returned to a read `withRenewal`. */
  renewal?: LeaseRenewal;
}

/** The store could not be asked (Redis down, hung, refused the command): a caller goes to Vault instead. */
export class SharedStoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SharedStoreUnavailable';
  }
}

/** The fleet's L2. Every method may reject with SharedStoreUnavailable; none returns a refused value. */
export interface SharedStore {
  /** The entries of `paths`, in order; undefined where there is none (or it was refused). */
  getStatic(paths: readonly string[]): Promise<Array<StaticEntry | undefined>>;
  /** Writes each entry under its path (replacing what was there) for `ttlMs`. */
  putStatic(entries: readonly StaticEntry[], ttlMs: number): Promise<void>;
  deleteStatic(paths: readonly string[]): Promise<void>;
  /**
   * Changes one static record atomically: `change` gets what is stored now (undefined when none,
   * when it does not open, or when it is under an older key: nothing unproven is carried over) and
   * returns the record to store; the write happens only while the record is still what was read
   * (compare-and-set), else it is read and changed again (at most `attempts` times). A deletion in
   * between (a revocation) is never written over with what it removed. Returns whether it was written.
   */
  updateStatic(path: string, change: (current: StaticEntry | undefined) => StaticEntry, ttlMs: number, attempts?: number): Promise<boolean>;
  /** Every static record of this prefix (a cache-clear, an unmount: names are HMACs, prefixes cannot be matched). */
  clearStatic(): Promise<number>;
  /** Lease-cache entries by their cache key; `withRenewal`: with the raw renewal token (the owner only). */
  getLeases(keys: readonly string[], opts?: { withRenewal?: boolean }): Promise<Array<SharedLease | undefined>>;
  putLeases(leases: readonly SharedLease[], ttlMs: number): Promise<void>;
  deleteLeases(keys: readonly string[]): Promise<void>;
  /** Every lease record of this prefix (a cache-clear of everything: the owner renews none of them any more). */
  clearLeases(): Promise<number>;
  /**
   * Every lease record of this prefix (a new owner renews them all: issue 16 step 5); `withRenewal`
   * as getLeases. A name's value is opened under that name and must decode as the record of that
   * name: what does not is refused, deleted and counted, as reads do.
   */
  listLeases(opts?: { withRenewal?: boolean }): Promise<SharedLease[]>;
  /**
   * Rewrites one lease record that is still there (the owner after a renewal: a new TTL), with
   * what `change` makes of it (read withRenewal); compare-and-set, as updateStatic. A record deleted
   * meanwhile (an eviction) is never written back. Returns whether it was written.
   */
  updateLease(key: string, change: (current: SharedLease) => SharedLease, ttlMs: number, attempts?: number): Promise<boolean>;
  getAutoAuthToken(): Promise<SharedAutoAuthToken | undefined>;
  putAutoAuthToken(token: SharedAutoAuthToken, ttlMs: number): Promise<void>;
  deleteAutoAuthToken(): Promise<void>;
  /** Deletes every record of this store (its kinds under its prefix; nothing else). Returns how many. */
  clear(): Promise<number>;
}

/** Where the sealed bytes live: the only part a Redis and an in-process store do differently. */
export interface RecordSpace {
  /** `key_prefix`: every name this store uses starts with it. */
  readonly prefix: string;
  /** The values of `names`, null where none (one round trip). */
  mget(names: readonly string[]): Promise<Array<Buffer | null>>;
  /** At once: sets each (with its TTL), deletes each of `deletes` (one MULTI). */
  write(sets: ReadonlyArray<{ name: string; value: Buffer; ttlMs: number }>, deletes: readonly string[]): Promise<void>;
  /**
   * At once, and only while `from` still holds `expected`: sets `to` to `value` with the TTL `from`
   * has left — unless `to` already holds a value (a newer write wins) — and deletes `from` and
   * `others`. Returns whether `from` still held `expected`.
   */
  move(from: string, expected: Buffer, to: string, value: Buffer, others: readonly string[]): Promise<boolean>;
  /**
   * At once, and only while `name` holds `expected` (null: holds nothing): sets `name` to `value`
   * with `ttlMs`, and deletes `others`. Returns whether it was set.
   */
  compareAndSet(name: string, expected: Buffer | null, value: Buffer, ttlMs: number, others: readonly string[]): Promise<boolean>;
  delete(names: readonly string[]): Promise<void>;
  /** Deletes every name that starts with one of `prefixes`; returns how many. */
  deleteByPrefix(prefixes: readonly string[]): Promise<number>;
  /** Every name that starts with `prefix` now (Redis: SCAN MATCH), in no particular order, each once. */
  scan(prefix: string): Promise<string[]>;
}

/** How many names one MGET of listLeases asks for. */
const LIST_BATCH = 500;

export interface SealedStoreOptions {
  /** The fleet's 32-byte keys, newest first (config fleet.encryption_key_file). */
  keys: readonly Uint8Array[];
  onRefused?: RefusedListener;
}

/** A decoder for one kind: the record, or a refusal reason. */
type Decoded<T> = { value: T } | { refused: RefusalReason };

/** The record layer of every SharedStore: names, sealing, rotation, refusal. */
export class SealedSharedStore implements SharedStore {
  protected readonly sealer: Sealer;
  private readonly onRefused: RefusedListener;

  constructor(protected readonly space: RecordSpace, opts: SealedStoreOptions) {
    this.sealer = new Sealer(opts.keys, { domain: SEAL_DOMAINS.fleet });
    this.onRefused = opts.onRefused ?? (() => undefined);
  }

  /** The record's full name under every key of the ring, newest (the one written) first. */
  names(kind: RecordKind, what: string): string[] {
    return this.sealer.names(RECORD_KINDS[kind], what).map((n) => `${this.space.prefix}${n}`);
  }

  async getStatic(paths: readonly string[]): Promise<Array<StaticEntry | undefined>> {
    return this.read('static', paths, (plain, path) => {
      const entry = decodeStaticEntry(plain);
      return entry.path === path ? { value: entry } : { refused: 'misfiled' };
    });
  }

  async putStatic(entries: readonly StaticEntry[], ttlMs: number): Promise<void> {
    await this.writeAll('static', entries.map((e) => ({ what: e.path, plain: encodeStaticEntry(e) })), ttlMs);
  }

  async deleteStatic(paths: readonly string[]): Promise<void> {
    await this.deleteAll('static', paths);
  }

  async updateStatic(path: string, change: (current: StaticEntry | undefined) => StaticEntry, ttlMs: number, attempts = 3): Promise<boolean> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`a shared record's ttl must be a positive integer of ms, not ${ttlMs}`);
    const names = this.names('static', path);
    const [newest, ...older] = names;
    for (let i = 0; i < attempts; i++) {
      const held = await this.space.mget(names);
      let current: StaticEntry | undefined;
      const found = this.sealer.openNewest(names, held);
      if (found.refused) this.onRefused('static', found.refused.reason);
      else if (found.plain && !found.rewrite) {
        try {
          const entry = decodeStaticEntry(found.plain);
          if (entry.path === path) current = entry;
          else this.onRefused('static', 'misfiled');
        } catch {
          this.onRefused('static', 'undecodable');
        }
      }
      const next = change(current);
      if (await this.space.compareAndSet(newest!, held[0] ?? null, this.sealer.seal(newest!, encodeStaticEntry(next)), ttlMs, older)) return true;
    }
    return false;
  }

  async clearStatic(): Promise<number> {
    return this.space.deleteByPrefix([`${this.space.prefix}${RECORD_KINDS.static}`]);
  }

  async getLeases(keys: readonly string[], opts: { withRenewal?: boolean } = {}): Promise<Array<SharedLease | undefined>> {
    return this.read('lease', keys, (plain, key) => {
      const { entry, renewal } = decodeLeaseEntry(plain);
      if (entry.key !== key) return { refused: 'misfiled' };
      return { value: opts.withRenewal && renewal ? { entry, renewal } : { entry } };
    });
  }

  async putLeases(leases: readonly SharedLease[], ttlMs: number): Promise<void> {
    await this.writeAll('lease', leases.map((l) => ({ what: l.entry.key, plain: encodeLeaseEntry(l.entry, l.renewal) })), ttlMs);
  }

  async deleteLeases(keys: readonly string[]): Promise<void> {
    await this.deleteAll('lease', keys);
  }

  async clearLeases(): Promise<number> {
    return this.space.deleteByPrefix([`${this.space.prefix}${RECORD_KINDS.lease}`]);
  }

  async listLeases(opts: { withRenewal?: boolean } = {}): Promise<SharedLease[]> {
    const names = await this.space.scan(`${this.space.prefix}${RECORD_KINDS.lease}`);
    const keys = new Set<string>();
    const deletes: string[] = [];
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      const batch = names.slice(i, i + LIST_BATCH);
      const values = await this.space.mget(batch);
      for (const [j, name] of batch.entries()) {
        const value = values[j];
        if (!value) continue; // expired or deleted since the scan
        let plain: Buffer;
        try {
          plain = this.sealer.open(name, value);
        } catch (err) {
          this.onRefused('lease', err instanceof SealError ? err.reason : 'malformed');
          deletes.push(name);
          continue;
        }
        let key: string;
        try {
          key = decodeLeaseEntry(plain).entry.key;
        } catch {
          this.onRefused('lease', 'undecodable');
          deletes.push(name);
          continue;
        }
        // Sealed for this name, yet naming another lease key: never taken (a bug or a forged record).
        if (!this.names('lease', key).includes(name)) {
          this.onRefused('lease', 'misfiled');
          deletes.push(name);
          continue;
        }
        keys.add(key);
      }
    }
    if (deletes.length) await this.space.delete(deletes).catch(() => undefined);
    // Read as getLeases reads (the newest name wins, an older key's record moves under the newest).
    const leases = await this.getLeases([...keys], opts);
    return leases.filter((l): l is SharedLease => l !== undefined);
  }

  async updateLease(key: string, change: (current: SharedLease) => SharedLease, ttlMs: number, attempts = 3): Promise<boolean> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`a shared record's ttl must be a positive integer of ms, not ${ttlMs}`);
    const names = this.names('lease', key);
    const [newest, ...older] = names;
    for (let i = 0; i < attempts; i++) {
      const held = await this.space.mget(names);
      const found = this.sealer.openNewest(names, held);
      if (found.refused || !found.plain) {
        // Nothing to rewrite (a refused value is dropped by the read that meets it).
        if (found.refused) await this.getLeases([key]);
        return false;
      }
      if (found.rewrite) {
        await this.getLeases([key]); // moves it under the newest key; then compare against that
        continue;
      }
      let current: SharedLease;
      try {
        const decoded = decodeLeaseEntry(found.plain);
        if (decoded.entry.key !== key) {
          await this.getLeases([key]); // refuses and deletes it
          return false;
        }
        current = decoded.renewal ? { entry: decoded.entry, renewal: decoded.renewal } : { entry: decoded.entry };
      } catch {
        await this.getLeases([key]);
        return false;
      }
      const next = change(current);
      if (next.entry.key !== key) throw new Error('updateLease: the change named another lease key');
      if (await this.space.compareAndSet(newest!, held[0]!, this.sealer.seal(newest!, encodeLeaseEntry(next.entry, next.renewal)), ttlMs, older)) return true;
    }
    return false;
  }

  async getAutoAuthToken(): Promise<SharedAutoAuthToken | undefined> {
    const [token] = await this.read('auto_auth', [AUTO_AUTH_NAME], (plain) => ({ value: decodeAutoAuthToken(plain) }));
    return token;
  }

  async putAutoAuthToken(token: SharedAutoAuthToken, ttlMs: number): Promise<void> {
    await this.writeAll('auto_auth', [{ what: AUTO_AUTH_NAME, plain: encodeAutoAuthToken(token) }], ttlMs);
  }

  async deleteAutoAuthToken(): Promise<void> {
    await this.deleteAll('auto_auth', [AUTO_AUTH_NAME]);
  }

  async clear(): Promise<number> {
    return this.space.deleteByPrefix(Object.values(RECORD_KINDS).map((k) => `${this.space.prefix}${k}`));
  }

  private async read<T>(kind: RecordKind, whats: readonly string[], decode: (plain: Buffer, what: string) => Decoded<T>): Promise<Array<T | undefined>> {
    if (whats.length === 0) return [];
    const perRecord = whats.map((w) => this.names(kind, w));
    const values = await this.space.mget(perRecord.flat());
    const ring = this.sealer.keyCount;
    const out: Array<T | undefined> = [];
    const deletes: string[] = [];
    const moves: Array<Parameters<RecordSpace['move']>> = [];
    for (const [i, names] of perRecord.entries()) {
      const held = values.slice(i * ring, (i + 1) * ring);
      const found = this.sealer.openNewest(names, held);
      if (found.refused) {
        this.onRefused(kind, found.refused.reason);
        deletes.push(...found.obsolete);
        out.push(undefined);
        continue;
      }
      if (!found.plain) {
        out.push(undefined);
        continue;
      }
      let decoded: Decoded<T>;
      try {
        decoded = decode(found.plain, whats[i]!);
      } catch {
        // A SchemaError, or any other surprise in bytes that opened: refused, never a failed read.
        decoded = { refused: 'undecodable' };
      }
      if ('refused' in decoded) {
        this.onRefused(kind, decoded.refused);
        deletes.push(...names.filter((_, j) => held[j]));
        out.push(undefined);
        continue;
      }
      out.push(decoded.value);
      if (found.rewrite) {
        // Opened under an older key: move it under the newest name (sealed anew, bound to it).
        const at = held.findIndex((v) => v);
        const from = names[at]!;
        moves.push([from, held[at]!, names[0]!, this.sealer.seal(names[0]!, found.plain), found.obsolete.filter((n) => n !== from)]);
      } else {
        deletes.push(...found.obsolete);
      }
    }
    // Clean-up is part of the read (a refused value is gone when the read returns), but what the
    // read found stands even if Redis drops now: the next read refuses or migrates again.
    await Promise.all([
      deletes.length ? this.space.delete(deletes) : undefined,
      ...moves.map((m) => this.space.move(...m)),
    ]).catch(() => undefined);
    return out;
  }

  private async writeAll(kind: RecordKind, records: ReadonlyArray<{ what: string; plain: Uint8Array }>, ttlMs: number): Promise<void> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`a shared record's ttl must be a positive integer of ms, not ${ttlMs}`);
    if (records.length === 0) return;
    const sets: Array<{ name: string; value: Buffer; ttlMs: number }> = [];
    const deletes: string[] = [];
    for (const r of records) {
      const [newest, ...older] = this.names(kind, r.what);
      sets.push({ name: newest!, value: this.sealer.seal(newest!, r.plain), ttlMs });
      // A record lives under one name: the same record under an older key goes in the same MULTI.
      deletes.push(...older);
    }
    await this.space.write(sets, deletes);
  }

  private async deleteAll(kind: RecordKind, whats: readonly string[]): Promise<void> {
    if (whats.length === 0) return;
    await this.space.delete(whats.flatMap((w) => this.names(kind, w)));
  }
}
