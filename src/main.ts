import { parseArgs } from 'node:util';
import { startApp } from './app.js';
import { loadConfigFile } from './config/load.js';
import { formatProblem } from './config/problems.js';
import { envoyBootstrap } from './envoy/bootstrap.js';
import { AppError, errorMessage } from './errors.js';
import { createLogger } from './telemetry/logger.js';

const USAGE = `usage:
  vault-extproc serve --config FILE [--log-level LEVEL]
  vault-extproc check --config FILE
  vault-extproc envoy-config --config FILE [--envoy-admin-address HOST:PORT]`;

/** The CLI entry: parse arguments, load config, run a command, handle signals. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      'envoy-admin-address': { type: 'string' },
    },
    strict: true,
  });
  if (!command || !['serve', 'check', 'envoy-config'].includes(command) || !values.config) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = values.config;
  const loaded = loadConfigFile(file);

  if (command === 'check') {
    for (const p of loaded.problems) process.stdout.write(`${formatProblem(file, p)}\n`);
    const e = loaded.errors.length;
    const w = loaded.warnings.length;
    process.stdout.write(e > 0 ? `${file}: ${e} error(s), ${w} warning(s)\n` : `${file}: valid (${w} warning(s))\n`);
    return e > 0 ? 1 : 0;
  }

  if (loaded.errors.length > 0) {
    for (const p of loaded.problems) process.stderr.write(`${formatProblem(file, p)}\n`);
    process.stderr.write(`${file}: ${loaded.errors.length} error(s); not starting\n`);
    return 1;
  }
  if (command === 'serve' && loaded.serveBlockers.length > 0) {
    for (const p of loaded.serveBlockers) process.stderr.write(`vault-extproc: cannot serve this config: ${p.location}: ${p.message}\n`);
    return 1;
  }

  if (command === 'envoy-config') {
    const bootstrap = envoyBootstrap(loaded.config, values['envoy-admin-address'] ? { adminAddress: values['envoy-admin-address'] } : {});
    process.stdout.write(`${JSON.stringify(bootstrap, null, 2)}\n`);
    return 0;
  }

  const logLevel = values['log-level'];
  const log = createLogger({ base: { role: 'extproc' }, ...(logLevel ? { level: logLevel } : {}) });
  for (const p of loaded.warnings) log.warn({ location: p.location }, `config: ${p.message}`);
  const app = await startApp({ config: loaded.config, log, ...(logLevel ? { logLevel } : {}) });
  const code = await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received');
      resolve(0);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    void app.exitRequested.then(({ code: c, reason }) => {
      log.info({ reason }, 'exit requested by the worker');
      resolve(c);
    });
  });
  await app.stop();
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof AppError ? err.message : `unexpected error: ${errorMessage(err)}`;
    process.stderr.write(`vault-extproc: ${message}\n`);
    process.exit(1);
  },
);
