import { hashToken } from '../../cache/token-hash.js';
import { VaultResponseError, errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import { VAULT_PATHS } from '../../vault/paths.js';
import type { TokenLookupData } from '../../vault/types.js';

/**
 * Learns when each token with cached access expires (one lookup-self when it first proves
 * access) and drops its access at that moment, instead of at the next capability refresh.
 * A token Vault already refuses is dropped at once.
 */
export class TokenExpiry {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly vault: VaultClient,
    private readonly log: Logger,
    private readonly drop: (tokenHash: string, why: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async watch(token: string): Promise<void> {
    const hash = hashToken(token);
    if (this.timers.has(hash)) return;
    try {
      const reply = await this.vault.request<TokenLookupData>({ path: VAULT_PATHS.lookupSelf, token, timeoutMs: 10_000, retry: false });
      const expire = reply.body?.data?.expire_time;
      const at = typeof expire === 'string' ? Date.parse(expire) : NaN;
      if (Number.isNaN(at)) return; // no expiry (root, periodic without TTL)
      const inMs = Math.max(0, at - this.now());
      this.timers.set(hash, setTimeout(() => {
        this.timers.delete(hash);
        this.drop(hash, 'token expired');
      }, Math.min(inMs, 2 ** 31 - 1)));
    } catch (err) {
      if (err instanceof VaultResponseError && err.status === 403) this.drop(hash, 'token refused by Vault');
      else this.log.debug({ err: errorMessage(err) }, 'token lookup failed; the capability refresh covers it');
    }
  }

  forget(tokenHash: string): void {
    const t = this.timers.get(tokenHash);
    if (t) clearTimeout(t);
    this.timers.delete(tokenHash);
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
