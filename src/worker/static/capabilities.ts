import { VaultResponseError, errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import type { WorkerMessage } from '../protocol.js';
import type { StaticRegistry } from './registry.js';

const CAPABILITIES_SELF = 'sys/capabilities-self';

/**
 * Every interval, one `sys/capabilities-self` per token for all of its cached paths. A path
 * without `read` (or `root`) is dropped for that token at once; a 403 (revoked, expired) drops
 * the token everywhere; Vault down or sealed keeps everything until the next round.
 */
export async function refreshCapabilities(
  vault: VaultClient,
  registry: StaticRegistry,
  log: Logger,
  count: (outcome: 'ok' | 'revoked' | 'lost_paths' | 'error') => void = () => undefined,
): Promise<WorkerMessage[]> {
  const out: WorkerMessage[] = [];
  for (const { hash, token, paths } of registry.tokens()) {
    if (paths.length === 0) continue;
    try {
      const reply = await vault.request<Record<string, unknown>>({ method: 'POST', path: CAPABILITIES_SELF, token, body: { paths }, timeoutMs: 10_000 });
      const data = (reply.body?.data ?? reply.body ?? {}) as Record<string, unknown>;
      const lost = paths.filter((p) => {
        const caps = data[p];
        return !(Array.isArray(caps) && (caps.includes('read') || caps.includes('root')));
      });
      if (lost.length) {
        registry.dropToken(hash, lost);
        out.push({ type: 'static-revoke', tokenHash: hash, paths: lost });
      }
      count(lost.length ? 'lost_paths' : 'ok');
    } catch (err) {
      if (err instanceof VaultResponseError && err.status === 403) {
        count('revoked');
        out.push({ type: 'static-revoke', tokenHash: hash, paths: registry.dropToken(hash) });
      } else {
        count('error');
        log.warn({ err: errorMessage(err) }, 'capability refresh failed; keeping cached access until the next round');
      }
    }
  }
  return out;
}
