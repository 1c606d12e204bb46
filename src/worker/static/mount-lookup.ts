import { mountPrefixOf, normalMount, type MountKind } from '../../cache/kv-mounts.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import type { WorkerMessage } from '../protocol.js';

/**
 * Asks Vault which mount holds a canonical path (`sys/internal/ui/mounts/<path>`, readable by any
 * token with a capability on the path) with the auto-auth token. Vaults before 1.16 do not name the
 * mount type in their answers; this is how the static cache learns that a mount is KV there. No
 * answer (refused, Vault down) leaves the mount unknown, so its reads stay uncached.
 */
/**
 * Every secrets mount the auto-auth token can see (`sys/internal/ui/mounts`), so reads are cached
 * from the first one on Vaults that do not name the mount type. Root namespace only; mounts in
 * other namespaces are learned per path by lookupMount.
 */
export async function listMounts(vault: VaultClient, token: string | undefined, log: Logger): Promise<WorkerMessage[]> {
  if (!token) return [];
  let reply;
  try {
    reply = await vault.send<{ secret?: Record<string, { type?: unknown; options?: unknown }> }>({ path: 'sys/internal/ui/mounts', token, timeoutMs: 10_000 });
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not list the secrets mounts');
    return [];
  }
  const secret = reply.body?.data?.secret;
  if (reply.status !== 200 || !secret || typeof secret !== 'object') return [];
  return Object.entries(secret).flatMap(([mount, info]) => {
    const prefix = normalMount(mount);
    return prefix && typeof info?.type === 'string' ? [mountInfo(prefix, info.type, info.options)] : [];
  });
}

export async function lookupMount(vault: VaultClient, path: string, token: string | undefined, log: Logger): Promise<WorkerMessage[]> {
  if (!token) return [];
  let reply;
  try {
    reply = await vault.send<{ type?: unknown; path?: unknown; options?: unknown }>({ path: `sys/internal/ui/mounts/${path}`, decodedPath: true, token, timeoutMs: 10_000 });
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not ask Vault for a mount type; its reads stay uncached for now');
    return [];
  }
  const data = reply.body?.data;
  if (reply.status !== 200 || typeof data?.type !== 'string' || typeof data.path !== 'string') {
    log.info({ status: reply.status }, 'Vault did not tell the mount type of a read; its reads stay uncached for now');
    return [];
  }
  const mountPrefix = mountPrefixOf(path, data.path);
  if (!mountPrefix) return [];
  const info = mountInfo(mountPrefix, data.type, data.options);
  log.debug({ mount: data.path, kind: info.kind, kvVersion: info.kvVersion }, 'learned a mount type');
  return [info];
}

type MountInfo = Extract<WorkerMessage, { type: 'mount-info' }>;

/**
 * A mount as the static cache needs it. A KV mount's version is its `options.version`, as the KV
 * plugin reads it: "2" is v2, "1" or none is v1 (Vault answers `options: null` for a KV mount
 * enabled without options); any other value is left unsaid.
 */
function mountInfo(mountPrefix: string, type: string, options: unknown): MountInfo {
  const kind: MountKind = type === 'kv' ? 'kv' : 'other';
  if (kind !== 'kv') return { type: 'mount-info', mountPrefix, kind };
  const raw = options && typeof options === 'object' ? (options as { version?: unknown }).version : undefined;
  const version = raw === undefined || raw === null ? '' : String(raw);
  const kvVersion = version === '2' ? 2 : version === '1' || version === '' ? 1 : undefined;
  return kvVersion === undefined ? { type: 'mount-info', mountPrefix, kind } : { type: 'mount-info', mountPrefix, kind, kvVersion };
}
