// One suite, two backends: the same test code runs against the in-repo simulator and against a
// real Vault server (built by scripts/vault-real.mjs). `forEachBackend` registers a suite once per
// backend named in VAULT_BACKENDS (default: both); `startBackend` starts one.
//
// What a test may ask of either backend: its URL and root token, the requests that reached it
// (the simulator records them; a real Vault reports them through a file audit device), revoking
// a token, and going down and up (a TCP gate in front of a real Vault refuses connections, as a
// stopped simulator does). Fault injection that only a simulator can do (garbage on the event
// stream, failing renewals) lives in `backend.sim`, and such tests are registered with `simOnly`.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { freePort, waitFor } from './ports.js';
import { Proc } from './process.js';
import { TcpGate } from './tcp-gate.js';
import { startVaultSim, type RecordedRequest, type VaultSim, type VaultSimOptions } from './vault-sim/index.js';

/**
 * The backends a suite can run against:
 * - `sim`: the in-repo simulator (Vault 1.15.6's behaviour, and the faults only a simulator can inject);
 * - `openbao`: the simulator's OpenBao 2.x profile (OpenBao's server is not buildable here);
 * - `real`: a real Vault 1.15.6 dev server (test/real-vault/);
 * - `current`: a real current Vault dev server (test/real-vault-current/, 1.21.x).
 */
export type BackendKind = 'sim' | 'openbao' | 'real' | 'current';
const ALL_KINDS: readonly BackendKind[] = ['sim', 'openbao', 'real', 'current'];

/**
 * Where a suite runs when VAULT_BACKENDS is not set. Every suite runs against the simulator and
 * Vault 1.15.6; a suite registered with `{ versions: 'all' }` (what depends on the server's
 * version: the caches' proofs of access, the attacks on them, the API's shape) also runs against
 * the OpenBao profile and the current Vault. That keeps a cold CI run within its budget
 * (README "Tests"); VAULT_BACKENDS=current (or openbao) runs every suite against that one.
 */
const DEFAULT_KINDS: readonly BackendKind[] = ['sim', 'real'];
const ALL_VERSIONS_KINDS: readonly BackendKind[] = ALL_KINDS;

export interface SuiteScope {
  /** 'all': by default also against the OpenBao profile and the current Vault. */
  versions?: 'default' | 'all';
}

/** The simulator, in either profile: `backend.sim` is defined and faults can be injected. */
export function isSim(kind: BackendKind): kind is 'sim' | 'openbao' {
  return kind === 'sim' || kind === 'openbao';
}
/** A real Vault server, of either version. */
export function isReal(kind: BackendKind): kind is 'real' | 'current' {
  return !isSim(kind);
}

function pinnedVersion(wrapperDir: string): string | undefined {
  const goMod = join(REPO_ROOT, 'test', wrapperDir, 'go.mod');
  if (!existsSync(goMod)) return undefined;
  return /^\s*(?:require\s+)?github\.com\/hashicorp\/vault v(\d+\.\d+\.\d+)\s*$/m.exec(readFileSync(goMod, 'utf8'))?.[1];
}

/** The real Vault 1.15.6 the suites run against (and whose `vault agent`/`vault proxy` are the oracles): the version pinned in test/real-vault/go.mod. */
export const REAL_VAULT_VERSION = pinnedVersion('real-vault')!;
export const REAL_VAULT_BINARY = join(REPO_ROOT, '.tools', `vault-${REAL_VAULT_VERSION}`, 'vault');
/** The current Vault: the version pinned in test/real-vault-current/go.mod. */
export const CURRENT_VAULT_VERSION = pinnedVersion('real-vault-current');

/**
 * Whether the backend serves Vault's KV event stream (sys/events/subscribe): Vault 1.15.6 and the
 * simulator do; Vault Community 1.16+ (Enterprise-only since) and OpenBao do not, and there the
 * static cache is kept true by polling (static_secret_refresh_interval).
 */
