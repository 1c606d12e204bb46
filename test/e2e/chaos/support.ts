// Shared by the chaos suites: a stack whose worker can be crashed (VAULT_EXTPROC_TEST_HOOKS=1),
// readiness and metrics as an operator sees them, a database mount on both backends (dynamic
// leases), the differential check every HIT goes through (the same request, sent at once directly
// to Vault with the same token, must succeed), and recovery times printed for the closing note.
// Nothing here logs a token, a secret or a body.
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendName, isSim, realVault, type Backend, type BackendKind } from '../../support/backend.js';
import { Proc } from '../../support/process.js';
import { startVaultSim, type VaultSim } from '../../support/vault-sim/index.js';
import { freePort, sleep, waitFor } from '../../support/ports.js';
import { startStack, type Stack, type StackOptions } from '../../support/stack.js';
import { vaultApi, type VaultTarget } from '../../support/vault-setup.js';
import { read, send, type Res } from '../adversarial/support.js';

export { read, send, type Res };

/** The restart policy the README documents (src/worker/supervisor.ts DEFAULT_RESTART_POLICY). */
export const BACKOFF_MAX_MS = 30_000;

/**
 * startStack with the test hooks on: `POST <admin>/test/worker/crash` makes the worker throw. The
 * variable is set only while the service is spawned (it copies the environment then).
 */
export async function hookedStack(opts: StackOptions): Promise<Stack> {
  const before = process.env['VAULT_EXTPROC_TEST_HOOKS'];
  process.env['VAULT_EXTPROC_TEST_HOOKS'] = '1';
  try {
    return await startStack(opts);
  } finally {
    if (before === undefined) delete process.env['VAULT_EXTPROC_TEST_HOOKS'];
    else process.env['VAULT_EXTPROC_TEST_HOOKS'] = before;
  }
}

export async function crashWorker(stack: Stack): Promise<void> {
  const res = await fetch(`${stack.adminUrl}/test/worker/crash`, { method: 'POST' });
  expect(res.status, 'the crash hook answered').to.equal(202);
}

export async function readyz(stack: Stack): Promise<{ status: number; reasons: string[] }> {
  const res = await fetch(`${stack.adminUrl}/readyz`).catch(() => undefined);
  if (!res) return { status: 0, reasons: ['no answer'] };
  const body = (await res.json()) as { reasons?: string[] };
  return { status: res.status, reasons: body.reasons ?? [] };
}

/** Waits until /readyz says 200; returns when (Date.now()). */
export async function untilReady(stack: Stack, timeoutMs: number): Promise<number> {
  return waitFor('/readyz 200', async () => ((await readyz(stack)).status === 200 ? Date.now() : undefined), timeoutMs, 25);
}

