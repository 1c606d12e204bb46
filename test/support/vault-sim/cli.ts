// tsx test/support/vault-sim/cli.ts --port 8200 --root-token root [--host 127.0.0.1] [--error-style modern]
//   [--mount-database] [--namespaces] [--profile vault|openbao]
import { parseArgs } from 'node:util';
import { startVaultSim } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8200' },
      host: { type: 'string', default: '127.0.0.1' },
      'root-token': { type: 'string', default: 'root' },
      'error-style': { type: 'string', default: 'legacy' },
      'mount-database': { type: 'boolean', default: false },
      namespaces: { type: 'boolean', default: false },
      profile: { type: 'string', default: 'vault' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}`);
  const errorStyle = values['error-style'];
  if (errorStyle !== 'legacy' && errorStyle !== 'modern') throw new Error(`invalid --error-style ${errorStyle}`);
  const profile = values.profile;
  if (profile !== 'vault' && profile !== 'openbao') throw new Error(`invalid --profile ${profile}`);
  const sim = await startVaultSim({
    port, host: values.host, rootToken: values['root-token'], errorStyle, mountDatabase: values['mount-database'],
    namespaces: values.namespaces, profile,
  });
  process.stdout.write(`vault-sim listening on ${sim.url}\n`);
  const shutdown = (): void => {
    sim.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`vault-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
