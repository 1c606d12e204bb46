/**
 * The worker's template role (Vault Agent's `template` stanza): wires the renderer (manager.ts) to
 * the engine, consul-template's functions, Vault (vault-io.ts) and the static cache's changes.
 * src/worker/run.ts calls this with a few one-line hooks.
 */
import { DEFAULTS, type Config } from '../../config/types.js';
import type { Logger } from '../../telemetry/logger.js';
import { parseTemplate } from '../../template/engine/index.js';
import { createFuncs } from '../../template/functions/index.js';
import type { VaultClient } from '../../vault/client.js';
import type { ExtprocMessage, WorkerMessage } from '../protocol.js';
import { TemplateManager } from './manager.js';
import { TemplateVaultIo } from './vault-io.js';

export interface TemplateRole {
  tokenChanged(): void;
  /** A cached secret changed or left the cache: the templates that read it re-render. */
  staticChanged(path: string): void;
  /** ext_proc's answer to a `template-lookup`. */
  answered(msg: Extract<ExtprocMessage, { type: 'template-answer' }>): void;
  /** True once every template rendered once; false when stopped before (or a template failed for good). */
  readonly firstRound: Promise<boolean>;
  stop(): void;
}

export function startTemplates(config: Config, vault: VaultClient, log: Logger, send: (msg: WorkerMessage) => void, token: () => string | undefined): TemplateRole | undefined {
  const templates = config.templates ?? [];
  const settings = config.templateSettings;
  const method = config.autoAuth?.method;
  if (templates.length === 0 || !settings || !method || method.type === 'unsupported') return undefined;
  const io = new TemplateVaultIo({
    vault, token, maxConnections: settings.maxConnectionsPerHost, staticCache: config.cache?.staticSecrets === true, send,
    ...(config.vault.namespace ? { namespace: config.vault.namespace } : {}),
  });
  const manager = new TemplateManager({
    templates, settings, io, log,
    metric: (update) => send({ type: 'metric', update }),
    onFatal: (code, reason) => send({ type: 'exit', code, reason }),
    compile: parseTemplate,
    createFuncs,
    // Vault Agent hands the method's min_backoff/max_backoff to consul-template's retry only when they
    // are set; otherwise consul-template's own 250 ms doubling to 1 min applies (seen in its logs).
    minBackoffMs: method.minBackoffSeconds !== DEFAULTS.minBackoffSeconds ? method.minBackoffSeconds * 1000 : 250,
    maxBackoffMs: method.maxBackoffSeconds !== DEFAULTS.maxBackoffSeconds ? method.maxBackoffSeconds * 1000 : 60_000,
    numRetries: config.vault.numRetries,
    once: config.exitAfterAuth,
  });
  return {
    tokenChanged: () => manager.tokenChanged(),
    staticChanged: (path) => manager.staticChanged(path),
    answered: (msg) => io.answered(msg),
    firstRound: manager.firstRound,
    stop() {
      manager.stop();
      io.stop();
    },
  };
}
