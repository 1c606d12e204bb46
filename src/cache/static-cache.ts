import { decodeEntry, encodeEntry, type StaticEntry, type StoredResponse } from './entry.js';
import type { StaticKey } from './static-key.js';
import type { CacheStore } from './store.js';

/** How many decoded entries stay at hand for hits (a few hundred KiB at most for 1 KiB secrets). */
const HOT_ENTRIES = 256;

/** Why an entry left: budget (LRU), no_reader (no token may read it), gone (deleted in Vault), cleared. */
export type EvictionReason = 'budget' | 'no_reader' | 'gone' | 'cleared';

/**
 * The static (KV) secret cache: one entry per canonical path, version sub-entries, and the
 * hashes of the tokens that proved read access. A token not in the set never gets a hit.
 */
export class StaticCache {
  /**
   * Decoded entries of recent hits, so a hot secret is not decoded on every read. Bodies are
   * copies (a view would pin a whole store slab). Every change of a path drops its copy.
   */
  private readonly hot = new Map<string, StaticEntry>();

  constructor(
    private readonly store: CacheStore,
    /** Called when an entry disappears for good, so the worker stops refreshing it. */
    private readonly onEvicted: (path: string, reason: EvictionReason) => void = () => undefined,
  ) {
    store.onBudgetEviction?.((path) => {
      this.hot.delete(path);
      this.onEvicted(path, 'budget');
    });
  }

  /** The stored answer for exactly this form of the request, when this token proved that form. */
  lookup(key: StaticKey, tokenHash: string): StoredResponse | undefined {
    const entry = this.readHot(key.path);
    return entry && lookupIn(entry, key, tokenHash);
  }

  /**
   * A 2xx KV response read by a token: the token proves that form of the request (the latest, or
   * `?version=N`) and the response is stored (a KV v2 latest read also serves its own version's
   * sub-entry, for tokens that proved that version). Returns true when the token is new on the path.
   */
  record(key: StaticKey, tokenHash: string, response: StoredResponse, kvVersion?: number): boolean {
    const before = this.read(key.path);
    const newToken = !before || !holds(before, tokenHash);
    this.write(withProof(before, key, tokenHash, response, kvVersion));
    return newToken;
  }

  /**
   * The worker refetched a secret: store the new response and drop tokens Vault refused. Returns
   * what happened: `same` (the answer and its readers did not change), `changed`, `evicted` (no
   * reader left), `absent` (not cached).
   */
  update(path: string, response: StoredResponse, failedTokens: string[], kvVersion?: number): 'same' | 'changed' | 'evicted' | 'absent' {
    const entry = this.read(path);
    if (!entry) return 'absent';
    const readers = entry.tokens.length;
    entry.tokens = entry.tokens.filter((t) => !failedTokens.includes(t));
    if (entry.tokens.length === 0) {
      this.evict(path, 'no_reader');
      return 'evicted';
    }
    const same = sameAnswer(entry.latest, response) && entry.tokens.length === readers && Object.keys(entry.versionTokens).length === 0
      && entry.latestVersion === kvVersion;
    // A changed answer may come from elsewhere (a namespace deleted, a root mount of its name made):
    // the header forms answer again before they are served.
    if (!sameAnswer(entry.latest, response)) entry.headerNamespaces = [];
    entry.latest = response;
    // Versions change under a secret without naming themselves (max_versions trims, 1.15 destroy
    // events list no versions, events missed while disconnected): keep only the one just read,
    // and version proofs go with their answers.
    entry.versions = {};
    entry.versionTokens = {};
    setLatestVersion(entry, kvVersion);
    this.write(entry);
    return same ? 'same' : 'changed';
  }

  dropVersions(path: string, versions: number[]): void {
    const entry = this.read(path);
    if (!entry) return;
    for (const v of versions) {
      delete entry.versions[String(v)];
      delete entry.versionTokens[String(v)];
      if (v === entry.latestVersion) delete entry.latestVersion;
    }
    this.write(entry);
  }

  /** A token lost read access on these paths (or altogether): it leaves them; empty entries go. */
  revoke(tokenHash: string, paths: string[]): void {
    for (const path of paths) {
      const entry = this.read(path);
      if (!entry || !holds(entry, tokenHash)) continue;
      entry.tokens = entry.tokens.filter((t) => t !== tokenHash);
      for (const [v, list] of Object.entries(entry.versionTokens)) {
        const left = list.filter((t) => t !== tokenHash);
        if (left.length) entry.versionTokens[v] = left;
        else delete entry.versionTokens[v];
      }
      if (!hasReaders(entry)) this.evict(path, 'no_reader');
      else this.write(entry);
    }
  }

  /** A token revoked through us (or cleared): it leaves every entry at once. */
  revokeEverywhere(tokenHash: string): void {
    this.revoke(tokenHash, this.paths());
  }

  /** cache-clear request_path: every entry whose canonical path starts with the prefix. */
  evictPrefix(prefix: string, reason: EvictionReason = 'cleared'): void {
    for (const path of this.paths()) if (path.startsWith(prefix)) this.evict(path, reason);
  }

  clear(): void {
    for (const path of this.paths()) this.evict(path, 'cleared');
  }

