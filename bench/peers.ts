/**
 * Peer rows of `npm run bench` (issue 15 item 4): what users would run instead, measured in the
 * same run against a real Vault 1.15.6 dev server (a process of its own, so that its CPU is its
 * own), with the CPU time of every process involved over each row, from /proc/<pid>/stat
 * (utime + stime), as CPU-ms per 1,000 requests.
 *
 *   V    KV v2 read from Vault directly (client token)
 *   VE   the same read through Envoy without ext_proc
 *   VP   the same read through Vault Proxy 1.15.6 (proxied: its static-secret cache is Enterprise-only)
 *   VM   the same read through Envoy + vault-extproc with no cache (proxied: our miss path)
 *   VC   the same read through Envoy + vault-extproc, static-cache hit
 *   DR   Envoy answering the same body with a direct_response (the ceiling of any Envoy-based design)
 *   VPL  Vault Proxy lease-cache hit: an AppRole login answered from its cache
 *   VDL  vault-extproc lease-cache hit: the same login through Envoy
 *   VPT  Vault Proxy lease-cache hit: auth/token/create with the auto-auth token (use_auto_auth_token)
 *   VDT  vault-extproc lease-cache hit: the same token creation through Envoy
 *
 * Every hit is confirmed before and after its load (X-Cache: HIT for ours; for Vault Proxy, which
 * sends no X-Cache, the same token handed out again). No timed assertions: numbers and ratios only.
 *
 * BENCH_PEER_ROWS=VDL,VPL loads only those rows (every process still starts); BENCH_PEER_CONC=64
 * only that concurrency. BENCH_PROFILE=1 runs the vault-extproc that serves VC, VDL and VDT under
 * `node --cpu-prof` and prints where its time went over the last row's load (the profile is in
 * bench/results/profile/peers/): with BENCH_PEER_ROWS=VDL, a lease-cache hit's profile.
 * BENCH_NODE_ARGS (space-separated) are passed to that same process's node (e.g. `--prof`).
 */
import autocannon from 'autocannon';
import { join } from 'node:path';
import { WORKER_POLICY } from '../test/e2e/adversarial/support.js';
import { startRealDevVault } from '../test/support/backend.js';
import { startEnvoy, type RunningEnvoy } from '../test/support/envoy.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { waitFor } from '../test/support/ports.js';
import { Proc, run } from '../test/support/process.js';
import { startVaultProxy } from '../test/support/vault-proxy.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../test/support/vault-setup.js';
import { cpuSeconds, envoyBootstrap, hcmOf, startService, withoutExtproc, writeServiceConfig } from './service.js';

export const PEER_SCENARIOS = ['V', 'VE', 'VP', 'VM', 'VC', 'DR', 'VPL', 'VDL', 'VPT', 'VDT'] as const;
export type PeerScenario = typeof PEER_SCENARIOS[number];

export interface PeerLoad {
  rps: number; p50: number; p99: number; non2xx: number; errors: number;
  /** CPU-ms per 1,000 requests, by process, and their sum. */
  cpuMsPer1k: Record<string, number>;
  rounds?: number[];
}

export interface PeerResults {
  backend: string;
  results: Record<string, Record<number, PeerLoad>>;
  /** Throughput ratios (median of side-by-side runs at 64 connections). */
  ratios: Record<string, Record<number, number>>;
  /** Total CPU-ms per 1,000 requests of the processes a deployment runs (ours: Envoy + vault-extproc; theirs: Vault Proxy), and of Vault. */
  cpuPer1k: Record<string, Record<number, { proxyMs: number; vaultMs: number }>>;
}

const ROOT = 'root';
const SECRET = 'secret/data/bench/one';

interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The processes that serve this row (CPU counted for each). */
  pids: Record<string, number>;
  /** Throws unless the request is answered as the row claims (a hit is a hit). */
  confirm(): Promise<void>;
}

