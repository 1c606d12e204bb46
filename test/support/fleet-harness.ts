// Three (or n) vault-extproc processes in fleet mode on one Redis, each behind an Envoy of its own,
// for the fleet e2e suite (test/e2e/fleet.test.ts, issue 16).
//
// Why one Envoy per replica: a test must choose the replica a request goes through ("read through
// replica 1, then through replica 3"). One Envoy over all three (`envoy-config --extproc-address`
// ×3, test/e2e/envoy-fleet.test.ts) round-robins, so which replica decides a request is only known
// afterwards. Each replica here has its own config (its own listener port, admin port, ext_proc
// socket, auto-auth sink) and its own Envoy built by `envoy-config --config <that config>`, so
// `replica.url` reaches exactly that replica, through a real Envoy, deterministically.
//
// Every replica shares: the Vault, the Redis (`fleet { redis_url, encryption_key_file }`), the key
// file, the cache and api_proxy blocks, and the auto-auth method. Controls: start() (again after a
// kill), kill9(), and reads of its admin endpoints (/metrics, /readyz).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from './backend.js';
import { startEnvoy, type RunningEnvoy } from './envoy.js';
import { CLI } from './paths.js';
import { freePort, sleep, waitFor } from './ports.js';
import { Proc, run } from './process.js';
import type { RedisServer } from './redis.js';

export interface FleetHarnessOptions {
  backend: Backend;
  redis: RedisServer;
  /** The auto_auth block for a replica's directory (its sink goes there). */
  autoAuth: (dir: string) => string;
  /** The other blocks every replica has: cache, api_proxy … */
  hcl: string;
  /** More keys of the fleet block (owner_lease_ttl, max_stale_without_redis …). */
  fleetHcl?: string;
  /** How many replicas (default 3). */
  count?: number;
}

