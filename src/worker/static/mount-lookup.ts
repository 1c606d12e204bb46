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
    reply = await vault.send<{ secret?: Record<string, { type?: unknown }> }>({ path: 'sys/internal/ui/mounts', token, timeoutMs: 10_000 });
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not list the secrets mounts');
    return [];
  }
  const secret = reply.body?.data?.secret;
  if (reply.status !== 200 || !secret || typeof secret !== 'object') return [];
  return Object.entries(secret).flatMap(([mount, info]) => {
    const prefix = normalMount(mount);
    return prefix && typeof info?.type === 'string' ? [{ type: 'mount-info' as const, mountPrefix: prefix, kind: info.type === 'kv' ? 'kv' as const : 'other' as const }] : [];
  });
}

export async function lookupMount(vault: VaultClient, path: string, token: string | undefined, log: Logger): Promise<WorkerMessage[]> {
  if (!token) return [];
  let reply;
  try {
    reply = await vault.send<{ type?: unknown; path?: unknown }>({ path: `sys/internal/ui/mounts/${path}`, token, timeoutMs: 10_000 });
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
  const kind: MountKind = data.type === 'kv' ? 'kv' : 'other';
  log.debug({ mount: data.path, kind }, 'learned a mount type');
  return [{ type: 'mount-info', mountPrefix, kind }];
}
