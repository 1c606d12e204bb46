/**
 * Which mounts are KV, for Vaults whose responses do not say (`mount_type` is Vault 1.16+; Vault
 * 1.15 and OpenBao leave it out). The worker asks `sys/internal/ui/mounts/<path>` once per mount
 * and the answer is kept for a while, so a remount is noticed; until a mount is known its reads
 * are not cached.
 */
export type MountKind = 'kv' | 'other';

const KEEP_MS = 5 * 60_000;
/** A path asked about is not asked about again for this long (the answer may be a refusal). */
const ASK_AGAIN_MS = 30_000;

export class KvMounts {
  /** Canonical mount prefix (namespace included, ending in '/') → what it is and when we learned it. */
  private readonly mounts = new Map<string, { kind: MountKind; kvVersion: 1 | 2 | undefined; atMs: number }>();
  private readonly asked = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The kind of the mount holding a canonical path, or undefined while unknown. */
  kindOf(path: string): MountKind | undefined {
    return this.mountOf(path)?.kind;
  }

  /** The mount holding a canonical path (its prefix, kind and KV version when known), or undefined while unknown. */
  mountOf(path: string): { prefix: string; kind: MountKind; kvVersion: 1 | 2 | undefined } | undefined {
    let best: { prefix: string; kind: MountKind; kvVersion: 1 | 2 | undefined } | undefined;
    const now = this.now();
    for (const [prefix, m] of this.mounts) {
      if (now - m.atMs > KEEP_MS) {
        this.mounts.delete(prefix);
        continue;
      }
      if ((path === prefix.slice(0, -1) || path.startsWith(prefix)) && (!best || prefix.length > best.prefix.length)) best = { prefix, kind: m.kind, kvVersion: m.kvVersion };
    }
    return best;
  }

  /** True when the worker should be asked about this path now (not asked recently). */
  shouldAsk(path: string): boolean {
    const now = this.now();
    const at = this.asked.get(path);
    if (at !== undefined && now - at < ASK_AGAIN_MS) return false;
    if (this.asked.size > 10_000) this.asked.clear();
    this.asked.set(path, now);
    return true;
  }

  /** A mount disabled through Envoy: unknown again until the worker looks it up. */
  forget(mountPrefix: string): void {
    if (mountPrefix === '') {
      this.mounts.clear(); // every mount (a remount)
      return;
    }
    this.mounts.delete(mountPrefix.endsWith('/') ? mountPrefix : `${mountPrefix}/`);
  }

  learn(mountPrefix: string, kind: MountKind, kvVersion?: 1 | 2): void {
    const prefix = mountPrefix.endsWith('/') ? mountPrefix : `${mountPrefix}/`;
    this.mounts.set(prefix, { kind, kvVersion, atMs: this.now() });
    for (const p of this.asked.keys()) if (p.startsWith(prefix)) this.asked.delete(p);
  }
}

/**
 * The canonical mount prefix of `path` from Vault's answer for it: the mount path Vault gives
 * (relative to the namespace) where it appears in the canonical path on a segment boundary.
 */
export function mountPrefixOf(path: string, mountPath: string): string | undefined {
  const mount = normalMount(mountPath);
  if (!mount) return undefined;
  const withSlash = `${path}/`;
  let i = 0;
  for (;;) {
    if (withSlash.startsWith(mount, i)) return withSlash.slice(0, i) + mount;
    const next = withSlash.indexOf('/', i);
    if (next === -1 || next + 1 >= withSlash.length) return undefined;
    i = next + 1;
  }
}

/** A mount path as Vault lists it (`secret`, `/secret/`) in the form `secret/`; undefined for none. */
export function normalMount(mountPath: string): string | undefined {
  const bare = mountPath.replace(/^\/+|\/+$/g, '');
  return bare === '' ? undefined : `${bare}/`;
}