  /** Returns whether the path was cached (and onEvicted told). */
  evict(path: string, reason: EvictionReason = 'cleared'): boolean {
    this.hot.delete(path);
    const was = this.store.delete(path);
    if (was) this.onEvicted(path, reason);
    return was;
  }

  paths(): string[] {
    return [...this.store.keys()];
  }

  /** The tokens that proved some form of the path (a restarted worker is told them again: CacheMediator.workerLost). */
  provers(path: string): string[] {
    const entry = this.read(path);
    return entry ? [...new Set([...entry.tokens, ...Object.values(entry.versionTokens).flat()])] : [];
  }

  get bytes(): number {
    return this.store.bytes;
  }

  get size(): number {
    return this.store.size;
  }

  /** A fresh decoded entry, the caller's to change and write back. */
  private read(path: string): StaticEntry | undefined {
    const bytes = this.store.get(path);
    return bytes ? decodeEntry(path, bytes) : undefined;
  }

  /** The entry for reading only: the hot copy when there is one (the store still counts the use). */
  private readHot(path: string): StaticEntry | undefined {
    const bytes = this.store.get(path);
    if (!bytes) {
      this.hot.delete(path);
      return undefined;
    }
    const known = this.hot.get(path);
    if (known) return known;
    const entry = decodeEntry(path, bytes);
    if (entry.latest) entry.latest = { ...entry.latest, body: new Uint8Array(entry.latest.body) };
    for (const [v, r] of Object.entries(entry.versions)) entry.versions[v] = { ...r, body: new Uint8Array(r.body) };
    if (this.hot.size >= HOT_ENTRIES) this.hot.delete(this.hot.keys().next().value as string);
    this.hot.set(path, entry);
    return entry;
  }

  private write(entry: StaticEntry): void {
    this.hot.delete(entry.path);
    this.store.set(entry.path, encodeEntry(entry));
  }
}

/** The answer an entry holds for exactly this form of the request, when this token proved that form (L1 and a fleet's L2). */
export function lookupIn(entry: StaticEntry, key: StaticKey, tokenHash: string): StoredResponse | undefined {
  if (key.header !== '' && !entry.headerNamespaces.includes(key.header)) return undefined;
  if (key.version === 0) return entry.tokens.includes(tokenHash) ? entry.latest : undefined;
  if (!entry.versionTokens[String(key.version)]?.includes(tokenHash)) return undefined;
  return key.version === entry.latestVersion ? entry.latest : entry.versions[String(key.version)];
}

/**
 * The entry with one more proof: `tokenHash` read this form of the request (the latest, or
 * `?version=N`) and Vault answered `response` (a KV v2 latest read also serves its own version's
 * sub-entry, for tokens that proved that version). The one rule for L1 (StaticCache.record) and for
 * a fleet's L2 (a proof merged into the shared record). `entry` is changed and returned.
 */
export function withProof(entry: StaticEntry | undefined, key: StaticKey, tokenHash: string, response: StoredResponse, kvVersion?: number): StaticEntry {
  const e = entry ?? { path: key.path, tokens: [], versionTokens: {}, versions: {}, headerNamespaces: [] };
  if (key.header !== '' && !e.headerNamespaces.includes(key.header)) e.headerNamespaces.push(key.header);
  if (key.version === 0) {
    if (!e.tokens.includes(tokenHash)) e.tokens.push(tokenHash);
    e.latest = response;
    setLatestVersion(e, kvVersion);
  } else {
    const v = String(key.version);
    const provers = e.versionTokens[v] ?? (e.versionTokens[v] = []);
    if (!provers.includes(tokenHash)) provers.push(tokenHash);
    if (key.version === e.latestVersion) e.latest = response;
    else e.versions[v] = response;
  }
  return e;
}

/** The token proved some form of the path. */
function holds(entry: StaticEntry, tokenHash: string): boolean {
  return entry.tokens.includes(tokenHash) || Object.values(entry.versionTokens).some((l) => l.includes(tokenHash));
}

/**
 * The same answer: the same status and body, but for Vault's `request_id`, which differs on every
 * read (a refetch that found nothing new must not look like a change: in a fleet a change is
 * told to every replica and drops the shared record).
 */
export function sameAnswer(a: StoredResponse | undefined, b: StoredResponse): boolean {
  if (a === undefined || a.status !== b.status) return false;
  const x = Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength);
  const y = Buffer.from(b.body.buffer, b.body.byteOffset, b.body.byteLength);
  if (x.equals(y)) return true;
  const without = (body: Buffer): string | undefined => {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
      const { request_id: _ignored, ...rest } = parsed as Record<string, unknown>;
      return JSON.stringify(rest);
    } catch {
      return undefined;
    }
  };
  const wx = without(x);
  return wx !== undefined && wx === without(y);
}

function hasReaders(entry: StaticEntry): boolean {
  return entry.tokens.length > 0 || Object.keys(entry.versionTokens).length > 0;
}

function setLatestVersion(entry: StaticEntry, kvVersion: number | undefined): void {
  if (kvVersion === undefined) {
    delete entry.latestVersion;
    return;
  }
  entry.latestVersion = kvVersion;
  delete entry.versions[String(kvVersion)]; // served from latest
}
