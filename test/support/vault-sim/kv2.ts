// KV version 2 routes: data, metadata, delete/undelete/destroy, config, and the invalid-path replies.
// Every change emits its kv-v2 event (reference §7.4); reads emit nothing.
import { envelopeOf, goJson } from './envelope.js';
import { kvEvent, versionsMetadata } from './events.js';
import { boolField, durationField, hasField, intField, mapField, stringListField, stringMapField } from './fields.js';
import { listPrefix, listUnder } from './kv1.js';
import { plainNumbers } from './kv-json.js';
import { Kv2Store, mergePatch, versionMetadata, type KeyState } from './kv2-store.js';
import { backendOf } from './router.js';
import { goDuration } from './time.js';
import { fail, nothing, raw, respond, type Backend, type Call, type Outcome } from './types.js';

const VERB_FOR_OP: Record<string, string> = {
  create: 'put', update: 'put', patch: 'patch', read: 'get', list: 'list', scan: 'scan', delete: 'delete', header: '',
};

/** logical.RespondWithStatusCode: the envelope marshalled by the plugin (no mount_type yet, no newline). */
function rawEnvelope(call: Call, status: number, data: Record<string, unknown> | null, warnings?: string[]): Outcome {
  return raw(status, goJson(envelopeOf(call.req.id, { data, warnings }, call.state.profile.envelopeMountType ? '' : undefined)));
}

function casError(call: Call, store: Kv2Store, meta: KeyState): Outcome | undefined {
  const options = call.req.data['options'];
  const cas = options && typeof options === 'object' ? (options as Record<string, unknown>)['cas'] : undefined;
  if (cas !== undefined && cas !== null) {
    const n = typeof cas === 'number' ? cas : Number(cas);
    if (!Number.isInteger(n)) return fail(400, 'error parsing check-and-set parameter');
    if (n !== meta.currentVersion) return fail(400, 'check-and-set parameter did not match the current version');
  } else if (store.config.casRequired || meta.casRequired) {
    return fail(400, 'check-and-set parameter required for this call');
  }
  return undefined;
}

function dataObject(call: Call): Record<string, unknown> | undefined {
  return mapField(call.req.data, 'data');
}

function versionsField(call: Call): number[] {
  return stringListField(call.req.data, 'versions').map(Number).filter((n) => Number.isInteger(n));
}

/** removeValues (kv path_subkeys.go): nested maps are kept down to `maxDepth` (0: no limit). */
function subkeysOf(data: Record<string, unknown>, maxDepth: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const nested = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    const deeper = depth + 1;
    out[k] = nested && Object.keys(nested).length > 0 && (maxDepth === 0 || deeper <= maxDepth)
      ? subkeysOf(nested, maxDepth, deeper) : null;
  }
  return out;
}

/**
 * `upgradedFrom`: the secrets of a KV v1 mount tuned to version 2 (the plugin's upgrade.go): each
 * becomes version 1 of its key, created now, its data as written.
 */
