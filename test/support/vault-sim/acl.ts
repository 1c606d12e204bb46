// ACL evaluation: merge the rules of a token's policies and answer per path, following
// vault/acl.go (exact rules first, then the most specific glob by Vault's priority order).

export const CAPABILITIES = [
  'create', 'read', 'update', 'delete', 'list', 'sudo', 'deny', 'patch', 'subscribe', 'recover',
  // OpenBao's (profile `openbao`; the Vault profile's policy store refuses it, policy.ts).
  'scan',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The request operations an ACL is asked about. `header` (HEAD) is granted to root only. */
export type AclOperation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch' | 'header' | 'scan';

/** A policy value list: strings (globbed at either end) or other HCL/JSON values (compared deeply). */
export type ParameterValues = readonly unknown[];

/** `allowed_parameters`, `denied_parameters` (names lower-cased) and `required_parameters`. */
export interface ParameterRules {
  readonly allowed?: ReadonlyMap<string, ParameterValues>;
  readonly denied?: ReadonlyMap<string, ParameterValues>;
  readonly required?: readonly string[];
}

export interface PathRule extends ParameterRules {
  readonly pattern: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** `subscribe_event_types` globs (1.15+); empty when the block has none. */
  readonly subscribeEventTypes?: readonly string[];
}

/** What one merged rule grants: capabilities, the event types `subscribe` covers, parameter rules. */
interface Permissions extends ParameterRules {
  readonly capabilities: ReadonlySet<Capability>;
  readonly subscribeEventTypes: readonly string[];
}

interface GlobRule {
  readonly pattern: string;
  readonly regex: RegExp;
  readonly firstWildcard: number;
  readonly isPrefix: boolean;
  readonly wildcards: number;
  readonly body: string;
  readonly permissions: Permissions;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isGlob(pattern: string): boolean {
  return pattern.endsWith('*') || pattern.split('/').includes('+');
}

function compileGlob(pattern: string, permissions: Permissions): GlobRule {
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
    permissions,
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

/** acl.go's merge of one parameter map: an empty list for a key overrides any values. */
function mergeParameters(
  a: ReadonlyMap<string, ParameterValues> | undefined, b: ReadonlyMap<string, ParameterValues> | undefined,
): ReadonlyMap<string, ParameterValues> | undefined {
  if (!b || b.size === 0) return a;
  if (!a) return new Map(b);
  const out = new Map(a);
  for (const [key, values] of b) {
    const existing = out.get(key);
    out.set(key, values.length === 0 || (existing !== undefined && existing.length === 0) ? [] : [...values, ...(existing ?? [])]);
  }
  return out;
}

/** Rules for the same pattern from several policies merge; `deny` wins over everything. */
function merge(a: Permissions | undefined, b: Permissions): Permissions {
  if (!a) return b;
  if (a.capabilities.has('deny') || b.capabilities.has('deny')) return { capabilities: new Set(['deny']), subscribeEventTypes: [] };
  const required = [...(a.required ?? [])];
  for (const r of b.required ?? []) if (!required.includes(r)) required.push(r);
  return {
    capabilities: new Set([...a.capabilities, ...b.capabilities]),
    subscribeEventTypes: [...new Set([...a.subscribeEventTypes, ...b.subscribeEventTypes])],
    allowed: mergeParameters(a.allowed, b.allowed),
    denied: mergeParameters(a.denied, b.denied),
    required,
  };
}

/** strutil.GlobbedStringsMatch: a leading and/or trailing `*` is a wildcard. */
function globbedStringsMatch(item: string, val: string): boolean {
  if (item.length < 2) return val === item;
  const prefix = item.startsWith('*');
  const suffix = item.endsWith('*');
  if (prefix && suffix) return val.includes(item.slice(1, -1));
  if (prefix) return val.endsWith(item.slice(1));
  if (suffix) return val.startsWith(item.slice(0, -1));
  return val === item;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** acl.go valueInParameterList: an empty list holds every value. */
function valueInParameterList(value: unknown, list: ParameterValues): boolean {
  if (list.length === 0) return true;
  return list.some((el) => {
    if (el === null || el === undefined || value === null || value === undefined) return el === value;
    if (typeof el === 'string' && typeof value === 'string') return globbedStringsMatch(el, value);
    return deepEqual(el, value);
  });
}

/** acl.go AllowOperation's parameter checks, for read, update, create and patch. */
function parametersAllowed(p: Permissions, data: Readonly<Record<string, unknown>>): boolean {
  for (const parameter of p.required ?? []) if (!(parameter.toLowerCase() in data)) return false;
  const entries = Object.entries(data);
  if (entries.length === 0) return true;
  if (p.denied && p.denied.size > 0) {
    if (p.denied.has('*')) return false;
    for (const [name, value] of entries) {
      const list = p.denied.get(name.toLowerCase());
      if (list && valueInParameterList(value, list)) return false;
    }
  }
  if (!p.allowed || p.allowed.size === 0) return true;
  const allowedAll = p.allowed.has('*');
  if (p.allowed.size === 1 && allowedAll) return true;
  for (const [name, value] of entries) {
    const list = p.allowed.get(name.toLowerCase());
    if (list === undefined && !allowedAll) return false;
    if (list !== undefined && !valueInParameterList(value, list)) return false;
  }
  return true;
}

const NO_PERMISSIONS: Permissions = { capabilities: new Set(), subscribeEventTypes: [] };

/** ryanuber/go-glob as Vault uses it for event types: `*` matches any run of characters. */
export function eventTypeGlobMatch(pattern: string, value: string): boolean {
  const source = pattern.split('*').map(escapeRegex).join('[\\s\\S]*');
  return new RegExp(`^${source}$`).test(value);
}

export class Acl {
  private readonly exact = new Map<string, Permissions>();
  private readonly globs: GlobRule[] = [];

  constructor(readonly root: boolean, rules: readonly PathRule[]) {
    const globPermissions = new Map<string, Permissions>();
    for (const rule of rules) {
      // A templated path needs the token's entity; without one Vault leaves the rule out.
      if (rule.pattern.includes('{{')) continue;
      const target = isGlob(rule.pattern) ? globPermissions : this.exact;
      const permissions: Permissions = {
        capabilities: rule.capabilities,
        subscribeEventTypes: rule.subscribeEventTypes ?? [],
        ...(rule.allowed ? { allowed: rule.allowed } : {}),
        ...(rule.denied ? { denied: rule.denied } : {}),
        ...(rule.required ? { required: rule.required } : {}),
      };
      target.set(rule.pattern, merge(target.get(rule.pattern), permissions));
    }
    for (const [pattern, permissions] of globPermissions) this.globs.push(compileGlob(pattern, permissions));
  }

  private bestGlob(path: string): Permissions | undefined {
    let best: GlobRule | undefined;
    for (const g of this.globs) {
      if (g.regex.test(path) && (!best || beats(g, best))) best = g;
    }
    return best?.permissions;
  }

  /** The merged rule that governs `path` for `op`, following acl.go's lookup order. */
  private permissionsFor(path: string, op: AclOperation): Permissions {
    const exact = this.exact.get(path);
    if (exact) return exact;
    // OpenBao looks a scan up as a list (vault/policy/acl.go:394, :416 at v2.6.2).
    if (op === 'list' || op === 'scan') {
      const trimmed = path.replace(/\/$/, '');
      const bare = this.exact.get(trimmed);
      if (bare) return bare;
      if (path.endsWith('/')) {
        const glob = this.bestGlob(trimmed);
        if (glob) return glob;
      }
    }
    return this.bestGlob(path) ?? NO_PERMISSIONS;
  }

  /** The capabilities that govern `path` for `op`, following acl.go's lookup order. */
  capabilitiesFor(path: string, op: AclOperation = 'read'): ReadonlySet<Capability> {
    if (this.root) return new Set(CAPABILITIES.filter((c) => c !== 'deny'));
    return this.permissionsFor(path, op).capabilities;
  }

  /**
   * acl.Capabilities, as sys/capabilities-self reports it: `["root"]` for root, `["deny"]` for
   * an explicit deny or no grant at all, else the granted capabilities, sorted.
   */
  capabilityNames(path: string): string[] {
    if (this.root) return ['root'];
    const caps = this.capabilitiesFor(path);
    if (caps.has('deny') || caps.size === 0) return ['deny'];
    return [...caps].sort();
  }

  /** An event on `path` may reach this token: `subscribe` there, and the event type in `subscribe_event_types`. */
  allowsSubscribe(path: string, eventType: string): boolean {
    if (this.root) return true;
    const { capabilities, subscribeEventTypes } = this.permissionsFor(path, 'read');
    if (capabilities.has('deny') || !capabilities.has('subscribe')) return false;
    return subscribeEventTypes.some((pattern) => eventTypeGlobMatch(pattern, eventType));
  }

  /** AllowOperation; with `data` (the request's parameters) also the rule's parameter constraints. */
  allows(path: string, op: AclOperation, data?: Readonly<Record<string, unknown>>): boolean {
    if (this.root) return true;
    if (op === 'header') return false;
    const permissions = this.permissionsFor(path, op);
    const caps = permissions.capabilities;
    if (caps.has('deny') || !caps.has(op)) return false;
    if (data === undefined || !(op === 'read' || op === 'update' || op === 'create' || op === 'patch')) return true;
    return parametersAllowed(permissions, data);
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
    for (const [pattern, p] of this.exact) if (pattern.startsWith(mountPath) && usable(p.capabilities)) return true;
    const mountSegs = mountPath.replace(/\/$/, '').split('/');
    for (const g of this.globs) {
      if (!usable(g.permissions.capabilities)) continue;
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
