import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { freePort, waitFor } from './ports.js';
import { Proc, run } from './process.js';

let binary: string | undefined;

/** The pinned Envoy, installed by `npm run envoy:install` (a no-op when present). */
export async function envoyBinary(): Promise<string> {
  if (binary) return binary;
  const r = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'envoy-install.mjs'), '--quiet']);
  if (r.code !== 0) throw new Error(`envoy:install failed: ${r.stderr}`);
  binary = r.stdout.trim();
  return binary;
}

export interface RunningEnvoy {
  proc: Proc;
  adminPort: number;
  stop(): Promise<void>;
}

/** Starts Envoy on a bootstrap (JSON/YAML text) and waits until its admin says LIVE. */
export async function startEnvoy(bootstrap: string, adminPort: number): Promise<RunningEnvoy> {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-envoy-'));
  const file = join(dir, 'envoy.json');
  writeFileSync(file, bootstrap);
  const bin = await envoyBinary();
  const proc = new Proc('envoy', bin, ['-c', file, '--disable-hot-restart', '--log-level', process.env['VXP_ENVOY_LOG_LEVEL'] ?? 'warn', '--concurrency', '1']);
  await waitFor('envoy ready', async () => {
    const code = await Promise.race([proc.exited, Promise.resolve('running' as const)]);
    if (code !== 'running') throw new Error(`envoy exited with ${code}:\n${proc.text}`);
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 20_000);
  return { proc, adminPort, stop: async () => { await proc.stop(); } };
}

export { freePort };
