import { errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import { VAULT_PATHS } from '../../vault/paths.js';
import { Backoff } from '../backoff.js';
import type { WorkerMessage } from '../protocol.js';

/**
 * sys/health answers on every node in every state with these (a sealed, uninitialised or standby
 * node still says its version); it needs no token.
 */
const HEALTH = `${VAULT_PATHS.health}?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200&drsecondarycode=200`;

/**
 * What the Vault is, from its sys/health answer: namespaces exist on Vault Enterprise and on
 * OpenBao from 2.3 on, nowhere else.
 * - HashiCorp Vault says `enterprise` (true/false) since 1.16; its Enterprise builds also carry
 *   `+ent` (`+ent.hsm`, `+ent.fips1402`; `+prem`/`+pro` before 1.x renamed them) in `version`.
 * - Without the `enterprise` key: HashiCorp Vault before 1.16 (version 1.x, Community unless
 *   `+ent`), or OpenBao (2.0 on; its health has never had the key), which added namespaces in 2.3.
 * Anything unreadable counts as no namespaces (the header then makes a request uncacheable).
 */
export function describeVault(body: unknown): { namespaces: boolean; version: string } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { version, enterprise } = body as { version?: unknown; enterprise?: unknown };
  if (typeof version !== 'string' || version === '') return undefined;
  const plus = version.indexOf('+');
  const core = plus < 0 ? version : version.slice(0, plus);
  const meta = plus < 0 ? '' : version.slice(plus + 1);
  if (enterprise === true || /^(ent|prem|pro)(\.|$)/.test(meta)) return { namespaces: true, version };
  if (typeof enterprise === 'boolean') return { namespaces: false, version };
  const m = /^v?(\d+)\.(\d+)/.exec(core);
  if (!m) return { namespaces: false, version };
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return { namespaces: major > 2 || (major === 2 && minor >= 3), version };
}

/**
 * Asks sys/health what the Vault is, at start and again whenever Vault comes back after it could
 * not be reached (it may have been upgraded), and sends `vault-info`. Retries with a backoff
 * (1 s doubling up to 1 min, jittered) until Vault answers; one attempt at a time.
 */
export class VaultInfoProbe {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly vault: VaultClient,
    private readonly log: Logger,
    private readonly send: (msg: WorkerMessage) => void,
    private readonly backoff = new Backoff(1_000, 60_000),
  ) {}

  /** Asks now (or once more after the attempt under way). */
  ask(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    this.backoff.reset();
    let failures = 0;
    while (!this.stopped) {
      this.again = false;
      let info: ReturnType<typeof describeVault>;
      let problem: string | undefined;
      try {
        const reply = await this.vault.send({ path: HEALTH, timeoutMs: 10_000, retry: false });
        info = describeVault(reply.body);
        if (!info) problem = `sys/health answered ${reply.status} without a version`;
      } catch (err) {
        problem = errorMessage(err);
      }
      if (this.stopped) break;
      if (info) {
        this.log.info({ version: info.version, namespaces: info.namespaces }, 'Vault identified');
        this.send({ type: 'vault-info', ...info });
        if (!this.again) break;
        continue;
      }
      // Said on the first failure, then every tenth: no log storm while Vault is away.
      if (failures++ % 10 === 0) this.log.warn({ err: problem, failures }, 'could not ask Vault what it is (sys/health); retrying');
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, this.backoff.next());
      });
      this.wakeUp = undefined;
    }
    this.running = false;
  }
}
