// Envoy in front of three vault-extproc replicas (`envoy-config --extproc-address` ×3), real Envoy,
// on both backends. No fleet block: each replica logs in and caches on its own. Shows: round robin
// over all three; a replica killed with SIGKILL is out of rotation within the documented detection
// time and no request ever reaches Vault without a replica's processing (the filter fails closed:
// 500, never a pass-through); the restarted replica is taken back and used; a hung one (SIGSTOP) is
// failed by the health checks within their bound, its requests failing closed (504) meanwhile.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLEET_HEALTH_CHECK } from '../../src/envoy/bootstrap.js';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { startEnvoy, type RunningEnvoy } from '../support/envoy.js';
import { CLI } from '../support/paths.js';
import { freePort, sleep, waitFor } from '../support/ports.js';
import { Proc, run } from '../support/process.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';

const SECRET = '/v1/secret/data/app/fleet';
/** Sent without X-Vault-Request: a replica answers 412 itself; Vault never sees it. */
const PROBE = '/v1/secret/data/app/probe';
const WORKER = 'path "secret/data/app/*" { capabilities = ["read"] }';
/**
 * A hung replica (stopped, its connections open) answers no check: each check waits its timeout, so
 * it is out after interval + unhealthy_threshold × (timeout + interval).
 */
const HUNG_BOUND_MS = (parseInt(FLEET_HEALTH_CHECK.interval, 10) + FLEET_HEALTH_CHECK.unhealthyThreshold * (parseInt(FLEET_HEALTH_CHECK.timeout, 10) + parseInt(FLEET_HEALTH_CHECK.interval, 10))) * 1000;
/** Seconds: a killed replica's checks fail at once, so it is out after unhealthy_threshold intervals (plus one timeout for a check in flight). */
const DETECTION_BOUND_MS = (FLEET_HEALTH_CHECK.unhealthyThreshold * parseInt(FLEET_HEALTH_CHECK.interval, 10) + parseInt(FLEET_HEALTH_CHECK.timeout, 10)) * 1000;

interface Outcome { sent: number; at: number; path: string; status: number }

class Replica {
  proc!: Proc;
  readonly socket: string;
  readonly config: string;
  constructor(readonly name: string, readonly dir: string, readonly adminUrl: string) {
    this.socket = join(dir, 'extproc.sock');
    this.config = join(dir, 'config.hcl');
  }

  async start(): Promise<void> {
    const env = { ...process.env };
    delete env['VAULT_ADDR'];
    this.proc = new Proc(this.name, process.execPath, [CLI, 'serve', '--config', this.config, '--log-level', 'debug'], env);
    await waitFor(`${this.name} readyz`, async () => {
      const code = await Promise.race([this.proc.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`${this.name} exited with ${code}:\n${this.proc.text}`);
      const res = await fetch(`${this.adminUrl}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 20_000);
  }

  /** Requests this process decided (its per-request log lines), by path. */
  handled(path: string): number {
    return this.proc.jsonLines.filter((l) => l['msg'] === 'request' && l['path'] === path).length;
  }
}

forEachBackend('e2e: Envoy in front of three vault-extproc replicas (envoy-config --extproc-address ×3)', function (kind) {
  this.timeout(120_000);
  let backend: Backend;
  let envoy: RunningEnvoy;
  let url: string;
  let creds: AppRoleCreds;
  const replicas: Replica[] = [];
  /** Every auto-auth token a replica process held (its sink), for what Vault saw. */
  const autoAuthTokens = new Set<string>();

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const r of replicas) process.stderr.write(`\n--- ${r.name} ---\n${r.proc?.text ?? ''}`);
    process.stderr.write(`\n--- envoy ---\n${envoy?.proc.text ?? ''}\n${backend?.logs() ?? ''}\n`);
  });

  before(async () => {
    backend = await startBackend(kind);
    await writePolicy(backend, 'fleet-worker', WORKER);
    creds = await setupAppRole(backend, { role: 'fleet', policies: ['fleet-worker'] });
    await vaultApi(backend, 'POST', 'secret/data/app/fleet', { data: { greeting: 'hello from the fleet' } });
    const [listenerPort, envoyAdminPort] = await Promise.all([freePort(), freePort()]);
    for (let i = 1; i <= 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), `vxp-fleet-${i}-`));
      const adminPort = await freePort();
      const replica = new Replica(`vault-extproc-${i}`, dir, `http://127.0.0.1:${adminPort}`);
      // The same config for all three but for where each listens; the listener block is Envoy's.
      writeFileSync(replica.config, `vault {
  address = "${backend.serviceUrl}"
}
extproc {
  address = "unix://${replica.socket}"
  admin_address = "127.0.0.1:${adminPort}"
}
listener "tcp" {
  address = "127.0.0.1:${listenerPort}"
  tls_disable = true
  require_request_header = true
}
${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy {
  use_auto_auth_token = true
}
`);
      replicas.push(replica);
    }
    await Promise.all(replicas.map((r) => r.start()));
    for (const r of replicas) autoAuthTokens.add(readFileSync(join(r.dir, 'token'), 'utf8').trim());
    const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', replicas[0]!.config,
      '--envoy-admin-address', `127.0.0.1:${envoyAdminPort}`,
      ...replicas.flatMap((r) => ['--extproc-address', `unix://${r.socket}`])]);
    expect(generated.code, generated.stderr).to.equal(0);
    const bootstrap = JSON.parse(generated.stdout);
    const extproc = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config;
    // A dead replica must never let a request through unprocessed.
    expect(extproc.failure_mode_allow).to.equal(false);
    envoy = await startEnvoy(JSON.stringify(bootstrap), envoyAdminPort);
    url = `http://127.0.0.1:${listenerPort}`;
    await untilHealthy(replicas);
  });