export function hasEventStream(kind: BackendKind): boolean {
  return kind === 'sim' || kind === 'real';
}

/**
 * Whether the backend has namespaces, so that X-Vault-Namespace names one (which must exist):
 * OpenBao (the profile). Vault Community, 1.15.6 and 1.21.4 alike, ignores the header (and echoes it).
 */
export function hasNamespaces(kind: BackendKind): boolean {
  return kind === 'openbao';
}

/** `it` where the backend has a KV event stream, nothing elsewhere (not skipped: not registered). */
export function eventsOnly(kind: BackendKind): Mocha.TestFunction | ((title: string, fn?: Mocha.Func | Mocha.AsyncFunc) => void) {
  return hasEventStream(kind) ? it : () => undefined;
}

/** The version and binary of a real backend. */
export function realVault(kind: 'real' | 'current'): { version: string; binary: string } {
  if (kind === 'real') return { version: REAL_VAULT_VERSION, binary: REAL_VAULT_BINARY };
  if (!CURRENT_VAULT_VERSION) throw new Error('the current Vault is not pinned (test/real-vault-current/go.mod)');
  return { version: CURRENT_VAULT_VERSION, binary: join(REPO_ROOT, '.tools', `vault-${CURRENT_VAULT_VERSION}`, 'vault') };
}

/** The backend's name in test output: "simulator", "simulator (OpenBao profile)", "vault 1.15.6", … */
export function backendName(kind: BackendKind): string {
  if (kind === 'sim') return 'simulator';
  if (kind === 'openbao') return 'simulator (OpenBao profile)';
  return `vault ${realVault(kind).version}`;
}

/** The tag in suite titles; the reporter counts tests per tag. */
export function backendLabel(kind: BackendKind): string {
  return `[backend: ${backendName(kind)}]`;
}

/** Backends to run: VAULT_BACKENDS, a comma-separated list of sim, openbao, real, current; unset, the default plan for `scope`. */
export function backendKinds(scope: SuiteScope = {}): BackendKind[] {
  const raw = process.env['VAULT_BACKENDS'];
  if (raw === undefined || raw.trim() === '') return [...(scope.versions === 'all' ? ALL_VERSIONS_KINDS : DEFAULT_KINDS)];
  const kinds = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of kinds) if (!ALL_KINDS.includes(k as BackendKind)) throw new Error(`VAULT_BACKENDS: unknown backend '${k}' (${ALL_KINDS.join(', ')})`);
  return kinds as BackendKind[];
}

/** Registers `body` as one describe block per backend (see DEFAULT_KINDS for which). */
export function forEachBackend(title: string, body: (this: Mocha.Suite, kind: BackendKind) => void, scope: SuiteScope = {}): void {
  for (const kind of backendKinds(scope)) describe(`${title} ${backendLabel(kind)}`, function () { body.call(this, kind); });
}

/**
 * `it` for the simulator (either profile), nothing for a real Vault: for tests whose fault
 * injection only the simulator can do. The test is not registered (not skipped) against a real Vault.
 */
export function simOnly(kind: BackendKind): Mocha.TestFunction | ((title: string, fn?: Mocha.Func | Mocha.AsyncFunc) => void) {
  return isSim(kind) ? it : () => undefined;
}

