// One fleet replica as its own process, for tests that must kill one the hard way (SIGKILL: no
// lease release, no goodbye to Vault). It runs the BUILT app (dist/app.js, as `serve` would) on a
// config file that has a `fleet` block. It calls startApp directly rather than `serve`, because
// timings a test shortens (the owner lease's ttl below its 5 s config minimum, the shared token's
// poll) come as JSON in VXP_FLEET_TUNING, which `serve` does not read.
//
//   node --import tsx test/support/fleet-replica.ts <config.hcl>
//
// SIGTERM stops the app gracefully (the owner releases the lease) and exits 0.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './paths.js';

type AppModule = typeof import('../../src/app.js');
type LoadModule = typeof import('../../src/config/load.js');

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: fleet-replica.ts <config.hcl>');
const dist = (path: string): string => pathToFileURL(join(REPO_ROOT, 'dist', path)).href;
const { startApp } = (await import(dist('app.js'))) as AppModule;
const { parseConfig } = (await import(dist('config/load.js'))) as LoadModule;

const { config, errors } = parseConfig(readFileSync(configPath, 'utf8'), configPath, process.env);
if (errors.length > 0 || !config.fleet) {
  process.stderr.write(`fleet-replica: ${errors.map((e) => e.message).join('; ') || 'no fleet block'}\n`);
  process.exit(2);
}
const tuning = process.env['VXP_FLEET_TUNING'];
const app = await startApp({
  config,
  logLevel: process.env['VXP_LOG_LEVEL'] ?? 'info',
  ...(tuning ? { fleetTuning: JSON.parse(tuning) as NonNullable<Parameters<AppModule['startApp']>[0]['fleetTuning']> } : {}),
});
process.stdout.write(`${JSON.stringify({ msg: 'fleet-replica started', extprocPort: app.extprocPort, adminPort: app.adminPort })}\n`);
process.once('SIGTERM', () => {
  void app.stop(1_000).then(() => process.exit(0));
});
void app.exitRequested.then(({ code }) => app.stop(1_000).then(() => process.exit(code)));
