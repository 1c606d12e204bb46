import { ownString } from '../../cache/store.js';
import { hashToken } from '../../cache/token-hash.js';

/**
 * The worker's view of the static cache: which paths are cached, and which tokens proved read
 * access to each. Raw tokens live only here, in memory, to call Vault on their behalf.
 *
 * Sized for one entry per cached secret: a path maps to its one token hash (the usual case,
 * shared strings) or to a list of them, and a token keeps only a count of its paths; its paths
 * are found by a scan when needed (capability refresh, a token's expiry), which is rare. Paths
 * arrive as slices of a whole decoded message: they are copied before they are kept.
 */
export class StaticRegistry {
  private readonly byPath = new Map<string, string | string[]>();
  private readonly byToken = new Map<string, { token: string; paths: number }>();

  add(path: string, token: string): void {
    const hash = hashToken(token);
    const held = this.byPath.get(path);
    if (held === undefined) this.byPath.set(ownString(path), hash);
    else if (typeof held === 'string') {
      if (held === hash) return;
      this.byPath.set(path, [held, hash]);
    } else {
      if (held.includes(hash)) return;
      held.push(hash);
    }
    const t = this.byToken.get(hash);
    if (t) t.paths++;
    else this.byToken.set(hash, { token: ownString(token), paths: 1 });
  }

  /** The path left the cache. */
  forget(path: string): void {
    const held = this.byPath.get(path);
    if (held === undefined) return;
    this.byPath.delete(path);
    for (const hash of hashesOf(held)) this.lostPath(hash);
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
      this.lostPath(hash);
    }
    return lost;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
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
    const pathsByHash = new Map<string, string[]>();
    for (const [path, held] of this.byPath) {
      for (const hash of hashesOf(held)) {
        const list = pathsByHash.get(hash);
        if (list) list.push(path);
        else pathsByHash.set(hash, [path]);
      }
    }
    return [...this.byToken].map(([hash, t]) => ({ hash, token: t.token, paths: pathsByHash.get(hash) ?? [] }));
  }

  private pathsOf(hash: string): string[] {
    const out: string[] = [];
    for (const [path, held] of this.byPath) if (held === hash || (typeof held !== 'string' && held.includes(hash))) out.push(path);
    return out;
  }

  private lostPath(hash: string): void {
    const t = this.byToken.get(hash);
    if (t && --t.paths === 0) this.byToken.delete(hash);
  }
}

function hashesOf(held: string | string[]): string[] {
  return typeof held === 'string' ? [held] : held;
}
