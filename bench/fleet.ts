/**
 * Fleet rows of `npm run bench` (issue 16 step 10): what fleet mode costs and buys, measured in the
 * same run against a real Vault 1.15.6 dev server (its audit log counts what reaches Vault), a real
 * redis-server started here on a free port, and real Envoy. Every replica is `vault-extproc serve`
 * with the same static-cache config; a fleet replica adds `fleet { redis_url, encryption_key_file }`.
 *
 *   FL1    an L1 hit on a fleet replica (a KV read by a client token, through that replica's Envoy),
 *          measured side by side with S1, the same read on a single process without a fleet block
 *          (alternating runs, three rounds at 16 and 64 connections, the median of their ratios);
 *          run.ts also sets it against the peer row VC of the same run.
 *   FL2    an L2 hit: the first read of a secret on a replica that never read it, recorded in Redis
 *          by another replica's miss (each request a different secret; at 1 connection on replica 2,
 *          at 16 on replica 3). Every measured request is confirmed an L2 hit: X-Cache HIT on every
 *          answer, the replica's vault_extproc_fleet_shared_reads_total{outcome="hit"} grew by
 *          exactly the request count, and Vault saw no read of those secrets meanwhile. FL2-fill is
 *          the miss that recorded them, through replica 1 (a read Vault answers), at 16 connections.
 *   FINV   invalidation across replicas: a token revoked (revoke-self) through replica 1, then
 *          replicas 2 and 3 (which both held that token's access in L1) read until they refuse
 *          (403); and a cache-clear (request_path) through replica 1, then replicas 2 and 3 read
 *          their cached secret under that prefix until it is a MISS, reads back to back. Figures:
 *          from the change's answer at the client to the sending of the first read that saw it
 *          (0 when the first one did; the refused or MISS read itself goes to Vault, so its own
 *          round trip is left out), the same from the change's sending, and the reads still
 *          answered as before in between. 40 changes of each kind × 2 replicas, p50/p99.
 *   FZIPF  Vault reads for one Zipf workload (s = 1 over 1,000 secrets, the same seeded sequence of
 *          requests as F uses in kind: 20,000 token-less reads with the auto-auth token at 16
 *          connections) through one Envoy round-robin over 3 fleet replicas, against 3 replicas
 *          without a fleet block behind an Envoy of the same kind: the reads that reached Vault
 *          (its audit log), ÷ client requests. The offload a shared cache buys is their ratio.
 *
 * BENCH_ONLY=fleet runs these rows alone (about 3 minutes) and prints them without writing
 * latest.json. No timed assertions: figures and ratios only; a row whose premise fails (an L2 hit
 * that was not one, a replica that never refused) throws with what it saw.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../test/support/backend.js';
import { startEnvoy, type RunningEnvoy } from '../test/support/envoy.js';
import { sampleOf } from '../test/support/fleet-harness.js';
import { CLI } from '../test/support/paths.js';
import { freePort, waitFor } from '../test/support/ports.js';
import { run, type Proc } from '../test/support/process.js';
import { startRedis, type RedisServer } from '../test/support/redis.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../test/support/vault-setup.js';
import { cpuSeconds, envoyBootstrap, startService, writeServiceConfig } from './service.js';

export interface FleetLoad {
  rps: number; p50: number; p99: number; non2xx: number; errors: number;
  /** CPU-ms per 1,000 requests, by process (envoy, vault-extproc, redis), and their sum. */
  cpuMsPer1k: Record<string, number>;
  rounds?: number[];
}

export interface Percentiles { n: number; p50: number; p99: number; max: number }

/**
 * One kind of change through replica 1, seen on replicas 2 and 3 (a sample per replica and change).
 * Reads poll back to back, each sent when the one before was answered.
 */
export interface Invalidation {
  /**
   * ms from the change's answer at the client to the sending of the first read there that saw it
   * (0 when the first read already did): how long a replica may still have answered as before,
   * once the client was told the change was made (an upper bound, to one read's round trip).
   */
  afterAnswer: Percentiles;
  /** ms from the sending of the change to the sending of that read (the change's own round trip included). */
  fromSent: Percentiles;
  /** Reads still answered as before the change, after its answer, over every sample. */
  servedAfter: number;
}