  after(async () => {
    await envoy?.stop();
    await Promise.all(replicas.map((r) => r.proc?.stop()));
    await backend?.close();
  });

  /** Envoy's view of each replica (admin /clusters): healthy, or why not. */
  async function envoyHealth(): Promise<Map<string, { healthy: boolean; flags: Record<string, unknown> }>> {
    const res = await fetch(`http://127.0.0.1:${envoy.adminPort}/clusters?format=json`);
    const body = await res.json() as { cluster_statuses: Array<{ name: string; host_statuses?: Array<{ address: { pipe?: { path: string } }; health_status: Record<string, unknown> }> }> };
    const cluster = body.cluster_statuses.find((c) => c.name === 'vault_extproc')!;
    const out = new Map<string, { healthy: boolean; flags: Record<string, unknown> }>();
    for (const h of cluster.host_statuses ?? []) {
      const { eds_health_status: eds, ...flags } = h.health_status;
      out.set(h.address.pipe!.path, { healthy: eds === 'HEALTHY' && Object.values(flags).every((v) => v !== true), flags });
    }
    return out;
  }

  async function untilHealthy(which: Replica[], ms = 20_000): Promise<number> {
    const started = Date.now();
    await waitFor(`Envoy sees ${which.map((r) => r.name).join(', ')} healthy`, async () => {
      const health = await envoyHealth();
      return which.every((r) => health.get(r.socket)?.healthy) ? true : undefined;
    }, ms, 100);
    return Date.now() - started;
  }

  async function send(path: string, withHeader = true): Promise<Outcome> {
    const sent = Date.now();
    const res = await fetch(`${url}${path}`, { headers: withHeader ? { 'x-vault-request': 'true' } : {} });
    const body = await res.text();
    if (res.status === 200) expect(JSON.parse(body).data.data).to.deep.equal({ greeting: 'hello from the fleet' });
    return { sent, at: Date.now(), path, status: res.status };
  }

