import { canonicalNamespace } from '../../cache/static-key.js';

/** A KV change as the cache needs it: the canonical data path it touches and the versions it drops. */
export interface KvChange {
  eventType: string;
  /** Canonical path of the secret's reads: `ns1/secret/data/app`, `kv1/app`. */
  path: string;
  /** Versions deleted, destroyed or undeleted: their sub-entries are dropped. */
  versions: number[];
}

export type ParsedEvent = { kind: 'change'; change: KvChange } | { kind: 'ignored' } | { kind: 'invalid'; reason: string };

/**
 * Reads one frame of Vault's event stream (1.15+ JSON, CloudEvents with `data.event.metadata`,
 * metadata values all strings). Anything else is `invalid`, never an exception.
 */
export function parseKvEvent(frame: string): ParsedEvent {
  let msg: unknown;
  try {
    msg = JSON.parse(frame);
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  const data = obj(obj(msg)?.['data']);
  const event = obj(data?.['event']);
  const metadata = obj(event?.['metadata']);
  const eventType = data?.['event_type'];
  if (!data || !metadata || typeof eventType !== 'string') return { kind: 'invalid', reason: 'not a Vault event' };
  if (!eventType.startsWith('kv')) return { kind: 'ignored' };
  if (metadata['modified'] !== 'true') return { kind: 'ignored' };
  const raw = typeof metadata['data_path'] === 'string' ? metadata['data_path'] : metadata['path'];
  if (typeof raw !== 'string' || raw === '') return { kind: 'invalid', reason: 'event without a path' };
  const mount = obj(data['plugin_info'])?.['mount_path'];
  let path = raw.replace(/^\/+/, '');
  if (typeof mount === 'string' && mount !== '' && path.startsWith(mount)) {
    // KV v2 delete/destroy/undelete/metadata events name their own endpoint: the reads live under data/.
    const m = /^(delete|destroy|undelete|metadata)\/(.+)$/.exec(path.slice(mount.length));
    if (m) path = `${mount}data/${m[2]}`;
  }
  const versions: number[] = [];
  for (const key of ['deleted_versions', 'destroyed_versions', 'undeleted_versions']) {
    const v = metadata[key];
    if (typeof v !== 'string') continue;
    try {
      const list = JSON.parse(v) as unknown;
      if (Array.isArray(list)) for (const n of list) if (Number.isInteger(n)) versions.push(n as number);
    } catch {
      return { kind: 'invalid', reason: `${key} is not a JSON list` };
    }
  }
  const ns = typeof data['namespace'] === 'string' ? canonicalNamespace(data['namespace']) : '';
  return { kind: 'change', change: { eventType, path: `${ns}${path}`, versions } };
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
