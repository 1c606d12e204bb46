import { readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startApp } from './app.js';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { formatProblem } from './config/problems.js';
import { envoyBootstrap, extprocAddressesProblem } from './envoy/bootstrap.js';
import { AppError, errorMessage } from './errors.js';
import { createLogger } from './telemetry/logger.js';

/** Exit codes: what went wrong, for scripts and supervisors. */
export const EXIT = {
  ok: 0,
  /** The config (or a file it names) is invalid: check found errors, serve refused it. */
  config: 1,
  /** The command line is wrong: unknown command or option, missing --config, bad --log-level. */
  usage: 2,
  /** serve could not listen: address in use, not available, or not permitted. */
  listen: 3,
  /** A bug: anything else. */
  internal: 70,
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

const SUMMARY = `vault-extproc: Vault Agent/Proxy auto-auth, API proxy and caching for a fleet, as an Envoy ext_proc service

usage: vault-extproc <command> [options]

commands:
  serve          run the ext_proc server, the admin server and the worker
  check          validate a config and the files it names; list every problem
  envoy-config   print an Envoy bootstrap for a config

options:
  -h, --help     this help; vault-extproc <command> --help for a command's
  --version      print the version

exit codes: 0 ok, 1 config refused, 2 usage, 3 cannot listen, 70 internal error`;

interface CommandSpec {
  usage: string;
  about: string;
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
}

const COMMANDS: Record<'serve' | 'check' | 'envoy-config', CommandSpec> = {
  serve: {
    usage: 'vault-extproc serve --config FILE [--log-level LEVEL]',
    about: `Runs the ext_proc gRPC server, the admin HTTP server (/healthz, /readyz, /metrics) and the
worker (auto-auth, token sinks, renewal, cache upkeep) until SIGTERM or SIGINT. Refuses to start,
with exit 1, on every config problem check reports as an error.

options:
  -c, --config FILE    Vault Proxy HCL or JSON config (required)
  --log-level LEVEL    ${LOG_LEVELS.join(', ')} (default info, or VAULT_EXTPROC_LOG_LEVEL)
  -h, --help           this help`,
    options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  },
  check: {
    usage: 'vault-extproc check --config FILE [--config-only]',
    about: `Validates the config and the files it names (vault TLS files, auto-auth credential files, sink
and pid_file directories) and prints every error and warning with its location. Exit 0 when
serve would start, 1 when it would refuse.

options:
  -c, --config FILE    Vault Proxy HCL or JSON config (required)
  --config-only        leave out the files it names (a config written for another machine)
  -h, --help           this help`,
    options: { config: { type: 'string', short: 'c' }, 'config-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  },
  'envoy-config': {
    usage: 'vault-extproc envoy-config --config FILE [--envoy-admin-address HOST:PORT] [--extproc-address ADDRESS ...]',
    about: `Prints an Envoy bootstrap (JSON, which Envoy reads as YAML) for the config: a listener per
listener block, the ext_proc filter and the Vault cluster.

options:
  -c, --config FILE                   Vault Proxy HCL or JSON config (required)
  --envoy-admin-address HOST:PORT     Envoy's admin interface (default 127.0.0.1:9901)
  --extproc-address ADDRESS           where Envoy reaches a vault-extproc replica, unix:///path or
                                      host:port (the kind of the config's extproc address, whose
                                      TLS settings apply to all); repeat it for several replicas:
                                      one round-robin cluster with gRPC health checks (default:
                                      the config's extproc address)
  -h, --help                          this help`,
    options: {
      config: { type: 'string', short: 'c' },
      'envoy-admin-address': { type: 'string' },
      'extproc-address': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  },
};

/** A mistake on the command line: message, then where to find help; exit 2. */
class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** The CLI entry: parse arguments, load config, run a command, handle signals. */
async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    err(SUMMARY);
    return EXIT.usage;
  }
  if (first === '-h' || first === '--help') {
    out(SUMMARY);
    return EXIT.ok;
  }
  if (first === '--version' || first === 'version') {
    out(`vault-extproc ${version()}`);
    return EXIT.ok;
  }
  if (first === 'help') {
    const spec = rest[0] !== undefined ? COMMANDS[rest[0] as keyof typeof COMMANDS] : undefined;
    if (rest[0] !== undefined && !spec) throw new UsageError(`unknown command "${rest[0]}"`);
    out(spec ? `usage: ${spec.usage}\n\n${spec.about}` : SUMMARY);
    return EXIT.ok;
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    throw new UsageError(first.startsWith('-') ? `unknown option "${first}" (a command comes first)` : `unknown command "${first}"`);
  }
  const command = first as keyof typeof COMMANDS;
  const spec = COMMANDS[command];
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: spec.options, strict: true, allowPositionals: true }));
  } catch (e) {
    // node:util's messages name the option: "Unknown option '--foo'", "Option '--config <value>' argument missing".
    throw new UsageError(`${command}: ${errorMessage(e).replace(/\. To specify a positional argument.*$/s, '')}`, command);
  }
  if (values['help']) {
    out(`usage: ${spec.usage}\n\n${spec.about}`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`${command}: unexpected argument "${positionals[0]}"`, command);
  const file = values['config'];
  if (typeof file !== 'string' || file === '') throw new UsageError(`${command}: --config FILE is required`, command);

  if (command === 'envoy-config') {
    const loaded = loadConfigFile(file, { files: false });
    // stdout is the bootstrap; what the environment changed goes to stderr.
    for (const o of loaded.envOverrides) err(formatOverride(o));
    if (refuse(file, loaded.errors, 'no Envoy config printed')) return EXIT.config;
    const adminAddress = values['envoy-admin-address'];
    const given = values['extproc-address'];
    const extprocAddresses = Array.isArray(given) ? given.filter((a): a is string => typeof a === 'string') : undefined;
    const addressProblem = extprocAddresses && extprocAddressesProblem(loaded.config.extproc, extprocAddresses);
    if (addressProblem) throw new UsageError(`envoy-config: --extproc-address ${addressProblem}`, command);
    const cache = loaded.config.cache;
    if (extprocAddresses && extprocAddresses.length > 1 && !loaded.config.fleet && cache && (cache.leaseCache || cache.staticSecrets)) {
      err(`warning: ${file}: ${extprocAddresses.length} replicas without a fleet block each keep their own cache: a revocation or cache-clear through one does not reach the others' cached answers`);
    }
    const bootstrap = envoyBootstrap(loaded.config, {
      ...(typeof adminAddress === 'string' ? { adminAddress } : {}),
      ...(extprocAddresses ? { extprocAddresses } : {}),
    });
    out(JSON.stringify(bootstrap, null, 2));
    return EXIT.ok;
  }

  if (command === 'check') {
    const loaded = loadConfigFile(file, { files: values['config-only'] !== true });
    for (const o of loaded.envOverrides) out(formatOverride(o));
    for (const p of loaded.problems) out(formatProblem(file, p));
    const refused = loaded.serveBlockers.length;
    const w = loaded.warnings.length;
    out(refused > 0
      ? `${file}: ${loaded.errors.length} error(s), ${w} warning(s); serve refuses this config`
      : `${file}: valid (${w} warning(s))`);
    return refused > 0 ? EXIT.config : EXIT.ok;
  }

  // serve
  const logLevel = typeof values['log-level'] === 'string' ? values['log-level'] : process.env['VAULT_EXTPROC_LOG_LEVEL'] || undefined;
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    const from = typeof values['log-level'] === 'string' ? '--log-level' : 'VAULT_EXTPROC_LOG_LEVEL';
    throw new UsageError(`serve: ${from} must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`, command);
  }
  const loaded = loadConfigFile(file);
  if (loaded.serveBlockers.length > 0) {
    // Said before the refusal: an address from the environment is often the cause (serve logs them once started).
    for (const o of loaded.envOverrides) err(formatOverride(o));
    refuse(file, loaded.serveBlockers, 'not starting');
    return EXIT.config;
  }
  return serve(file, loaded, logLevel);
}

