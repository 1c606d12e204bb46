import { replayableHeaders } from '../../cache/entry.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import type { WorkerMessage } from '../protocol.js';
import type { StaticRegistry } from './registry.js';

/**
 * Reads a cached secret again with the tokens that may read it, one at a time: the first success
 * replaces the entry (tokens refused before it leave); when every token is refused, or the secret
 * is gone (404), the entry is evicted. Vault down or sealed keeps the entry as it is. The registry
 * is only read here: the static cache applies the outcome and tells the registry (`static-drop`,
 * `static-forget`).
 */
/** What a refetch can tell: the secret's new answer, or that it left the cache. */
export type RefetchOutcome = Extract<WorkerMessage, { type: 'static-update' | 'static-evict' }>;

export async function refetchSecret(vault: VaultClient, registry: StaticRegistry, path: string, log: Logger): Promise<RefetchOutcome[]> {
  const failed: string[] = [];
  for (const { hash, token } of registry.tokensFor(path)) {
    let reply;
    try {
      reply = await vault.raw({ path, decodedPath: true, token, timeoutMs: 10_000 });
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'refetching a cached secret failed; keeping it');
      return [];
    }
    if (reply.status === 403) {
      failed.push(hash);
      continue;
    }
    if (reply.status >= 200 && reply.status < 300) {
      const kv = kvVersion(reply.body);
      if (kv === 'not-kv') return evict(path, 'gone');
      const date = Date.parse(reply.headers.get('date') ?? '');
      return [{
        type: 'static-update',
        path,
        response: { status: reply.status, headers: replayableHeaders(reply.headers), body: new Uint8Array(reply.body), storedAtMs: Number.isNaN(date) ? Date.now() : date },
        failedTokens: failed,
        ...(kv !== undefined && path.includes('/data/') ? { kvVersion: kv } : {}),
      }];
    }
    if (reply.status === 404) return evict(path, 'gone');
    log.warn({ status: reply.status }, 'Vault could not answer a refetch of a cached secret; keeping it');
    return [];
  }
  return evict(path, 'no_reader');
}

/** The entry should go: the static cache evicts it and answers `static-forget` (the registry follows then). */
function evict(path: string, reason: 'no_reader' | 'gone'): RefetchOutcome[] {
  return [{ type: 'static-evict', path, reason }];
}

function kvVersion(body: Buffer): number | undefined | 'not-kv' {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { mount_type?: unknown; data?: { metadata?: { version?: unknown } } | null };
    // Only a named other type counts: Vaults before 1.16 name none (the path was KV when cached).
    if (typeof parsed.mount_type === 'string' && parsed.mount_type !== '' && parsed.mount_type !== 'kv') return 'not-kv';
    const v = parsed.data?.metadata?.version;
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  } catch {
    return 'not-kv';
  }
}