  /** Traffic until `stop` says so: the secret read (processed: 200) and, every 5th, the probe without X-Vault-Request (processed: 412). */
  function load(until: { stop: boolean }, workers = 2): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const worker = async (): Promise<void> => {
      for (let n = 0; !until.stop; n++) outcomes.push(await send(n % 5 === 4 ? PROBE : SECRET, n % 5 !== 4));
    };
    return Promise.all(Array.from({ length: workers }, worker)).then(() => outcomes);
  }

  /**
   * Every answer is the processor's (200 with the token it added, 412 for the probe) or Envoy failing
   * closed: 500 (the ext_proc stream failed) or 504 (no answer within message_timeout); nothing else.
   */
  function expectProcessedOrFailedClosed(outcomes: Outcome[]): void {
    const unexpected = outcomes.filter((o) => !(o.status === 500 || o.status === 504 || (o.path === SECRET ? o.status === 200 : o.status === 412)));
    expect(unexpected, 'answers neither processed nor failed closed (a pass-through reaches Vault without a token: 403)').to.deep.equal([]);
  }

  /** What reached Vault: every secret read carried a replica's auto-auth token (a processed request), and no probe got there. */
  async function expectVaultSawOnlyProcessed(): Promise<void> {
    const seen = new Set(await Promise.all([...autoAuthTokens].map((t) => backend.tokenAsSeen(t))));
    const reads = backend.requestsTo(SECRET);
    expect(reads.length).to.be.greaterThan(0);
    expect(reads.filter((r) => !seen.has(r.token)).map((r) => ({ status: r.status, token: r.token === undefined ? 'none' : 'another' }))).to.deep.equal([]);
    expect(backend.requestsTo(PROBE)).to.deep.equal([]);
  }

  it('answers through all three replicas in turn (round robin), each applying the listener rules', async () => {
    backend.clearRequests();
    const before = replicas.map((r) => r.handled(SECRET) + r.handled(PROBE));
    const outcomes: Outcome[] = [];
    for (let n = 0; n < 30; n++) outcomes.push(await send(SECRET));
    for (let n = 0; n < 6; n++) outcomes.push(await send(PROBE, false));
    expect(outcomes.filter((o) => o.path === SECRET).map((o) => o.status)).to.deep.equal(Array(30).fill(200));
    expect(outcomes.filter((o) => o.path === PROBE).map((o) => o.status)).to.deep.equal(Array(6).fill(412));
    const counts = await waitFor('36 request lines across the replicas', () => {
      const c = replicas.map((r, i) => r.handled(SECRET) + r.handled(PROBE) - before[i]!);
      return c.reduce((a, b) => a + b, 0) === 36 ? c : undefined;
    }, 5_000);
    // Round robin over three healthy replicas: a third each (12 ± a health-check hiccup).
    for (const c of counts) expect(c, `per replica: ${counts.join(', ')}`).to.be.within(8, 16);
    await expectVaultSawOnlyProcessed();
  });

  it(`kill -9 of one replica: requests succeed again within the detection time (${DETECTION_BOUND_MS} ms), fail closed meanwhile, never pass unprocessed`, async () => {
    backend.clearRequests();
    const victim = replicas[1]!;
    const until = { stop: false };
    const traffic = load(until);
    let killedAt = 0;
    let outMs = 0;
    let checkedMs = 0;
    try {
      await sleep(1_000);
      killedAt = Date.now();
      victim.proc.signal('SIGKILL');
      await victim.proc.exited;
      await waitFor(`Envoy takes ${victim.name} out`, async () => ((await envoyHealth()).get(victim.socket)?.healthy === false ? true : undefined), 20_000, 20);
      outMs = Date.now() - killedAt;
      await waitFor(`the health checks fail ${victim.name}`, async () => ((await envoyHealth()).get(victim.socket)?.flags['failed_active_health_check'] === true ? true : undefined), 20_000, 20);
      checkedMs = Date.now() - killedAt;
      await sleep(Math.max(0, DETECTION_BOUND_MS + 1_000 - checkedMs));
    } finally {
      until.stop = true;
    }
    const outcomes = await traffic;
    expectProcessedOrFailedClosed(outcomes);
    const failed = outcomes.filter((o) => o.status === 500);
    const late = failed.filter((o) => o.at - killedAt > DETECTION_BOUND_MS);
    const after = outcomes.filter((o) => o.at > killedAt);
    process.stdout.write(`      [${kind}] ${outcomes.length} requests, ${after.length} after the kill: ${failed.length} failed closed (500), ` +
      `the last ${failed.length ? failed[failed.length - 1]!.at - killedAt : 0} ms after the kill; out of rotation after ${outMs} ms, failed by the health checks after ${checkedMs} ms\n`);
    expect(late, 'requests still failing after the detection time').to.deep.equal([]);
    // Outlier detection ejects it after 2 connection failures in a row: the requests in flight on it and
    // the few sent before the ejection reached Envoy's worker fail (2 here); health checks alone let
    // about a third fail until they mark it (197 in 1.6 s when outlier detection was taken out).
    expect(failed.length, 'requests failed during the switch').to.be.at.most(20);
    // The other two answered after the kill.
    expect(after.filter((o) => o.status !== 500).length).to.be.greaterThan(10);
    await expectVaultSawOnlyProcessed();
  });

  it('the restarted replica is taken back and used again, with no failure while it rejoins', async () => {
    const victim = replicas[1]!;
    const until = { stop: false };
    const traffic = load(until);
    let readyAt = 0;
    let healthyMs = 0;
    try {
      await victim.start(); // the same config: its stale socket file is replaced
      readyAt = Date.now();
      autoAuthTokens.add(readFileSync(join(victim.dir, 'token'), 'utf8').trim());
      await untilHealthy([victim]);
      healthyMs = Date.now() - readyAt;
      await waitFor(`${victim.name} decides requests again`, () => (victim.handled(SECRET) + victim.handled(PROBE) >= 30 ? true : undefined), 15_000);
    } finally {
      until.stop = true;
    }
    const outcomes = await traffic;
    expectProcessedOrFailedClosed(outcomes);
    expect(outcomes.filter((o) => o.status === 500), 'failures while the replica rejoined').to.deep.equal([]);
    const first = victim.proc.jsonLines.find((l) => l['msg'] === 'request');
    const firstMs = Date.parse(String(first!['time'])) - readyAt;
    process.stdout.write(`      [${kind}] ${outcomes.length} requests while it restarted, none failed; Envoy saw it healthy ${healthyMs} ms after /readyz, its first request ${firstMs} ms after\n`);
    // Sequential requests after the load: round robin gives it every third.
    await sleep(200); // the load's last request lines
    const before = replicas.map((r) => r.handled(SECRET));
    backend.clearRequests();
    for (let n = 0; n < 9; n++) expect((await send(SECRET)).status).to.equal(200);
    const counts = await waitFor('9 sequential reads decided', () => {
      const c = replicas.map((r, i) => r.handled(SECRET) - before[i]!);
      return c.reduce((x, y) => x + y, 0) === 9 ? c : undefined;
    }, 5_000);
    expect(counts).to.deep.equal([3, 3, 3]);
    await expectVaultSawOnlyProcessed();
  });

  it(`a hung replica (SIGSTOP) is taken out by the health checks within ${HUNG_BOUND_MS} ms; requests on it fail closed meanwhile, never pass unprocessed`, async () => {
    backend.clearRequests();
    const victim = replicas[2]!;
    const until = { stop: false };
    const traffic = load(until);
    let stoppedAt = 0;
    let checkedMs = 0;
    try {
      await sleep(500);
      stoppedAt = Date.now();
      victim.proc.signal('SIGSTOP');
      await waitFor(`the health checks fail ${victim.name}`, async () => ((await envoyHealth()).get(victim.socket)?.flags['failed_active_health_check'] === true ? true : undefined), 20_000, 20);
      checkedMs = Date.now() - stoppedAt;
      await sleep(1_500);
    } finally {
      until.stop = true;
      victim.proc.signal('SIGCONT');
    }
    const outcomes = await traffic;
    expectProcessedOrFailedClosed(outcomes);
    const failed = outcomes.filter((o) => o.status !== 200 && o.status !== 412);
    process.stdout.write(`      [${kind}] ${outcomes.length} requests: ${failed.length} failed closed (${[...new Set(failed.map((o) => o.status))].join(', ')}), ` +
      `the last sent ${failed.length ? failed[failed.length - 1]!.sent - stoppedAt : 0} ms after the stop; failed by the health checks after ${checkedMs} ms\n`);
    expect(failed.filter((o) => o.sent - stoppedAt > HUNG_BOUND_MS), 'requests sent after the detection time that failed').to.deep.equal([]);
    await expectVaultSawOnlyProcessed();
    await untilHealthy([victim]);
  });
});
