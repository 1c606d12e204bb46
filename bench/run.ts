/**
 * `npm run bench`: what a cache hit and a miss cost, as ratios against floors measured in the same
 * run on the same machine, through real Envoy. Writes bench/results/latest.json.
 *
 *   A   Envoy → simulator, no ext_proc (the proxy floor)
 *   B1  Envoy + a bench-only grpc-js ext_proc answering every request with a fixed immediate response (hit floor)
 *   B2  Envoy + the same server answering every message with an empty continue (miss floor)
 *   C   vault-extproc, static cache hit          D   vault-extproc, lease cache hit
 *   E   vault-extproc, miss with token injection (no cache)
 *   F   offload: Zipf reads over 1,000 secrets, requests that reached Vault ÷ client requests
 *   memory: resident bytes per cached 1 KiB secret at 10,000 and 100,000 entries
 *
 *   peers (bench/peers.ts): against a real Vault 1.15.6, Vault Proxy 1.15.6 and Envoy alone beside
 *   vault-extproc — KV reads directly, through Envoy, through Vault Proxy, our miss and static hit,
 *   Envoy's direct_response ceiling, and lease-cache hits (AppRole login, token creation) of Vault
 *   Proxy and ours — with CPU-ms per 1,000 requests of every process involved
 *
 *   fleet (bench/fleet.ts): three replicas with a `fleet` block on a real redis-server and a real
 *   Vault — FL1 an L1 hit (beside S1, the same hit on a single process, and the peer row VC), FL2 an
 *   L2 hit (the first read of a secret on another replica), FINV invalidation latency across
 *   replicas (revocation, cache-clear), FZIPF Vault reads for a Zipf workload over 3 fleet replicas
 *   against 3 independent ones
 *
 * BENCH_ONLY=peers runs the peer rows alone (about 3 minutes) and prints them without writing
 * latest.json; BENCH_ONLY=fleet the same for the fleet rows (about 2.5 minutes). BENCH_ONLY=memory
 * runs the memory measurement alone (under 2 minutes, most of it writing the secrets) and prints it
 * without writing latest.json. BENCH_ONLY=hit compares C with B1 at 64
 * connections (five alternating runs, about a minute); BENCH_ONLY=profile writes a CPU profile of C.
 * With BENCH_ONLY=peers: BENCH_PEER_ROWS=VDL,VC and BENCH_PEER_CONC=64 narrow the run, and
 * BENCH_PROFILE=1 profiles the vault-extproc behind VC/VDL/VDT (bench/peers.ts). bench/lease-hit-micro.ts
 * measures the CPU of our own per-hit work (decode, step, encode) without the transport.
 */
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayableHeaders } from '../src/cache/entry.js';
import { cacheHit } from '../src/extproc/decisions.js';
import { startEnvoy, type RunningEnvoy } from '../test/support/envoy.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { waitFor } from '../test/support/ports.js';
import { Proc } from '../test/support/process.js';
import { startVaultSim, type VaultSim } from '../test/support/vault-sim/index.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../test/support/vault-setup.js';
import { fleetTable, measureFleet } from './fleet.js';
import { measurePeers, PEER_SCENARIOS, peerTable, type PeerScenario } from './peers.js';
import { summariseProfile } from './profile-summary.js';
import { cpuSeconds, envoyBootstrap, rssBytes, startService, withoutExtproc, writeServiceConfig } from './service.js';

const CONCURRENCY = [1, 16, 64];
/**
 * Seconds per measurement. autocannon's fixed-amount mode ends on its 1 s sampling tick, which
 * skews req/s by up to a second per run; fixed durations give exact rates.
 */
const SECONDS = 3;
const SECRET_PATH = '/v1/secret/data/bench/one';
const CREDS_PATH = '/v1/database/creds/bench';

