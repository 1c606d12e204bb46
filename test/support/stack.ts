import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasEventStream, type BackendKind } from './backend.js';
import { startEnvoy, type RunningEnvoy } from './envoy.js';
import { CLI } from './paths.js';
import { freePort, waitFor } from './ports.js';
import { Proc, run } from './process.js';
import type { VaultTarget } from './vault-setup.js';

export interface StackOptions {
  vault: VaultTarget;
  /** HCL blocks for auto_auth, api_proxy, etc.; `listener` and `extproc` are added by the harness unless given. */
  hcl: (paths: { dir: string }) => string;
  listenerHcl?: string;
  /** Extra keys of the vault block (ca_cert, tls_skip_verify …). */
  vaultHcl?: string;
  /** Wait for /readyz (auto-auth token held) before returning. */
  waitReady?: boolean;
  /**
   * The ext_proc channel lines of the extproc block (admin_address is added): by default a unix
   * socket in the stack's directory, `address = "unix://<dir>/extproc.sock"`.
   */
  extprocHcl?: (paths: { dir: string }) => string;
}

export interface Stack {
  /** Where clients send requests: Envoy's listener. */
  url: string;
  dir: string;
  service: Proc;
  envoy: RunningEnvoy;
  adminUrl: string;
  configPath: string;
  /** The ext_proc unix socket (the default channel), or undefined when extprocHcl chose another. */
  extprocSocket: string | undefined;
  /** Both processes' output, for failure reports. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Real Envoy + vault-extproc (the built CLI) in front of a Vault, on free ports. The Envoy
 * bootstrap is whatever `vault-extproc envoy-config` prints for the same config.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-stack-'));
  const [listenerPort, envoyAdminPort, adminPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const listener = opts.listenerHcl ?? 'tls_disable = true';
  // A unix socket by default: fast, no certificates, and guarded by its file mode.
  const extprocSocket = opts.extprocHcl ? undefined : join(dir, 'extproc.sock');
  const channel = opts.extprocHcl ? opts.extprocHcl({ dir }) : `address = "unix://${extprocSocket}"`;
  const hcl = `vault {
  address = "${opts.vault.serviceUrl ?? opts.vault.url}"
  ${opts.vaultHcl ?? ''}
}
extproc {
  ${channel}
  admin_address = "127.0.0.1:${adminPort}"
}
listener "tcp" {
  address = "127.0.0.1:${listenerPort}"
  ${listener}
}
${opts.hcl({ dir })}
`;
  const configPath = join(dir, 'config.hcl');
  writeFileSync(configPath, hcl);
  const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', configPath, '--envoy-admin-address', `127.0.0.1:${envoyAdminPort}`]);
  if (generated.code !== 0) throw new Error(`envoy-config failed (${generated.code}): ${generated.stderr}`);
  const env = { ...process.env };
  delete env['VAULT_ADDR'];
  const service = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', configPath, '--log-level', 'debug'], env);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  let envoy: RunningEnvoy | undefined;
  try {
    await waitFor(opts.waitReady === false ? 'vault-extproc healthz' : 'vault-extproc readyz', async () => {
      const code = await Promise.race([service.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`vault-extproc exited with ${code}:\n${service.text}`);
      const res = await fetch(`${adminUrl}${opts.waitReady === false ? '/healthz' : '/readyz'}`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 15_000);
    envoy = await startEnvoy(generated.stdout, envoyAdminPort);
  } catch (err) {
    await service.stop();
    throw new Error(`${(err as Error).message}\n--- vault-extproc output ---\n${service.text}`);
  }
  const running = envoy;
  return {
    url: `http://127.0.0.1:${listenerPort}`,
    dir,
    service,
    envoy: running,
    adminUrl,
    configPath,
    extprocSocket,
    logs: () => `--- vault-extproc ---\n${service.text}\n--- envoy ---\n${running.proc.text}`,
    stop: async () => {
      await Promise.all([running.stop(), service.stop()]);
    },
  };
}

/** Prints the stacks' logs (and a real Vault's) when the current test failed (and only then). */
export function showLogsOnFailure(stacks: () => Array<Stack | undefined>, vault?: () => { logs(): string } | undefined): void {
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const s of stacks()) if (s) process.stderr.write(`\n${s.logs()}\n`);
    const v = vault?.()?.logs();
    if (v) process.stderr.write(`\n${v}\n`);
  });
}

/**
 * Until the stack's worker keeps its static cache true: subscribed to KV events where the backend
 * has an event stream, else past its one notice that events are unavailable (polling instead).
 */
export async function untilCacheWatching(stack: Stack, kind: BackendKind, ms = 15_000): Promise<void> {
  const msg = hasEventStream(kind) ? 'subscribed to KV events' : 'KV events are unavailable; cached secrets are refetched every static_secret_refresh_interval instead';
  await waitFor(hasEventStream(kind) ? 'the KV event subscription' : 'the notice that KV events are unavailable', () => (stack.service.jsonLines.some((l) => l['msg'] === msg) ? true : undefined), ms);
}
