/**
 * `npm run soak -- --minutes N`: a mixed load through real Envoy + vault-extproc against the Vault
 * simulator, every answer checked against Vault asked directly right after (the rules are in
 * bench/soak/judge.ts), and the vault-extproc process sampled every 30 s: resident memory, V8 heap
 * in use, open handles, event-loop delay p99 (prom-client's default metrics on its admin
 * /metrics), plus the counts of each interval. Prints a table, writes bench/results/soak.json and
 * exits 1 on any wrong answer. Not part of `npm test`.
 *
 * The load, in `--lanes` concurrent lanes paced to `--rate` operations per second in all:
 * static-cache reads (hits and misses, by tokens of four kinds of policy, of the latest version
 * and of `?version=N`, of secrets that do not exist, with revoked tokens), KV writes directly in
 * Vault (events → refetch) and through Envoy (eviction), deletes, token revocations directly in
 * Vault and through Envoy, a policy that loses and regains `read`, AppRole and userpass logins
 * through Envoy (lease cache), dynamic database credentials and child tokens made with the login
 * tokens, and revocations of those leases and tokens through Envoy.
 *
 * Options: --minutes N (default 3) --sample-seconds S (30) --lanes L (4) --rate R (60)
 * --seed X (random; printed) --out FILE (bench/results/soak.json)
 * --break slow-refresh: gives vault-extproc one-hour capability refresh and secret refresh
 * intervals while the checker keeps the documented bounds (2 s and 3 s plus a round trip):
 * revocations, policy changes and deletes made directly in Vault are then served from the cache
 * past their bounds, and the soak must exit 1 (a check of the checker).
 * --break revoke-logins-in-vault: the login tokens the soak revokes are revoked directly in Vault
 * (unseen by vault-extproc) while the checker still allows no delay: the lease cache hands out
 * the revoked token until its renewal fails, and the soak must exit 1.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { Rng } from '../test/e2e/adversarial/prng.js';
import { WORKER_POLICY } from '../test/e2e/adversarial/support.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { startVaultSim } from '../test/support/vault-sim/index.js';
import { setupAppRole, vaultApi, writePolicy } from '../test/support/vault-setup.js';
import { Client, type Answer } from './soak/http.js';
import { firstLastMax, judgeLeaseHit, judgeRead, percentile, promValues, table, Timeline, type Verdict } from './soak/judge.js';
import { startSoakStack } from './soak/stack.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    'sample-seconds': { type: 'string', default: '30' },
    lanes: { type: 'string', default: '4' },
    rate: { type: 'string', default: '60' },
    seed: { type: 'string' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'soak.json') },
    break: { type: 'string' },
  },
});
const num = (name: string, raw: string | undefined, min: number): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: a number ≥ ${min}, not ${raw}`);
  return n;
};
const MINUTES = num('minutes', args.minutes, 0.1);
const SAMPLE_SECONDS = num('sample-seconds', args['sample-seconds'], 1);
const LANES = Math.floor(num('lanes', args.lanes, 1));
const RATE = num('rate', args.rate, 1);
const SEED = args.seed !== undefined ? Math.floor(num('seed', args.seed, 0)) >>> 0 : Math.floor(Math.random() * 0x1_0000_0000);
const OUT = resolve(args.out!);
if (args.break !== undefined && !['slow-refresh', 'revoke-logins-in-vault'].includes(args.break)) {
  throw new Error(`--break: 'slow-refresh' or 'revoke-logins-in-vault', not ${args.break}`);
}
const BREAK = args.break;

// vault-extproc's config and the bounds it documents (README, security model), as the no-leak suite uses them.
const CAPABILITY_INTERVAL_S = 2;
const REFRESH_INTERVAL_S = 3;
/** One round trip plus scheduling on a loaded 2-core machine (the differential suite's margin). */
const MARGIN_MS = 1_000;
/** A revocation or policy change made directly in Vault ends cached access within this. */
const ACCESS_BOUND_MS = CAPABILITY_INTERVAL_S * 1000 + MARGIN_MS;
/** A secret written or deleted directly in Vault is served new within this (events: sooner). */
const STALE_BOUND_MS = REFRESH_INTERVAL_S * 1000 + MARGIN_MS;
/** Changes made through Envoy take effect at once (evicted on Vault's 2xx). */
const THROUGH_ENVOY_MS = 0;

