import { hashToken } from '../../cache/token-hash.js';

/**
 * The worker's view of the static cache: which paths are cached, and which tokens proved read
 * access to each. Raw tokens live only here, in memory, to call Vault on their behalf.
 */
export class StaticRegistry {
  private readonly byPath = new Map<string, string[]>();
  private readonly byToken = new Map<string, { token: string; paths: Set<string> }>();

  add(path: string, token: string): void {
    const hash = hashToken(token);
    const hashes = this.byPath.get(path) ?? [];
    if (!hashes.includes(hash)) hashes.push(hash);
    this.byPath.set(path, hashes);
    const t = this.byToken.get(hash) ?? { token, paths: new Set<string>() };
    t.paths.add(path);
    this.byToken.set(hash, t);
  }

  /** The path left the cache. */
  forget(path: string): void {
    for (const hash of this.byPath.get(path) ?? []) this.dropTokenPaths(hash, [path]);
    this.byPath.delete(path);
  }

  /** The token no longer reads these paths (all of its paths when omitted). Returns the paths it lost. */
  dropToken(hash: string, paths?: string[]): string[] {
    const t = this.byToken.get(hash);
    if (!t) return [];
    const lost = paths ?? [...t.paths];
    this.dropTokenPaths(hash, lost);
    for (const path of lost) {
      const left = (this.byPath.get(path) ?? []).filter((h) => h !== hash);
      if (left.length) this.byPath.set(path, left);
      else this.byPath.delete(path);
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
    return (this.byPath.get(path) ?? []).flatMap((hash) => {
      const t = this.byToken.get(hash);
      return t ? [{ hash, token: t.token }] : [];
    });
  }

  tokens(): Array<{ hash: string; token: string; paths: string[] }> {
    return [...this.byToken].map(([hash, t]) => ({ hash, token: t.token, paths: [...t.paths] }));
  }

  private dropTokenPaths(hash: string, paths: string[]): void {
    const t = this.byToken.get(hash);
    if (!t) return;
    for (const p of paths) t.paths.delete(p);
    if (t.paths.size === 0) this.byToken.delete(hash);
  }
}