interface Load {
  rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuSecPer1k?: number;
  /** Envoy's CPU seconds per 1,000 requests over the same run. */
  envoyCpuSecPer1k?: number;
  statuses?: Record<string, number>; rounds?: number[];
}
type Scenario = 'A' | 'B1' | 'B2' | 'C' | 'D' | 'E';

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function load(url: string, connections: number, run: { seconds?: number; amount?: number }, headers: Record<string, string>, pid?: number,
  path?: () => string, envoyPid?: number): Promise<Load> {
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const envoyCpu0 = envoyPid ? cpuSeconds(envoyPid) : 0;
  const r = await autocannon({
    url, connections, headers,
    ...(run.amount ? { amount: run.amount } : { duration: run.seconds ?? SECONDS }),
    // A path per request (autocannon reads setupRequest from the requests list only).
    ...(path ? { requests: [{ method: 'GET', setupRequest: ((req: Record<string, unknown>) => ({ ...req, path: path() })) as never }] } : {}),
  });
  const cpu = pid ? cpuSeconds(pid) - cpu0 : undefined;
  const envoyCpu = envoyPid ? cpuSeconds(envoyPid) - envoyCpu0 : undefined;
  const total = r.requests.total;
  return {
    rps: Math.round(total / (run.seconds ?? r.duration)), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors,
    ...(cpu !== undefined ? { cpuSecPer1k: Number(((cpu * 1000) / total).toFixed(4)) } : {}),
    ...(envoyCpu !== undefined ? { envoyCpuSecPer1k: Number(((envoyCpu * 1000) / total).toFixed(4)) } : {}),
    ...(r.non2xx > 0 ? { statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0])) } : {}),
  };
}

async function envoyFor(config: string): Promise<RunningEnvoy> {
  const { json, admin } = await envoyBootstrap(config);
  return startEnvoy(JSON.stringify(json), admin);
}

/** Envoy with the ext_proc filter taken out: the proxy floor. */
async function envoyWithoutExtproc(config: string): Promise<RunningEnvoy> {
  const { json, admin } = await envoyBootstrap(config);
  return startEnvoy(JSON.stringify(withoutExtproc(json)), admin);
}

/** The service's config for the static cache alone, with the auto-auth token injected. */
function staticCache(extra = ''): string {
  return `api_proxy { use_auto_auth_token = true }\ncache {\n  cache_static_secrets = true\n  disable_caching_dynamic_secrets = true\n${extra}}`;
}

async function inBatches(n: number, fn: (i: number) => Promise<unknown>, size = 64): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j)));
}

/**
 * Throughput of `a` against `b`: with alternating rounds, the median of the ratios of runs made
 * side by side (drift of the machine cancels within a pair); else the ratio of the two runs.
 */
function throughputRatio(a: Load, b: Load): number {
  if (!a.rounds || !b.rounds || a.rounds.length !== b.rounds.length) return a.rps / b.rps;
  const pairs = a.rounds.map((x, i) => x / b.rounds![i]!).sort((p, q) => p - q);
  return pairs[pairs.length >> 1]!;
}