/** A metric's value on the admin port (the sum over its labels), 0 when absent. */
export async function metric(stack: Stack, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${stack.adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Prints a recovery time for the closing note (one line, no secrets). */
export function recovered(kind: BackendKind, what: string, ms: number): void {
  process.stdout.write(`      [chaos ${backendName(kind)}] ${what}: recovered in ${ms} ms\n`);
}

/**
 * The differential check: every read through Envoy that was a HIT is sent again, at once, directly
 * to Vault with the same token; Vault must answer 2xx. A refusal inside a documented bound after a
 * change Vault made without telling us (allowUntilMs) is counted, not failed.
 */
export class Differential {
  hits = 0;
  confirmed = 0;
  /** Refusals inside a documented bound. */
  withinBound = 0;
  /** When each of those requests was sent (Date.now()). */
  readonly withinBoundSentAt: number[] = [];
  /** HITs while Vault could not be asked (down), inside the documented bound for that. */
  unverifiable = 0;
  readonly refused: string[] = [];
  private allowUntilMs = -Infinity;
  private unreachableUntilMs = -Infinity;

  constructor(private readonly vault: VaultTarget) {}

  /** Vault changed who may read what (a forgotten dev server, a revocation we did not see): allow the bound from now. */
  vaultChanged(boundMs: number): void {
    this.allowUntilMs = Date.now() + boundMs;
  }

  /**
   * Vault went down (it cannot be asked): cached access may go on for `boundMs` from now (the
   * no-leak bound: capability refresh interval + static_secret_max_stale after the last confirmation).
   */
  vaultDown(boundMs: number): void {
    this.unreachableUntilMs = Date.now() + boundMs;
  }

  async read(stack: Stack, path: string, token?: string, label = path): Promise<Res> {
    const sentAt = Date.now();
    const r = await read(stack.url, path, token);
    if (r.cache === 'HIT') {
      this.hits++;
      const at = Date.now();
      const direct = await read(this.vault.url, path, token ?? await this.autoAuthToken(stack)).catch(() => undefined);
      if (!direct) {
        if (at <= this.unreachableUntilMs) this.unverifiable++;
        else this.refused.push(`${label}: HIT through Envoy while Vault could not be reached, past the bound`);
      } else if (direct.status >= 200 && direct.status < 300) this.confirmed++;
      else if (at <= this.allowUntilMs) {
        this.withinBound++;
        this.withinBoundSentAt.push(sentAt);
      }
      else this.refused.push(`${label}: HIT through Envoy, Vault answered ${direct.status}`);
    }
    return r;
  }

  /** No HIT Vault refused outside a documented bound. */
  check(): void {
    expect(this.refused, 'HITs Vault refused').to.deep.equal([]);
  }

  /** The auto-auth token (its file sink) for reads that carry no token of their own. */
  private async autoAuthToken(stack: Stack): Promise<string> {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    return readFileSync(join(stack.dir, 'token'), 'utf8').trim();
  }
}

export { startDatabaseBackend, type DatabaseBackend } from '../../support/database-backend.js';

/** Renewal requests Vault received since the last clearRequests: renew-self by `token`, or sys/leases/renew of `leaseId`. */
export async function renewalsSeen(backend: Backend, what: { token?: string; leaseId?: string }): Promise<number> {
  if (what.token) {
    const seen = await backend.tokenAsSeen(what.token);
    return backend.requestsTo('/v1/auth/token/renew-self').filter((r) => r.token === seen && r.status === 200).length;
  }
  return [...backend.requestsTo('/v1/sys/leases/renew'), ...backend.requestsTo('/v1/sys/renew')]
    .filter((r) => r.status === 200 && what.leaseId !== undefined && r.body.includes(what.leaseId)).length;
}

/** A lease's TTL now, looked up with the root token. */
export async function leaseTtlSeconds(backend: Backend, leaseId: string): Promise<number> {
  const r = await vaultApi(backend, 'PUT', 'sys/leases/lookup', { lease_id: leaseId });
  return Number(r.json.data.ttl);
}

export { sleep };

/**
 * A Vault dev server (the simulator, or the real 1.15.6 binary) on a fixed port that can be
 * replaced by a new one on the same port which knows nothing: no tokens, no leases, no mounts
 * beyond a dev server's own, a new root token. The old one's tokens are unknown to the new one.
 */
export interface ForgetfulVault extends VaultTarget {
  readonly kind: BackendKind;
  readonly port: number;
  /** Stops the server (its state is gone with it). */
  stop(): Promise<void>;
  /** Starts a new, empty server on the same port, with root token `rootToken`. */
  startFresh(rootToken: string): Promise<void>;
  close(): Promise<void>;
  logs(): string;
}

export async function startForgetfulVault(kind: BackendKind, rootToken: string): Promise<ForgetfulVault> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let root = rootToken;
  let sim: VaultSim | undefined;
  let proc: Proc | undefined;
  const old: string[] = [];
  const start = async (token: string): Promise<void> => {
    root = token;
    if (isSim(kind)) {
      sim = await startVaultSim({ port, rootToken: token, ...(kind === 'openbao' ? { profile: 'openbao' as const } : {}) });
      // A kept-alive connection to the old server fails once: let that happen here, not in a test's call.
      await waitFor('the new simulator', async () => ((await fetch(`${url}/v1/sys/health`).catch(() => undefined))?.status === 200 ? true : undefined), 10_000, 20);
      return;
    }
    const home = mkdtempSync(join(tmpdir(), 'vxp-forgetful-'));
    const p = new Proc('vault', realVault(kind).binary, [
      'server', '-dev', `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token',
    ], { PATH: process.env['PATH'] ?? '', HOME: home, VAULT_LOG_LEVEL: 'warn' });
    proc = p;
    await waitFor('a new Vault dev server', async () => {
      const code = await Promise.race([p.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`vault exited with ${code}:\n${p.text}`);
      const res = await fetch(`${url}/v1/sys/health`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 30_000, 50);
  };
  const stop = async (): Promise<void> => {
    if (sim) await sim.close();
    sim = undefined;
    if (proc) {
      await proc.stop();
      old.push(proc.text);
    }
    proc = undefined;
  };
  await start(rootToken);
  return {
    kind,
    port,
    url,
    get rootToken() { return root; },
    stop,
    startFresh: start,
    close: stop,
    logs: () => [...old, proc?.text ?? ''].join('\n'),
  };
}
