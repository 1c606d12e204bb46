import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { AUTO_AUTH_LEASE_CACHE, X_VAULT_REQUEST } from '../support/oracle.js';
import { sleep, waitFor } from '../support/ports.js';
import { rawRequest, type RawRequest, type RawResponse } from '../support/raw-http.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';
import { startVaultProxy, type RunningVaultProxy } from '../support/vault-proxy.js';

// Vault Proxy as the oracle for its telemetry: the same requests go to the real `vault proxy` of
// the build and to Envoy + vault-extproc, both with the same telemetry stanza, and
// /proxy/v1/metrics must show the same metric names, kinds and labels in its JSON (go-metrics)
// and Prometheus forms. Values are compared only where they are deterministic: how much each
// Vault series grew over a known sequence of requests.

const TELEMETRY = `telemetry {
  prometheus_retention_time = "1h"
  disable_hostname = true
}
`;
const STANZAS = `${AUTO_AUTH_LEASE_CACHE}${TELEMETRY}`;
const OK = X_VAULT_REQUEST;

/** Go-only runtime series (go-metrics' MemStats): Node.js has no counterpart. */
const GO_ONLY_RUNTIME = ['vault.runtime.malloc_count', 'vault.runtime.free_count', 'vault.runtime.heap_objects'];
/** Vault 1.18's auth gauge: the 1.15.6 oracle has none. */
const NEWER_THAN_ORACLE = ['vault.proxy.authenticated'];

type Kind = 'gauge' | 'counter' | 'sample';
interface JsonSummary {
  Timestamp: string;
  Gauges: Array<{ Name: string; Labels: Record<string, string> }>;
  Counters: Array<{ Name: string; Count: number; Labels: Record<string, string> }>;
  Samples: Array<{ Name: string; Labels: Record<string, string> }>;
  Points: unknown[];
}

/** Name → kind and label names, over every JSON summary seen (one per finished 10 s interval). */
function jsonSeries(summaries: JsonSummary[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of summaries) {
    for (const [kind, list] of [['gauge', s.Gauges], ['counter', s.Counters], ['sample', s.Samples]] as Array<[Kind, JsonSummary['Gauges']]>) {
      for (const m of list) out.set(m.Name, `${kind} {${Object.keys(m.Labels).sort().join(',')}}`);
    }
  }
  return out;
}

/** Prometheus text → family name → `TYPE {label names}`, and the sample values. */
function promFamilies(text: string): { families: Map<string, string>; values: Map<string, number> } {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      labels.set(t[1]!, new Set());
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!s) continue;
    values.set(s[2] ? `${s[1]}{${s[2]}}` : s[1]!, Number(s[3]));
    const family = [...types.keys()].reverse().find((f) => s[1] === f || s[1]!.startsWith(`${f}_`));
    for (const pair of (s[2] ?? '').split(',').filter(Boolean)) {
      const name = pair.slice(0, pair.indexOf('='));
      if (name !== 'quantile' && name !== 'le' && family) labels.get(family)!.add(name);
    }
  }
  const families = new Map<string, string>();
  for (const [name, type] of types) families.set(name, `${type} {${[...labels.get(name)!].sort().join(',')}}`);
  return { families, values };
}