async function load(t: Target, connections: number, seconds: number): Promise<PeerLoad> {
  const before = Object.fromEntries(Object.entries(t.pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const r = await autocannon({ url: t.url, connections, duration: seconds, method: t.method, headers: t.headers, ...(t.body ? { body: t.body } : {}) });
  const total = Math.max(r.requests.total, 1);
  const cpuMsPer1k: Record<string, number> = {};
  let sum = 0;
  for (const [k, pid] of Object.entries(t.pids)) {
    const ms = ((cpuSeconds(pid) - before[k]!) * 1e6) / total;
    cpuMsPer1k[k] = Number(ms.toFixed(1));
    sum += ms;
  }
  cpuMsPer1k['total'] = Number(sum.toFixed(1));
  return { rps: Math.round(r.requests.total / seconds), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuMsPer1k };
}

/** Envoy + vault-extproc in front of `vaultUrl`; ready once auto-auth holds a token. */
async function startOurs(dir: string, name: string, vaultUrl: string, body: string, stops: Array<() => Promise<unknown>>, nodeArgs: string[] = []): Promise<{ url: string; envoy: RunningEnvoy; service: Proc }> {
  const cfg = await writeServiceConfig(dir, name, vaultUrl, body);
  const service = await startService(cfg.file, cfg.admin, nodeArgs);
  stops.push(() => service.stop());
  const { json, admin } = await envoyBootstrap(cfg.file);
  const envoy = await startEnvoy(JSON.stringify(json), admin);
  stops.push(() => envoy.stop());
  return { url: `http://127.0.0.1:${cfg.listen}`, envoy, service };
}

async function expectHit(url: string, init: RequestInit, what: string): Promise<void> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (res.status !== 200 || res.headers.get('x-cache') !== 'HIT') throw new Error(`${what}: not a cache hit (${res.status}, X-Cache ${res.headers.get('x-cache')})`);
}

/** Vault Proxy sends no X-Cache: a lease-cache hit hands out the same token as the request before. */
async function expectSameToken(url: string, init: RequestInit, what: string): Promise<void> {
  const token = async (): Promise<string> => {
    const res = await fetch(url, init);
    const json = (await res.json()) as { auth?: { client_token?: string } };
    if (res.status !== 200 || !json.auth?.client_token) throw new Error(`${what}: ${res.status}`);
    return json.auth.client_token;
  };
  const [a, b] = [await token(), await token()];
  if (a !== b) throw new Error(`${what}: Vault Proxy answered a new token (not from its cache)`);
}

export async function measurePeers(opts: {
  dir: string; concurrency: number[]; seconds: number; rounds: (c: number) => number; log: (msg: string) => void;
  /** The rows to load (default: all). */
  rows?: readonly PeerScenario[];
  /** A directory for a CPU profile of the vault-extproc serving VC, VDL and VDT (written when it stops). */
  profileDir?: string;
}): Promise<PeerResults> {
  const stops: Array<() => Promise<unknown>> = [];
  const rows = opts.rows ?? PEER_SCENARIOS;
  try {
    // The real Vault 1.15.6 of the test suites (a no-op when built; `npm run vault:real`).
    const built = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'vault-real.mjs'), 'build', '--quiet', '--version', 'real']);
    if (built.code !== 0) throw new Error(`building the real Vault failed: ${built.stderr}`);
    const vault = await startRealDevVault(ROOT);
    stops.push(() => vault.proc.stop());
    const v = { url: vault.url, rootToken: ROOT };
    await writePolicy(v, 'bench', 'path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }');
    await writePolicy(v, 'worker', WORKER_POLICY);
    await writePolicy(v, 'creator', 'path "auth/token/create" { capabilities = ["update"] }');
    await vaultApi(v, 'POST', SECRET, { data: { password: 'p'.repeat(700) } });
    const secretRes = await fetch(`${vault.url}/v1/${SECRET}`, { headers: { 'x-vault-token': ROOT } });
    const secretBody = await secretRes.text();
    const clientToken = (await vaultApi(v, 'POST', 'auth/token/create', { policies: ['bench'], ttl: '2h' })).json.auth.client_token as string;
    const login: AppRoleCreds = await setupAppRole(v, { role: 'bench-client', policies: ['bench'] });
    const ourWorker = await setupAppRole(v, { role: 'bench-ours', policies: ['worker', 'creator', 'bench'] });
    const theirWorker = await setupAppRole(v, { role: 'bench-proxy', policies: ['worker', 'creator', 'bench'] });
    const vaultPid = vault.proc.pid!;

    // Theirs: Vault Proxy with auto-auth, the lease cache, and the auto-auth token for token-less requests.
    const proxy = await startVaultProxy({
      vault: v, hcl: ({ dir }) => `${appRoleAutoAuth(dir, theirWorker)}\napi_proxy { use_auto_auth_token = true }\ncache {}\n`,
      ready: async (url) => (await fetch(`${url}/v1/auth/token/lookup-self`)).status === 200,
    });
    stops.push(() => proxy.stop());
    // Ours: the same stanzas plus the static cache; and a second service with no cache (the miss path).
    const cached = await startOurs(opts.dir, 'peer-cached', vault.url,
      `${appRoleAutoAuth(opts.dir, ourWorker)}\napi_proxy { use_auto_auth_token = true }\ncache { cache_static_secrets = true }`, stops,
      [...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : []), ...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? [])]);
    const uncached = await startOurs(opts.dir, 'peer-uncached', vault.url, `${appRoleAutoAuth(opts.dir, ourWorker)}\napi_proxy { use_auto_auth_token = true }`, stops);
    // Envoy alone in front of Vault, and Envoy answering by itself.
    const plainCfg = await writeServiceConfig(opts.dir, 'peer-plain', vault.url, '');
    const plain = await envoyBootstrap(plainCfg.file);
    withoutExtproc(plain.json);
    const envoyPlain = await startEnvoy(JSON.stringify(plain.json), plain.admin);
    stops.push(() => envoyPlain.stop());
    const drCfg = await writeServiceConfig(opts.dir, 'peer-dr', vault.url, '');
    const dr = await envoyBootstrap(drCfg.file);
    const drHcm = hcmOf(dr.json);
    drHcm.http_filters = drHcm.http_filters.filter((f: { name: string }) => f.name !== 'envoy.filters.http.ext_proc');
    drHcm.route_config.virtual_hosts[0].routes = [{
      match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: secretBody } },
      response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' } }],
    }];
    const envoyDr = await startEnvoy(JSON.stringify(dr.json), dr.admin);
    stops.push(() => envoyDr.stop());

    const read = { 'x-vault-token': clientToken };
    const loginBody = JSON.stringify({ role_id: login.roleId, secret_id: login.secretId });
    const createBody = JSON.stringify({ policies: ['bench'], meta: { bench: 'peer' } });
    const json = { 'content-type': 'application/json' };
    const ourPids = { envoy: cached.envoy.proc.pid!, 'vault-extproc': cached.service.pid!, vault: vaultPid };
    const proxyPids = { 'vault-proxy': proxy.proc.pid!, vault: vaultPid };
    const ok = async (url: string, init: RequestInit, what: string): Promise<void> => {
      const res = await fetch(url, init);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${what}: ${res.status}`);
    };
    const targets: Record<PeerScenario, Target> = {
      V: { url: `${vault.url}/v1/${SECRET}`, method: 'GET', headers: read, pids: { vault: vaultPid }, confirm: () => ok(`${vault.url}/v1/${SECRET}`, { headers: read }, 'V') },
      VE: {
        url: `http://127.0.0.1:${plainCfg.listen}/v1/${SECRET}`, method: 'GET', headers: read, pids: { envoy: envoyPlain.proc.pid!, vault: vaultPid },
        confirm: () => ok(`http://127.0.0.1:${plainCfg.listen}/v1/${SECRET}`, { headers: read }, 'VE'),
      },
      VP: { url: `${proxy.url}/v1/${SECRET}`, method: 'GET', headers: read, pids: proxyPids, confirm: () => ok(`${proxy.url}/v1/${SECRET}`, { headers: read }, 'VP') },
      VM: {
        url: `${uncached.url}/v1/${SECRET}`, method: 'GET', headers: read,
        pids: { envoy: uncached.envoy.proc.pid!, 'vault-extproc': uncached.service.pid!, vault: vaultPid },
        confirm: async () => {
          const res = await fetch(`${uncached.url}/v1/${SECRET}`, { headers: read });
          await res.arrayBuffer();
          if (res.status !== 200 || res.headers.get('x-cache') === 'HIT') throw new Error(`VM: ${res.status}, X-Cache ${res.headers.get('x-cache')}`);
        },
      },
      VC: { url: `${cached.url}/v1/${SECRET}`, method: 'GET', headers: read, pids: ourPids, confirm: () => expectHit(`${cached.url}/v1/${SECRET}`, { headers: read }, 'VC') },
      DR: {
        url: `http://127.0.0.1:${drCfg.listen}/v1/${SECRET}`, method: 'GET', headers: read, pids: { envoy: envoyDr.proc.pid! },
        confirm: () => ok(`http://127.0.0.1:${drCfg.listen}/v1/${SECRET}`, {}, 'DR'),
      },
      VPL: {
        url: `${proxy.url}/v1/auth/approle/login`, method: 'POST', headers: json, body: loginBody, pids: proxyPids,
        confirm: () => expectSameToken(`${proxy.url}/v1/auth/approle/login`, { method: 'POST', headers: json, body: loginBody }, 'VPL'),
      },
      VDL: {
        url: `${cached.url}/v1/auth/approle/login`, method: 'POST', headers: json, body: loginBody, pids: ourPids,
        confirm: () => expectHit(`${cached.url}/v1/auth/approle/login`, { method: 'POST', headers: json, body: loginBody }, 'VDL'),
      },
      VPT: {
        url: `${proxy.url}/v1/auth/token/create`, method: 'POST', headers: json, body: createBody, pids: proxyPids,
        confirm: () => expectSameToken(`${proxy.url}/v1/auth/token/create`, { method: 'POST', headers: json, body: createBody }, 'VPT'),
      },
      VDT: {
        url: `${cached.url}/v1/auth/token/create`, method: 'POST', headers: json, body: createBody, pids: ourPids,
        confirm: () => expectHit(`${cached.url}/v1/auth/token/create`, { method: 'POST', headers: json, body: createBody }, 'VDT'),
      },
    };
    // Fill the caches (the first request of each is a miss), then confirm every row.
    for (const name of ['VC', 'VDL', 'VDT'] as const) {
      const t = targets[name];
      await waitFor(`${name} cached`, async () => {
        await fetch(t.url, { method: t.method, headers: t.headers, ...(t.body ? { body: t.body } : {}) }).then((r) => r.arrayBuffer());
        return t.confirm().then(() => true, () => undefined);
      }, 10_000, 100);
    }
    for (const t of Object.values(targets)) await t.confirm();
    for (const name of rows) await load(targets[name], 16, 1).then(() => opts.log(`${name} warmed up`));

    const results: Record<string, Record<number, PeerLoad>> = {};
    for (const c of opts.concurrency) {
      const runs = new Map<PeerScenario, PeerLoad[]>(rows.map((n) => [n, []]));
      for (let i = 0; i < opts.rounds(c); i++) {
        for (const name of rows) runs.get(name)!.push(await load(targets[name], c, opts.seconds));
      }
      for (const [name, r] of runs) {
        const median = [...r].sort((a, b) => a.rps - b.rps)[r.length >> 1]!;
        (results[name] ??= {})[c] = r.length > 1 ? { ...median, rounds: r.map((x) => x.rps) } : median;
        opts.log(`${name} c=${c}: ${median.rps} req/s, p50 ${median.p50} ms, p99 ${median.p99} ms, CPU-ms/1k ${JSON.stringify(median.cpuMsPer1k)}`);
      }
    }
    // Still hits after the load (nothing was evicted or expired meanwhile).
    for (const name of ['VC', 'VDL', 'VDT', 'VPL', 'VPT'] as const) if (rows.includes(name)) await targets[name].confirm();

    const ratio = (a: PeerLoad, b: PeerLoad): number => {
      if (!a.rounds || !b.rounds || a.rounds.length !== b.rounds.length) return Number((a.rps / b.rps).toFixed(3));
      const pairs = a.rounds.map((x, i) => x / b.rounds![i]!).sort((p, q) => p - q);
      return Number(pairs[pairs.length >> 1]!.toFixed(3));
    };
    const ratios: Record<string, Record<number, number>> = {};
    for (const [name, a, b] of [
      ['VC/VP', 'VC', 'VP'], ['VC/VE', 'VC', 'VE'], ['VC/V', 'VC', 'V'], ['VC/DR', 'VC', 'DR'], ['VM/VP', 'VM', 'VP'],
      ['VDL/VPL', 'VDL', 'VPL'], ['VDT/VPT', 'VDT', 'VPT'],
    ] as const) {
      if (!results[a] || !results[b]) continue;
      ratios[name] = Object.fromEntries(opts.concurrency.map((c) => [c, ratio(results[a]![c]!, results[b]![c]!)]));
    }
    const cpuPer1k: PeerResults['cpuPer1k'] = {};
    for (const name of rows) {
      cpuPer1k[name] = Object.fromEntries(opts.concurrency.map((c) => {
        const cpu = results[name]![c]!.cpuMsPer1k;
        const proxyMs = (cpu['envoy'] ?? 0) + (cpu['vault-extproc'] ?? 0) + (cpu['vault-proxy'] ?? 0);
        return [c, { proxyMs: Number(proxyMs.toFixed(1)), vaultMs: cpu['vault'] ?? 0 }];
      }));
    }
    return { backend: 'Vault 1.15.6 dev server (real, one process)', results, ratios, cpuPer1k };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