export interface FleetResults {
  backend: string;
  redis: string;
  /** FL1 and S1 by concurrency. */
  hit: Record<'FL1' | 'S1', Record<number, FleetLoad>>;
  /**
   * Throughput ratios by concurrency: FL1/S1 (side by side), FL2/FL1, FL2/FL2-fill (an L2 hit
   * against the Vault miss that recorded it); run.ts adds FL1/VC (the peer row of the same run).
   */
  ratios: Record<string, Record<number, number>>;
  l2: {
    secrets: number;
    /** The misses through replica 1 that recorded them (Vault reads), 16 connections. */
    fill: FleetLoad & { vaultReads: number; redisCommands: Record<string, number> };
    /**
     * L2 hits by concurrency (1: replica 2, 16: replica 3); `sharedHits`: the replica's counter's
     * growth; `redisCommands`: Redis's own count of each command over the row (INFO commandstats).
     */
    hits: Record<number, FleetLoad & {
      requests: number; sharedHits: number; xCacheHit: number; vaultReads: number; redisCommands: Record<string, number>;
      /** Every other request Vault saw over the row (a replica's worker, the owner), by method and path. */
      vaultOther: Record<string, number>;
    }>;
  };
  invalidation: {
    /** Milliseconds from the answer of the change (through replica 1) to the first refusal / MISS on replica 2 or 3. */
    revocation: Invalidation;
    cacheClear: Invalidation;
  };
  zipf: {
    secrets: number; clientRequests: number; connections: number;
    /** Distinct secrets in the request sequence: the fewest Vault reads any cache could make. */
    distinctSecrets: number;
    fleet: ZipfRun;
    independent: ZipfRun;
    /** independent Vault reads ÷ fleet Vault reads. */
    offloadGain: number;
  };
  seconds: number;
}

interface ZipfRun { vaultReads: number; ratio: number; non2xx: number; errors: number; rps: number; perReplica: number[] }

const ROOT = 'root';
const HIT_SECRET = 'secret/data/bench/one';
/**
 * Every replica's cache (fleet and single alike): the static cache alone, the auto-auth token for
 * token-less requests (as C and F).
 */
const CACHE_HCL = `api_proxy {
  use_auto_auth_token = true
}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
  # No worker refetch (every cached secret read again, 1m by default) within a row: it would add
  # Vault reads to FZIPF and rewrite the L2 records FL2 reads. The shared record lives this long.
  static_secret_refresh_interval = "10m"
}`;
/** The auto-auth token's policy: KV events for the owner's subscription, reads for use_auto_auth_token. */
const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
const CLIENT_POLICY = 'path "secret/*" { capabilities = ["read"] }';

interface Replica {
  name: string;
  /** Its own Envoy's listener. */
  url: string;
  adminUrl: string;
  extprocAddress: string;
  service: Proc;
  envoy: RunningEnvoy;
}

interface LoadOptions {
  connections: number;
  seconds?: number;
  amount?: number;
  headers?: Record<string, string>;
  /** A path per request (default: the URL's). */
  path?: () => string;
  pids?: Record<string, number>;
}

interface LoadResult extends FleetLoad {
  total: number;
  /** Answers by X-Cache value ('' when absent). */
  xCache: Record<string, number>;
}

/**
 * autocannon against `url`; latencies are autocannon's per-response times (ms, sub-millisecond
 * precision), and req/s is counted up to the last answer (a fixed amount ends there, not on the
 * next sampling tick).
 */
async function load(url: string, o: LoadOptions): Promise<LoadResult> {
  const pids = o.pids ?? {};
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const xCache: Record<string, number> = {};
  const latencies: number[] = [];
  const started = performance.now();
  let last = started;
  const instance = autocannon({
    url, connections: o.connections, headers: o.headers ?? {},
    ...(o.amount ? { amount: o.amount } : { duration: o.seconds ?? 3 }),
    requests: [{
      method: 'GET',
      ...(o.path ? { setupRequest: ((req: Record<string, unknown>) => ({ ...req, path: o.path!() })) as never } : {}),
      onResponse: ((_status: number, _body: string, _ctx: unknown, headers: Record<string, string>) => {
        const v = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-cache')?.[1] ?? '';
        xCache[v] = (xCache[v] ?? 0) + 1;
      }) as never,
    }],
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    last = performance.now();
  });
  const r = await instance;
  const total = Math.max(r.requests.total, 1);
  const cpuMsPer1k: Record<string, number> = {};
  let sum = 0;
  for (const [k, pid] of Object.entries(pids)) {
    const ms = ((cpuSeconds(pid) - before[k]!) * 1e6) / total;
    cpuMsPer1k[k] = Number(ms.toFixed(1));
    sum += ms;
  }
  if (Object.keys(pids).length > 0) cpuMsPer1k['total'] = Number(sum.toFixed(1));
  const p = percentiles(latencies);
  const seconds = o.amount ? (last - started) / 1000 : (o.seconds ?? 3);
  return {
    rps: Math.round(r.requests.total / seconds), p50: p.p50, p99: p.p99, non2xx: r.non2xx, errors: r.errors, cpuMsPer1k, total: r.requests.total, xCache,
  };
}

