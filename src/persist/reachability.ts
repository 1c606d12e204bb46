import type { VaultConfig } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import { VaultClient } from '../vault/client.js';

export type VaultState = 'unknown' | 'up' | 'unreachable' | 'sealed';

/**
 * Whether Vault can answer now, for serve_stale: `sys/health` every `intervalMs` from the ext_proc
 * side (unauthenticated, no token). Unreachable (connection refused, reset, timeout) and sealed or
 * uninitialised (503, 501) count as down; any other answer (active, standby, performance standby,
 * DR secondary) as up. A request Envoy could not forward to Vault marks it down at once; only a
 * probe marks it up again. Until the first probe answers the state is unknown, which is not down.
 */
export class VaultReachability {
  private current: VaultState = 'unknown';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly client: VaultClient;

  constructor(vault: VaultConfig, private readonly log: Logger, private readonly intervalMs = 2_000) {
    this.client = new VaultClient({ ...vault, numRetries: -1 }, Math.min(intervalMs, 2_000));
  }

  get state(): VaultState {
    return this.current;
  }

  down(): boolean {
    return this.current === 'unreachable' || this.current === 'sealed';
  }

  start(): void {
    void this.probe();
  }

  /** Envoy could not reach Vault for a proxied request. */
  failedUpstream(): void {
    this.set('unreachable');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.close();
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    try {
      const reply = await this.client.send({ method: 'GET', path: 'sys/health?standbyok=true&perfstandbyok=true', timeoutMs: this.intervalMs, retry: false });
      this.set(reply.status === 503 || reply.status === 501 ? 'sealed' : 'up');
    } catch {
      this.set('unreachable');
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe(), this.intervalMs);
    this.timer.unref?.();
  }

  private set(state: VaultState): void {
    if (state === this.current) return;
    const was = this.current;
    this.current = state;
    if (state !== 'up' || was !== 'unknown') this.log.info({ vault: state, was }, 'Vault reachability changed');
  }
}

/**
 * One sys/health call: Vault's cluster id, or undefined when Vault does not answer within
 * `timeoutMs` (unreachable) or gives none (sealed, uninitialised). The persistent store is bound to it.
 */
export async function vaultClusterId(vault: VaultConfig, timeoutMs: number): Promise<string | undefined> {
  let client: VaultClient | undefined;
  try {
    client = new VaultClient({ ...vault, numRetries: -1 }, timeoutMs);
    const reply = await client.send<never>({ method: 'GET', path: 'sys/health?standbyok=true&perfstandbyok=true', timeoutMs, retry: false });
    const id = (reply.body as { cluster_id?: unknown } | undefined)?.cluster_id;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  } finally {
    client?.close();
  }
}
