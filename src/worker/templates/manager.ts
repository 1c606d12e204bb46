/**
 * Vault Agent's template server in the worker: once auto-auth has a token, every template is
 * rendered (engine + consul-template's functions), written only when its bytes changed, and its
 * command run after a change. A template renders again when a read it used becomes due (see
 * deps.ts: a KV change seen by the static cache, a lease near its end, the render interval), after
 * `wait` when set. A render that fails is retried with the auto-auth method's backoff; after
 * `vault { retry { num_retries } }` failed attempts of a Vault read, or at once for an error of the
 * template itself, `exit_on_retry_failure` ends the process with 1, as Vault Agent's template
 * server does; without it the template keeps being retried.
 */
import { readFile } from 'node:fs/promises';
import type { TemplateConfig, TemplateSettings } from '../../config/template.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { WorkerMetric } from '../../telemetry/metrics.js';
import { TemplateError, type CompiledTemplate, type FuncMap, type ParseOptions } from '../../template/types.js';
import { consulTemplateExecuteError, consulTemplateParseError, redactSecretValues, type RenderContext, type VaultAnswer } from '../../template/functions/index.js';
import { Backoff } from '../backoff.js';
import { runCommand, type CommandOutcome } from './command.js';
import { DependencyStore, dependencyKey, type DependencyIo, type Method } from './deps.js';
import { writeRendered } from './file-writer.js';

export interface TemplateManagerOptions {
  templates: readonly TemplateConfig[];
  settings: TemplateSettings;
  io: DependencyIo;
  log: Logger;
  metric(update: WorkerMetric): void;
  /** exit_on_retry_failure gave up: the process exits with `code`. */
  onFatal(code: number, reason: string): void;
  compile(name: string, text: string, opts: ParseOptions): CompiledTemplate;
  createFuncs(ctx: RenderContext): FuncMap;
  /** The auto-auth method's min_backoff / max_backoff (Vault Agent hands them to consul-template's retry). */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** `vault { retry { num_retries } }`: failed Vault reads in a row before a render counts as failed for good. */
  numRetries: number;
  /** exit_after_auth: render every template once; later tokens do not start the templates again. */
  once: boolean;
  random?: () => number;
}

interface Tracked {
  config: TemplateConfig;
  index: number;
  /** The reads of its last render (dependency keys). */
  deps: Set<string>;
  rendering: boolean;
  /** Asked to render again while rendering (or while waiting). */
  again: boolean;
  /** First change of the current `wait` window, and its timer. */
  waitStartedMs?: number;
  waitTimer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
  failures: number;
  backoff: Backoff;
  /** Rendered (written or found already so) at least once. */
  done: boolean;
  /** Why: a read became due, a new token … (logged). */
  reason: string;
}

class VaultReadFailed extends Error {}

export class TemplateManager {
  private readonly store: DependencyStore;
  private readonly tracked: Tracked[];
  private readonly log: Logger;
  private started = false;
  private stopped = false;
  private resolveFirstRound: (rendered: boolean) => void = () => undefined;
  /** True once every template rendered once; false when stopped before. */
  readonly firstRound: Promise<boolean>;

  constructor(private readonly opts: TemplateManagerOptions) {
    this.log = opts.log.child({ component: 'templates' });
    this.store = new DependencyStore(opts.io, opts.settings, (keys, why) => this.onDue(keys, why), opts.random);
    this.tracked = opts.templates.map((config, index) => ({
      config, index, deps: new Set(), rendering: false, again: false, failures: 0, done: false, reason: 'start',
      backoff: new Backoff(opts.minBackoffMs, opts.maxBackoffMs, opts.random),
    }));
    this.firstRound = new Promise<boolean>((resolve) => { this.resolveFirstRound = resolve; });
  }

  /** A token from auto-auth: the first starts the templates; a new one reads everything again (Vault Agent restarts its runner). */
  tokenChanged(): void {
    if (this.stopped) return;
    if (this.started && this.opts.once) {
      this.log.info('new token; exit_after_auth is set, the templates are not started again');
      return;
    }
    const restart = this.started;
    this.started = true;
    if (restart) {
      this.log.info('new auto-auth token; rendering every template again');
      this.store.retain(new Set());
    }
    for (const t of this.tracked) this.request(t, restart ? 'new token' : 'start', true);
  }