/** A setting the environment gave: `check` prints it, `serve` says it before starting. */
function formatOverride(o: LoadedConfig['envOverrides'][number]): string {
  return `env: ${o.variable} sets ${o.setting} = ${JSON.stringify(o.value)}${o.replaced !== undefined ? ` (the config file's ${JSON.stringify(o.replaced)} is overridden)` : ''}`;
}

/** Prints the problems that stop a command; true when there were any. */
function refuse(file: string, problems: LoadedConfig['problems'], what: string): boolean {
  if (problems.length === 0) return false;
  for (const p of problems) err(formatProblem(file, p));
  err(`${file}: ${problems.length} problem(s); ${what}`);
  return true;
}

async function serve(file: string, loaded: LoadedConfig, cliLogLevel: string | undefined): Promise<number> {
  // --log-level (or VAULT_EXTPROC_LOG_LEVEL) wins over the file's log_level, as Vault's -log-level does.
  const logLevel = cliLogLevel ?? loaded.process.logLevel;
  const log = createLogger({ base: { role: 'extproc' }, ...(logLevel ? { level: logLevel } : {}) });
  for (const o of loaded.envOverrides) log.info({ variable: o.variable, setting: o.setting, overridesFile: o.replaced !== undefined }, 'config: setting taken from the environment');
  for (const p of loaded.warnings) log.warn({ location: p.location }, `config: ${p.message}`);
  // The pid_file goes with the process, however it ends (a second signal, a crash, exit_after_auth).
  const pidFile = loaded.config.pidFile;
  if (pidFile) process.on('exit', () => removeOwnPidFile(pidFile));
  let running = loaded;
  process.on('SIGHUP', () => { running = reloadConfig(file, running, cliLogLevel, log); });
  // Listen to signals before anything starts: a SIGTERM during start-up stops it once started.
  let signalled: ((code: number) => void) | undefined;
  const stopSignal = new Promise<number>((resolve) => { signalled = resolve; });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C: the user means it.
      process.stderr.write(`vault-extproc: ${signal} again; exiting without waiting\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    log.info({ signal }, 'signal received; stopping');
    signalled?.(EXIT.ok);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (process.env['npm_command'] !== undefined) {
    // Under npx or an npm script, npm starts this through `sh -c`, which does not pass SIGTERM on:
    // `kill <npx's PID>` ends npm and the shell only. The shell going away is the stop request then.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid === parent) return;
      log.info({ parent }, 'the process that started vault-extproc (npm) is gone; stopping');
      signalled?.(EXIT.ok);
    }, 250).unref();
  }
  let app;
  try {
    app = await startApp({ config: loaded.config, log, ...(logLevel ? { logLevel } : {}) });
  } catch (e) {
    await flush(log);
    throw listenError(e) ?? e;
  }
  const code = await Promise.race([
    stopSignal,
    app.exitRequested.then(({ code: c, reason }) => {
      log.info({ reason }, 'exit requested by the worker');
      return c;
    }),
  ]);
  await app.stop();
  await flush(log);
  return code;
}