/** Zipf(s = 1) over n items: a few hot secrets, a long tail. */
function zipf(n: number): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  return () => {
    const r = Math.random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface MemoryRow {
  entries: number; rssBytes: number; bytesPerEntry: number; storeBytesPerEntry: number; liveBytesPerEntry: number;
  /** Resident bytes per entry added since the previous row: without what load alone grows (young generation, allocator arenas). */
  marginalBytesPerEntry?: number;
  /** Reads of the cached secrets that Vault saw besides the fill's own misses: the worker's refetches, which cost memory while they run. */
  refetches: number;
}

const ONLY = process.env['BENCH_ONLY'];
if (ONLY !== undefined && !['memory', 'profile', 'hit', 'peers', 'fleet'].includes(ONLY)) throw new Error(`BENCH_ONLY=${ONLY}: 'memory', 'profile', 'hit', 'peers' or 'fleet'`);

/** Memory: resident bytes per cached 1 KiB secret, the service filled through Envoy. */
async function measureMemory(sim: VaultSim, dir: string, creds: Parameters<typeof appRoleAutoAuth>[1]): Promise<MemoryRow[]> {
  const total = 100_000;
  const value = 'v'.repeat(700); // a KV v2 read of it is ~1 KiB
  await inBatches(total, (i) => vaultApi(sim, 'POST', `secret/data/mem/s${i}`, { data: { value } }));
  const cfg = await writeServiceConfig(dir, 'mem', sim.url, `${appRoleAutoAuth(dir, creds)}\n${staticCache('  max_bytes = 1073741824\n')}`);
  sim.clearRequests();
  const reads = (): number => sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/secret/data/mem/')).length;
  const service = await startService(cfg.file, cfg.admin);
  let envoy: RunningEnvoy | undefined;
  try {
    envoy = await envoyFor(cfg.file);
    return await fillAndMeasure(`http://127.0.0.1:${cfg.listen}/`, `http://127.0.0.1:${cfg.admin}`, service, [10_000, total], reads);
  } finally {
    await envoy?.stop();
    await service.stop();
  }
}

/** Fills the cache through Envoy up to each step; then the service's resident and live memory per entry. */
async function fillAndMeasure(url: string, adminUrl: string, service: Proc, steps: number[], vaultReads: () => number): Promise<MemoryRow[]> {
  const memory: MemoryRow[] = [];
  const metric = (text: string, re: RegExp): number => Number(re.exec(text)?.[1]);
  const liveOf = (text: string): number => metric(text, /^nodejs_heap_size_used_bytes (\d+)/m) + metric(text, /^nodejs_external_memory_bytes (\d+)/m);
  // The baseline is the service after the fill's own kind of load (64 concurrent reads that reach
  // Vault) with nothing cached: secrets that do not exist. What grows after it is the cache's.
  let w = 0;
  await load(url, 64, { amount: 20_000 }, {}, undefined, () => `/v1/secret/data/warm/missing${w++}`);
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 2_000));
  await settle();
  const base = rssBytes(service.pid!);
  const baseLive = liveOf(await (await fetch(`${adminUrl}/metrics`)).text());
  let next = 0;
  for (const target of steps) {
    const from = next;
    let k = 0;
    const m = await load(url, 64, { amount: target - from }, {}, undefined, () => `/v1/secret/data/mem/s${from + k++}`);
    if (m.non2xx + m.errors > 0) {
      throw new Error(`memory: ${m.non2xx} non-2xx answers (${JSON.stringify(m.statuses)}), ${m.errors} errors\n${service.text.slice(-4000)}`);
    }
    next = target;
    await settle();
    const rss = rssBytes(service.pid!);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    const entries = metric(metrics, /vault_extproc_cache_entries\{cache="static"\} (\d+)/);
    // Live JS memory of the main thread (where the cache lives) plus buffers, as the process reports it.
    const live = liveOf(metrics);
    const storeBytes = metric(metrics, /vault_extproc_cache_bytes\{cache="static"\} (\d+)/);
    const previous = memory.at(-1);
    memory.push({
      entries, rssBytes: rss, bytesPerEntry: Math.round((rss - base) / entries), storeBytesPerEntry: Math.round(storeBytes / entries),
      liveBytesPerEntry: Math.round((live - baseLive) / entries),
      ...(previous ? { marginalBytesPerEntry: Math.round((rss - previous.rssBytes) / (entries - previous.entries)) } : {}),
      refetches: vaultReads() - target,
    });
    log(`memory: ${entries} entries, ${Math.round((rss - base) / entries)} resident bytes per entry`);
  }
  return memory;
}

function memoryLine(m: MemoryRow): string {
  const marginal = m.marginalBytesPerEntry !== undefined ? ` (${m.marginalBytesPerEntry} per entry added since the previous row)` : '';
  const refetches = m.refetches > 0 ? `; the worker refetched ${m.refetches} of them meanwhile` : '';
  return `memory: ${m.entries} cached 1 KiB secrets → ${m.bytesPerEntry} resident bytes per entry${marginal}, ${m.liveBytesPerEntry} live JS bytes (main thread heap + buffers), ${m.storeBytesPerEntry} in the store; RSS ${Math.round(m.rssBytes / 1048576)} MiB${refetches}`;
}

