/**
 * `npm run demo`: the whole picture on this machine with no Vault or Docker: the Vault
 * simulator on :8200 (root token "root"), vault-extproc (approle auto-auth, use_auto_auth_token)
 * and real Envoy on :8100. Ctrl-C, or SIGINT/SIGTERM to the PID of `npm run demo`, stops everything.
 *
 * Envoy reaches vault-extproc on a unix socket (.tools/demo/extproc.sock, mode 0600). Ports can be
 * moved with DEMO_VAULT_PORT, DEMO_ENVOY_PORT, DEMO_ADMIN_PORT and DEMO_ENVOY_ADMIN_PORT (the test
 * of this script uses free ones).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnvoy, type RunningEnvoy } from '../test/support/envoy.js';
import { CLI, REPO_ROOT } from '../test/support/paths.js';
import { waitFor } from '../test/support/ports.js';
import { Proc, run } from '../test/support/process.js';
import { startVaultSim, type VaultSim } from '../test/support/vault-sim/index.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../test/support/vault-setup.js';

const port = (name: string, fallback: number): number => Number(process.env[name] || fallback);
const ports = {
  vault: port('DEMO_VAULT_PORT', 8200),
  envoy: port('DEMO_ENVOY_PORT', 8100),
  admin: port('DEMO_ADMIN_PORT', 9002),
  envoyAdmin: port('DEMO_ENVOY_ADMIN_PORT', 9901),
};

const dir = join(REPO_ROOT, '.tools', 'demo');
mkdirSync(dir, { recursive: true });
let stopping = false;
let sim: VaultSim | undefined;
let service: Proc | undefined;
let envoy: RunningEnvoy | undefined;

/** Stops whatever is running, in reverse order of start. */
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Each may already be gone (a Ctrl-C reaches them too): a failure to stop one never skips the rest.
    // Each is given at most 5 s (a connection left open must not keep the simulator's close waiting).
    for (const step of [() => envoy?.stop(), () => service?.stop(), () => sim?.close()]) {
      try {
        await Promise.race([step(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      } catch {
        // already stopped
      }
    }
    if (code === 0) process.stdout.write('demo stopped\n');
  }
  process.exit(code);
}

// A terminal's Ctrl-C reaches every process of the group (Envoy and vault-extproc too): their
// exits are part of stopping, not a failure. npm forwards the same SIGINT once more: the handler
// stays (`on`, not `once`), or that second signal would kill the demo halfway through stopping.
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  sim = await startVaultSim({ port: ports.vault, rootToken: 'root' });
  await writePolicy(sim, 'demo', `path "secret/*" { capabilities = ["create", "read", "update", "delete", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "sys/events/subscribe/kv*" { capabilities = ["read"] }`);
  await vaultApi(sim, 'POST', 'secret/data/hello', { data: { greeting: 'hello from vault-extproc' } });
  const creds = await setupAppRole(sim, { role: 'demo', policies: ['demo'] });
  const config = join(dir, 'demo.hcl');
  writeFileSync(config, `vault { address = "${sim.url}" }
${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache { cache_static_secrets = true }
listener "tcp" {
  address = "127.0.0.1:${ports.envoy}"
  tls_disable = true
  require_request_header = true
}
extproc {
  address = "unix://${join(dir, 'extproc.sock')}"
  admin_address = "127.0.0.1:${ports.admin}"
}
`);
  const svc = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', config]);
  service = svc;
  void svc.exited.then((code) => {
    if (stopping) return;
    if (code === 0 || code === null) {
      // Stopped by a signal that reached it first (Ctrl-C): stop the rest the same way.
      void stop(0);
      return;
    }
    const tail = svc.text.trimEnd().split('\n').slice(-20).join('\n');
    process.stderr.write(`vault-extproc exited with ${code}; its last lines:\n${tail}\n`);
    void stop(1);
  });
  await waitFor('vault-extproc ready', async () => ((await fetch(`http://127.0.0.1:${ports.admin}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 15_000);
  const bootstrap = await run(process.execPath, [CLI, 'envoy-config', '--config', config, '--envoy-admin-address', `127.0.0.1:${ports.envoyAdmin}`]);
  if (bootstrap.code !== 0) throw new Error(`envoy-config failed:\n${bootstrap.stderr}`);
  envoy = await startEnvoy(bootstrap.stdout, ports.envoyAdmin);
  void envoy.proc.exited.then((code) => {
    if (stopping) return;
    if (code === 0 || code === null) return void stop(0);
    process.stderr.write(`envoy exited with ${code}; its last lines:\n${envoy!.proc.text.trimEnd().split('\n').slice(-20).join('\n')}\n`);
    void stop(1);
  });
  if (stopping) await new Promise(() => undefined);
  process.stdout.write(`
vault-extproc demo is up:
  Vault simulator  ${sim.url}  (root token: root)
  Envoy            http://127.0.0.1:${ports.envoy}  (the address clients use as VAULT_ADDR)
  vault-extproc    ext_proc unix://${join(dir, 'extproc.sock')}, admin http://127.0.0.1:${ports.admin}/readyz
  demo PID         ${process.pid}

try:
  curl -si -H 'X-Vault-Request: true' http://127.0.0.1:${ports.envoy}/v1/secret/data/hello   # X-Cache: MISS, then HIT
  curl -s -i http://127.0.0.1:${ports.envoy}/v1/secret/data/hello        # 412: X-Vault-Request is required

Ctrl-C stops everything.
`);
} catch (err) {
  if (!stopping) {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
}
