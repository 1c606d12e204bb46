// ACL evaluation: merge the rules of a token's policies and answer per path, following
// vault/acl.go (exact rules first, then the most specific glob by Vault's priority order).

export const CAPABILITIES = [
  'create', 'read', 'update', 'delete', 'list', 'sudo', 'deny', 'patch', 'subscribe', 'recover',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The request operations an ACL is asked about. `header` (HEAD) is granted to root only. */
export type AclOperation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch' | 'header';

export interface PathRule {
  readonly pattern: string;
  readonly capabilities: ReadonlySet<Capability>;
}

interface GlobRule {
  readonly pattern: string;
  readonly regex: RegExp;
  readonly firstWildcard: number;
  readonly isPrefix: boolean;
  readonly wildcards: number;
  readonly body: string;
  readonly capabilities: ReadonlySet<Capability>;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isGlob(pattern: string): boolean {
  return pattern.endsWith('*') || pattern.split('/').includes('+');
}

function compileGlob(pattern: string, capabilities: ReadonlySet<Capability>): GlobRule {
  const isPrefix = pattern.endsWith('*');
  const body = isPrefix ? pattern.slice(0, -1) : pattern;
  const segments = body.split('/');
  const source = segments.map((s) => (s === '+' ? '[^/]*' : escapeRegex(s))).join('/');
  let firstWildcard = body.length;
  let offset = 0;
  for (const seg of segments) {
    if (seg === '+') { firstWildcard = offset; break; }
    offset += seg.length + 1;
  }
  return {
    pattern,
    regex: new RegExp(`^${source}${isPrefix ? '[\\s\\S]*' : ''}$`),
    firstWildcard,
    isPrefix,
    wildcards: segments.filter((s) => s === '+').length,
    body,
    capabilities,
  };
}

/** Vault's priority order for overlapping non-exact rules; true when a beats b. */
function beats(a: GlobRule, b: GlobRule): boolean {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard > b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return !a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards < b.wildcards;
  if (a.body.length !== b.body.length) return a.body.length > b.body.length;
  return a.body > b.body;
}

function mergeCaps(a: ReadonlySet<Capability> | undefined, b: ReadonlySet<Capability>): ReadonlySet<Capability> {
  if (!a) return b;
  if (a.has('deny') || b.has('deny')) return new Set(['deny']);
  return new Set([...a, ...b]);
}

export class Acl {
  private readonly exact = new Map<string, ReadonlySet<Capability>>();
  private readonly globs: GlobRule[] = [];

  constructor(readonly root: boolean, rules: readonly PathRule[]) {
    const globCaps = new Map<string, ReadonlySet<Capability>>();
    for (const rule of rules) {
      const target = isGlob(rule.pattern) ? globCaps : this.exact;
      target.set(rule.pattern, mergeCaps(target.get(rule.pattern), rule.capabilities));
    }
    for (const [pattern, caps] of globCaps) this.globs.push(compileGlob(pattern, caps));
  }

  private bestGlob(path: string): ReadonlySet<Capability> | undefined {
    let best: GlobRule | undefined;
    for (const g of this.globs) {
      if (g.regex.test(path) && (!best || beats(g, best))) best = g;
    }
    return best?.capabilities;
  }

  /** The capabilities that govern `path` for `op`, following acl.go's lookup order. */
  capabilitiesFor(path: string, op: AclOperation = 'read'): ReadonlySet<Capability> {
    if (this.root) return new Set(CAPABILITIES.filter((c) => c !== 'deny'));
    const exact = this.exact.get(path);
    if (exact) return exact;
    if (op === 'list') {
      const trimmed = path.replace(/\/$/, '');
      const bare = this.exact.get(trimmed);
      if (bare) return bare;
      if (path.endsWith('/')) {
        const glob = this.bestGlob(trimmed);
        if (glob) return glob;
      }
    }
    return this.bestGlob(path) ?? new Set();
  }

  allows(path: string, op: AclOperation): boolean {
    if (this.root) return true;
    if (op === 'header') return false;
    const caps = this.capabilitiesFor(path, op);
    return !caps.has('deny') && caps.has(op);
  }

  hasSudo(path: string, op: AclOperation): boolean {
    if (this.root) return true;
    const caps = this.capabilitiesFor(path, op);
    return !caps.has('deny') && caps.has('sudo');
  }

  /** sys/internal/ui/mounts access: any non-deny grant on the mount or anywhere below it. */
  grantsAnythingUnder(mountPath: string): boolean {
    if (this.root) return true;
    const usable = (caps: ReadonlySet<Capability>): boolean => caps.size > 0 && !caps.has('deny');
    if (usable(this.capabilitiesFor(mountPath))) return true;
    for (const [pattern, caps] of this.exact) if (pattern.startsWith(mountPath) && usable(caps)) return true;
    const mountSegs = mountPath.replace(/\/$/, '').split('/');
    for (const g of this.globs) {
      if (!usable(g.capabilities)) continue;
      const segs = g.body.split('/');
      const matches = mountSegs.every((seg, i) => {
        const p = segs[i];
        if (p === undefined) return false;
        if (p === '+') return true;
        return i === segs.length - 1 && g.isPrefix ? seg.startsWith(p) || p.startsWith(seg) : p === seg;
      });
      if (matches && (segs.length > mountSegs.length || g.isPrefix)) return true;
    }
    return false;
  }
}
