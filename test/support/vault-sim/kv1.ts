// KV version 1 (passthrough.go): flat maps, no versions. Writes and deletes emit events.
import { kvEvent } from './events.js';
import { cloneKv, dataKeepingNumbers, plainNumber } from './kv-json.js';
import { backendOf } from './router.js';
import { parseDurationSeconds, SYSTEM_DEFAULT_TTL_SECONDS } from './time.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

/** The keys and folders (ending in `/`) directly under `prefix`, sorted, as a storage List returns. */
export function listUnder(keys: Iterable<string>, prefix: string): string[] {
  const found = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest === '') continue;
    const slash = rest.indexOf('/');
    found.add(slash < 0 ? rest : rest.slice(0, slash + 1));
  }
  return [...found].sort();
}

/** A list prefix: '' for the mount root, otherwise ending in `/`. */
export function listPrefix(path: string): string {
  return path === '' || path.endsWith('/') ? path : `${path}/`;
}

/** KV v1 read TTL: the `ttl` (or `lease`) field when it parses, else the mount default (as tuned). */
function leaseSeconds(call: Call, data: Record<string, unknown>): number {
  const mountDefault = call.mount.config.defaultLeaseTtl || SYSTEM_DEFAULT_TTL_SECONDS;
  const rawTtl = plainNumber(data['ttl'] ?? data['lease']);
  if (rawTtl === undefined) return mountDefault;
  try {
    return Math.floor(parseDurationSeconds(rawTtl));
  } catch {
    return mountDefault;
  }
}

const stores = new WeakMap<Backend, Map<string, Record<string, unknown>>>();

/** The secrets of a KV v1 backend (for the upgrade to v2), or undefined for any other backend. */
export function kvV1Entries(backend: Backend): ReadonlyMap<string, Record<string, unknown>> | undefined {
  return stores.get(backend);
}

export function kvV1Backend(): Backend {
  const store = new Map<string, Record<string, unknown>>();
  const keyOf = (call: Call): string => call.params['path'] ?? '';

  const read = (call: Call): Outcome => {
    const stored = store.get(keyOf(call));
    if (!stored) return nothing();
    return respond({
      data: cloneKv(stored),
      secret: { leaseId: '', renewable: false, ttlSeconds: leaseSeconds(call, stored) },
    });
  };

  const write = (call: Call): Outcome => {
    const key = keyOf(call);
    if (key === '') return fail(400, 'missing path');
    if (Object.keys(call.req.data).length === 0) return fail(400, 'missing data fields');
    store.set(key, cloneKv(dataKeepingNumbers(call.req.data)));
    kvEvent(call, 'write', key, key);
    return nothing();
  };

  const remove = (call: Call): Outcome => {
    const key = keyOf(call);
    store.delete(key);
    kvEvent(call, 'delete', key, null);
    return nothing();
  };

  const list = (call: Call): Outcome => respond({ data: { keys: listUnder(store.keys(), listPrefix(keyOf(call))) } });

  const backend = backendOf([
    {
      pattern: '*path',
      ops: { read, create: write, update: write, delete: remove, list },
      exists: (call) => store.has(keyOf(call)),
    },
  ]);
  stores.set(backend, store);
  return backend;
}
