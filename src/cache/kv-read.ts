/**
 * Whether Vault's answer to a cacheable static request (see static-key.ts) is a KV read that may
 * be recorded, as an allow-list: the mount is KV and its version is known, the path is a secret
 * (KV v2: under `data/`; metadata, subkeys, config … never), and the answer has the shape of a
 * read of exactly the form asked (`?version=N` answered with version N).
 */
import type { KvMounts } from './kv-mounts.js';
import type { StaticKey } from './static-key.js';

export type KvRead =
  | { kind: 'record'; kvVersion?: number }
  /** The mount holding the path is not known yet: ask the worker, do not record. */
  | { kind: 'unknown-mount' }
  | { kind: 'no' };

interface Envelope {
  mount_type?: unknown;
  wrap_info?: unknown;
  auth?: unknown;
  data?: { data?: unknown; metadata?: { version?: unknown } | null } | null;
}

export function kvRead(key: StaticKey, body: Buffer, mounts: KvMounts): KvRead {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(body.toString('utf8')) as Envelope;
  } catch {
    return { kind: 'no' };
  }
  if (!envelope || typeof envelope !== 'object' || envelope.wrap_info || envelope.auth) return { kind: 'no' };
  // Vault 1.16+ names the mount type; 1.15 and OpenBao do not, and the mount table decides.
  const named = envelope.mount_type;
  if (typeof named === 'string' && named !== '' && named !== 'kv') return { kind: 'no' };
  const mount = mounts.mountOf(key.path);
  // A named type wins over a learned one (a remount since); the KV version only the table knows.
  const kind = named === 'kv' ? 'kv' : mount?.kind;
  if (kind === undefined) return { kind: 'unknown-mount' };
  if (kind !== 'kv') return { kind: 'no' };
  if (!mount || mount.kind !== 'kv' || mount.kvVersion === undefined) return { kind: 'unknown-mount' };
  const data = envelope.data;
  if (!data || typeof data !== 'object') return { kind: 'no' };
  if (mount.kvVersion === 1) return key.version === 0 ? { kind: 'record' } : { kind: 'no' };
  const sub = key.path.slice(mount.prefix.length);
  if (!sub.startsWith('data/') || sub.length === 5) return { kind: 'no' };
  const version = data.metadata?.version;
  if (!data.data || typeof data.data !== 'object' || typeof version !== 'number' || !Number.isInteger(version)) return { kind: 'no' };
  if (key.version !== 0) return version === key.version ? { kind: 'record' } : { kind: 'no' };
  return { kind: 'record', kvVersion: version };
}