export function kvV2Backend(now: () => number, upgradedFrom?: ReadonlyMap<string, Record<string, unknown>>): Backend {
  const store = new Kv2Store(now);
  for (const [key, data] of upgradedFrom ?? []) {
    const meta = store.meta(key, true) as KeyState;
    store.addVersion(meta, plainNumbers(data)); // v2 keeps no number texts: they went through float64
    meta.oldestVersion = 1; // the upgrade adds it with a max_versions of 1, which prunes up to it
  }
  const keyOf = (call: Call): string => call.params['path'] ?? '';

  const readData = (call: Call): Outcome => {
    const meta = store.meta(keyOf(call));
    if (!meta) return nothing();
    const requested = intField(call.req.data, 'version', 0);
    const number = requested > 0 ? requested : meta.currentVersion;
    const version = meta.versions.get(number);
    if (!version) return nothing();
    const metadata = versionMetadata(meta, number, version);
    if (store.isDeleted(version) || version.destroyed) return rawEnvelope(call, 404, { data: null, metadata });
    return respond({ data: { data: structuredClone(version.data), metadata } });
  };

  /** kv's subkeys/: the data's keys with every leaf (and every map at `depth`) set to null. */
  const readSubkeys = (call: Call): Outcome => {
    const meta = store.meta(keyOf(call));
    if (!meta) return nothing();
    const depth = intField(call.req.data, 'depth', 0);
    const requested = intField(call.req.data, 'version', 0);
    const number = requested > 0 ? requested : meta.currentVersion;
    const version = meta.versions.get(number);
    if (!version) return nothing();
    const metadata = versionMetadata(meta, number, version);
    if (store.isDeleted(version) || version.destroyed) return rawEnvelope(call, 404, { metadata, subkeys: null });
    return respond({ data: { metadata, subkeys: subkeysOf(version.data ?? {}, depth, 1) } });
  };

  const writeData = (call: Call): Outcome => {
    const key = keyOf(call);
    if (key === '') return fail(400, 'missing path');
    const data = dataObject(call);
    if (!data) return fail(400, 'no data provided');
    const existing = store.meta(key);
    const meta = existing ?? (store.meta(key, true) as KeyState);
    const casFailure = casError(call, store, meta);
    if (casFailure) {
      if (!existing) store.keys.delete(key);
      return casFailure;
    }
    const version = store.addVersion(meta, structuredClone(data));
    kvEvent(call, 'data-write', `data/${key}`, `data/${key}`, versionsMetadata(meta.currentVersion, meta.oldestVersion));
    return respond({ data: versionMetadata(meta, meta.currentVersion, version) });
  };

  const patchData = (call: Call): Outcome => {
    const patch = dataObject(call);
    if (!patch) return fail(400, 'no data provided');
    const key = keyOf(call);
    const meta = store.meta(key);
    if (!meta) return raw(404, '');
    const current = meta.versions.get(meta.currentVersion);
    if (!current) return raw(404, '');
    if (store.isDeleted(current) || current.destroyed) {
      return rawEnvelope(call, 404, versionMetadata(meta, meta.currentVersion, current));
    }
    const casFailure = casError(call, store, meta);
    if (casFailure) return casFailure;
    const merged = mergePatch(current.data, patch) as Record<string, unknown>;
    const version = store.addVersion(meta, merged);
    kvEvent(call, 'data-patch', `data/${key}`, `data/${key}`, versionsMetadata(meta.currentVersion, meta.oldestVersion));
    return respond({ data: versionMetadata(meta, meta.currentVersion, version) });
  };

  const deleteLatest = (call: Call): Outcome => {
    const key = keyOf(call);
    const meta = store.meta(key);
    const latest = meta?.versions.get(meta.currentVersion);
    if (!meta || !latest || latest.destroyed || store.isDeleted(latest)) return nothing();
    store.softDelete(latest);
    kvEvent(call, 'data-delete', `data/${key}`, null, versionsMetadata(meta.currentVersion, meta.oldestVersion));
    return nothing();
  };

  const readMetadata = (call: Call): Outcome => {
    const meta = store.meta(keyOf(call));
    if (!meta) return nothing();
    const versions: Record<string, unknown> = {};
    for (const [n, v] of meta.versions) {
      versions[String(n)] = { created_time: v.created.text, deletion_time: v.deletion?.text ?? '', destroyed: v.destroyed };
    }
    return respond({
      data: {
        cas_required: meta.casRequired,
        created_time: meta.created.text,
        current_version: meta.currentVersion,
        custom_metadata: meta.customMetadata,
        delete_version_after: goDuration(meta.deleteVersionAfterSeconds),
        max_versions: meta.maxVersions,
        oldest_version: meta.oldestVersion,
        updated_time: meta.updated.text,
        versions,
      },
    });
  };

  const writeMetadata = (patchOnly: boolean) => (call: Call): Outcome => {
    const key = keyOf(call);
    if (key === '') return fail(400, 'missing path');
    const d = call.req.data;
    if (patchOnly && !store.meta(key)) return raw(404, '');
    const fields = ['max_versions', 'cas_required', 'delete_version_after', 'custom_metadata'];
    if (!fields.some((f) => hasField(d, f))) return nothing();
    const meta = store.meta(key, true) as KeyState;
    if (hasField(d, 'max_versions')) meta.maxVersions = intField(d, 'max_versions', 0);
    if (hasField(d, 'cas_required')) meta.casRequired = boolField(d, 'cas_required', false);
    if (hasField(d, 'delete_version_after')) meta.deleteVersionAfterSeconds = durationField(d, 'delete_version_after');
    if (hasField(d, 'custom_metadata')) {
      const custom = stringMapField(d, 'custom_metadata');
      meta.customMetadata = patchOnly && custom ? { ...(meta.customMetadata ?? {}), ...custom } : (custom ?? {});
    }
    kvEvent(call, patchOnly ? 'metadata-patch' : 'metadata-write', `metadata/${key}`, `metadata/${key}`);
    const warnings = hasField(d, 'cas_required') && store.config.casRequired && !meta.casRequired
      ? ['"cas_required" set to false, but is mandated by backend config. This value will be ignored.']
      : [];
    return warnings.length > 0 ? respond({ warnings }) : nothing();
  };

  const deleteMetadata = (call: Call): Outcome => {
    const key = keyOf(call);
    if (store.keys.delete(key)) kvEvent(call, 'metadata-delete', `metadata/${key}`, null);
    return nothing();
  };

  const listMetadata = (call: Call): Outcome =>
    respond({ data: { keys: listUnder(store.keys.keys(), listPrefix(keyOf(call))) } });

  /**
   * OpenBao's scan of `metadata/<prefix>` (profile `openbao`): every key below the prefix, relative
   * to it, in logical.ScanView's order (a depth-first walk taking the last directory listed first);
   * no keys is `data: {}` (logical.ListResponse).
   */
  const scanMetadata = (call: Call): Outcome => {
    const base = listPrefix(keyOf(call));
    const keys: string[] = [];
    const frontier = [''];
    while (frontier.length > 0) {
      const current = frontier.pop()!;
      for (const entry of listUnder(store.keys.keys(), base + current)) {
        if (entry.endsWith('/')) frontier.push(current + entry);
        else keys.push(current + entry);
      }
    }
    return respond({ data: keys.length > 0 ? { keys } : {} });
  };

  /** delete/, undelete/ and destroy/: apply to each listed version, then emit the verb's event. */
  const versionsOp = (
    verb: 'delete' | 'undelete' | 'destroy',
    apply: (meta: KeyState, n: number) => void,
    missingText: string,
  ) => (call: Call): Outcome => {
    const versions = versionsField(call);
    if (versions.length === 0) return fail(400, missingText);
    const key = keyOf(call);
    const meta = store.meta(key);
    if (!meta) return nothing();
    versions.forEach((n) => apply(meta, n));
    const extra = versionsMetadata(meta.currentVersion, meta.oldestVersion);
    // kv v0.16.1 lists the requested versions as JSON; destroyed_versions only arrives in v0.17.0.
    if (verb === 'delete') extra['deleted_versions'] = JSON.stringify(versions);
    if (verb === 'undelete') extra['undeleted_versions'] = JSON.stringify(versions);
    kvEvent(call, verb, `${verb}/${key}`, verb === 'undelete' ? `data/${key}` : null, extra);
    return nothing();
  };

  const readConfig = (): Outcome => respond({
    data: {
      cas_required: store.config.casRequired,
      delete_version_after: goDuration(store.config.deleteVersionAfterSeconds),
      max_versions: store.config.maxVersions,
    },
  });

  const writeConfig = (call: Call): Outcome => {
    const d = call.req.data;
    if (hasField(d, 'max_versions')) store.config.maxVersions = intField(d, 'max_versions', 0);
    if (hasField(d, 'cas_required')) store.config.casRequired = boolField(d, 'cas_required', false);
    if (hasField(d, 'delete_version_after')) store.config.deleteVersionAfterSeconds = durationField(d, 'delete_version_after');
    kvEvent(call, 'config-write', 'config', 'config');
    return nothing();
  };

  const invalidPath = (call: Call): Outcome => {
    const rest = call.params['rest'] ?? '';
    if (['metadata', 'data', 'delete', 'undelete', 'destroy'].includes(rest)) {
      return rawEnvelope(call, 404, null, ['Non-listing operations on the root of a K/V v2 mount are not supported.']);
    }
    const verb = VERB_FOR_OP[call.req.operation] ?? '';
    return rawEnvelope(call, 404, null, [
      `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the ${call.state.profile.cli.name} CLI, use '${call.state.profile.cli.command} kv ${verb}' for this operation.`,
    ]);
  };

  const metaExists = (call: Call): boolean => store.meta(keyOf(call)) !== undefined;

  return backendOf([
    { pattern: 'config', ops: { read: readConfig, update: writeConfig } },
    {
      pattern: 'data/~path',
      ops: { read: readData, create: writeData, update: writeData, patch: patchData, delete: deleteLatest },
      exists: metaExists,
    },
    { pattern: 'subkeys/*path', ops: { read: readSubkeys } },
    {
      pattern: 'metadata/*path',
      ops: {
        read: readMetadata, create: writeMetadata(false), update: writeMetadata(false),
        patch: writeMetadata(true), delete: deleteMetadata, list: listMetadata, scan: scanMetadata,
      },
      exists: metaExists,
    },
    { pattern: 'delete/*path', ops: { update: versionsOp('delete', (m, n) => store.softDelete(m.versions.get(n)), 'No version number provided') } },
    { pattern: 'undelete/*path', ops: { update: versionsOp('undelete', (m, n) => store.undelete(m, m.versions.get(n)), 'No version number provided') } },
    { pattern: 'destroy/*path', ops: { update: versionsOp('destroy', (m, n) => store.destroy(m.versions.get(n)), 'no version number provided') } },
    {
      pattern: '*rest',
      ops: { read: invalidPath, create: invalidPath, update: invalidPath, patch: invalidPath, delete: invalidPath, list: invalidPath, scan: invalidPath },
    },
  ]);
}
