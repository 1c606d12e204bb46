// Helpers of the template e2e suites (test/e2e/templates*.test.ts): run `serve` on a config,
// poll a rendered file with a deadline, read a counter from the admin /metrics.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../support/paths.js';
import { freePort, sleep } from '../support/ports.js';
import { Proc } from '../support/process.js';

/** The environment `serve` runs in: no VAULT_* (even an empty VAULT_ADDR overrides the file). */
export function serviceEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VAULT_')) delete env[k];
  return env;
}

/** `vault-extproc serve` on a config written to `dir/config.hcl` (extproc and admin on their own socket/port). */
export async function startServe(dir: string, hcl: string): Promise<{ proc: Proc; adminUrl: string; configPath: string }> {
  const adminPort = await freePort();
  const configPath = join(dir, 'config.hcl');
  writeFileSync(configPath, `${hcl}
extproc {
  address = "unix://${join(dir, 'extproc.sock')}"
  admin_address = "127.0.0.1:${adminPort}"
}
`);
  const proc = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', configPath, '--log-level', 'debug'], serviceEnv());
  return { proc, adminUrl: `http://127.0.0.1:${adminPort}`, configPath };
}

export function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Polls `path` every 10 ms until `want` holds; resolves with the content and the time it took, or throws at the deadline. */
export async function fileBecomes(path: string, want: (text: string) => boolean, deadlineMs: number): Promise<{ text: string; ms: number }> {
  const start = performance.now();
  for (;;) {
    const text = readOr(path);
    const ms = performance.now() - start;
    if (want(text)) return { text, ms };
    if (ms > deadlineMs) throw new Error(`${path} did not become what was expected within ${deadlineMs} ms; it holds ${JSON.stringify(text)}`);
    await sleep(10);
  }
}

/** The value of a Prometheus series on the admin port (0 when absent). */
export async function metricValue(adminUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (!labels && l.startsWith(`${name} `)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** A process exit within `ms`, else 'running'. */
export async function exitWithin(proc: Proc, ms: number): Promise<number | null | 'running'> {
  return Promise.race([proc.exited, sleep(ms).then(() => 'running' as const)]);
}