function pick(m: Map<string, string>, keep: (name: string) => boolean): Record<string, string> {
  return Object.fromEntries([...m].filter(([n]) => keep(n)).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function seen(res: RawResponse): { status: number; contentType: string | undefined; body: string } {
  return { status: res.status, contentType: res.headers['content-type'], body: res.body };
}

forEachBackend('e2e: Vault Proxy 1.15.6 as the oracle for /proxy/v1/metrics (same traffic, same names and kinds)', function (kind) {
  this.timeout(180_000);
  let sim: Backend;
  let proxy: RunningVaultProxy;
  let stack: Stack;
  let client: AppRoleCreds;
  showLogsOnFailure(() => [stack], () => ({ logs: () => `${proxy?.proc.text ?? ''}\n${sim?.logs?.() ?? ''}` }));

  before(async () => {
    sim = await startBackend(kind);
    await writePolicy(sim, 'oracle', 'path "secret/data/oracle/*" { capabilities = ["read"] }');
    await vaultApi(sim, 'POST', 'secret/data/oracle/config', { data: { answer: '42' } });
    const forProxy = await setupAppRole(sim, { role: 'oracle', policies: ['oracle'] });
    const forUs = await setupAppRole(sim, { role: 'oracle', policies: ['oracle'] });
    client = await setupAppRole(sim, { role: 'client', policies: ['oracle'] });
    proxy = await startVaultProxy({
      vault: sim,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, forProxy)}\n${STANZAS}`,
      ready: async (url) => (await fetch(`${url}/v1/secret/data/oracle/config`, { headers: { 'x-vault-request': 'true' } })).status === 200,
    });
    stack = await startStack({ vault: sim, hcl: ({ dir }) => `${appRoleAutoAuth(dir, forUs)}\n${STANZAS}`, waitReady: true });
    // go-metrics sends its first runtime series a second after start.
    await waitFor('Vault Proxy\'s runtime series', async () => ((await rawRequest(proxy.url, { method: 'GET', path: '/proxy/v1/metrics?format=prometheus' })).body.includes('vault_runtime_alloc_bytes') ? true : undefined), 5_000, 200);
  });
  after(async () => {
    await stack?.stop();
    await proxy?.stop();
    await sim?.close();
  });

  async function both(req: RawRequest): Promise<{ theirs: ReturnType<typeof seen>; ours: ReturnType<typeof seen> }> {
    return { theirs: seen(await rawRequest(proxy.url, req)), ours: seen(await rawRequest(stack.url, req)) };
  }

  const prom = async (url: string): Promise<ReturnType<typeof promFamilies>> => {
    const res = await rawRequest(url, { method: 'GET', path: '/proxy/v1/metrics?format=prometheus' });
    expect(res.status, res.body).to.equal(200);
    return promFamilies(res.body);
  };

  /** The same requests on both sides: a read, a 404, a 403, and the same login twice (the second from the lease cache). */
  async function traffic(): Promise<void> {
    const login: RawRequest = {
      method: 'POST', path: '/v1/auth/approle/login', headers: [OK, ['content-type', 'application/json']],
      body: JSON.stringify({ role_id: client.roleId, secret_id: client.secretId }),
    };
    const steps: Array<{ req: RawRequest; status: number }> = [
      { req: { method: 'GET', path: '/v1/secret/data/oracle/config', headers: [OK] }, status: 200 },
      { req: { method: 'GET', path: '/v1/secret/data/oracle/missing', headers: [OK] }, status: 404 },
      { req: { method: 'GET', path: '/v1/secret/data/other', headers: [OK] }, status: 403 },
      { req: login, status: 200 },
      { req: login, status: 200 },
    ];
    for (const { req, status } of steps) {
      const { theirs, ours } = await both(req);
      expect([theirs.status, ours.status], `${req.method} ${req.path}`).to.deep.equal([status, status]);
    }
  }

  const VAULT_COUNTERS = ['vault_agent_proxy_success', 'vault_agent_proxy_client_error', 'vault_agent_proxy_error', 'vault_agent_cache_hit', 'vault_agent_cache_miss', 'vault_proxy_auth_success', 'vault_proxy_auth_failure'];
  let grewTheirs: Record<string, number>;
  let grewOurs: Record<string, number>;
  let promTheirs: ReturnType<typeof promFamilies>;
  let promOurs: ReturnType<typeof promFamilies>;

  it('the same traffic makes each Vault series grow by the same amount on both (Prometheus form, before and after)', async () => {
    const [t0, o0] = [await prom(proxy.url), await prom(stack.url)];
    await traffic();
    [promTheirs, promOurs] = [await prom(proxy.url), await prom(stack.url)];
    const grew = (before: Map<string, number>, after: Map<string, number>): Record<string, number> =>
      Object.fromEntries(VAULT_COUNTERS.map((n) => [n, (after.get(n) ?? 0) - (before.get(n) ?? 0)]));
    grewTheirs = grew(t0.values, promTheirs.values);
    grewOurs = grew(o0.values, promOurs.values);
    // The read and the two logins succeed (one login from the cache); the 404 and 403 are client errors.
    expect(grewTheirs).to.deep.equal({
      vault_agent_proxy_success: 3, vault_agent_proxy_client_error: 2, vault_agent_proxy_error: 0, vault_agent_cache_hit: 1, vault_agent_cache_miss: 2,
      vault_proxy_auth_success: 0, vault_proxy_auth_failure: 0,
    });
    expect(grewOurs).to.deep.equal(grewTheirs);
  });

  it('Prometheus: the same vault_* families with the same TYPE and labels; process_* families of the same type', () => {
    const vaultOnly = (n: string): boolean => n.startsWith('vault_');
    const goOnly = new Set(GO_ONLY_RUNTIME.map((n) => n.replace(/\./g, '_')));
    const newer = new Set(NEWER_THAN_ORACLE.map((n) => n.replace(/\./g, '_')));
    const theirs = pick(promTheirs.families, (n) => vaultOnly(n) && !goOnly.has(n));
    const ours = pick(promOurs.families, (n) => vaultOnly(n) && !newer.has(n));
    // A GC pause summary appears only when a collection ran within its window: compared when both have it.
    for (const side of [theirs, ours]) delete side['vault_runtime_gc_pause_ns'];
    expect(ours).to.deep.equal(theirs);
    expect(Object.keys(theirs)).to.include.members(['vault_agent_cache_hit', 'vault_agent_proxy_success', 'vault_proxy_auth_success', 'vault_runtime_alloc_bytes']);
    if (promTheirs.families.has('vault_runtime_gc_pause_ns') && promOurs.families.has('vault_runtime_gc_pause_ns')) {
      expect(promOurs.families.get('vault_runtime_gc_pause_ns')).to.equal(promTheirs.families.get('vault_runtime_gc_pause_ns'));
    }
    // Vault 1.18's gauge, which 1.15.6 does not have yet.
    expect(promOurs.families.get('vault_proxy_authenticated')).to.equal('gauge {}');
    expect(promOurs.values.get('vault_proxy_authenticated')).to.equal(1);
    // The runtime's own families: Go's go_* there, Node's nodejs_* here; process_* on both, of the same type.
    const process = [...promTheirs.families.keys()].filter((n) => n.startsWith('process_') && promOurs.families.has(n));
    expect(process).to.include.members(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds']);
    for (const n of process) expect(promOurs.families.get(n), n).to.equal(promTheirs.families.get(n));
  });

  it('JSON (go-metrics\' in-memory summaries of finished 10 s intervals): the same names, kinds and labels', async () => {
    const summaries = { theirs: [] as JsonSummary[], ours: [] as JsonSummary[] };
    const stamps = { theirs: new Set<string>(), ours: new Set<string>() };
    // Our traffic of the test above lands in an interval that finishes within 10 s; collect every interval shown until then.
    const until = Date.now() + 22_000;
    while (Date.now() < until) {
      for (const [side, url] of [['theirs', proxy.url], ['ours', stack.url]] as const) {
        const res = await rawRequest(url, { method: 'GET', path: '/proxy/v1/metrics' });
        expect(res.status).to.equal(200);
        expect(res.headers['content-type']).to.equal('application/json');
        const body = JSON.parse(res.body) as JsonSummary;
        expect(Object.keys(body)).to.deep.equal(['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
        expect(body.Timestamp).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d0 \+0000 UTC$/);
        if (!stamps[side].has(body.Timestamp)) {
          stamps[side].add(body.Timestamp);
          summaries[side].push(body);
        }
      }
      await sleep(2_000);
    }
    const theirs = pick(jsonSeries(summaries.theirs), (n) => !GO_ONLY_RUNTIME.includes(n) && n !== 'vault.runtime.gc_pause_ns');
    const ours = pick(jsonSeries(summaries.ours), (n) => !NEWER_THAN_ORACLE.includes(n) && n !== 'vault.runtime.gc_pause_ns');
    expect(ours).to.deep.equal(theirs);
    expect(theirs).to.include({ 'vault.agent.cache.hit': 'counter {}', 'vault.agent.proxy.client_error': 'counter {}', 'vault.runtime.alloc_bytes': 'gauge {}' });
    expect(jsonSeries(summaries.ours).get('vault.proxy.authenticated')).to.equal('gauge {}');
    // The counts over the intervals shown add up to the same traffic on both sides.
    const total = (list: JsonSummary[], name: string): number => list.flatMap((s) => s.Counters).filter((c) => c.Name === name).reduce((a, c) => a + c.Count, 0);
    for (const name of ['vault.agent.cache.hit', 'vault.agent.proxy.client_error']) {
      expect(total(summaries.ours, name), name).to.equal(total(summaries.theirs, name));
    }
  });

  it('the answers Vault\'s handler gives itself: 405 for POST, 400 for an unknown format, a bad escape, as Vault Proxy', async () => {
    for (const req of [
      { method: 'POST', path: '/proxy/v1/metrics', headers: [OK] },
      { method: 'PUT', path: '/proxy/v1/metrics?format=prometheus' },
      { method: 'GET', path: '/proxy/v1/metrics?format=xml' },
      { method: 'GET', path: '/proxy/v1/metrics?format=%zz' },
    ] as RawRequest[]) {
      const { theirs, ours } = await both(req);
      expect(ours, `${req.method} ${req.path}: Vault Proxy answered ${JSON.stringify(theirs)}`).to.deep.equal(theirs);
    }
  });

  it('the Accept header picks Prometheus as in Vault Proxy (OpenMetrics, prometheus/telemetry)', async () => {
    for (const accept of ['application/openmetrics-text; version=1.0.0', 'prometheus/telemetry']) {
      const { theirs, ours } = await both({ method: 'GET', path: '/proxy/v1/metrics', headers: [['accept', accept]] });
      expect([ours.status, ours.contentType], accept).to.deep.equal([theirs.status, theirs.contentType]);
      expect(ours.body).to.match(/^# HELP vault_/);
    }
  });
});

forEachBackend('e2e: Vault Proxy 1.15.6 as the oracle for /proxy/v1/metrics without Prometheus', function (kind) {
  this.timeout(120_000);
  let sim: Backend;
  let proxy: RunningVaultProxy;
  let stack: Stack;
  showLogsOnFailure(() => [stack], () => ({ logs: () => `${proxy?.proc.text ?? ''}\n${sim?.logs?.() ?? ''}` }));

  before(async () => {
    sim = await startBackend(kind);
    // No telemetry stanza on one pair of sides would do too (Vault: no Prometheus sink without one); this is the written-out form.
    const hcl = 'cache {}\ntelemetry {\n  prometheus_retention_time = 0\n}\n';
    proxy = await startVaultProxy({ vault: sim, hcl: () => hcl });
    stack = await startStack({ vault: sim, hcl: () => hcl, waitReady: true });
  });
  after(async () => {
    await stack?.stop();
    await proxy?.stop();
    await sim?.close();
  });

  it('prometheus_retention_time = 0: ?format=prometheus is a 400 "prometheus is not enabled" on both; JSON still answers', async () => {
    const req: RawRequest = { method: 'GET', path: '/proxy/v1/metrics?format=prometheus' };
    const theirs = seen(await rawRequest(proxy.url, req));
    const ours = seen(await rawRequest(stack.url, req));
    expect(theirs).to.deep.equal({ status: 400, contentType: 'text/plain', body: 'prometheus is not enabled' });
    expect(ours).to.deep.equal(theirs);
    for (const url of [proxy.url, stack.url]) {
      const res = await rawRequest(url, { method: 'GET', path: '/proxy/v1/metrics' });
      expect([res.status, res.headers['content-type']]).to.deep.equal([200, 'application/json']);
    }
  });
});
