import { expect } from 'chai';
import { defaultTelemetry, type TelemetryConfig } from '../../../src/config/telemetry.js';
import { float32Json, goFloat, VaultMetrics } from '../../../src/telemetry/vault-metrics.js';

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0); // on a 10 s boundary

function telemetry(over: Partial<TelemetryConfig> = {}): TelemetryConfig {
  return { ...defaultTelemetry('proxy'), present: true, prometheusRetentionSeconds: 86400, ...over };
}

function clock(): { now: () => number; at: (ms: number) => void } {
  let t = T0;
  return { now: () => t, at: (ms) => { t = T0 + ms; } };
}

const GET = { method: 'GET', rawQuery: '', accept: [] as string[] };

async function json(m: VaultMetrics): Promise<{ Timestamp: string; Gauges: Array<Record<string, unknown>>; Counters: Array<Record<string, unknown>>; Samples: unknown[]; Points: unknown[] }> {
  const a = await m.answer(GET);
  expect(a.status).to.equal(200);
  expect(a.contentType).to.equal('application/json');
  return JSON.parse(a.body);
}

describe('telemetry: Vault Agent/Proxy metrics (go-metrics in-memory and Prometheus sinks)', () => {
  it('JSON: go-metrics\' summary shape, counters as per-interval aggregates, names with the service name first', async () => {
    const c = clock();
    const m = new VaultMetrics(telemetry(), { now: c.now, hostname: 'h1' });
    m.proxySuccess(false);
    m.proxySuccess(true);
    m.proxyClientError();
    m.authSuccess();
    const body = await json(m);
    expect(Object.keys(body)).to.deep.equal(['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
    expect(body.Timestamp).to.equal('2026-12-07 06:00:00 +0000 UTC');
    expect(body.Gauges).to.deep.equal([{ Name: 'vault.proxy.authenticated', Value: 1, Labels: {} }]);
    expect(body.Counters.map((x) => x['Name'])).to.deep.equal([
      'vault.agent.cache.hit', 'vault.agent.cache.miss', 'vault.agent.proxy.client_error', 'vault.agent.proxy.success', 'vault.proxy.auth.success',
    ]);
    expect(body.Counters.find((x) => x['Name'] === 'vault.agent.proxy.success')).to.deep.equal({
      Name: 'vault.agent.proxy.success', Count: 2, Rate: 0.2, Sum: 2, Min: 1, Max: 1, Mean: 1, Stddev: 0, Labels: {},
    });
    expect(body.Samples).to.deep.equal([]);
    expect(body.Points).to.deep.equal([]);
  });

  it('JSON shows the last finished 10 s interval once there are two: counts of the current one wait', async () => {
    const c = clock();
    const m = new VaultMetrics(telemetry(), { now: c.now });
    m.proxyError();
    c.at(10_500);
    m.proxyError();
    m.proxyError();
    let body = await json(m);
    expect(body.Timestamp).to.equal('2026-12-07 06:00:00 +0000 UTC');
    expect(body.Counters).to.have.length(1);
    expect(body.Counters[0]).to.include({ Name: 'vault.agent.proxy.error', Count: 1 });
    c.at(20_000);
    body = await json(m);
    expect(body.Timestamp).to.equal('2026-12-07 06:00:10 +0000 UTC');
    expect(body.Counters[0]).to.include({ Count: 2, Sum: 2, Rate: 0.2 });
    c.at(40_000);
    expect((await json(m)).Counters).to.deep.equal([]); // an idle interval
  });

  it('Agent names: auth under vault.agent, and the proxy/cache series are vault.agent.* in both styles (Vault\'s cache handler)', async () => {
    const m = new VaultMetrics(telemetry({ style: 'agent' }), { now: clock().now });
    m.authFailure();
    m.proxySuccess(true);
    const body = await json(m);
    expect(body.Counters.map((x) => x['Name'])).to.deep.equal(['vault.agent.auth.failure', 'vault.agent.cache.hit', 'vault.agent.proxy.success']);
    expect(body.Gauges).to.deep.equal([{ Name: 'vault.agent.authenticated', Value: 0, Labels: {} }]);
  });

  it('metrics_prefix replaces "vault"; enable_hostname_label adds host; the host name in gauge names only when Vault keeps it', async () => {
    const m = new VaultMetrics(telemetry({ serviceName: 'edge', enableHostnameLabel: true }), { now: clock().now, hostname: 'h1' });
    m.authSuccess();
    let body = await json(m);
    expect(body.Counters[0]).to.include({ Name: 'edge.proxy.auth.success' });
    expect(body.Counters[0]!['Labels']).to.deep.equal({ host: 'h1' });
    expect(body.Gauges).to.deep.equal([{ Name: 'edge.proxy.authenticated', Value: 1, Labels: { host: 'h1' } }]);
    const named = new VaultMetrics(telemetry({ hostnameInGaugeNames: true }), { now: clock().now, hostname: 'h1' });
    named.authSuccess();
    body = await json(named);
    expect(body.Gauges.map((g) => g['Name'])).to.deep.equal(['vault.h1.proxy.authenticated']);
    expect(body.Counters.map((g) => g['Name'])).to.deep.equal(['vault.proxy.auth.success']);
  });

  it('prefix_filter: the longest matching prefix decides; filter_default for the rest', async () => {
    const m = new VaultMetrics(telemetry({ filterDefault: false, prefixFilter: [{ prefix: 'vault.agent', allow: true }, { prefix: 'vault.agent.cache', allow: false }] }), { now: clock().now });
    m.proxySuccess(true);
    m.authSuccess();
    const body = await json(m);
    expect(body.Counters.map((x) => x['Name'])).to.deep.equal(['vault.agent.proxy.success']);
    expect(body.Gauges).to.deep.equal([]);
  });

  it('Prometheus text: dots as underscores, HELP the name, counters without _total, gauges, summaries with 0.5/0.9/0.99', async () => {
    const c = clock();
    const m = new VaultMetrics(telemetry(), { now: c.now, runtimeText: async () => '# HELP process_x x\n# TYPE process_x gauge\nprocess_x 1\n' });
    m.proxySuccess(false);
    m.authSuccess();
    m.addSample(['runtime', 'gc_pause_ns'], 2_500_000);
    const a = await m.answer({ ...GET, rawQuery: 'format=prometheus' });
    expect(a.status).to.equal(200);
    expect(a.contentType).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(a.body).to.equal([
      '# HELP vault_agent_cache_miss vault_agent_cache_miss', '# TYPE vault_agent_cache_miss counter', 'vault_agent_cache_miss 1',
      '# HELP vault_agent_proxy_success vault_agent_proxy_success', '# TYPE vault_agent_proxy_success counter', 'vault_agent_proxy_success 1',
      '# HELP vault_proxy_auth_success vault_proxy_auth_success', '# TYPE vault_proxy_auth_success counter', 'vault_proxy_auth_success 1',
      '# HELP vault_proxy_authenticated vault_proxy_authenticated', '# TYPE vault_proxy_authenticated gauge', 'vault_proxy_authenticated 1',
      '# HELP vault_runtime_gc_pause_ns vault_runtime_gc_pause_ns', '# TYPE vault_runtime_gc_pause_ns summary',
      'vault_runtime_gc_pause_ns{quantile="0.5"} 2.5e+06', 'vault_runtime_gc_pause_ns{quantile="0.9"} 2.5e+06', 'vault_runtime_gc_pause_ns{quantile="0.99"} 2.5e+06',
      'vault_runtime_gc_pause_ns_sum 2.5e+06', 'vault_runtime_gc_pause_ns_count 1',
      '# HELP process_x x', '# TYPE process_x gauge', 'process_x 1', '',
    ].join('\n'));
  });

  it('Prometheus series not updated within prometheus_retention_time are gone, as Vault\'s sink expires them', async () => {
    const c = clock();
    const m = new VaultMetrics(telemetry({ prometheusRetentionSeconds: 30 }), { now: c.now });
    m.proxyError();
    c.at(20_000);
    m.authSuccess();
    c.at(31_000);
    const text = m.prometheusText();
    expect(text).not.to.include('vault_agent_proxy_error');
    expect(text).to.include('vault_proxy_auth_success 1');
  });

  it('the Accept header asks for Prometheus as Vault reads it: OpenMetrics first, or prometheus/telemetry anywhere', async () => {
    const m = new VaultMetrics(telemetry(), { now: clock().now });
    expect((await m.answer({ ...GET, accept: ['application/openmetrics-text; version=1.0.0'] })).contentType).to.match(/^text\/plain/);
    expect((await m.answer({ ...GET, accept: ['text/html', 'prometheus/telemetry'] })).contentType).to.match(/^text\/plain/);
    expect((await m.answer({ ...GET, accept: ['text/html', 'application/openmetrics-text'] })).contentType).to.equal('application/json');
  });

  it('answers what Vault answers: 405 {"errors":[]} for other methods, 400 for an unknown format, a bad query, or Prometheus off', async () => {
    const m = new VaultMetrics(telemetry(), { now: clock().now });
    expect(await m.answer({ ...GET, method: 'POST' })).to.deep.equal({ status: 405, contentType: 'application/json', body: '{"errors":[]}\n' });
    expect(await m.answer({ ...GET, method: 'HEAD' })).to.include({ status: 405 });
    expect(await m.answer({ ...GET, rawQuery: 'format=xml' })).to.deep.equal({ status: 400, contentType: 'text/plain', body: 'metric response format "xml" unknown' });
    expect(await m.answer({ ...GET, rawQuery: 'format=%zz' })).to.deep.equal({ status: 400, contentType: 'application/json', body: '{"errors":["invalid URL escape \\"%zz\\""]}\n' });
    const off = new VaultMetrics(telemetry({ prometheusRetentionSeconds: 0 }), { now: clock().now });
    expect(await off.answer({ ...GET, rawQuery: 'format=prometheus' })).to.deep.equal({ status: 400, contentType: 'text/plain', body: 'prometheus is not enabled' });
    expect((await off.answer(GET)).status).to.equal(200);
  });

  it('numbers as Go writes them: float32 gauges shortest (0.1, not 0.100000001), Prometheus floats with %g', () => {
    expect(float32Json(Math.fround(0.1))).to.equal('0.1');
    expect(float32Json(Math.fround(123456789))).to.equal('123456790');
    expect(goFloat(1)).to.equal('1');
    expect(goFloat(123456)).to.equal('123456');
    expect(goFloat(1234567)).to.equal('1.234567e+06');
    expect(goFloat(0.00001)).to.equal('1e-05');
    expect(goFloat(NaN)).to.equal('NaN');
  });

  it('the runtime series every second, with Go\'s names', async function () {
    this.timeout(5000);
    const m = new VaultMetrics(telemetry(), {});
    const stop = m.startRuntime();
    try {
      await new Promise((r) => setTimeout(r, 1200));
      const names = (JSON.parse((await m.answer(GET)).body) as { Gauges: Array<{ Name: string }> }).Gauges.map((g) => g.Name);
      expect(names).to.include.members(['vault.runtime.num_goroutines', 'vault.runtime.alloc_bytes', 'vault.runtime.sys_bytes', 'vault.runtime.total_gc_pause_ns', 'vault.runtime.total_gc_runs']);
    } finally {
      stop();
    }
  });
});
