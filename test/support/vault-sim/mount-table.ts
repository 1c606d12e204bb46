// The mount table: secrets engines under `/`, auth methods under `auth/`, longest-prefix routing.
import { newMountAccessor, newUuid } from './ids.js';
import type { Backend } from './types.js';

export type MountTableName = 'mounts' | 'auth';

export interface MountSpec {
  /** Path inside its table, with a trailing slash: `secret/`, or `approle/` for `auth/approle/`. */
  readonly path: string;
  readonly table: MountTableName;
  /** Engine type: `kv`, `database`, `approle`, `token`, `system`, `cubbyhole`, `identity`. */
  readonly type: string;
  readonly description?: string;
  readonly options?: Readonly<Record<string, string>> | null;
}

export interface MountEntry extends Omit<Required<MountSpec>, 'description' | 'options'> {
  /** Tunable (sys/mounts/<path>/tune), like `options`. */
  description: string;
  options: Readonly<Record<string, string>> | null;
  /** Logical path prefix that routes to this mount: `secret/` or `auth/approle/`. */
  readonly routePrefix: string;
  readonly accessor: string;
  readonly uuid: string;
  readonly runningVersion: string;
  /** Replaced when a tune upgrades a KV v1 mount to v2. */
  backend: Backend;
  /** The mount's own TTLs in seconds, as tuned; 0 means the system's (768h). */
  readonly config: { defaultLeaseTtl: number; maxLeaseTtl: number };
}

/** A mount that cannot be created; `message` is Vault's text. */
export class MountError extends Error {
  override readonly name = 'MountError';
}

/** `builtin`: mounted by the simulator itself at start (not through sys/mounts). */
export type BackendFactory = (spec: Required<MountSpec>, builtin: boolean) => Backend | undefined;

const RUNNING_VERSIONS: Record<string, string> = {
  kv: 'v0.16.1+builtin',
  approle: 'v1.15.6+builtin.vault',
  userpass: 'v1.15.6+builtin.vault',
};

const PROTECTED_MOUNTS = ['audit/', 'auth/', 'sys/', 'cubbyhole/', 'identity/'];

export function normalizeMountPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

export class MountTable {
  private readonly entries: MountEntry[] = [];

  constructor(private readonly createBackend: BackendFactory) {}

  /** Mounts an engine. Throws MountError with Vault's message on conflicts or unknown types. */
  mount(spec: MountSpec, builtin = false): MountEntry {
    const path = normalizeMountPath(spec.path);
    const routePrefix = spec.table === 'auth' ? `auth/${path}` : path;
    if (path === '') throw new MountError('missing mount point');
    if (!builtin && spec.table === 'mounts' && PROTECTED_MOUNTS.some((p) => routePrefix.startsWith(p))) {
      throw new MountError(`cannot mount "${path}"`);
    }
    for (const entry of this.entries) {
      if (entry.table !== spec.table) continue;
      if (entry.path.startsWith(path) || path.startsWith(entry.path)) {
        throw new MountError(`path is already in use at ${entry.path}`);
      }
    }
    const full: Required<MountSpec> = {
      path,
      table: spec.table,
      type: spec.type,
      description: spec.description ?? '',
      options: spec.options ?? null,
    };
    const backend = this.createBackend(full, builtin);
    if (!backend) throw new MountError(`plugin not found in the catalog: ${spec.type}`);
    const entry: MountEntry = {
      ...full,
      routePrefix,
      accessor: newMountAccessor(spec.table === 'auth' ? `auth_${spec.type}` : spec.type),
      uuid: newUuid(),
      runningVersion: RUNNING_VERSIONS[spec.type] ?? 'v1.15.6+builtin.vault',
      backend,
      config: { defaultLeaseTtl: 0, maxLeaseTtl: 0 },
    };
    this.entries.push(entry);
    return entry;
  }

  unmount(table: MountTableName, path: string): MountEntry | undefined {
    const normalized = normalizeMountPath(path);
    const index = this.entries.findIndex((e) => e.table === table && e.path === normalized);
    if (index < 0) return undefined;
    const [removed] = this.entries.splice(index, 1);
    return removed;
  }

  /** The mount serving a logical path; `secret` also finds `secret/`, as Vault's router does. */
  match(logicalPath: string): MountEntry | undefined {
    const find = (p: string): MountEntry | undefined => {
      let best: MountEntry | undefined;
      for (const e of this.entries) {
        if (p.startsWith(e.routePrefix) && (!best || e.routePrefix.length > best.routePrefix.length)) best = e;
      }
      return best;
    };
    return find(logicalPath) ?? (logicalPath.endsWith('/') ? undefined : find(`${logicalPath}/`));
  }

  list(table: MountTableName): MountEntry[] {
    return this.entries.filter((e) => e.table === table).sort((a, b) => a.path.localeCompare(b.path));
  }
}

/** The built-in mounts' passthrough_request_headers (vault/mount.go requiredMountTable). */
export const PASSTHROUGH_HEADERS: Record<string, readonly string[]> = { system: ['Accept'], identity: ['Authorization'] };

/** sys/mounts-style description of a mount (logical_system.go mountInfo). */
export function mountInfo(entry: MountEntry): Record<string, unknown> {
  const config: Record<string, unknown> = {
    default_lease_ttl: entry.config.defaultLeaseTtl, force_no_cache: false, max_lease_ttl: entry.config.maxLeaseTtl,
  };
  if (entry.table === 'auth') config['token_type'] = 'default-service';
  // The built-in mounts' own settings (vault/mount.go requiredMountTable).
  const passthrough = PASSTHROUGH_HEADERS[entry.type];
  if (passthrough) config['passthrough_request_headers'] = passthrough;
  const info: Record<string, unknown> = {
    accessor: entry.accessor,
    config,
    description: entry.description,
    external_entropy_access: false,
    local: entry.type === 'cubbyhole',
    options: entry.options,
    plugin_version: '',
    running_plugin_version: entry.runningVersion,
    running_sha256: '',
    seal_wrap: entry.type === 'system',
    type: entry.type,
    uuid: entry.uuid,
  };
  // Plugins from the builtin registry have a deprecation status; the database engine is part of Vault.
  if (['kv', 'approle'].includes(entry.type)) info['deprecation_status'] = 'supported';
  return info;
}
