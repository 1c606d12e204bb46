// sys/mounts (enable, disable, list secrets engines) and sys/internal/ui/mounts/<path>.
// Disabling a secrets engine revokes its leases, like Vault's unmount.
import { stringField } from './fields.js';
import { MountError, mountInfo, type MountTableName } from './mount-table.js';
import { fail, failWrapped, nothing, respond, type Call, type Outcome, type Route } from './types.js';

function optionsOf(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** Enables an engine in `table`; shared by sys/mounts/:path and sys/auth/:path. */
export function enableMount(call: Call, table: MountTableName): Outcome {
  const d = call.req.data;
  let type = stringField(d, 'type');
  if (type === '') return fail(400, 'backend type must be specified as a string');
  // A mount enabled through the API always has options (`{}` when none were given).
  let options = optionsOf(d['options']) ?? {};
  if (type === 'kv-v1' || type === 'kv-v2') {
    options = { ...(options ?? {}), version: type.slice(-1) };
    type = 'kv';
  }
  if (table === 'auth' && type !== 'approle' && type !== 'userpass') return fail(400, `plugin not found in the catalog: ${type}`);
  if (table === 'mounts' && type !== 'kv' && type !== 'database') return fail(400, `plugin not found in the catalog: ${type}`);
  try {
    call.state.mounts.mount({
      path: call.params['path'] ?? '',
      table,
      type,
      description: stringField(d, 'description'),
      options,
    });
  } catch (err) {
    if (err instanceof MountError) return fail(400, err.message);
    throw err;
  }
  return nothing();
}

export function listMounts(call: Call, table: MountTableName): Outcome {
  const data: Record<string, unknown> = {};
  for (const entry of call.state.mounts.list(table)) data[entry.path] = mountInfo(entry);
  return respond({ data });
}

function disable(call: Call): Outcome {
  const path = call.params['path'] ?? '';
  if (['sys', 'cubbyhole', 'identity'].includes(path.replace(/\/+$/, ''))) return fail(400, `cannot unmount "${path.replace(/\/*$/, '/')}"`);
  const removed = call.state.mounts.unmount('mounts', path);
  if (removed) call.state.leases.revokePrefix(removed.routePrefix);
  return nothing();
}

/** sys/mounts/:path and sys/auth/:path read one mount of their table. */
export function readMount(call: Call, table: MountTableName = 'mounts'): Outcome {
  const path = (call.params['path'] ?? '').replace(/\/+$/, '');
  const entry = call.state.mounts.list(table).find((e) => e.path === `${path}/`);
  if (entry) return respond({ data: mountInfo(entry) });
  return fail(400, table === 'auth' ? `No auth engine at ${path}/` : `No secret engine mount at ${path}/`);
}

/**
 * The KV preflight: mount details for any path inside a mount, if the caller's token has any
 * capability under that mount; unknown and forbidden mounts both give the same 403.
 */
function uiMount(call: Call): Outcome {
  const requested = call.params['path'] ?? '';
  if (requested === '') return fail(400, 'path not set');
  const path = `${requested.replace(/^\/+/, '').replace(/\/*$/, '')}/`;
  const token = call.token;
  if (!token) return failWrapped(403, 'permission denied');
  const denied = fail(403, `preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`);
  const entry = call.state.mounts.match(path);
  if (!entry) return denied;
  if (!call.state.policies.acl(token.policies).grantsAnythingUnder(entry.routePrefix)) return denied;
  return respond({ data: { ...mountInfo(entry), path: entry.table === 'auth' ? entry.routePrefix : entry.path } });
}

/**
 * sys/internal/ui/mounts: every mount the token may use something under (all details), by table;
 * without a token both tables are empty, a bad token is refused.
 */
function uiMountsList(call: Call): Outcome {
  const secret: Record<string, unknown> = {};
  const auth: Record<string, unknown> = {};
  if (call.req.token) {
    if (!call.token) return fail(403, 'permission denied');
    const acl = call.state.policies.acl(call.token.policies);
    for (const entry of call.state.mounts.list('mounts')) if (acl.grantsAnythingUnder(entry.routePrefix)) secret[entry.path] = mountInfo(entry);
    for (const entry of call.state.mounts.list('auth')) if (acl.grantsAnythingUnder(entry.routePrefix)) auth[entry.path] = mountInfo(entry);
  }
  return respond({ data: { auth, secret } });
}

export const mountRoutes: readonly Route[] = [
  { pattern: 'mounts', ops: { read: (call) => listMounts(call, 'mounts') } },
  {
    pattern: 'mounts/*path',
    ops: { read: (call) => readMount(call), update: (call) => enableMount(call, 'mounts'), delete: disable },
  },
  { pattern: 'internal/ui/mounts', ops: { read: uiMountsList }, unauthenticated: true },
  { pattern: 'internal/ui/mounts/*path', ops: { read: uiMount }, unauthenticated: true },
];