/** The peer rows as markdown table lines. */
export function peerTable(p: PeerResults, concurrency: number[], seconds: number): string[] {
  const cpu = (l: PeerLoad): string => Object.entries(l.cpuMsPer1k).filter(([k]) => k !== 'total').map(([k, ms]) => `${k} ${ms}`).join(', ');
  return [
    `Peers against ${p.backend}:`,
    '',
    `| scenario | conc. | req/s (${seconds} s runs) | p50 ms | p99 ms | CPU-ms / 1k req by process | total | errors |`,
    '|---|---|---|---|---|---|---|---|',
    ...PEER_SCENARIOS.filter((s) => p.results[s]).flatMap((s) => concurrency.filter((c) => p.results[s]![c]).map((c) => {
      const r = p.results[s]![c]!;
      return `| ${s} | ${c} | ${r.rps} | ${r.p50} | ${r.p99} | ${cpu(r)} | ${r.cpuMsPer1k['total']} | ${r.non2xx + r.errors} |`;
    })),
    '',
    `| ratio (throughput) | ${concurrency.map((c) => `c=${c}`).join(' | ')} |`,
    `|---|${concurrency.map(() => '---').join('|')}|`,
    ...Object.entries(p.ratios).map(([k, v]) => `| ${k} | ${concurrency.map((c) => v[c]).join(' | ')} |`),
  ];
}