/** Removes the pid_file if it still names this process (another may have started since). */
function removeOwnPidFile(pidFile: string): void {
  try {
    if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile, { force: true });
  } catch {
    // Already gone.
  }
}

/**
 * SIGHUP, as Vault Proxy 1.15.6 handles it (command/proxy.go reloadConfig): the file is read again;
 * a config with errors is reported and the running one kept; otherwise log_level is applied to this
 * process's log. Vault Proxy also reloads its listeners' TLS certificates: here Envoy serves the
 * listeners, so their certificates are Envoy's to reload. Every other change needs a restart, and
 * the log says which.
 */
function reloadConfig(file: string, running: LoadedConfig, cliLogLevel: string | undefined, log: ReturnType<typeof createLogger>): LoadedConfig {
  log.info('SIGHUP: config reload triggered');
  let next: LoadedConfig;
  try {
    next = loadConfigFile(file);
  } catch (e) {
    log.error({ error: errorMessage(e) }, 'config reload failed; the running config is kept');
    return running;
  }
  if (next.serveBlockers.length > 0) {
    for (const p of next.serveBlockers) log.error({ location: p.location }, `config reload: ${p.message}`);
    log.error({ problems: next.serveBlockers.length }, 'config reload failed; the running config is kept');
    return running;
  }
  const level = cliLogLevel ?? next.process.logLevel ?? 'info';
  log.level = level;
  const before = running.config as unknown as Record<string, unknown>;
  const after = next.config as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  if (JSON.stringify(running.process.disableIdleConnections) !== JSON.stringify(next.process.disableIdleConnections)) changed.push('disable_idle_connections');
  if (JSON.stringify(running.process.disableKeepAlives) !== JSON.stringify(next.process.disableKeepAlives)) changed.push('disable_keep_alives');
  if (changed.length > 0) log.warn({ changed }, 'config reload: these settings change only with a restart; the running ones are kept');
  log.debug({ logLevel: level }, 'config reload: debug logging is on');
  log.info({ logLevel: level, fromCommandLine: cliLogLevel !== undefined }, 'config reloaded: log level applied');
  // Keep the running config (what was started), with the new log settings.
  return { ...running, process: { ...running.process, ...(next.process.logLevel ? { logLevel: next.process.logLevel } : {}) } };
}

