// What both benchmarks (bench/run.ts, bench/peers.ts) start and measure: a vault-extproc config,
// the service itself, the Envoy bootstrap our CLI writes for it, and a process's CPU and memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../test/support/paths.js';
import { freePort, waitFor } from '../test/support/ports.js';
import { Proc, run } from '../test/support/process.js';

/** CPU seconds (user + system, all threads) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

export function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** `<dir>/<name>.hcl`: a listener and ext_proc on free ports in front of `vaultUrl`, then `body`. */
export async function writeServiceConfig(dir: string, name: string, vaultUrl: string, body: string): Promise<{ file: string; listen: number; extproc: number; admin: number }> {
  const [listen, extproc, admin] = [await freePort(), await freePort(), await freePort()];
  const file = join(dir, `${name}.hcl`);
  writeFileSync(file, `vault { address = "${vaultUrl}" }
listener "tcp" {
  address = "127.0.0.1:${listen}"
  tls_disable = true
}
extproc {
  address = "127.0.0.1:${extproc}"
  admin_address = "127.0.0.1:${admin}"
  tls_disable = true
}
${body}
`);
  return { file, listen, extproc, admin };
}

/** `vault-extproc serve` with `file` (VAULT_* unset), once its /readyz answers 200. */
export async function startService(file: string, admin: number, nodeArgs: string[] = []): Promise<Proc> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_')));
  const proc = new Proc('vault-extproc', process.execPath, [...nodeArgs, CLI, 'serve', '--config', file, '--log-level', 'warn'], env);
  await waitFor('vault-extproc ready', async () => ((await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000);
  return proc;
}

/** The Envoy bootstrap `envoy-config` writes for `config`, with a free admin port. */
export async function envoyBootstrap(config: string): Promise<{ json: any; admin: number }> {
  const admin = await freePort();
  const out = await run(process.execPath, [CLI, 'envoy-config', '--config', config, '--envoy-admin-address', `127.0.0.1:${admin}`]);
  if (out.code !== 0) throw new Error(out.stderr);
  return { json: JSON.parse(out.stdout), admin };
}

/** The HTTP connection manager of a bootstrap's one listener. */
export const hcmOf = (bootstrap: any): any => bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;

/** A bootstrap with the ext_proc filter taken out: the proxy floor. */
export function withoutExtproc(bootstrap: any): any {
  hcmOf(bootstrap).http_filters = hcmOf(bootstrap).http_filters.filter((f: { name: string }) => f.name !== 'envoy.filters.http.ext_proc');
  return bootstrap;
}