  /** The static cache saw a cached KV secret change (refetch after an event or poll) or leave. */
  staticChanged(canonicalPath: string): void {
    if (!this.stopped) this.store.changed(canonicalPath);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.tracked) {
      clearTimeout(t.waitTimer);
      clearTimeout(t.retryTimer);
    }
    this.store.stop();
    this.resolveFirstRound(false);
  }

  private onDue(keys: string[], why: string): void {
    for (const t of this.tracked) {
      if (keys.some((k) => t.deps.has(k))) this.request(t, why, false);
    }
  }

  /** A render is wanted: at once the first time, after `wait` for a change. */
  private request(t: Tracked, reason: string, now: boolean): void {
    if (this.stopped) return;
    t.reason = reason;
    if (t.rendering || t.retryTimer) {
      t.again = true;
      return;
    }
    const wait = t.config.wait;
    if (now || !wait || this.opts.once) {
      void this.render(t);
      return;
    }
    // consul-template's quiescence: wait `min` after the latest change, at most `max` after the first.
    const nowMs = Date.now();
    t.waitStartedMs ??= nowMs;
    clearTimeout(t.waitTimer);
    const deadline = t.waitStartedMs + wait.maxSeconds * 1000;
    const delay = Math.max(0, Math.min(nowMs + wait.minSeconds * 1000, deadline) - nowMs);
    t.waitTimer = setTimeout(() => {
      t.waitTimer = undefined;
      t.waitStartedMs = undefined;
      void this.render(t);
    }, delay);
  }

  private async render(t: Tracked): Promise<void> {
    if (this.stopped) return;
    t.rendering = true;
    t.again = false;
    const used = new Set<string>();
    let vaultFailed = false;
    const vault = {
      request: async (method: Method, path: string, body?: unknown): Promise<VaultAnswer> => {
        used.add(dependencyKey(method, path, body));
        try {
          const answer = await this.store.request(method, path, body);
          if (answer.status >= 400) vaultFailed = true;
          return answer;
        } catch (err) {
          vaultFailed = true;
          throw new VaultReadFailed(`${method} ${path}: ${errorMessage(err)}`);
        }
      },
    };
    const where = { template: t.config.location, destination: t.config.destination };
    const ctx: RenderContext = {
      vault, env: (name) => process.env[name], readFile: (p) => readFile(p, 'utf8'), readFileBytes: (p) => readFile(p),
      destination: t.config.destination, used: [],
    };
    try {
      const text = t.config.contents ?? await readFile(t.config.source!, 'utf8');
      const compiled = this.opts.compile('', text, {
        funcs: this.opts.createFuncs(ctx),
        ...(t.config.leftDelimiter ? { leftDelim: t.config.leftDelimiter } : {}),
        ...(t.config.rightDelimiter ? { rightDelim: t.config.rightDelimiter } : {}),
      });
      const output = await compiled.execute(undefined, { missingKey: t.config.errorOnMissingKey ? 'error' : 'zero' });
      if (this.stopped) return;
      const written = await writeRendered(t.config, output);
      t.deps = used;
      t.failures = 0;
      t.backoff.reset();
      this.opts.metric({ metric: 'template_render', outcome: written ? 'written' : 'unchanged' });
      this.log.info({ ...where, written, reason: t.reason }, written ? 'rendered the template' : 'rendered the template; the file already holds it');
      if (written && t.config.command.length > 0) await this.runCommand(t);
      this.markDone(t);
    } catch (err) {
      if (this.stopped) return;
      // Keep what the failed render read: a change of one of them tries again sooner.
      for (const k of used) t.deps.add(k);
      this.failed(t, renderErrorText(ctx, err), vaultFailed);
    } finally {
      t.rendering = false;
    }
    if (t.again && !t.retryTimer && !this.stopped) this.request(t, t.reason, false);
  }

  private async runCommand(t: Tracked): Promise<void> {
    const outcome: CommandOutcome = await runCommand(t.config.command, t.config.commandTimeoutSeconds * 1000);
    const where = { template: t.config.location, destination: t.config.destination };
    if (outcome.ok) {
      this.opts.metric({ metric: 'template_command', outcome: 'ok' });
      return;
    }
    this.opts.metric({ metric: 'template_command', outcome: 'failure' });
    const detail = outcome.reason === 'exit' ? { exitCode: outcome.code, signal: outcome.signal }
      : outcome.reason === 'timeout' ? { timeoutSeconds: t.config.commandTimeoutSeconds } : { err: outcome.message };
    this.log.error({ ...where, reason: outcome.reason, ...detail }, 'the template\'s command failed');
  }

  private failed(t: Tracked, errText: string, vaultFailed: boolean): void {
    this.opts.metric({ metric: 'template_render', outcome: 'error' });
    t.failures++;
    const where = { template: t.config.location, destination: t.config.destination };
    // consul-template retries a failing Vault read (vault.retry attempts) before its runner reports
    // the error; an error of the template itself (parse, execution, write) is reported at once.
    const givingUp = !vaultFailed || t.failures > Math.max(0, this.opts.numRetries);
    this.log.error({ ...where, err: errText, attempt: t.failures, vaultRead: vaultFailed }, 'rendering the template failed');
    if (givingUp && this.opts.settings.exitOnRetryFailure) {
      this.opts.onFatal(1, `template server: rendering ${t.config.destination} failed and exit_on_retry_failure is set`);
      this.stop();
      return;
    }
    if (givingUp) t.failures = 0;
    const delay = t.backoff.next();
    t.retryTimer = setTimeout(() => {
      t.retryTimer = undefined;
      void this.render(t);
    }, delay);
  }

  private markDone(t: Tracked): void {
    if (t.done) return;
    t.done = true;
    if (this.tracked.every((x) => x.done)) {
      this.log.info({ templates: this.tracked.length }, 'every template rendered');
      this.resolveFirstRound(true);
    }
  }
}

/**
 * The only text a failed render logs or reports: consul-template's ("parse: …", or "execute: …"
 * with every top-level value of every secret the render read replaced by "[redacted]"). Any other
 * error (a write, a source file) is redacted the same way: no secret value reaches a log.
 */
export function renderErrorText(ctx: RenderContext, err: unknown): string {
  if (err instanceof TemplateError) return err.kind === 'parse' ? consulTemplateParseError(err.message) : consulTemplateExecuteError(ctx, err.message);
  return redactSecretValues(ctx, errorMessage(err), { keepEmpty: false });
}
