// sys/mounts (enable, disable, list secrets engines) and sys/internal/ui/mounts/<path>.
// Disabling a secrets engine revokes its leases, like Vault's unmount.
import { AUTH_TYPES } from './backends.js';
import { hasField, stringField } from './fields.js';
import { kvV1Entries } from './kv1.js';
import { kvV2Backend } from './kv2.js';
import { MountError, mountInfo, PASSTHROUGH_HEADERS, type MountEntry, type MountTableName } from './mount-table.js';
import { DurationError, parseDurationSeconds, SYSTEM_DEFAULT_TTL_SECONDS, SYSTEM_MAX_TTL_SECONDS } from './time.js';
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
  if (table === 'auth' && !AUTH_TYPES.has(type)) return fail(400, `plugin not found in the catalog: ${type}`);
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

/** sanitizePath: no leading slash, one trailing slash. */
function tunePath(call: Call): string {
  return `${(call.params['path'] ?? '').replace(/^\/+/, '').replace(/\/*$/, '')}/`;
}

/** GET sys/mounts/<path>/tune (handleTuneReadCommon): the effective TTLs of the mount serving <path>. */
function readTune(call: Call): Outcome {
  const path = tunePath(call);
  const entry = call.state.mounts.match(path);
  if (!entry) return fail(400, `cannot fetch sysview for path "${path}"`);
  const data: Record<string, unknown> = {
    description: entry.description,
    default_lease_ttl: entry.config.defaultLeaseTtl || SYSTEM_DEFAULT_TTL_SECONDS,
    max_lease_ttl: entry.config.maxLeaseTtl || SYSTEM_MAX_TTL_SECONDS,
    force_no_cache: false,
  };
  if (entry.table === 'auth') data['token_type'] = 'default-service';
  const passthrough = PASSTHROUGH_HEADERS[entry.type];
  if (passthrough) data['passthrough_request_headers'] = [...passthrough];
  if (entry.options && Object.keys(entry.options).length > 0) data['options'] = { ...entry.options };
  return respond({ data });
}

const UNTUNABLE = ['cubbyhole/', 'sys/', 'audit/', 'identity/'];

/** A tuned TTL: absent or "" keeps `current`, "system" is 0 (the system's). */
function ttlField(call: Call, name: string, current: number): number {
  const value = call.req.data[name];
  if (value === undefined || value === null || value === '') return current;
  if (value === 'system') return 0;
  return Math.floor(parseDurationSeconds(typeof value === 'number' ? String(value) : value));
}

/** parseutil.ParseInt of an option value ("" is 0). */
function parseVersion(value: string | undefined): number | string {
  if (value === undefined || value === '') return 0;
  return /^[-+]?\d+$/.test(value) ? Number(value) : `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`;
}

/**
 * POST sys/mounts/<path>/tune (handleTuneWriteCommon): TTLs, description and options, in Vault's
 * order (an error after a step leaves that step applied). Raising `options.version` of a KV mount
 * to 2 upgrades it: its secrets become version 1 (oldest_version 1) under `data/` and `metadata/`. In Vault the
 * upgrade runs in the background (a brief 400 "Upgrading from non-versioned…"); here it is done
 * before the answer.
 */
function writeTune(call: Call): Outcome {
  const path = tunePath(call);
  if (UNTUNABLE.some((p) => path.startsWith(p))) return fail(400, `cannot tune ${JSON.stringify(path)}`);
  const entry = call.state.mounts.match(path);
  if (!entry) return fail(400, `tune of path ${JSON.stringify(path)} failed: no mount entry found`);
  let newDefault: number;
  let newMax: number;
  try {
    newDefault = ttlField(call, 'default_lease_ttl', entry.config.defaultLeaseTtl);
    newMax = ttlField(call, 'max_lease_ttl', entry.config.maxLeaseTtl);
  } catch (err) {
    if (err instanceof DurationError) return fail(400, err.message);
    throw err;
  }
  if (newDefault !== 0 && newMax !== 0 && newMax < newDefault) {
    return fail(400, `backend max lease TTL of ${newMax} would be less than backend default lease TTL of ${newDefault}`);
  }
  entry.config.defaultLeaseTtl = newDefault;
  entry.config.maxLeaseTtl = newMax;
  if (hasField(call.req.data, 'description')) entry.description = stringField(call.req.data, 'description');
  return tuneOptions(call, entry);
}

function tuneOptions(call: Call, entry: MountEntry): Outcome {
  const options = optionsOf(call.req.data['options']);
  if (!options || Object.keys(options).length === 0) return nothing();
  let warning: string | undefined;
  let upgradeTo = 0;
  const requested = options['version'];
  if (requested !== undefined) {
    const current = parseVersion(entry.options?.['version']);
    if (typeof current === 'string') return failWrapped(500, `unable to parse mount entry: ${current}`);
    const wanted = parseVersion(requested);
    if (typeof wanted === 'string') return fail(400, `unable to parse options: ${wanted}`);
    if (wanted !== 1 && wanted !== 2) return fail(400, `invalid version provided: ${wanted}`);
    if (current > wanted) return fail(400, `cannot downgrade mount from version ${current}`);
    if (current < wanted) {
      upgradeTo = wanted;
      warning = `Upgrading mount from version ${current} to version ${wanted}. This mount will be unavailable for a brief period and will resume service shortly.`;
    }
  }
  const merged: Record<string, string> = { ...(entry.options ?? {}) };
  for (const [k, v] of Object.entries(options)) {
    if (v === '' && k !== 'version') delete merged[k];
    else merged[k] = v;
  }
  entry.options = merged;
  if (upgradeTo === 2 && entry.type === 'kv') {
    const v1 = kvV1Entries(entry.backend);
    if (v1) entry.backend = kvV2Backend(call.state.now, v1);
  }
  return warning ? respond({ warnings: [warning] }) : nothing();
}

export const mountRoutes: readonly Route[] = [
  { pattern: 'mounts', ops: { read: (call) => listMounts(call, 'mounts') } },
  { pattern: 'mounts/~path/tune', ops: { read: readTune, update: writeTune } },
  {
    pattern: 'mounts/*path',
    ops: { read: (call) => readMount(call), update: (call) => enableMount(call, 'mounts'), delete: disable },
  },
  { pattern: 'internal/ui/mounts', ops: { read: uiMountsList }, unauthenticated: true },
  { pattern: 'internal/ui/mounts/*path', ops: { read: uiMount }, unauthenticated: true },
];