/** `it` for a real Vault, nothing for the simulator: for what the simulator does not implement (pki, a sealed Vault). */
export function realOnly(kind: BackendKind): Mocha.TestFunction | ((title: string, fn?: Mocha.Func | Mocha.AsyncFunc) => void) {
  return isReal(kind) ? it : () => undefined;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Where tests send their own calls (a real Vault itself, not its gate). */
  readonly url: string;
  /** Where vault-extproc is pointed: the simulator, or a real Vault's TCP gate. */
  readonly serviceUrl: string;
  /** The port of serviceUrl. */
  readonly port: number;
  readonly rootToken: string;
  /** The simulator's own controls; undefined for a real Vault. */
  readonly sim: VaultSim | undefined;
  /**
   * Requests that reached Vault since the last clear, oldest first. A real Vault's are read from
   * its audit log (the simulator's own test-only root requests are left out there too): method is
   * derived from the logical operation (read GET, list LIST, create/update POST, delete DELETE),
   * `status` is 200, or 403 for a permission error, else 400; `token` is as tokenAsSeen gives it.
   */
  readonly requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  clearRequests(): void;
  /**
   * How a token appears in `requests[].token`: the token itself for the simulator; for a real Vault,
   * whose audit log names the token's internal id, `accessor:<its accessor>` (looked up with root).
   */
  tokenAsSeen(token: string | undefined): Promise<string | undefined>;
  /** Revokes a token tree (and its leases) with the root token. */
  revokeToken(token: string): Promise<void>;
  /** vault-extproc's Vault refuses connections (existing ones are cut) until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Cuts vault-extproc's open connections (event subscriptions included) without closing the listener. */
  cutConnections(): void;
  close(): Promise<void>;
  /** Vault's own output, for failure reports (empty for the simulator). */
  logs(): string;
}

export interface BackendOptions {
  rootToken?: string;
  /** Simulator only; a real Vault starts without the database engine (mount it through the API). */
  sim?: Omit<VaultSimOptions, 'rootToken'>;
  /** Real Vault only: extra environment for the Vault process (e.g. a cloud stand-in's proxy and CA). */
  realEnv?: Record<string, string>;
  /** Real Vault only: extra `vault server -dev` arguments (e.g. -config=<file> adding a TLS listener). */
  realArgs?: string[];
}

export async function startBackend(kind: BackendKind, opts: BackendOptions = {}): Promise<Backend> {
  return isSim(kind) ? simBackend(kind, opts) : realBackend(kind, opts);
}

async function simBackend(kind: 'sim' | 'openbao', opts: BackendOptions): Promise<Backend> {
  const sim = await startVaultSim({ ...opts.sim, rootToken: opts.rootToken ?? 'root', ...(kind === 'openbao' ? { profile: 'openbao' } : {}) });
  return {
    kind,
    url: sim.url,
    serviceUrl: sim.url,
    port: sim.port,
    rootToken: sim.rootToken,
    sim,
    get requests() { return sim.requests; },
    requestsTo: (path) => sim.requestsTo(path),
    clearRequests: () => sim.clearRequests(),
    tokenAsSeen: async (token) => token,
    revokeToken: async (token) => sim.revokeToken(token),
    stop: () => sim.stop(),
    start: () => sim.start(),
    cutConnections: () => sim.events.disconnectAll(),
    close: () => sim.close(),
    logs: () => '',
  };
}

interface AuditEntry {
  type?: string;
  error?: string;
  request?: { id?: string; operation?: string; path?: string; client_token_accessor?: string; data?: Record<string, unknown>; namespace?: { path?: string } };
  time?: string;
}

const OPERATION_METHOD: Record<string, string> = { read: 'GET', list: 'LIST', create: 'POST', update: 'POST', delete: 'DELETE', patch: 'PATCH' };

/**
 * A real Vault dev server (the pinned build of `kind`, default 1.15.6) on a free port, answering
 * sys/health; `extraArgs` go to `vault server -dev` (e.g. -dev-leased-kv). Vault keeps its files
 * under `dir` (its HOME).
 */
