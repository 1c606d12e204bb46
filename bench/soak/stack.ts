/**
 * The soak's stack: the Vault simulator (in this process), vault-extproc (the built CLI, log level
 * warn so its own output does not grow the soak's memory) and real Envoy in front of it, on free
 * ports. Cleanup is the caller's (stop()).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnvoy, type RunningEnvoy } from '../../test/support/envoy.js';
import { CLI } from '../../test/support/paths.js';
import { freePort, waitFor } from '../../test/support/ports.js';
import { Proc, run } from '../../test/support/process.js';
import { appRoleAutoAuth, type AppRoleCreds } from '../../test/support/vault-setup.js';

export interface SoakStack {
  url: string;
  adminUrl: string;
  service: Proc;
  envoy: RunningEnvoy;
  stop(): Promise<void>;
}

export interface SoakStackOptions {
  vaultUrl: string;
  dir: string;
  worker: AppRoleCreds;
  capabilityIntervalSeconds: number;
  refreshIntervalSeconds: number;
}

export async function startSoakStack(opts: SoakStackOptions): Promise<SoakStack> {
  const [listen, admin, envoyAdmin] = [await freePort(), await freePort(), await freePort()];
  const socket = join(opts.dir, 'extproc.sock');
  const config = join(opts.dir, 'soak.hcl');
  writeFileSync(config, `vault { address = "${opts.vaultUrl}" }
listener "tcp" {
  address = "127.0.0.1:${listen}"
  tls_disable = true
}
extproc {
  address = "unix://${socket}"
  admin_address = "127.0.0.1:${admin}"
}
${appRoleAutoAuth(opts.dir, opts.worker)}
cache {
  cache_static_secrets = true
  static_secret_token_capability_refresh_interval = "${opts.capabilityIntervalSeconds}s"
  static_secret_refresh_interval = "${opts.refreshIntervalSeconds}s"
}
`);
  const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', config, '--envoy-admin-address', `127.0.0.1:${envoyAdmin}`]);
  if (generated.code !== 0) throw new Error(`envoy-config failed (${generated.code}): ${generated.stderr}`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_')));
  const service = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', config, '--log-level', 'warn'], env);
  const adminUrl = `http://127.0.0.1:${admin}`;
  let envoy: RunningEnvoy | undefined;
  try {
    // Ready (auto-auth token held) and subscribed to KV events (the metric, as logs are at warn).
    await waitFor('vault-extproc ready and subscribed to KV events', async () => {
      const code = await Promise.race([service.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`vault-extproc exited with ${code}:\n${service.text}`);
      if ((await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status !== 200) return undefined;
      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      return /^vault_extproc_event_stream_connected 1$/m.test(metrics) ? true : undefined;
    }, 20_000);
    envoy = await startEnvoy(generated.stdout, envoyAdmin);
  } catch (err) {
    await service.stop();
    throw err;
  }
  const running = envoy;
  return {
    url: `http://127.0.0.1:${listen}`, adminUrl, service, envoy: running,
    stop: async () => { await Promise.all([running.stop(), service.stop()]); },
  };
}
