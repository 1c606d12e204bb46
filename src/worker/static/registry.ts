import { ownString } from '../../cache/store.js';
import { hashToken } from '../../cache/token-hash.js';

/** A token's paths: one inline (the usual case), or a set. */
type Held = string | Set<string>;

/**
 * The worker's view of the static cache: which paths are cached, and which tokens proved read
 * access to each. Raw tokens live only here, in memory, to call Vault on their behalf.
 *
 * Sized for one entry per cached secret: a path maps to its one token hash (the usual case,
 * shared strings) or to a list of them, and a token to its one path or a set of them (the
 * capability check of one token needs its paths without a scan of every path). Paths arrive as
 * slices of a whole decoded message: they are copied before they are kept.
 */
export class StaticRegistry {
  private readonly byPath = new Map<string, string | string[]>();
  private readonly byToken = new Map<string, { token: string; paths: Held }>();

  /** `onTokenGone` hears of every token that lost its last path (forgotten, dropped, or refused). */
  constructor(private readonly onTokenGone: (hash: string) => void = () => undefined) {}

  add(path: string, token: string): void {
    const hash = hashToken(token);
    const held = this.byPath.get(path);
    // A new path: one copy shared by both maps. A path other tokens read: a copy of its own
    // (a Map does not give its key back), so that no slice of a message is kept.
    const own = ownString(path);
    if (held === undefined) this.byPath.set(own, hash);
    else if (typeof held === 'string') {
      if (held === hash) return;
      this.byPath.set(path, [held, hash]);
    } else {
      if (held.includes(hash)) return;
      held.push(hash);
    }
    const t = this.byToken.get(hash);
    if (!t) this.byToken.set(hash, { token: ownString(token), paths: own });
    else if (typeof t.paths === 'string') t.paths = new Set([t.paths, own]);
    else t.paths.add(own);
  }

  /** The path left the cache. */
  forget(path: string): void {
    const held = this.byPath.get(path);
    if (held === undefined) return;
    this.byPath.delete(path);
    for (const hash of hashesOf(held)) this.lostPath(hash, path);
  }

  /** The token no longer reads these paths (all of its paths when omitted). Returns the paths it lost. */
  dropToken(hash: string, paths?: string[]): string[] {
    if (!this.byToken.has(hash)) return [];
    const lost = paths ?? this.pathsOf(hash);
    for (const path of lost) {
      const held = this.byPath.get(path);
      if (held === undefined || !hashesOf(held).includes(hash)) continue;
      const left = hashesOf(held).filter((h) => h !== hash);
      if (left.length === 0) this.byPath.delete(path);
      else this.byPath.set(path, left.length === 1 ? left[0]! : left);
      this.lostPath(hash, path);
    }
    return lost;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  hasToken(hash: string): boolean {
    return this.byToken.has(hash);
  }

  /** The raw token behind a hash, while it reads a cached path. */
  tokenOf(hash: string): string | undefined {
    return this.byToken.get(hash)?.token;
  }

  /** The cached paths a token proved it reads, in the order it proved them. */
  pathsOf(hash: string): string[] {
    const t = this.byToken.get(hash);
    if (!t) return [];
    return typeof t.paths === 'string' ? [t.paths] : [...t.paths];
  }

  paths(): string[] {
    return [...this.byPath.keys()];
  }

  /** Tokens that may read `path`, in the order they proved it. */
  tokensFor(path: string): Array<{ hash: string; token: string }> {
    const held = this.byPath.get(path);
    return held === undefined ? [] : hashesOf(held).flatMap((hash) => {
      const t = this.byToken.get(hash);
      return t ? [{ hash, token: t.token }] : [];
    });
  }

  tokens(): Array<{ hash: string; token: string; paths: string[] }> {
    return [...this.byToken].map(([hash, t]) => ({ hash, token: t.token, paths: this.pathsOf(hash) }));
  }

  get tokenCount(): number {
    return this.byToken.size;
  }

  private lostPath(hash: string, path: string): void {
    const t = this.byToken.get(hash);
    if (!t) return;
    if (typeof t.paths !== 'string') {
      t.paths.delete(path);
      if (t.paths.size === 1) t.paths = t.paths.values().next().value as string;
      return;
    }
    if (t.paths !== path) return;
    this.byToken.delete(hash);
    this.onTokenGone(hash);
  }
}

function hashesOf(held: string | string[]): string[] {
  return typeof held === 'string' ? [held] : held;
}
