// OpenBao's namespaces as objects that must exist (profile `openbao`): `sys/namespaces` and the 404
// for a request naming a namespace that does not. Read in OpenBao v2.6.2
// (openbao/openbao@dd9c19c37a): vault/logical_system_namespaces.go (handlers, :257-266 the
// answer's fields, :545-568 delete), helper/namespace/namespace.go:23-33, :290-306 (names),
// vault/namespace_store.go:37 (6-character ids), :1573-1598 ResolveNamespaceFromRequest and
// vault/request_handling.go:607-611 (404 `namespace not found`); docs
// https://openbao.org/api-docs/system/namespaces (website/content/docs/api/system/namespaces.mdx).
// The simulator's namespace is still a path prefix (README "Namespaces"): a namespace holds the
// mounts under its path; tokens and policies stay the root's. Deleting is immediate here (OpenBao
// answers `in-progress` and clears the namespace in the background).
import { errorReply, type Reply } from './envelope.js';
import { newUuid, randomBase62 } from './ids.js';
import type { SimState } from './state.js';
import { fail, respond, type Call, type Outcome, type Route } from './types.js';

interface NamespaceEntry {
  readonly uuid: string;
  readonly id: string;
  /** Canonical: `ns1/`, `ns1/team/`. */
  readonly path: string;
  customMetadata: Record<string, string>;
}

const registries = new WeakMap<SimState, Map<string, NamespaceEntry>>();

function registry(state: SimState): Map<string, NamespaceEntry> {
  let found = registries.get(state);
  if (!found) registries.set(state, (found = new Map()));
  return found;
}

/** namespace.Canonicalize: no leading `/`, one trailing `/`; `root` is the root namespace (''). */
function canonical(ns: string): string {
  const trimmed = ns.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' || trimmed === 'root' ? '' : `${trimmed}/`;
}

const RESERVED = ['', '.', '..', 'root', 'sys', 'audit', 'auth', 'cubbyhole', 'identity'];

/**
 * ResolveNamespaceFromRequest: the longest existing namespace prefix of header + path must cover the
 * whole header, else 404 `namespace not found` (before the token is looked at).
 */
export function namespaceNotFound(state: SimState, namespacePath: string, rel: string): Reply | undefined {
  if (namespacePath === '') return undefined;
  const full = namespacePath + rel;
  for (const path of registry(state).keys()) {
    if (full.startsWith(path) && path.startsWith(namespacePath)) return undefined;
  }
  return errorReply(404, 'namespace not found');
}

/** The request's namespace (X-Vault-Namespace), where `sys/namespaces/<name>` creates `<name>`. */
function parentOf(call: Call): string {
  return canonical(call.req.headers['x-vault-namespace']?.split(',')[0] ?? '');
}

function answer(entry: NamespaceEntry): Record<string, unknown> {
  return { uuid: entry.uuid, path: entry.path, id: entry.id, tainted: false, locked: false, custom_metadata: { ...entry.customMetadata } };
}

/** namespace.ParseName, then the full path under the request's namespace; a string is the error. */
function nameOf(call: Call): string | { error: string } {
  const name = canonical(call.params['path'] ?? '');
  if (name === '') return { error: 'namespace name cannot be empty' };
  const clipped = name.slice(0, -1);
  if (clipped.includes('/')) return { error: 'namespace name cannot contain /' };
  if (RESERVED.includes(clipped)) return { error: `"${name}" is a reserved path and cannot be used as a namespace name` };
  return parentOf(call) + name;
}

function metadataOf(value: unknown): Record<string, string> | string {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return 'custom_metadata values must be strings';
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') return 'custom_metadata values must be strings';
    out[k] = v;
  }
  return out;
}

function set(call: Call): Outcome {
  const path = nameOf(call);
  if (typeof path !== 'string') return fail(400, path.error);
  const metadata = metadataOf(call.req.data['custom_metadata']);
  if (typeof metadata === 'string') return fail(400, metadata);
  const namespaces = registry(call.state);
  const existing = namespaces.get(path);
  if (existing) {
    existing.customMetadata = metadata;
    return respond({ data: answer(existing) });
  }
  const entry: NamespaceEntry = { uuid: newUuid(), id: randomBase62(6), path, customMetadata: metadata };
  namespaces.set(path, entry);
  return respond({ data: answer(entry) });
}

function read(call: Call): Outcome {
  const path = nameOf(call);
  if (typeof path !== 'string') return fail(400, path.error);
  const entry = registry(call.state).get(path);
  return entry ? respond({ data: answer(entry) }) : { kind: 'response', response: null };
}

function list(call: Call): Outcome {
  const parent = parentOf(call);
  const keyInfo: Record<string, unknown> = {};
  for (const entry of registry(call.state).values()) {
    const rest = entry.path.slice(parent.length);
    if (!entry.path.startsWith(parent) || rest === '' || rest.slice(0, -1).includes('/')) continue;
    keyInfo[rest] = answer(entry);
  }
  const keys = Object.keys(keyInfo).sort();
  return respond({ data: keys.length > 0 ? { keys, key_info: keyInfo } : {} });
}

function remove(call: Call): Outcome {
  const path = nameOf(call);
  if (typeof path !== 'string') return fail(400, path.error);
  const namespaces = registry(call.state);
  if (!namespaces.has(path)) return respond({ warnings: ['requested namespace does not exist'] });
  if ([...namespaces.keys()].some((p) => p !== path && p.startsWith(path))) {
    return fail(409, 'unable to delete namespace containing child namespaces');
  }
  namespaces.delete(path);
  // Its mounts go with it (clearNamespaceResources): secrets engines under `<ns>`, auth under `auth/<ns>`.
  for (const entry of call.state.mounts.list('mounts')) if (entry.path.startsWith(path)) call.state.mounts.unmount('mounts', entry.path);
  for (const entry of call.state.mounts.list('auth')) if (entry.path.startsWith(path)) call.state.mounts.unmount('auth', entry.path);
  return respond({ data: { status: 'in-progress' } });
}

/** sys/ routes (relative to the sys mount). */
export const namespaceRoutes: readonly Route[] = [
  { pattern: 'namespaces', ops: { list } },
  { pattern: 'namespaces/*path', ops: { read, create: set, update: set, delete: remove } },
];