export interface Answer {
  status: number;
  body: string;
  headers: Headers;
  /** X-Cache: HIT, MISS, or null (not a cacheable answer, or an error). */
  cache: string | null;
  /** When the request was sent and when its answer was read (Date.now()). */
  sent: number;
  at: number;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export class FleetReplica {
  proc: Proc | undefined;
  envoy: RunningEnvoy | undefined;
  readonly socket: string;
  readonly config: string;
  readonly sink: string;
  /** Every incarnation's output (a killed process's too), for failure reports. */
  private readonly past: string[] = [];

  constructor(
    readonly index: number,
    readonly name: string,
    readonly dir: string,
    readonly adminUrl: string,
    /** Where this replica's own Envoy listens. */
    readonly url: string,
    readonly envoyAdminPort: number,
  ) {
    this.socket = join(dir, 'extproc.sock');
    this.config = join(dir, 'config.hcl');
    this.sink = join(dir, 'token');
  }

  get running(): boolean {
    return this.proc !== undefined && this.exitCode === 'running';
  }

  private exitCode: number | null | 'running' = 'running';

  /** Starts the process and waits for /readyz 200 (ready, or ready and degraded). */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.proc) this.past.push(this.proc.text);
    const env = { ...process.env };
    delete env['VAULT_ADDR'];
    const proc = new Proc(this.name, process.execPath, [CLI, 'serve', '--config', this.config, '--log-level', 'debug'], env);
    this.proc = proc;
    this.exitCode = 'running';
    void proc.exited.then((code) => {
      if (this.proc === proc) this.exitCode = code;
    });
    await waitFor(`${this.name} /readyz`, async () => {
      if (this.exitCode !== 'running') throw new Error(`${this.name} exited with ${this.exitCode}:\n${proc.text}`);
      const res = await fetch(`${this.adminUrl}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, timeoutMs, 100);
  }

  /** SIGKILL: no shutdown, no lease release; resolves once the process is gone. */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.signal('SIGKILL');
    await p.exited;
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** The auto-auth token this replica's sink holds now, if it wrote one. */
  sinkToken(): string | undefined {
    if (!existsSync(this.sink)) return undefined;
    const t = readFileSync(this.sink, 'utf8').trim();
    return t === '' ? undefined : t;
  }

  /** A request through this replica's Envoy (X-Vault-Request set, as the listener requires). */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Answer> {
    const sent = Date.now();
    const headers: Record<string, string> = { 'x-vault-request': 'true', ...(opts.token ? { 'x-vault-token': opts.token } : {}), ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
    const body = await res.text();
    return { status: res.status, body, headers: res.headers, cache: res.headers.get('x-cache'), sent, at: Date.now() };
  }

  get(path: string, token?: string): Promise<Answer> {
    return this.request('GET', path, token ? { token } : {});
  }

  /** Reads `path` through this replica until `done` says so (or `limitMs` passes): every answer, in order. */
  async pollUntil(path: string, token: string | undefined, done: (a: Answer) => boolean, limitMs = 5_000): Promise<Answer[]> {
    const answers: Answer[] = [];
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      const a = await this.get(path, token);
      answers.push(a);
      if (done(a)) break;
      await sleep(10);
    }
    return answers;
  }

  /** The admin /metrics text. */
  async metricsText(): Promise<string> {
    return (await fetch(`${this.adminUrl}/metrics`)).text();
  }

  /**
   * The sum of a series' samples on /metrics whose labels include `labels`; undefined when no
   * sample matches (the series is not there).
   */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return sampleOf(await this.metricsText(), name, labels);
  }

  async readyz(): Promise<{ status: number; body: { status?: string; reasons?: string[]; degraded?: string[] } }> {
    const res = await fetch(`${this.adminUrl}/readyz`);
    const text = await res.text();
    let body: { status?: string; reasons?: string[]; degraded?: string[] } = {};
    try {
      body = JSON.parse(text);
    } catch {
      body = { status: text };
    }
    return { status: res.status, body };
  }

  logs(): string {
    return [...this.past, this.proc?.text ?? ''].map((t, i) => `--- ${this.name} #${i + 1} ---\n${t}`).join('\n');
  }
}

/** GET reads of `path` that reached Vault (with `token` only, when given: not the owner's refetches). */
export async function vaultReads(backend: Backend, path: string, token?: string): Promise<number> {
  const seen = token === undefined ? undefined : await backend.tokenAsSeen(token);
  return backend.requestsTo(path).filter((r) => r.method === 'GET' && (seen === undefined || r.token === seen)).length;
}

/** Prometheus text: the sum of `name`'s samples whose labels include every one of `labels`. */
export function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[l[1]!] = l[2]!;
    if (!Object.entries(labels).every(([k, v]) => have[k] === v)) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

export interface FleetHarness {
  readonly replicas: FleetReplica[];
  /** The fleet key file every replica names (encryption_key_file). */
  readonly keyFile: string;
  /** Which replicas say they hold the owner lease now (vault_extproc_fleet_owner on /metrics), of the running ones. */
  owners(): Promise<FleetReplica[]>;
  /** Waits until exactly one of `among` says it owns (within `ms`), and gives it. */
  exactlyOneOwner(among: FleetReplica[], ms: number): Promise<FleetReplica>;
  /** Every replica's and Envoy's output. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts `count` replicas (all at once, each waited for /readyz) and then an Envoy in front of
 * each. Stops everything it started when a step fails.
 */
export async function startFleetHarness(opts: FleetHarnessOptions): Promise<FleetHarness> {
  const count = opts.count ?? 3;
  const shared = mkdtempSync(join(tmpdir(), 'vxp-fleet-e2e-'));
  const keyFile = join(shared, 'fleet.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const replicas: FleetReplica[] = [];
  for (let i = 1; i <= count; i++) {
    const dir = mkdtempSync(join(tmpdir(), `vxp-fleet-e2e-${i}-`));
    const [adminPort, listenerPort, envoyAdminPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const r = new FleetReplica(i, `replica-${i}`, dir, `http://127.0.0.1:${adminPort}`, `http://127.0.0.1:${listenerPort}`, envoyAdminPort);
    writeFileSync(r.config, `vault {
  address = "${opts.backend.serviceUrl}"
}
extproc {
  address = "unix://${r.socket}"
  admin_address = "127.0.0.1:${adminPort}"
}
listener "tcp" {
  address = "127.0.0.1:${listenerPort}"
  tls_disable = true
  require_request_header = true
}
fleet {
  redis_url = "${opts.redis.url}/0"
  encryption_key_file = "${keyFile}"
  replica_id = "${r.name}"
  ${opts.fleetHcl ?? ''}
}
${opts.autoAuth(dir)}
${opts.hcl}
`);
    replicas.push(r);
  }
  const stop = async (): Promise<void> => {
    await Promise.all(replicas.map(async (r) => {
      await r.envoy?.stop();
      await r.stop();
    }));
    for (const r of replicas) rmSync(r.dir, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
  };
  try {
    await Promise.all(replicas.map((r) => r.start()));
    for (const r of replicas) {
      const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', r.config, '--envoy-admin-address', `127.0.0.1:${r.envoyAdminPort}`]);
      if (generated.code !== 0) throw new Error(`envoy-config for ${r.name} failed (${generated.code}): ${generated.stderr}`);
      r.envoy = await startEnvoy(generated.stdout, r.envoyAdminPort);
    }
  } catch (err) {
    const logs = replicas.map((r) => r.logs()).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  const owners = async (): Promise<FleetReplica[]> => {
    const flags = await Promise.all(replicas.map(async (r) => (r.running ? (await r.metric('vault_extproc_fleet_owner').catch(() => undefined)) === 1 : false)));
    return replicas.filter((_, i) => flags[i]);
  };
  return {
    replicas,
    keyFile,
    owners,
    exactlyOneOwner: (among, ms) => waitFor(`exactly one owner among ${among.map((r) => r.name).join(', ')}`, async () => {
      const now = (await owners()).filter((o) => among.includes(o));
      return now.length === 1 ? now[0] : undefined;
    }, ms, 100),
    logs: () => replicas.map((r) => `${r.logs()}\n--- envoy for ${r.name} ---\n${r.envoy?.proc.text ?? ''}`).join('\n'),
    stop,
  };
}
