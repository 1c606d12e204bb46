/**
 * `npm run demo`: the whole picture on this machine with no Vault or Docker: the Vault
 * simulator on :8200 (root token "root"), vault-extproc (approle auto-auth, use_auto_auth_token)
 * and real Envoy on :8100. Ctrl-C stops everything.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnvoy } from '../test/support/envoy.js';
import { CLI, REPO_ROOT } from '../test/support/paths.js';
import { waitFor } from '../test/support/ports.js';
import { Proc, run } from '../test/support/process.js';
import { startVaultSim } from '../test/support/vault-sim/index.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../test/support/vault-setup.js';

const dir = join(REPO_ROOT, '.tools', 'demo');
mkdirSync(dir, { recursive: true });
const sim = await startVaultSim({ port: 8200, rootToken: 'root' });
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
  address = "127.0.0.1:8100"
  tls_disable = true
  require_request_header = true
}
`);
const service = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', config]);
service.exited.then((code) => { process.stderr.write(`vault-extproc exited (${code}):\n${service.text}\n`); process.exit(1); });
await waitFor('vault-extproc ready', async () => ((await fetch('http://127.0.0.1:9002/readyz').catch(() => undefined))?.status === 200 ? true : undefined), 15_000);
const bootstrap = await run(process.execPath, [CLI, 'envoy-config', '--config', config]);
const envoy = await startEnvoy(bootstrap.stdout, 9901);
process.stdout.write(`
vault-extproc demo is up:
  Vault simulator  ${sim.url}  (root token: root)
  Envoy            http://127.0.0.1:8100  (the address clients use as VAULT_ADDR)
  vault-extproc    ext_proc 127.0.0.1:9001, admin http://127.0.0.1:9002/readyz

try:
  curl -si -H 'X-Vault-Request: true' http://127.0.0.1:8100/v1/secret/data/hello   # X-Cache: MISS, then HIT
  curl -s -i http://127.0.0.1:8100/v1/secret/data/hello        # 412: X-Vault-Request is required

Ctrl-C stops everything.
`);
const stop = async (): Promise<void> => {
  await Promise.all([envoy.stop(), service.stop(), sim.close()]);
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