const ROOT = 'root';
const SECRETS = [...Array.from({ length: 40 }, (_, i) => `app/s${i}`), ...Array.from({ length: 40 }, (_, i) => `other/s${i}`)];
type Role = 'all' | 'app' | 'shifty' | 'none';
const ROLE_POLICIES: Record<Role, string[]> = { all: ['reader'], app: ['reader-app'], shifty: ['shifting'], none: ['default'] };
const SHIFTING_WIDE = 'path "secret/data/*" { capabilities = ["read"] }';
const SHIFTING_NARROW = 'path "secret/data/other/*" { capabilities = ["read"] }';
const USERPASS_PASSWORD = 'soak-password';
/** TTL of login tokens, child tokens and database leases: short, so that the worker renews them many times in a soak. */
const LEASE_TTL = '30s';

type OpKind = 'read' | 'read-version' | 'read-missing' | 'read-dead' | 'write-direct' | 'write-envoy' | 'delete-direct' | 'revoke-direct'
  | 'revoke-envoy' | 'policy' | 'login-approle' | 'login-userpass' | 'creds' | 'token-create' | 'lease-revoke' | 'login-revoke';
const OP_WEIGHTS: ReadonlyArray<readonly [OpKind, number]> = [
  ['read', 70], ['read-version', 8], ['read-missing', 3], ['read-dead', 4], ['write-direct', 4], ['write-envoy', 2], ['delete-direct', 1],
  ['revoke-direct', 0.3], ['revoke-envoy', 0.3], ['policy', 0.5], ['login-approle', 3], ['login-userpass', 3], ['creds', 4], ['token-create', 2],
  ['lease-revoke', 0.1], ['login-revoke', BREAK === 'revoke-logins-in-vault' ? 1 : 0.1],
];

interface Tok { role: Role; token: string; accessor: string; subjects: string[] }
interface Counts {
  requests: number; hits: number; misses: number; errors: number; wrong: number; refused: number;
  withinAccessBound: number; withinStaleBound: number; checked: number; leaseHitsChecked: number;
}
const zeroCounts = (): Counts => ({ requests: 0, hits: 0, misses: 0, errors: 0, wrong: 0, refused: 0, withinAccessBound: 0, withinStaleBound: 0, checked: 0, leaseHitsChecked: 0 });

