// Running third-party Vault clients from tests (test/e2e/real-clients.test.ts): the `vault` CLI,
// Python's hvac (through hvac_calls.py in the venv scripts/py-clients-install.mjs makes), and
// what comparing their answers with Vault's needs.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_VAULT_BINARY, startRealDevVault } from '../support/backend.js';
import { REPO_ROOT } from '../support/paths.js';
import type { VaultTarget } from '../support/vault-setup.js';

export interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs a program to completion (SIGKILLed after `timeoutMs`), with exactly the environment given. */
export async function exec(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** A HOME of its own for client processes (no ~/.vault-token, no user config); remove() at the end. */
export function clientHome(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'vxp-clients-home-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * `vault <args>` of the same build as the server, with only VAULT_ADDR, VAULT_TOKEN (and
 * VAULT_FORMAT=json when `json`) set: nothing from the environment this runs in.
 */
export async function vaultCli(home: string, url: string, token: string, args: string[], opts: { json?: boolean } = {}): Promise<Ran> {
  return exec(REAL_VAULT_BINARY, args, {
    PATH: process.env['PATH'] ?? '', HOME: home, VAULT_ADDR: url, VAULT_TOKEN: token, ...(opts.json ? { VAULT_FORMAT: 'json' } : {}),
  });
}

const REQUIREMENTS = join(REPO_ROOT, 'test', 'clients', 'requirements.txt');
/** The hvac version test/clients/requirements.txt pins. */
export const HVAC_VERSION = /^hvac==(\S+)$/m.exec(readFileSync(REQUIREMENTS, 'utf8'))![1]!;

/** Installs the pinned Python clients (a no-op once installed) and returns the venv's python. */
export async function installPyClients(): Promise<string> {
  const r = await exec(process.execPath, [join(REPO_ROOT, 'scripts', 'py-clients-install.mjs'), '--quiet'], process.env, 170_000);
  if (r.code !== 0) throw new Error(`py-clients:install failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

export interface HvacResult {
  ok: boolean;
  /** What hvac returned. */
  response?: any;
  /** The hvac exception's class and Vault's errors, when it raised. */
  error?: string;
  errors?: string[];
  /** The call's last HTTP response, as requests saw it. */
  status?: number;
  headers?: Record<string, string>;
}

/** Runs hvac calls (see hvac_calls.py for the ops) in one Python process against `url`. */
export async function hvacCalls(python: string, home: string, url: string, token: string | undefined, calls: object[]): Promise<{ hvac: string; results: HvacResult[] }> {
  const script = join(REPO_ROOT, 'test', 'clients', 'hvac_calls.py');
  const r = await exec(python, ['-I', script, JSON.stringify({ url, token, calls })], { PATH: process.env['PATH'] ?? '', HOME: home });
  if (r.code !== 0) throw new Error(`hvac_calls.py exited with ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { hvac: string; results: HvacResult[] };
}

/** Drops what two equal calls legitimately answer differently (request_id always, and `drop`), at any depth. */
export function comparable(value: unknown, drop: readonly string[] = []): unknown {
  const gone = new Set(['request_id', ...drop]);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).filter(([k]) => !gone.has(k)).map(([k, x]) => [k, walk(x)]));
  };
  return walk(value);
}

/** What differs between two tokens made the same way. */
export const NEW_TOKEN_FIELDS = ['client_token', 'accessor'] as const;

/** Replaces what names the server or the lease in a CLI message. */
export function normalized(text: string, url: string, leaseId: string): string {
  return text.replaceAll(url, '<addr>').replaceAll(leaseId, '<lease>');
}

/** Whether Vault still knows a lease (sys/leases/lookup with the root token). */
export async function leaseExists(v: VaultTarget, leaseId: string): Promise<boolean> {
  const res = await fetch(`${v.url}/v1/sys/leases/lookup`, {
    method: 'PUT', headers: { 'x-vault-token': v.rootToken }, body: JSON.stringify({ lease_id: leaseId }),
  });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 400) throw new Error(`sys/leases/lookup: ${res.status}`);
  return res.status === 200;
}

/** vault-extproc's `vault_agent_cache_hit` counter (admin /metrics). */
export async function cacheHits(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(/^vault_agent_cache_hit (\d+)/m.exec(text)?.[1] ?? NaN);
}

export interface LeasedKvVault extends VaultTarget {
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A second real dev Vault (same build) whose `kv` engine issues renewable leases
 * (`-dev-leased-kv`; `secret/` is then KV v1 with leases): renewable, revocable leases without
 * outside services. startBackend takes no server flags, so this one is started here.
 */
export async function startLeasedKvVault(): Promise<LeasedKvVault> {
  const { proc, url, dir } = await startRealDevVault('root', ['-dev-leased-kv']);
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, rootToken: 'root', logs: () => `--- vault (leased kv) ---\n${proc.text}`, stop };
}