async function main(): Promise<void> {
  const started = Date.now();
  // The machine's load (1-minute average) at the start and end: numbers from a busy machine say so.
  const loadAtStart = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'vxp-bench-'));
  const sim = await startVaultSim({ rootToken: 'root', mountDatabase: true });
  await writePolicy(sim, 'bench', `path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "database/creds/*" { capabilities = ["read"] }`);
  await vaultApi(sim, 'POST', 'database/roles/bench', { default_ttl: '1h', max_ttl: '24h' });
  // A ~1 KiB response body, as a KV v2 read returns it.
  await vaultApi(sim, 'POST', SECRET_PATH.slice(4), { data: { password: 'p'.repeat(700) } });
  const direct = await fetch(`${sim.url}${SECRET_PATH}`, { headers: { 'x-vault-token': 'root' } });
  const secretBytes = new Uint8Array(await direct.arrayBuffer());
  // B1's fixed reply is what a hit on this secret sends: Vault's replayed headers, X-Cache, Age, Date and the body.
  const hitReply = cacheHit({ status: direct.status, headers: replayableHeaders(new Map(direct.headers)), body: secretBytes, storedAtMs: Date.now() }, Date.now());
  if (hitReply.kind !== 'respond') throw new Error('cacheHit did not respond');
  const hitReplyFile = join(dir, 'hit-reply.json');
  writeFileSync(hitReplyFile, JSON.stringify({ status: hitReply.status, headers: Object.entries(hitReply.headers), body: Buffer.from(secretBytes).toString() }));
  const creds = await setupAppRole(sim, { role: 'bench', policies: ['bench'] });
  const results: Record<string, Record<number, Load>> = {};
  // The floors send a client token with the same policy the auto-auth token has, so that Vault
  // does the same work for every scenario (a root token skips the ACL check).
  const clientToken = (await vaultApi(sim, 'POST', 'auth/token/create', { policies: ['bench'], ttl: '2h' })).json.auth.client_token as string;
  const root = { 'x-vault-token': clientToken };

  const measurePeerRows = (): ReturnType<typeof measurePeers> => measurePeers({ dir, concurrency: CONCURRENCY, seconds: SECONDS, rounds: (c) => (c === 64 ? 3 : 1), log });
  if (ONLY === 'peers') {
    await sim.close();
    // BENCH_PEER_ROWS / BENCH_PEER_CONC / BENCH_PROFILE: a part of the peer rows, or a profile of ours under one (bench/peers.ts).
    const rows = process.env['BENCH_PEER_ROWS']?.split(',').map((r) => r.trim()) as PeerScenario[] | undefined;
    const unknown = rows?.filter((r) => !(PEER_SCENARIOS as readonly string[]).includes(r)) ?? [];
    if (unknown.length) throw new Error(`BENCH_PEER_ROWS: unknown rows ${unknown.join(',')} (${PEER_SCENARIOS.join(',')})`);
    const concurrency = process.env['BENCH_PEER_CONC']?.split(',').map(Number) ?? CONCURRENCY;
    const profileDir = process.env['BENCH_PROFILE'] === '1' ? join(REPO_ROOT, 'bench', 'results', 'profile', 'peers') : undefined;
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    const peers = await measurePeers({ dir, concurrency, seconds: SECONDS, rounds: (c) => (c === 64 ? 3 : 1), log, ...(rows ? { rows } : {}), ...(profileDir ? { profileDir } : {}) });
    process.stdout.write(`${JSON.stringify(peers, null, 2)}\n${peerTable(peers, concurrency, SECONDS).join('\n')}\n`);
    if (profileDir) process.stdout.write(`\nvault-extproc (VC, VDL, VDT) over the last ${SECONDS} s of load:\n${summariseProfile(profileDir, SECONDS)}\n`);
    return;
  }
  const measureFleetRows = (): ReturnType<typeof measureFleet> => measureFleet({ dir, concurrency: CONCURRENCY, seconds: SECONDS, rounds: (c) => (c === 1 ? 1 : 3), log });
  if (ONLY === 'fleet') {
    await sim.close();
    const fleet = await measureFleetRows();
    process.stdout.write(`${JSON.stringify(fleet, null, 2)}\n${fleetTable(fleet, CONCURRENCY).join('\n')}\n`);
    return;
  }
  if (ONLY === 'memory') {
    const memory = await measureMemory(sim, dir, creds);
    await sim.close();
    process.stdout.write(`${JSON.stringify(memory, null, 2)}\n${memory.map(memoryLine).join('\n')}\n`);
    return;
  }

  /** A scenario ready to be loaded: where to send requests, and the process whose CPU is counted. */
  interface Target { url: string; headers: Record<string, string>; pid?: number; envoyPid?: number; stop(): Promise<void> }
  const floorTarget = async (name: string, mode: 'hit' | 'continue', nodeArgs: string[] = []): Promise<Target> => {
    const cfg = await writeServiceConfig(dir, name, sim.url, '');
    const floor = new Proc('floor', process.execPath, [...nodeArgs, '--import', 'tsx', join(REPO_ROOT, 'bench', 'floor-server.ts'), mode, String(cfg.extproc), hitReplyFile]);
    await waitFor('floor server', () => (floor.text.includes('listening') ? true : undefined), 15_000);
    const envoy = await envoyFor(cfg.file);
    return { url: `http://127.0.0.1:${cfg.listen}${SECRET_PATH}`, headers: root, pid: floor.pid!, envoyPid: envoy.proc.pid!, stop: async () => { await envoy.stop(); await floor.stop(); } };
  };
  const serviceTarget = async (name: string, body: string, path: string, hits: boolean, nodeArgs: string[] = []): Promise<Target> => {
    const cfg = await writeServiceConfig(dir, name, sim.url, `${appRoleAutoAuth(dir, creds)}\n${body}`);
    const service = await startService(cfg.file, cfg.admin, nodeArgs);
    const envoy = await envoyFor(cfg.file);
    const url = `http://127.0.0.1:${cfg.listen}${path}`;
    const warm = await fetch(url);
    if (warm.status !== 200) throw new Error(`${name}: warm-up answered ${warm.status}`);
    return {
      url, headers: {}, pid: service.pid!, envoyPid: envoy.proc.pid!,
      stop: async () => {
        const cached = hits ? (await fetch(url)).headers.get('x-cache') : undefined;
        await envoy.stop();
        await service.stop();
        if (hits && cached !== 'HIT') throw new Error(`${name}: not a cache hit`);
      },
    };
  };
  const setups: Record<Scenario, () => Promise<Target>> = {
    A: async () => {
      const cfg = await writeServiceConfig(dir, 'a', sim.url, '');
      const envoy = await envoyWithoutExtproc(cfg.file);
      return { url: `http://127.0.0.1:${cfg.listen}${SECRET_PATH}`, headers: root, envoyPid: envoy.proc.pid!, stop: () => envoy.stop() };
    },
    B1: () => floorTarget('B1', 'hit'),
    B2: () => floorTarget('B2', 'continue'),
    C: () => serviceTarget('C', staticCache(), SECRET_PATH, true),
    D: () => serviceTarget('D', 'api_proxy { use_auto_auth_token = true }\ncache {}', CREDS_PATH, true),
    E: () => serviceTarget('E', 'api_proxy { use_auto_auth_token = true }', SECRET_PATH, false),
  };

  /**
   * Every scenario stays up while the others are measured (idle), and the measurements alternate:
   * each concurrency runs the scenarios in turn, rounds(c) times, and keeps the median run. Drift in
   * the machine (other load, CPU frequency) then falls on floor and subject alike.
   */
  async function measureAll(names: Scenario[], concurrency: number[], rounds: (c: number) => number): Promise<void> {
    const targets = new Map<Scenario, Target>();
    try {
      for (const name of names) targets.set(name, await setups[name]());
      for (const [name, t] of targets) await load(t.url, 16, { seconds: 1 }, t.headers, t.pid).then(() => log(`${name} warmed up`));
      for (const c of concurrency) {
        const runs = new Map<Scenario, Load[]>(names.map((n) => [n, []]));
        for (let i = 0; i < rounds(c); i++) {
          for (const [name, t] of targets) runs.get(name)!.push(await load(t.url, c, { seconds: SECONDS }, t.headers, t.pid, undefined, t.envoyPid));
        }
        for (const [name, r] of runs) {
          const median = [...r].sort((a, b) => a.rps - b.rps)[r.length >> 1]!;
          (results[name] ??= {})[c] = r.length > 1 ? { ...median, rounds: r.map((x) => x.rps) } : median;
          log(`${name} c=${c}: ${median.rps} req/s, p50 ${median.p50} ms, p99 ${median.p99} ms${r.length > 1 ? ` (runs: ${r.map((x) => x.rps).join(', ')})` : ''}`);
        }
      }
    } finally {
      for (const t of targets.values()) await t.stop();
    }
  }

  if (ONLY === 'hit') {
    // BENCH_ONLY=hit: the hit path against its floor only (B1 and C, 64 connections, five alternating runs).
    await measureAll(['B1', 'C'], [64], () => 5);
    await sim.close();
    const c = results['C']![64]!;
    const b = results['B1']![64]!;
    process.stdout.write(`C/B1 at c=64: ${throughputRatio(c, b).toFixed(3)} (C ${c.rps} req/s, ${c.cpuSecPer1k} CPU s/1k; B1 ${b.rps} req/s, ${b.cpuSecPer1k} CPU s/1k)\n`);
    return;
  }
  if (ONLY === 'profile') {
    // BENCH_ONLY=profile: CPU profiles of the hit path (C) and its floor (B1) at 64 connections,
    // written to bench/results/profile/{C,B1}/, each summarised by where the process's time goes.
    const profDir = join(REPO_ROOT, 'bench', 'results', 'profile');
    rmSync(profDir, { recursive: true, force: true });
    const summaries: string[] = [];
    for (const [name, start] of [
      ['B1', (args: string[]) => floorTarget('B1', 'hit', args)],
      ['C', (args: string[]) => serviceTarget('C', staticCache(), SECRET_PATH, true, args)],
    ] as const) {
      const t = await start(['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`]);
      await load(t.url, 16, { seconds: 1 }, t.headers, t.pid);
      const r = await load(t.url, 64, { seconds: 5 }, t.headers, t.pid);
      await t.stop();
      summaries.push(`${name} at c=64: ${r.rps} req/s, ${r.cpuSecPer1k} CPU s per 1k requests\n${summariseProfile(join(profDir, name), 5)}`);
    }
    await sim.close();
    process.stdout.write(`${summaries.join('\n\n')}\n`);
    return;
  }
  await measureAll(['A', 'B1', 'B2', 'C', 'D', 'E'], CONCURRENCY, (c) => (c === 64 ? 3 : 1));

  // Peers: what users would run instead, against a real Vault (bench/peers.ts).
  const peers = await measurePeerRows();
  // Fleet: three replicas on one Redis against single processes, against a real Vault (bench/fleet.ts).
  const fleet = await measureFleetRows();
  // FL1 against the peer row VC (the same hit on a single process in front of another Vault, measured earlier in the run).
  fleet.ratios['FL1/VC'] = Object.fromEntries(CONCURRENCY.filter((c) => peers.results['VC']?.[c]).map((c) => [c, Number((fleet.hit.FL1[c]!.rps / peers.results['VC']![c]!.rps).toFixed(3))]));

  // F: offload on a Zipf workload over 1,000 secrets.
  let offload: { clientRequests: number; vaultReads: number; ratio: number; non2xx: number };
  {
    await inBatches(1000, (i) => vaultApi(sim, 'POST', `secret/data/zipf/s${i}`, { data: { v: String(i) } }));
    const cfg = await writeServiceConfig(dir, 'f', sim.url, `${appRoleAutoAuth(dir, creds)}\n${staticCache()}`);
    const service = await startService(cfg.file, cfg.admin);
    const envoy = await envoyFor(cfg.file);
    const pick = zipf(1000);
    sim.clearRequests();
    const n = 20_000;
    const f = await load(`http://127.0.0.1:${cfg.listen}/`, 16, { amount: n }, {}, undefined, () => `/v1/secret/data/zipf/s${pick()}`);
    if (f.non2xx + f.errors > 0) {
      const statuses = sim.requests.filter((r) => r.path.startsWith('/v1/secret/data/zipf/') && r.status !== 200).map((r) => r.status);
      log(`F: ${f.non2xx} non-2xx answers, ${f.errors} errors; Vault answered non-200 ${statuses.length} times (${[...new Set(statuses)].join(',')})`);
    }
    const vaultReads = sim.requests.filter((r) => r.path.startsWith('/v1/secret/data/zipf/')).length;
    offload = { clientRequests: n, vaultReads, ratio: Number((vaultReads / n).toFixed(4)), non2xx: f.non2xx };
    log(`F: ${vaultReads} of ${n} reads reached Vault (${offload.ratio})`);
    await envoy.stop();
    await service.stop();
  }

  const memory = await measureMemory(sim, dir, creds);
  await sim.close();

  const ratio = (a: Scenario, b: Scenario, c: number): number => Number(throughputRatio(results[a]![c]!, results[b]![c]!).toFixed(3));
  const ratios: Record<string, Record<number, number>> = {};
  for (const [name, a, b] of [['C/B1', 'C', 'B1'], ['D/B1', 'D', 'B1'], ['E/B2', 'E', 'B2'], ['C/A', 'C', 'A']] as const) {
    ratios[name] = Object.fromEntries(CONCURRENCY.map((c) => [c, ratio(a, b, c)]));
  }
  const report = {
    date: new Date().toISOString(),
    machine: {
      cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, envoy: readFileSync(join(REPO_ROOT, 'envoy', 'VERSION'), 'utf8').trim(),
      loadAverage1m: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) },
    },
    secretResponseBytes: secretBytes.byteLength, hitReplyHeaders: Object.keys(hitReply.headers),
    results, ratios, peers, fleet, offload, memory,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);

  const rows = ['A', 'B1', 'B2', 'C', 'D', 'E'].flatMap((s) => CONCURRENCY.map((c) => {
    const r = results[s]![c]!;
    return `| ${s} | ${c} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cpuSecPer1k ?? ''} | ${r.envoyCpuSecPer1k ?? ''} | ${r.non2xx + r.errors} |`;
  }));
  process.stdout.write([
    `vault-extproc bench — ${report.machine.cores} cores, Node ${report.machine.node}, Envoy ${report.machine.envoy}, ${report.seconds} s, load average ${report.machine.loadAverage1m.start} → ${report.machine.loadAverage1m.end}`,
    '',
    `| scenario | conc. | req/s (${SECONDS} s runs) | p50 ms | p99 ms | CPU s / 1k req (processor) | CPU s / 1k req (Envoy) | errors |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '| ratio (throughput) | c=1 | c=16 | c=64 |',
    '|---|---|---|---|',
    ...Object.entries(ratios).map(([k, v]) => `| ${k} | ${v[1]} | ${v[16]} | ${v[64]} |`),
    '',
    ...peerTable(peers, CONCURRENCY, SECONDS),
    '',
    ...fleetTable(fleet, CONCURRENCY),
    '',
    `F offload: ${offload.vaultReads} of ${offload.clientRequests} Zipf reads over 1,000 secrets reached Vault (${offload.ratio})`,
    ...memory.map(memoryLine),
    '',
  ].join('\n'));
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