interface Sample {
  atSeconds: number;
  rssBytes?: number; procRssBytes?: number; heapUsedBytes?: number; externalBytes?: number; handles?: number; openFds?: number;
  loopDelayP99Ms?: number; envoyRssBytes?: number; staticEntries?: number; leaseEntries?: number;
  /** The worker's work so far (counters since start): renewals by outcome, capability checks, KV events, event-stream reconnects. */
  worker?: { renewalsOk: number; renewalsFailed: number; capabilityChecks: number; eventsReceived: number; eventStreamReconnects: number };
  /** What happened since the previous sample. */
  interval: Counts & { seconds: number; requestsPerSecond: number; latencyP50Ms?: number; latencyP99Ms?: number };
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function procRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Zipf(s = 1) over n items: a few hot secrets, a long tail. */
function zipf(rng: Rng, n: number): () => number {
  const cdf: number[] = [];
  const total = Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf.push((acc += 1 / (i + 1) / total));
  return () => {
    const r = rng.next();
    const i = cdf.findIndex((c) => c >= r);
    return i < 0 ? n - 1 : i;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const startedAt = Date.now();
  // The machine's load (1-minute average) at the start and end: numbers from a busy machine say so.
  const loadAtStart = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'vxp-soak-'));
  const sim = await startVaultSim({ rootToken: ROOT, mountDatabase: true });
  const v = { url: sim.url, rootToken: ROOT };
  const maxTtl = `${Math.ceil(MINUTES * 60) + 1800}s`;
  await writePolicy(v, 'worker', WORKER_POLICY);
  await writePolicy(v, 'reader', 'path "secret/data/*" { capabilities = ["read"] }');
  await writePolicy(v, 'reader-app', 'path "secret/data/app/*" { capabilities = ["read"] }');
  await writePolicy(v, 'shifting', SHIFTING_WIDE);
  await writePolicy(v, 'creator', 'path "auth/token/create" { capabilities = ["update"] }');
  await writePolicy(v, 'dbcreds', 'path "database/creds/*" { capabilities = ["read"] }');
  const worker = await setupAppRole(v, { role: 'soak-worker', policies: ['worker'] });
  const app = await setupAppRole(v, { role: 'soak-app', policies: ['reader', 'creator', 'dbcreds'], tokenTtl: LEASE_TTL, tokenMaxTtl: maxTtl });
  await vaultApi(v, 'POST', 'sys/auth/userpass', { type: 'userpass' });
  await vaultApi(v, 'POST', 'auth/userpass/users/soak', { password: USERPASS_PASSWORD, token_policies: ['reader', 'dbcreds'], token_ttl: LEASE_TTL, token_max_ttl: maxTtl });
  await vaultApi(v, 'POST', 'database/roles/soak', { default_ttl: LEASE_TTL, max_ttl: maxTtl });
  for (const s of SECRETS) await vaultApi(v, 'POST', `secret/data/${s}`, { data: { v: `init-${s}` } });

  const stack = await startSoakStack({
    vaultUrl: sim.url, dir, worker,
    capabilityIntervalSeconds: BREAK === 'slow-refresh' ? 3600 : CAPABILITY_INTERVAL_S, refreshIntervalSeconds: BREAK === 'slow-refresh' ? 3600 : REFRESH_INTERVAL_S,
  });
  const envoy = new Client(stack.url, LANES * 2);
  const vault = new Client(sim.url, LANES * 4);
  const timeline = new Timeline();
  const total = zeroCounts();
  let interval = zeroCounts();
  let latencies: number[] = [];
  const opCounts: Partial<Record<OpKind, number>> = {};
  const wrongs: string[] = [];
  const errorKinds = new Map<string, number>();
  const since = (): string => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  const bump = (k: keyof Counts, n = 1): void => { total[k] += n; interval[k] += n; };
  const error = (what: string): void => {
    bump('errors');
    errorKinds.set(what, (errorKinds.get(what) ?? 0) + 1);
  };
  const verdict = (v: { verdict: Verdict; reason?: string }, what: string): void => {
    switch (v.verdict) {
      case 'ok': break;
      case 'refused': bump('refused'); break;
      case 'within-access-bound': bump('withinAccessBound'); break;
      case 'within-stale-bound': bump('withinStaleBound'); break;
      case 'wrong':
        bump('wrong');
        if (wrongs.length < 50) wrongs.push(`${since()}: ${what}: ${v.reason}`);
        log(`WRONG at ${since()}: ${what}: ${v.reason}`);
        break;
    }
  };