export async function startRealDevVault(rootToken: string, extraArgs: string[] = [], env: Record<string, string> = {}, kind: 'real' | 'current' = 'real'): Promise<{ proc: Proc; url: string; port: number; dir: string }> {
  const { version, binary } = realVault(kind);
  const dir = mkdtempSync(join(tmpdir(), 'vxp-vault-'));
  const port = await freePort();
  const proc = new Proc('vault', binary, [
    'server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token', ...extraArgs,
  ], { PATH: process.env['PATH'] ?? '', HOME: dir, VAULT_LOG_LEVEL: 'warn', ...env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`Vault ${version} dev server`, async () => {
      const code = await Promise.race([proc.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`vault exited with ${code}:\n${proc.text}`);
      const res = await fetch(`${url}/v1/sys/health`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 30_000, 100);
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { proc, url, port, dir };
}

async function realBackend(kind: 'real' | 'current', opts: BackendOptions): Promise<Backend> {
  const rootToken = opts.rootToken ?? 'root';
  const { proc: vault, url: direct, dir, port: vaultPort } = await startRealDevVault(rootToken, opts.realArgs ?? [], opts.realEnv, kind);
  // Every request Vault handles, with raw values (tokens included): test-only, on a dev server.
  const auditPath = join(dir, 'audit.log');
  const audit = await fetch(`${direct}/v1/sys/audit/file`, {
    method: 'PUT',
    headers: { 'x-vault-token': rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'file', options: { file_path: auditPath, log_raw: 'true' } }),
  });
  if (audit.status !== 204) throw new Error(`enabling the audit device: ${audit.status} ${await audit.text()}`);
  const gate = await TcpGate.open('127.0.0.1', vaultPort);
  const auditSize = (): number => readFileSync(auditPath).length;
  let clearedAt = auditSize();

  const accessors = new Map<string, string>();
  const requests = (): RecordedRequest[] => {
    const text = readFileSync(auditPath).subarray(clearedAt).toString('utf8');
    const entries = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as AuditEntry);
    const errors = new Map<string, string>();
    for (const e of entries) if (e.type === 'response' && e.request?.id && e.error) errors.set(e.request.id, e.error);
    return entries.filter((e) => e.type === 'request' && e.request?.path !== undefined).map((e) => {
      const r = e.request!;
      const error = errors.get(r.id ?? '');
      const ns = r.namespace?.path ?? '';
      return {
        method: OPERATION_METHOD[r.operation ?? ''] ?? (r.operation ?? '').toUpperCase(),
        path: `/v1/${ns}${r.path}`,
        query: {},
        headers: {},
        body: r.data ? JSON.stringify(r.data) : '',
        token: r.client_token_accessor ? `accessor:${r.client_token_accessor}` : undefined,
        status: error === undefined ? 200 : error.includes('permission denied') ? 403 : 400,
        at: e.time ? Date.parse(e.time) : 0,
      };
    });
  };

  return {
    kind,
    url: direct,
    serviceUrl: gate.url,
    port: gate.port,
    rootToken,
    sim: undefined,
    get requests() { return requests(); },
    requestsTo: (path) => requests().filter((r) => r.path === path),
    clearRequests: () => { clearedAt = auditSize(); },
    tokenAsSeen: async (token) => {
      if (token === undefined) return undefined;
      const known = accessors.get(token);
      if (known) return known;
      const res = await fetch(`${direct}/v1/auth/token/lookup`, {
        method: 'POST',
        headers: { 'x-vault-token': rootToken, 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      if (res.status !== 200) throw new Error(`looking up a token: ${res.status} ${await res.text()}`);
      const seen = `accessor:${((await res.json()) as { data: { accessor: string } }).data.accessor}`;
      accessors.set(token, seen);
      return seen;
    },
    revokeToken: async (token) => {
      const res = await fetch(`${direct}/v1/auth/token/revoke`, {
        method: 'POST',
        headers: { 'x-vault-token': rootToken, 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      if (res.status !== 204) throw new Error(`revoking a token: ${res.status} ${await res.text()}`);
    },
    stop: () => gate.close(),
    start: () => gate.reopen(),
    cutConnections: () => gate.cutAll(),
    close: async () => {
      await gate.close();
      await vault.stop();
    },
    logs: () => `--- ${backendName(kind)} ---\n${vault.text}`,
  };
}
