import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, REAL_VAULT_BINARY, startBackend, type Backend } from '../support/backend.js';
import { freePort, waitFor } from '../support/ports.js';
import { Proc } from '../support/process.js';
import { rawRequest, type RawRequest } from '../support/raw-http.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';

// Names follow the config: an Agent-style config (here `cache { use_auto_auth_token }`, which only
// Vault Agent reads) gets Vault Agent's names. The oracle is the real `vault agent` of the build
// with the same config, metrics_prefix and enable_hostname_label included.

const TELEMETRY = `telemetry {
  prometheus_retention_time = "1h"
  disable_hostname = true
  metrics_prefix = "fleet"
  enable_hostname_label = true
}
`;
const STANZAS = `cache {
  use_auto_auth_token = true
}
${TELEMETRY}`;
const OK = ['x-vault-request', 'true'] as [string, string];
const GO_ONLY = new Set(['fleet_runtime_malloc_count', 'fleet_runtime_free_count', 'fleet_runtime_heap_objects', 'fleet_runtime_gc_pause_ns']);

/** Prometheus text → family → `TYPE {label names}`, and the values of label-free and host-labelled samples. */
function families(text: string): { types: Record<string, string>; values: Map<string, number> } {
  const types: Record<string, string> = {};
  const labels: Record<string, Set<string>> = {};
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types[t[1]!] = t[2]!;
      labels[t[1]!] = new Set();
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!s || !labels[s[1]!]) continue;
    for (const pair of (s[2] ?? '').split(',').filter(Boolean)) labels[s[1]!]!.add(pair.slice(0, pair.indexOf('=')));
    values.set(s[1]!, Number(s[3]));
  }
  return { types: Object.fromEntries(Object.entries(types).map(([n, k]) => [n, `${k} {${[...labels[n]!].sort().join(',')}}`])), values };
}

async function startVaultAgent(vaultUrl: string, hcl: (dir: string) => string): Promise<{ url: string; proc: Proc }> {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-vault-agent-'));
  const port = await freePort();
  const config = join(dir, 'agent.hcl');
  writeFileSync(config, `vault {\n  address = "${vaultUrl}"\n}\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  tls_disable = true\n}\n${hcl(dir)}\n`);
  // VAULT_* in the environment would override the file: unset.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_')));
  const proc = new Proc('vault-agent', REAL_VAULT_BINARY, ['agent', `-config=${config}`], env);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('vault agent ready', async () => {
      const res = await fetch(`${url}/v1/secret/data/names/config`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 20_000, 100);
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.text}`);
  }
  return { url, proc };
}

forEachBackend('e2e: metric names follow the config: an Agent-style config against the real Vault Agent 1.15.6', function (kind) {
  this.timeout(120_000);
  let sim: Backend;
  let agent: { url: string; proc: Proc };
  let stack: Stack;
  showLogsOnFailure(() => [stack], () => ({ logs: () => `${agent?.proc.text ?? ''}\n${sim?.logs?.() ?? ''}` }));

  before(async () => {
    sim = await startBackend(kind);
    await writePolicy(sim, 'names', 'path "secret/data/names/*" { capabilities = ["read"] }');
    await vaultApi(sim, 'POST', 'secret/data/names/config', { data: { answer: '42' } });
    const forAgent = await setupAppRole(sim, { role: 'names', policies: ['names'] });
    const forUs = await setupAppRole(sim, { role: 'names', policies: ['names'] });
    agent = await startVaultAgent(sim.serviceUrl ?? sim.url, (dir) => `${appRoleAutoAuth(dir, forAgent)}\n${STANZAS}`);
    stack = await startStack({ vault: sim, hcl: ({ dir }) => `${appRoleAutoAuth(dir, forUs)}\n${STANZAS}`, waitReady: true });
    // go-metrics sends its first runtime series a second after start.
    await waitFor('Vault Agent\'s runtime series', async () => ((await rawRequest(agent.url, { method: 'GET', path: '/agent/v1/metrics?format=prometheus' })).body.includes('fleet_runtime_alloc_bytes') ? true : undefined), 5_000, 200);
  });
  after(async () => {
    await stack?.stop();
    await agent?.proc.stop();
    await sim?.close();
  });

  it('/agent/v1/metrics?format=prometheus: the same fleet_* families (prefix, host label) and the same growth for the same requests', async () => {
    const prom = async (url: string): Promise<ReturnType<typeof families>> => {
      const res = await rawRequest(url, { method: 'GET', path: '/agent/v1/metrics?format=prometheus' });
      expect(res.status, res.body).to.equal(200);
      return families(res.body);
    };
    const before = { theirs: await prom(agent.url), ours: await prom(stack.url) };
    for (const req of [
      { method: 'GET', path: '/v1/secret/data/names/config', headers: [OK] },
      { method: 'GET', path: '/v1/secret/data/names/config', headers: [OK] },
      { method: 'GET', path: '/v1/secret/data/names/missing', headers: [OK] },
    ] as RawRequest[]) {
      const [a, b] = [await rawRequest(agent.url, req), await rawRequest(stack.url, req)];
      expect(b.status, req.path).to.equal(a.status);
    }
    const after = { theirs: await prom(agent.url), ours: await prom(stack.url) };
    const pick = (t: Record<string, string>, drop: (n: string) => boolean): Record<string, string> =>
      Object.fromEntries(Object.entries(t).filter(([n]) => n.startsWith('fleet_') && !drop(n)).sort(([x], [y]) => (x < y ? -1 : 1)));
    const theirs = pick(after.theirs.types, (n) => GO_ONLY.has(n));
    const ours = pick(after.ours.types, (n) => n === 'fleet_runtime_gc_pause_ns' || n === 'fleet_agent_authenticated');
    expect(ours).to.deep.equal(theirs);
    expect(theirs).to.include({ fleet_agent_auth_success: 'counter {host}', fleet_agent_proxy_success: 'counter {host}', fleet_runtime_alloc_bytes: 'gauge {host}' });
    // Vault 1.18's gauge, under the Agent's name.
    expect(after.ours.types['fleet_agent_authenticated']).to.equal('gauge {host}');
    const grew = (side: 'theirs' | 'ours', n: string): number => (after[side].values.get(n) ?? 0) - (before[side].values.get(n) ?? 0);
    for (const n of ['fleet_agent_proxy_success', 'fleet_agent_proxy_client_error', 'fleet_agent_cache_miss', 'fleet_agent_cache_hit']) {
      expect(grew('ours', n), n).to.equal(grew('theirs', n));
    }
    expect(grew('theirs', 'fleet_agent_proxy_success')).to.equal(2);
    expect(grew('theirs', 'fleet_agent_proxy_client_error')).to.equal(1);
  });

  it('the host label carries the machine\'s name on both', async () => {
    for (const url of [agent.url, stack.url]) {
      const res = await rawRequest(url, { method: 'GET', path: '/agent/v1/metrics?format=prometheus' });
      // (Vault Agent's count is 2: its lifetime watcher renews the new token at once, and a renewal counts as an auth success.)
      expect(res.body).to.match(new RegExp(`^fleet_agent_auth_success\\{host="${hostname()}"\\} [12]$`, 'm'));
    }
  });
});