  /** Through Envoy: counted; a transport error or a 5xx is an error (and undefined for the former). */
  const viaEnvoy = async (what: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer | undefined> => {
    bump('requests');
    const t0 = performance.now();
    try {
      const a = await envoy.request(method, path, token, body);
      latencies.push(performance.now() - t0);
      if (a.cache === 'HIT') bump('hits');
      else if (a.cache === 'MISS') bump('misses');
      if (a.status >= 500) error(`${what}: ${a.status}`);
      return a;
    } catch (err) {
      error(`${what}: ${(err as Error).message}`);
      return undefined;
    }
  };
  /** Vault itself (the simulator), as the checker asks it. */
  const direct = (method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> => vault.request(method, path, token, body);

  // Static tokens: one live token per role (replaced when revoked), the revoked ones in a graveyard.
  const mint = async (role: Role): Promise<Tok> => {
    const auth = (await direct('POST', '/v1/auth/token/create', ROOT, { policies: ROLE_POLICIES[role], ttl: maxTtl })).json.auth;
    return { role, token: auth.client_token, accessor: auth.accessor, subjects: [`token:${auth.accessor}`, ...(role === 'shifty' ? ['policy:shifting'] : [])] };
  };
  const live = new Map<Role, Tok>();
  for (const role of Object.keys(ROLE_POLICIES) as Role[]) live.set(role, await mint(role));
  const graveyard: Tok[] = [];
  let shiftingWide = true;
  let policyBusy = false;

  // Lease-cache state: the current login token of each method (orphans, managed by vault-extproc).
  type Method = 'approle' | 'userpass';
  const logins: Record<Method, { token?: string; accessor?: string }> = { approle: {}, userpass: {} };
  const loginRequest: Record<Method, { path: string; body: unknown }> = {
    approle: { path: '/v1/auth/approle/login', body: { role_id: app.roleId, secret_id: app.secretId } },
    userpass: { path: '/v1/auth/userpass/login/soak', body: { password: USERPASS_PASSWORD } },
  };
  const recentLeases: Array<{ leaseId: string }> = [];
  const tokenAlive = async (token: string): Promise<boolean> => (await direct('POST', '/v1/auth/token/lookup', ROOT, { token })).status === 200;
  const leaseAlive = async (leaseId: string): Promise<boolean> => (await direct('PUT', '/v1/sys/leases/lookup', ROOT, { lease_id: leaseId })).status === 200;

  const staticRead = async (rng: Rng, pick: () => number, kind: OpKind): Promise<void> => {
    const name = kind === 'read-missing' ? `app/missing-${rng.int(50)}` : SECRETS[pick()]!;
    const path = `/v1/secret/data/${name}${kind === 'read-version' ? `?version=${1 + rng.int(3)}` : ''}`;
    let tok: Tok;
    if (kind === 'read-dead' && graveyard.length > 0) tok = rng.pick(graveyard);
    else tok = live.get(rng.weighted<Role>([['all', 45], ['app', 20], ['shifty', 25], ['none', 10]]))!;
    const sentAt = Date.now();
    const e = await viaEnvoy(kind, 'GET', path, tok.token);
    if (!e) return;
    const d = await direct('GET', path, tok.token);
    const checkedAt = Date.now();
    bump('checked');
    verdict(judgeRead({
      envoyStatus: e.status, envoyData: e.json?.data, vaultStatus: d.status, vaultData: d.json?.data,
      accessChanged: timeline.covers(tok.subjects, sentAt, checkedAt), secretChanged: timeline.covers([`secret:${name}`], sentAt, checkedAt),
    }, isDeepStrictEqual), `${e.cache ?? 'no X-Cache'} GET ${path} by a ${graveyard.includes(tok) ? 'revoked' : tok.role} token`);
  };

  const login = async (method: Method): Promise<void> => {
    const { path, body } = loginRequest[method];
    const sentAt = Date.now();
    const e = await viaEnvoy(`login-${method}`, 'POST', path, undefined, body);
    if (!e) return;
    if (e.status !== 200) {
      if (e.status < 500) error(`login-${method}: ${e.status}`);
      return;
    }
    const auth = e.json.auth as { client_token: string; accessor: string };
    if (e.cache === 'HIT') {
      const d = await direct('POST', path, undefined, body);
      if (d.status === 200) await direct('POST', '/v1/auth/token/revoke-accessor', ROOT, { accessor: d.json.auth.accessor });
      const alive = await tokenAlive(auth.client_token);
      const checkedAt = Date.now();
      bump('leaseHitsChecked');
      verdict(judgeLeaseHit({ vaultStatus: d.status, alive, revokedInWindow: timeline.covers([`token:${auth.accessor}`], sentAt, checkedAt) }), `HIT ${method} login`);
    }
    logins[method] = { token: auth.client_token, accessor: auth.accessor };
  };

  const creds = async (rng: Rng): Promise<void> => {
    const method = rng.pick<Method>(['approle', 'userpass']);
    const { token, accessor } = logins[method];
    if (!token) return login(method);
    const path = '/v1/database/creds/soak';
    const sentAt = Date.now();
    const e = await viaEnvoy('creds', 'GET', path, token);
    if (!e || e.status !== 200) return; // 403: the login token was revoked meanwhile (not an answer to check)
    const leaseId = e.json.lease_id as string;
    recentLeases.push({ leaseId });
    if (recentLeases.length > 20) recentLeases.shift();
    if (e.cache !== 'HIT') return;
    const d = await direct('GET', path, token);
    if (d.status === 200) await direct('PUT', '/v1/sys/leases/revoke', ROOT, { lease_id: d.json.lease_id });
    const alive = await leaseAlive(leaseId);
    const checkedAt = Date.now();
    bump('leaseHitsChecked');
    verdict(judgeLeaseHit({ vaultStatus: d.status, alive, revokedInWindow: timeline.covers([`lease:${leaseId}`, `token:${accessor}`], sentAt, checkedAt) }),
      `HIT database creds for a ${method} login token`);
  };

  const tokenCreate = async (rng: Rng): Promise<void> => {
    const { token: parent, accessor } = logins.approle; // the AppRole role may create tokens
    if (!parent) return login('approle');
    const body = { policies: ['reader'], ttl: LEASE_TTL, meta: { n: `c${rng.int(4)}` } };
    const sentAt = Date.now();
    const e = await viaEnvoy('token-create', 'POST', '/v1/auth/token/create', parent, body);
    if (!e || e.status !== 200 || e.cache !== 'HIT') return;
    const child = e.json.auth as { client_token: string; accessor: string };
    const d = await direct('POST', '/v1/auth/token/create', parent, body);
    if (d.status === 200) await direct('POST', '/v1/auth/token/revoke-accessor', ROOT, { accessor: d.json.auth.accessor });
    const alive = await tokenAlive(child.client_token);
    const checkedAt = Date.now();
    bump('leaseHitsChecked');
    verdict(judgeLeaseHit({ vaultStatus: d.status, alive, revokedInWindow: timeline.covers([`token:${child.accessor}`, `token:${accessor}`], sentAt, checkedAt) }),
      'HIT child token creation');
  };

  const runOp = async (rng: Rng, pick: () => number, kind: OpKind): Promise<void> => {
    opCounts[kind] = (opCounts[kind] ?? 0) + 1;
    switch (kind) {
      case 'read': case 'read-version': case 'read-missing': case 'read-dead':
        return staticRead(rng, pick, kind);
      case 'write-direct': case 'write-envoy': case 'delete-direct': {
        const name = SECRETS[pick()]!;
        const change = timeline.begin(`secret:${name}`, kind === 'write-envoy' ? THROUGH_ENVOY_MS : STALE_BOUND_MS, Date.now());
        try {
          if (kind === 'delete-direct') await direct('DELETE', `/v1/secret/data/${name}`, ROOT);
          else if (kind === 'write-direct') await direct('POST', `/v1/secret/data/${name}`, ROOT, { data: { v: `w${rng.int(1e9)}` } });
          else {
            const e = await viaEnvoy(kind, 'POST', `/v1/secret/data/${name}`, ROOT, { data: { v: `e${rng.int(1e9)}` } });
            if (e && e.status !== 200) error(`${kind}: ${e.status}`);
          }
        } finally {
          change.endMs = Date.now();
        }
        return;
      }
      case 'revoke-direct': case 'revoke-envoy': {
        const role = rng.pick<Role>(['all', 'app', 'shifty', 'none']);
        const tok = live.get(role)!;
        live.set(role, await mint(role)); // new readers use the new token from now on
        const change = timeline.begin(`token:${tok.accessor}`, kind === 'revoke-direct' ? ACCESS_BOUND_MS : THROUGH_ENVOY_MS, Date.now());
        try {
          if (kind === 'revoke-direct') await direct('POST', '/v1/auth/token/revoke', ROOT, { token: tok.token });
          else {
            const e = await viaEnvoy(kind, 'POST', '/v1/auth/token/revoke-self', tok.token);
            if (e && e.status !== 204) error(`${kind}: ${e.status}`);
          }
        } finally {
          change.endMs = Date.now();
        }
        graveyard.push(tok);
        if (graveyard.length > 16) graveyard.shift();
        return;
      }
      case 'policy': {
        if (policyBusy) return;
        policyBusy = true;
        shiftingWide = !shiftingWide;
        const change = timeline.begin('policy:shifting', ACCESS_BOUND_MS, Date.now());
        try {
          await direct('PUT', '/v1/sys/policies/acl/shifting', ROOT, { policy: shiftingWide ? SHIFTING_WIDE : SHIFTING_NARROW });
        } finally {
          change.endMs = Date.now();
          policyBusy = false;
        }
        return;
      }
      case 'login-approle': return login('approle');
      case 'login-userpass': return login('userpass');
      case 'creds': return creds(rng);
      case 'token-create': return tokenCreate(rng);
      case 'lease-revoke': {
        const lease = recentLeases.pop();
        if (!lease) return;
        const change = timeline.begin(`lease:${lease.leaseId}`, THROUGH_ENVOY_MS, Date.now());
        try {
          await viaEnvoy(kind, 'PUT', '/v1/sys/leases/revoke', ROOT, { lease_id: lease.leaseId });
        } finally {
          change.endMs = Date.now();
        }
        return;
      }
      case 'login-revoke': {
        const method = rng.pick<Method>(['approle', 'userpass']);
        const { token, accessor } = logins[method];
        if (!token) return;
        logins[method] = {};
        const change = timeline.begin(`token:${accessor}`, THROUGH_ENVOY_MS, Date.now());
        try {
          if (BREAK === 'revoke-logins-in-vault') await direct('POST', '/v1/auth/token/revoke', ROOT, { token }); // unseen by vault-extproc
          else {
            const e = await viaEnvoy(kind, 'POST', '/v1/auth/token/revoke-self', token);
            if (e && e.status !== 204 && e.status !== 403) error(`${kind}: ${e.status}`);
          }
        } finally {
          change.endMs = Date.now();
        }
        return;
      }
    }
  };

  // Sampling: vault-extproc's own metrics (prom-client resets the event-loop histogram on each scrape).
  const samples: Sample[] = [];
  let lastSampleAt = Date.now();
  const sample = async (): Promise<void> => {
    const now = Date.now();
    const text = await (await fetch(`${stack.adminUrl}/metrics`)).text().catch(() => '');
    const m = promValues(text);
    const seconds = (now - lastSampleAt) / 1000;
    const counts = interval;
    const lat = latencies;
    interval = zeroCounts();
    latencies = [];
    lastSampleAt = now;
    const lag = m.get('nodejs_eventloop_lag_p99_seconds');
    samples.push({
      atSeconds: Math.round((now - loadStartedAt) / 1000),
      rssBytes: m.get('process_resident_memory_bytes'), procRssBytes: procRss(stack.service.pid),
      heapUsedBytes: m.get('nodejs_heap_size_used_bytes'), externalBytes: m.get('nodejs_external_memory_bytes'),
      handles: m.get('nodejs_active_handles_total'), openFds: m.get('process_open_fds'),
      loopDelayP99Ms: lag === undefined ? undefined : Number((lag * 1000).toFixed(2)),
      envoyRssBytes: procRss(stack.envoy.proc.pid),
      staticEntries: m.get('vault_extproc_cache_entries{cache="static"}'), leaseEntries: m.get('vault_extproc_cache_entries{cache="lease"}'),
      worker: {
        renewalsOk: sumOf(m, 'vault_extproc_renewals_total{', 'outcome="success"'),
        renewalsFailed: sumOf(m, 'vault_extproc_renewals_total{') - sumOf(m, 'vault_extproc_renewals_total{', 'outcome="success"'),
        capabilityChecks: sumOf(m, 'vault_extproc_capability_refreshes_total{'),
        eventsReceived: m.get('vault_extproc_events_received_total') ?? 0,
        eventStreamReconnects: m.get('vault_extproc_event_stream_reconnects_total') ?? 0,
      },
      interval: {
        ...counts, seconds: Number(seconds.toFixed(1)), requestsPerSecond: Math.round(counts.requests / Math.max(seconds, 0.001)),
        latencyP50Ms: roundMs(percentile(lat, 50)), latencyP99Ms: roundMs(percentile(lat, 99)),
      },
    });
    timeline.prune(now - 60_000);
    sim.clearRequests(); // the simulator's request log would otherwise grow this process
    const s = samples[samples.length - 1]!;
    log(`soak ${s.atSeconds} s: RSS ${mib(s.rssBytes)} MiB, heap ${mib(s.heapUsedBytes)} MiB, handles ${s.handles}, loop p99 ${s.loopDelayP99Ms} ms, `
      + `${s.interval.requestsPerSecond} req/s, hits ${counts.hits}, misses ${counts.misses}, errors ${counts.errors}, wrong ${counts.wrong}`);
  };

  log(`soak: seed ${SEED}, ${MINUTES} min, ${LANES} lanes, ${RATE} ops/s, sampling every ${SAMPLE_SECONDS} s${BREAK ? `, BROKEN on purpose: ${BREAK}` : ''}`);
  // Warm-up: every secret read once by each reading role (so the first sample is of a filled cache).
  for (const role of ['all', 'app', 'shifty'] as Role[]) {
    for (const s of SECRETS) await viaEnvoy('warm-up', 'GET', `/v1/secret/data/${s}`, live.get(role)!.token);
  }
  for (const method of ['approle', 'userpass'] as Method[]) await login(method);
  const loadStartedAt = Date.now();
  interval = zeroCounts();
  latencies = [];
  await sample();
  const endAt = loadStartedAt + MINUTES * 60_000;
  const lane = async (i: number): Promise<void> => {
    const rng = new Rng((SEED + i * 0x9e3779b9) >>> 0);
    const pick = zipf(rng, SECRETS.length);
    const gapMs = (LANES * 1000) / RATE;
    let nextAt = Date.now() + rng.next() * gapMs;
    while (Date.now() < endAt) {
      const wait = nextAt - Date.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -gapMs * 10) nextAt = Date.now(); // fell behind: no burst to catch up
      nextAt += gapMs;
      await runOp(rng, pick, rng.weighted(OP_WEIGHTS)).catch((err: unknown) => error(`harness: ${(err as Error).message}`));
    }
  };
  const sampler = setInterval(() => { void sample(); }, SAMPLE_SECONDS * 1000);
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
  clearInterval(sampler);
  if (Date.now() - lastSampleAt > (SAMPLE_SECONDS * 1000) / 2) await sample(); // the rest of the last interval
  const serviceAlive = (await Promise.race([stack.service.exited, sleep(0).then(() => 'running')])) === 'running';
  envoy.close();
  vault.close();
  await stack.stop();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });

  const series = <K extends keyof Sample>(k: K): Array<number | undefined> => samples.map((s) => s[k] as number | undefined);
  const loadSeconds = (Date.now() - loadStartedAt) / 1000;
  const report = {
    date: new Date().toISOString(),
    machine: {
      cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, envoy: readFileSync(join(REPO_ROOT, 'envoy', 'VERSION'), 'utf8').trim(),
      loadAverage1m: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) },
    },
    options: {
      minutes: MINUTES, sampleSeconds: SAMPLE_SECONDS, lanes: LANES, ratePerSecond: RATE, seed: SEED, ...(BREAK ? { broken: BREAK } : {}),
      backend: 'simulator', capabilityRefreshIntervalSeconds: CAPABILITY_INTERVAL_S, secretRefreshIntervalSeconds: REFRESH_INTERVAL_S,
      accessBoundMs: ACCESS_BOUND_MS, staleBoundMs: STALE_BOUND_MS,
    },
    summary: {
      rssBytes: firstLastMax(series('rssBytes')), heapUsedBytes: firstLastMax(series('heapUsedBytes')), handles: firstLastMax(series('handles')),
      openFds: firstLastMax(series('openFds')), loopDelayP99Ms: firstLastMax(series('loopDelayP99Ms')), envoyRssBytes: firstLastMax(series('envoyRssBytes')),
      ...total, requestsPerSecond: Math.round(total.requests / loadSeconds), wrongAnswers: total.wrong, serviceAliveAtEnd: serviceAlive,
      operations: opCounts, errorKinds: Object.fromEntries(errorKinds),
    },
    wrong: wrongs,
    intervals: samples,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);

  const fl = (x: { first?: number; last?: number; max?: number }, f: (n: number | undefined) => string | number | undefined): string => `${f(x.first)} / ${f(x.last)} / ${f(x.max)}`;
  process.stdout.write([
    `vault-extproc soak — ${report.machine.cores} cores, Node ${report.machine.node}, Envoy ${report.machine.envoy}, ${MINUTES} min, seed ${SEED}, load average ${report.machine.loadAverage1m.start} → ${report.machine.loadAverage1m.end}${BREAK ? `, BROKEN: ${BREAK}` : ''}`,
    '',
    table(['t (s)', 'RSS MiB', 'heap MiB', 'handles', 'fds', 'loop p99 ms', 'Envoy RSS MiB', 'static/lease entries', 'req/s', 'p50/p99 ms', 'hits', 'misses', 'errors', 'wrong'],
      samples.map((s) => [s.atSeconds, mib(s.rssBytes), mib(s.heapUsedBytes), s.handles, s.openFds, s.loopDelayP99Ms, mib(s.envoyRssBytes),
        `${s.staticEntries ?? ''}/${s.leaseEntries ?? ''}`, s.interval.requestsPerSecond, `${s.interval.latencyP50Ms ?? ''}/${s.interval.latencyP99Ms ?? ''}`,
        s.interval.hits, s.interval.misses, s.interval.errors, s.interval.wrong])),
    '',
    `RSS first/last/max: ${fl(report.summary.rssBytes, mib)} MiB; heap used ${fl(report.summary.heapUsedBytes, mib)} MiB; handles ${fl(report.summary.handles, (n) => n)}; `
      + `event-loop delay p99 ${fl(report.summary.loopDelayP99Ms, (n) => n)} ms`,
    `requests through Envoy ${total.requests} (${report.summary.requestsPerSecond}/s): hits ${total.hits}, misses ${total.misses}, errors ${total.errors}; `
      + `answers checked against Vault ${total.checked} reads + ${total.leaseHitsChecked} lease-cache hits; refused ${total.refused}; `
      + `within the access bound ${total.withinAccessBound} (${ACCESS_BOUND_MS} ms), within the stale bound ${total.withinStaleBound} (${STALE_BOUND_MS} ms)`,
    `the worker meanwhile: ${JSON.stringify(samples[samples.length - 1]?.worker ?? {})}`,
    `WRONG ANSWERS: ${total.wrong}${wrongs.length ? `\n  ${wrongs.slice(0, 10).join('\n  ')}` : ''}`,
    ...(errorKinds.size ? [`errors: ${[...errorKinds].map(([k, n]) => `${k} ×${n}`).join('; ')}`] : []),
    ...(serviceAlive ? [] : ['vault-extproc had exited before the end']),
    `written: ${OUT}`,
    '',
  ].join('\n'));
  return total.wrong > 0 || !serviceAlive ? 1 : 0;
}

/** The sum of the samples whose key starts with `prefix` (and holds `label`, when given). */
function sumOf(m: Map<string, number>, prefix: string, label?: string): number {
  let sum = 0;
  for (const [k, v] of m) if (k.startsWith(prefix) && (label === undefined || k.includes(label))) sum += v;
  return sum;
}

function mib(n: number | undefined): string | undefined {
  return n === undefined ? undefined : (n / 1048576).toFixed(1);
}

function roundMs(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Number(n.toFixed(1));
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