function flush(log: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise<void>((resolve) => log.flush(() => resolve()));
}

/** A failure to listen (port in use, address not here, privileged port) as the user should read it. */
class ListenError extends Error {}

function listenError(e: unknown): ListenError | undefined {
  if (e instanceof AppError && e.code === 'LISTEN_FAILED' && !/(?:listen|bind) E[A-Z]+/.test(e.message)) return new ListenError(e.message);
  const message = errorMessage(e);
  const syscall = (e as NodeJS.ErrnoException).syscall;
  const code = (e as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this machine',
    EACCES: 'permission denied',
  };
  // Node's own listen errors carry syscall, address and port; gRPC's say "listen EADDRINUSE: … 127.0.0.1:9001".
  if (syscall === 'listen' || syscall === 'bind') {
    const { address, port } = e as { address?: string; port?: number };
    return new ListenError(`cannot listen${address !== undefined ? ` on ${address}:${port}` : ''}: ${known[code ?? ''] ?? message}`);
  }
  const m = /(?:listen|bind) (EADDRINUSE|EADDRNOTAVAIL|EACCES)[^\]]*\s(\S+?)(?:\]|$)/.exec(message);
  if (!m) return undefined;
  return new ListenError(`cannot listen on ${m[2]}: ${known[m[1]!]}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(`vault-extproc: ${e.message}\nrun "vault-extproc ${e.command ? `${e.command} ` : ''}--help" for usage`);
      process.exit(EXIT.usage);
    }
    if (e instanceof ListenError || (e instanceof AppError && e.code === 'LISTEN_FAILED')) {
      err(`vault-extproc: ${e.message}`);
      process.exit(EXIT.listen);
    }
    if (e instanceof AppError && (e.code === 'CONFIG_UNREADABLE' || e.code === 'CONFIG_INVALID' || e.code === 'AUTH_METHOD_UNSUPPORTED')) {
      err(`vault-extproc: ${e.message}`);
      process.exit(EXIT.config);
    }
    err(`vault-extproc: unexpected error (a bug; please report it): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(EXIT.internal);
  },
);