function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => (s.length === 0 ? NaN : Number(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!.toFixed(2)));
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

/** Zipf(s = 1) over n items from a seeded generator: the same sequence for both FZIPF runs. */
function zipfSequence(n: number, count: number, seed: number): number[] {
  let state = seed >>> 0;
  const random = (): number => { // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cdf: number[] = [];
  const total = Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf.push((acc += 1 / (i + 1) / total));
  return Array.from({ length: count }, () => {
    const r = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

async function inBatches(n: number, fn: (i: number) => Promise<unknown>, size = 32): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j)));
}

async function metric(r: Replica, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleOf(await (await fetch(`${r.adminUrl}/metrics`)).text(), name, labels) ?? 0;
}

async function get(url: string, token?: string): Promise<{ status: number; cache: string | null; sent: number; at: number }> {
  const sent = performance.now();
  const res = await fetch(url, { headers: token ? { 'x-vault-token': token } : {} });
  await res.arrayBuffer();
  return { status: res.status, cache: res.headers.get('x-cache'), sent, at: performance.now() };
}

export async function measureFleet(opts: {
  dir: string; concurrency: number[]; seconds: number; rounds: (c: number) => number; log: (msg: string) => void;
}): Promise<FleetResults> {
  const started = Date.now();
  const { log } = opts;
  const dir = join(opts.dir, 'fleet');
  mkdirSync(dir, { recursive: true });
  const stops: Array<() => Promise<unknown>> = [];
  let backend: Backend | undefined;
  let redis: RedisServer | undefined;
  try {
    backend = await startBackend('real', { rootToken: ROOT });
    stops.push(() => backend!.close());
    redis = await startRedis();
    stops.push(() => redis!.stop());
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.cli('INFO', 'server'))![1]);
    const redisVersion = /redis_version:(\S+)/.exec(await redis.cli('INFO', 'server'))![1]!;
    const v = backend;
    await writePolicy(v, 'fleet-bench-worker', WORKER_POLICY);
    await writePolicy(v, 'fleet-bench-client', CLIENT_POLICY);
    const fleetCreds = await setupAppRole(v, { role: 'fleet-bench', policies: ['fleet-bench-worker'] });
    const soloCreds = await setupAppRole(v, { role: 'solo-bench', policies: ['fleet-bench-worker'] });
    const newToken = async (): Promise<string> => (await vaultApi(v, 'POST', 'auth/token/create', { policies: ['fleet-bench-client'], ttl: '2h' })).json.auth.client_token as string;

    // Every secret the rows read, written before any replica starts (no KV event reaches a cache meanwhile).
    const L2_SECRETS = 1500;
    const ZIPF_SECRETS = 1000;
    const ZIPF_REQUESTS = 20_000;
    await vaultApi(v, 'POST', HIT_SECRET, { data: { password: 'p'.repeat(700) } });
    await inBatches(L2_SECRETS, (i) => vaultApi(v, 'POST', `secret/data/l2/s${i}`, { data: { password: 'p'.repeat(700), i } }));
    await inBatches(ZIPF_SECRETS, (i) => vaultApi(v, 'POST', `secret/data/zipf/s${i}`, { data: { v: String(i) } }));
    for (const s of ['inv/revoke', 'inv/clear/a', 'inv/clear/b']) await vaultApi(v, 'POST', `secret/data/${s}`, { data: { v: s } });
    log(`fleet: ${L2_SECRETS + ZIPF_SECRETS + 4} secrets written`);

    const keyFile = join(dir, 'fleet.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const fleetBlock = (id: string): string => `fleet {
  redis_url = "${redis!.url}/0"
  encryption_key_file = "${keyFile}"
  replica_id = "${id}"
}`;
    const bodyOf = (name: string, fleet: boolean): string => {
      const own = join(dir, name);
      mkdirSync(own, { recursive: true });
      return `${fleet ? fleetBlock(name) : ''}\n${appRoleAutoAuth(own, fleet ? fleetCreds : soloCreds)}\n${CACHE_HCL}`;
    };
    const startReplica = async (name: string, fleet: boolean): Promise<Replica> => {
      const cfg = await writeServiceConfig(dir, name, v.serviceUrl, bodyOf(name, fleet));
      const service = await startService(cfg.file, cfg.admin);
      stops.push(() => service.stop());
      const { json, admin } = await envoyBootstrap(cfg.file);
      const envoy = await startEnvoy(JSON.stringify(json), admin);
      stops.push(() => envoy.stop());
      return { name, url: `http://127.0.0.1:${cfg.listen}`, adminUrl: `http://127.0.0.1:${cfg.admin}`, extprocAddress: `127.0.0.1:${cfg.extproc}`, service, envoy };
    };
    /** One Envoy round-robin over `replicas` (`envoy-config --extproc-address` ×n), once it sees all of them healthy. */
    const startBalancer = async (name: string, replicas: Replica[], fleet: boolean): Promise<{ url: string; envoy: RunningEnvoy }> => {
      const cfg = await writeServiceConfig(dir, name, v.serviceUrl, bodyOf(name, fleet));
      const admin = await freePort();
      const out = await run(process.execPath, [CLI, 'envoy-config', '--config', cfg.file, '--envoy-admin-address', `127.0.0.1:${admin}`,
        ...replicas.flatMap((r) => ['--extproc-address', r.extprocAddress])]);
      if (out.code !== 0) throw new Error(`envoy-config for ${name}: ${out.stderr}`);
      const envoy = await startEnvoy(out.stdout, admin);
      stops.push(() => envoy.stop());
      await waitFor(`${name}: Envoy sees ${replicas.length} healthy replicas`, async () => {
        const body = await (await fetch(`http://127.0.0.1:${admin}/clusters?format=json`)).json() as { cluster_statuses: Array<{ name: string; host_statuses?: Array<{ health_status: Record<string, unknown> }> }> };
        const hosts = body.cluster_statuses.find((c) => c.name === 'vault_extproc')?.host_statuses ?? [];
        const healthy = hosts.filter((h) => h.health_status['eds_health_status'] === 'HEALTHY' && !Object.values(h.health_status).includes(true));
        return healthy.length === replicas.length ? true : undefined;
      }, 30_000, 200);
      return { url: `http://127.0.0.1:${cfg.listen}`, envoy };
    };

    // The fleet: three replicas on one Redis, each behind an Envoy of its own (a row chooses the replica).
    const fleet = await Promise.all([1, 2, 3].map((i) => startReplica(`fleet-${i}`, true)));
    const [r1, r2, r3] = fleet as [Replica, Replica, Replica];
    const owners = await waitFor('exactly one fleet owner', async () => {
      const flags = await Promise.all(fleet.map((r) => metric(r, 'vault_extproc_fleet_owner')));
      return flags.filter((f) => f === 1).length === 1 ? flags : undefined;
    }, 60_000, 200);
    log(`fleet: 3 replicas up, owner ${fleet[owners.indexOf(1)]!.name}, Redis ${redisVersion}`);
    // The single process of FL1's side-by-side (also the first of FZIPF's independent three).
    const solo1 = await startReplica('solo-1', false);

    // ---- FL1 / S1: an L1 hit on a fleet replica against the same hit on a single process.
    const token = await newToken();
    const read = { 'x-vault-token': token };
    const hitTargets = { FL1: r1, S1: solo1 } as const;
    for (const [name, r] of Object.entries(hitTargets)) {
      await waitFor(`${name} cached`, async () => ((await get(`${r.url}/v1/${HIT_SECRET}`, token)).cache === 'HIT' ? true : undefined), 10_000, 100);
      await load(`${r.url}/v1/${HIT_SECRET}`, { connections: 16, seconds: 1, headers: read });
    }
    const hit: FleetResults['hit'] = { FL1: {}, S1: {} };
    for (const c of opts.concurrency) {
      const runs: Record<'FL1' | 'S1', LoadResult[]> = { FL1: [], S1: [] };
      for (let i = 0; i < opts.rounds(c); i++) {
        for (const [name, r] of Object.entries(hitTargets) as Array<['FL1' | 'S1', Replica]>) {
          const l = await load(`${r.url}/v1/${HIT_SECRET}`, {
            connections: c, seconds: opts.seconds, headers: read,
            pids: { envoy: r.envoy.proc.pid!, 'vault-extproc': r.service.pid!, ...(name === 'FL1' ? { redis: redisPid } : {}) },
          });
          if (Object.keys(l.xCache).some((x) => x !== 'HIT')) throw new Error(`${name} c=${c}: not every answer a HIT (${JSON.stringify(l.xCache)})`);
          runs[name].push(l);
        }
      }
      for (const name of ['FL1', 'S1'] as const) {
        const r = runs[name];
        const { total: _t, xCache: _x, ...median } = [...r].sort((a, b) => a.rps - b.rps)[r.length >> 1]!;
        hit[name][c] = r.length > 1 ? { ...median, rounds: r.map((x) => x.rps) } : median;
        log(`${name} c=${c}: ${median.rps} req/s, p50 ${median.p50} ms, p99 ${median.p99} ms, CPU-ms/1k ${JSON.stringify(median.cpuMsPer1k)}${r.length > 1 ? ` (runs: ${r.map((x) => x.rps).join(', ')})` : ''}`);
      }
    }
    const ratio = (a: FleetLoad, b: FleetLoad): number => {
      if (!a.rounds || !b.rounds || a.rounds.length !== b.rounds.length) return Number((a.rps / b.rps).toFixed(3));
      const pairs = a.rounds.map((x, i) => x / b.rounds![i]!).sort((p, q) => p - q);
      return Number(pairs[pairs.length >> 1]!.toFixed(3));
    };
    const ratios: Record<string, Record<number, number>> = { 'FL1/S1': Object.fromEntries(opts.concurrency.map((c) => [c, ratio(hit.FL1[c]!, hit.S1[c]!)])) };

    // ---- FL2: L2 hits. Replica 1 reads every secret once (a miss: Vault answers, the record goes to
    // Redis); replicas 2 and 3 never read them, so each of their first reads is an L1 miss answered from L2.
    const l2Path = (i: number): string => `/v1/secret/data/l2/s${i}`;
    const vaultReadsOf = (prefix: string): number => v.requests.filter((q) => q.method === 'GET' && q.path.startsWith(prefix)).length;
    /** What Redis ran meanwhile, by command (INFO commandstats; the replicas' background commands included). */
    const redisCommandsSince = async (before: Record<string, number>): Promise<Record<string, number>> => {
      const now = await redis!.commandCalls();
      return Object.fromEntries(Object.entries(now).map(([cmd, n]) => [cmd, n - (before[cmd] ?? 0)]).filter(([, n]) => (n as number) > 0));
    };
    v.clearRequests();
    const fillCommands = await redis.commandCalls();
    let k = 0;
    const fillLoad = await load(r1.url, { connections: 16, amount: L2_SECRETS, headers: read, path: () => l2Path(k++), pids: { envoy: r1.envoy.proc.pid!, 'vault-extproc': r1.service.pid!, redis: redisPid } });
    const fillReads = vaultReadsOf('/v1/secret/data/l2/');
    const fillRedis = await redisCommandsSince(fillCommands);
    if (fillLoad.non2xx + fillLoad.errors > 0 || (fillLoad.xCache['MISS'] ?? 0) !== L2_SECRETS) {
      throw new Error(`FL2 fill: ${fillLoad.non2xx} non-2xx, ${fillLoad.errors} errors, X-Cache ${JSON.stringify(fillLoad.xCache)}`);
    }
    // The records are in Redis once replica 1 has written them (an L2 write follows the answer).
    const recorded = async (): Promise<number> => (await redis!.cli('--scan', '--pattern', 'vxp:s:*')).split('\n').filter((x) => x !== '').length;
    await waitFor('FL2 records in Redis', async () => ((await recorded()) >= L2_SECRETS ? true : undefined), 20_000, 200).catch(async (err: unknown) => {
      const metrics = (await (await fetch(`${r1.adminUrl}/metrics`)).text()).split('\n').filter((l) => l.startsWith('vault_extproc_fleet') || l.startsWith('vault_extproc_cache')).join('\n');
      throw new Error(`${(err as Error).message}: ${await recorded()} static records in Redis after ${L2_SECRETS} misses through ${r1.name}\n${metrics}\n--- ${r1.name} ---\n${r1.service.text.slice(-6000)}`);
    });
    const { total: _ft, xCache: _fx, ...fill } = fillLoad;
    log(`FL2 fill (misses through replica 1, c=16): ${fill.rps} req/s, p50 ${fill.p50} ms, p99 ${fill.p99} ms; ${fillReads} Vault reads; Redis commands ${JSON.stringify(fillRedis)}`);
    const l2Hits: FleetResults['l2']['hits'] = {};
    for (const [c, r] of [[1, r2], [16, r3]] as const) {
      const before = await metric(r, 'vault_extproc_fleet_shared_reads_total', { outcome: 'hit' });
      v.clearRequests();
      const commandsBefore = await redis.commandCalls();
      let j = 0;
      const l = await load(r.url, { connections: c, amount: L2_SECRETS, headers: read, path: () => l2Path(j++), pids: { envoy: r.envoy.proc.pid!, 'vault-extproc': r.service.pid!, redis: redisPid } });
      const sharedHits = (await metric(r, 'vault_extproc_fleet_shared_reads_total', { outcome: 'hit' })) - before;
      const vaultReads = vaultReadsOf('/v1/secret/data/l2/');
      const redisCommands = await redisCommandsSince(commandsBefore);
      const vaultOther: Record<string, number> = {};
      for (const q of v.requests) if (!q.path.startsWith('/v1/secret/data/l2/')) vaultOther[`${q.method} ${q.path}`] = (vaultOther[`${q.method} ${q.path}`] ?? 0) + 1;
      const xCacheHit = l.xCache['HIT'] ?? 0;
      const { total, xCache, ...rest } = l;
      if (sharedHits !== total || xCacheHit !== total || vaultReads !== 0 || l.non2xx + l.errors > 0) {
        throw new Error(`FL2 c=${c} on ${r.name}: ${total} requests, shared_reads{hit} +${sharedHits}, X-Cache ${JSON.stringify(xCache)}, ${vaultReads} Vault reads, ${l.non2xx} non-2xx, ${l.errors} errors: not every request an L2 hit`);
      }
      l2Hits[c] = { ...rest, requests: total, sharedHits, xCacheHit, vaultReads, redisCommands, vaultOther };
      log(`FL2 c=${c} (${r.name}, ${total} first reads): ${rest.rps} req/s, p50 ${rest.p50} ms, p99 ${rest.p99} ms; shared_reads{hit} +${sharedHits}, Vault reads ${vaultReads}, other Vault requests ${JSON.stringify(vaultOther)}; Redis commands ${JSON.stringify(redisCommands)}`);
    }

    // ---- FINV: a change through replica 1, seen on replicas 2 and 3.
    const ITERATIONS = 40;
    const pollUntil = async (url: string, tkn: string, done: (a: { status: number; cache: string | null }) => boolean): Promise<{ sent: number; servedBefore: number }> => {
      let served = 0;
      const deadline = performance.now() + 5_000;
      while (performance.now() < deadline) {
        const a = await get(url, tkn);
        if (done(a)) return { sent: a.sent, servedBefore: served };
        served++;
      }
      throw new Error(`FINV: ${url} still served 5 s after the change (${served} answers)`);
    };
    /** Samples of one kind of change: [after the answer, from the change sent]. */
    const revocation: Array<[number, number]> = [];
    let revokedServed = 0;
    const revokePath = '/v1/secret/data/inv/revoke';
    for (let i = 0; i < ITERATIONS; i++) {
      const doomed = await newToken();
      for (const r of [r2, r3]) {
        await get(`${r.url}${revokePath}`, doomed);
        const again = await get(`${r.url}${revokePath}`, doomed);
        if (again.status !== 200 || again.cache !== 'HIT') throw new Error(`FINV revocation: ${r.name} not primed (${again.status}, ${again.cache})`);
      }
      const sent = performance.now();
      const res = await fetch(`${r1.url}/v1/auth/token/revoke-self`, { method: 'POST', headers: { 'x-vault-token': doomed } });
      await res.arrayBuffer();
      const answered = performance.now();
      if (res.status !== 204) throw new Error(`FINV: revoke-self through replica 1 answered ${res.status}`);
      const seen = await Promise.all([r2, r3].map((r) => pollUntil(`${r.url}${revokePath}`, doomed, (a) => a.status === 403)));
      for (const s of seen) {
        revocation.push([Math.max(0, s.sent - answered), s.sent - sent]);
        revokedServed += s.servedBefore;
      }
    }
    const clear: Array<[number, number]> = [];
    let clearServed = 0;
    const clearToken = await newToken();
    const clearPaths = { [r2.name]: '/v1/secret/data/inv/clear/a', [r3.name]: '/v1/secret/data/inv/clear/b' };
    for (let i = 0; i < ITERATIONS; i++) {
      for (const r of [r2, r3]) {
        await get(`${r.url}${clearPaths[r.name]}`, clearToken);
        const again = await get(`${r.url}${clearPaths[r.name]}`, clearToken);
        if (again.status !== 200 || again.cache !== 'HIT') throw new Error(`FINV cache-clear: ${r.name} not primed (${again.status}, ${again.cache})`);
      }
      const sent = performance.now();
      const res = await fetch(`${r1.url}/agent/v1/cache-clear`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'request_path', value: '/v1/secret/data/inv/clear/' }),
      });
      await res.arrayBuffer();
      const answered = performance.now();
      if (res.status !== 200) throw new Error(`FINV: cache-clear through replica 1 answered ${res.status}`);
      // Replica 2 reads one secret, replica 3 the other: one's MISS refills only its own (else the
      // other could take the refilled record from L2 as a HIT after its L1 was cleared).
      const seen = await Promise.all([r2, r3].map((r) => pollUntil(`${r.url}${clearPaths[r.name]}`, clearToken, (a) => a.status === 200 && a.cache === 'MISS')));
      for (const s of seen) {
        clear.push([Math.max(0, s.sent - answered), s.sent - sent]);
        clearServed += s.servedBefore;
      }
    }
    const summary = (samples: Array<[number, number]>, servedAfter: number): Invalidation => ({
      afterAnswer: percentiles(samples.map((x) => x[0])), fromSent: percentiles(samples.map((x) => x[1])), servedAfter,
    });
    const invalidation = { revocation: summary(revocation, revokedServed), cacheClear: summary(clear, clearServed) };
    for (const [name, x] of Object.entries(invalidation)) log(`FINV ${name}: ${invLine(x)}`);

    // ---- FZIPF: the same Zipf sequence through one Envoy over 3 fleet replicas, then over 3 independent ones.
    const sequence = zipfSequence(ZIPF_SECRETS, ZIPF_REQUESTS, 0x5eed);
    const zipfRun = async (name: string, replicas: Replica[], fleetMode: boolean): Promise<ZipfRun> => {
      const lb = await startBalancer(name, replicas, fleetMode);
      const handledBefore = await Promise.all(replicas.map((r) => metric(r, 'vault_extproc_stream_duration_seconds_count')));
      v.clearRequests();
      let z = 0;
      const l = await load(lb.url, { connections: 16, amount: ZIPF_REQUESTS, path: () => `/v1/secret/data/zipf/s${sequence[z++ % sequence.length]}` });
      const vaultReads = vaultReadsOf('/v1/secret/data/zipf/');
      const perReplica = (await Promise.all(replicas.map((r) => metric(r, 'vault_extproc_stream_duration_seconds_count')))).map((n, i) => n - handledBefore[i]!);
      await lb.envoy.stop();
      const out = { vaultReads, ratio: Number((vaultReads / l.total).toFixed(4)), non2xx: l.non2xx, errors: l.errors, rps: l.rps, perReplica };
      log(`FZIPF ${name}: ${vaultReads} of ${l.total} reads reached Vault (${out.ratio}); per replica ${perReplica.join('/')}; X-Cache ${JSON.stringify(l.xCache)}${l.non2xx + l.errors ? `; ${l.non2xx} non-2xx, ${l.errors} errors` : ''}`);
      return out;
    };
    const fleetZipf = await zipfRun('fleet-lb', fleet, true);
    // The fleet and the single-process hit target stop; three independent replicas (solo-1 and two more) take the same load.
    for (const r of fleet) {
      await r.envoy.stop();
      await r.service.stop();
    }
    const solos = [solo1, ...(await Promise.all([2, 3].map((i) => startReplica(`solo-${i}`, false))))];
    const independentZipf = await zipfRun('solo-lb', solos, false);

    ratios['FL2/FL1'] = Object.fromEntries(Object.keys(l2Hits).map(Number).filter((c) => hit.FL1[c]).map((c) => [c, Number((l2Hits[c]!.rps / hit.FL1[c]!.rps).toFixed(3))]));
    ratios['FL2/FL2-fill'] = Object.fromEntries(Object.keys(l2Hits).map(Number).filter((c) => c === 16).map((c) => [c, Number((l2Hits[c]!.rps / fill.rps).toFixed(3))]));
    return {
      backend: 'Vault 1.15.6 dev server (real, audit log on: it counts the reads)',
      redis: `redis-server ${redisVersion} (no persistence)`,
      hit, ratios,
      l2: { secrets: L2_SECRETS, fill: { ...fill, vaultReads: fillReads, redisCommands: fillRedis }, hits: l2Hits },
      invalidation,
      zipf: {
        secrets: ZIPF_SECRETS, clientRequests: ZIPF_REQUESTS, connections: 16, distinctSecrets: new Set(sequence).size, fleet: fleetZipf, independent: independentZipf,
        offloadGain: Number((independentZipf.vaultReads / Math.max(fleetZipf.vaultReads, 1)).toFixed(2)),
      },
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

function invLine(x: Invalidation): string {
  const p = (q: Percentiles): string => `p50 ${q.p50} ms, p99 ${q.p99} ms, max ${q.max} ms`;
  return `first read that saw it sent ${p(x.afterAnswer)} after the change's answer; ${p(x.fromSent)} after the change was sent; `
    + `${x.afterAnswer.n} samples (replicas 2 and 3 × ${x.afterAnswer.n / 2}), ${x.servedAfter} reads answered as before in between`;
}

/** The fleet rows as markdown lines. */
export function fleetTable(f: FleetResults, concurrency: number[]): string[] {
  const cpu = (l: FleetLoad): string => Object.entries(l.cpuMsPer1k).filter(([k]) => k !== 'total').map(([k, ms]) => `${k} ${ms}`).join(', ');
  const row = (name: string, c: number | string, l: FleetLoad): string => `| ${name} | ${c} | ${l.rps} | ${l.p50} | ${l.p99} | ${cpu(l)} | ${l.cpuMsPer1k['total'] ?? ''} | ${l.non2xx + l.errors} |`;
  const ratios = Object.entries(f.ratios);
  const l2c = Object.keys(f.l2.hits).map(Number);
  const perRequest = (cmds: Record<string, number>, n: number): string => Object.entries(cmds).filter(([, x]) => x / n >= 0.005).sort(([a], [b]) => a.localeCompare(b)).map(([cmd, x]) => `${cmd} ${(x / n).toFixed(2)}`).join(', ');
  const z = f.zipf;
  return [
    `Fleet against ${f.backend}, ${f.redis}:`,
    '',
    `| scenario | conc. | req/s | p50 ms | p99 ms | CPU-ms / 1k req by process | total | errors |`,
    '|---|---|---|---|---|---|---|---|',
    ...(['FL1', 'S1'] as const).flatMap((s) => concurrency.filter((c) => f.hit[s][c]).map((c) => row(s, c, f.hit[s][c]!))),
    row(`FL2-fill (${f.l2.secrets} misses via replica 1)`, 16, f.l2.fill),
    ...l2c.map((c) => row(`FL2 (${f.l2.hits[c]!.requests} L2 hits)`, c, f.l2.hits[c]!)),
    '',
    `| ratio (throughput) | ${concurrency.map((c) => `c=${c}`).join(' | ')} |`,
    `|---|${concurrency.map(() => '---').join('|')}|`,
    ...ratios.map(([k, r]) => `| ${k} | ${concurrency.map((c) => r[c] ?? '').join(' | ')} |`),
    '',
    `Redis commands per request: FL2-fill ${perRequest(f.l2.fill.redisCommands, f.l2.secrets)}; ${l2c.map((c) => `FL2 c=${c} ${perRequest(f.l2.hits[c]!.redisCommands, f.l2.hits[c]!.requests)}`).join('; ')}`,
    `Other Vault requests during the L2 hits: ${l2c.map((c) => `c=${c} ${JSON.stringify(f.l2.hits[c]!.vaultOther)}`).join('; ')}`,
    '',
    `FINV revocation (revoke-self via replica 1 → 403 on 2 and 3): ${invLine(f.invalidation.revocation)}`,
    `FINV cache-clear (request_path via replica 1 → MISS on 2 and 3): ${invLine(f.invalidation.cacheClear)}`,
    `FZIPF (${z.clientRequests} Zipf reads over ${z.secrets} secrets, ${z.connections} connections, one Envoy round-robin over 3 replicas): `
      + `${z.distinctSecrets} distinct secrets requested; fleet ${z.fleet.vaultReads} Vault reads (${z.fleet.ratio}; per replica ${z.fleet.perReplica.join('/')}), `
      + `3 independent ${z.independent.vaultReads} (${z.independent.ratio}; per replica ${z.independent.perReplica.join('/')}): the fleet sent Vault ${z.offloadGain}× fewer reads`,
  ];
}
