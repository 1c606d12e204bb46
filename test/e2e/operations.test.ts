import { expect } from 'chai';
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend, isSim } from '../support/backend.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { sleep, waitFor } from '../support/ports.js';
import { makeTestPki, startTlsFront, type TestPki, type TlsFront } from '../support/tls.js';

const stacks: Stack[] = [];

function appRoleHcl(creds: { roleId: string; secretId: string }, extra = ''): (p: { dir: string }) => string {
  return ({ dir }) => `${appRoleAutoAuth(dir, creds)}\n${extra}\n`;
}

/** Parses Prometheus text into name{labels} → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

forEachBackend('e2e: operations', function (kind) {
  this.timeout(60_000);
  let sim: Backend;
  showLogsOnFailure(() => stacks, () => sim);

  before(async () => {
    sim = await startBackend(kind);
    // (The most specific path rule wins in Vault's ACLs: secret/* needs subscribe itself.)
    await writePolicy(sim, 'ops', `path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "sys/events/subscribe/kv*" { capabilities = ["read"] }`);
    await vaultApi(sim, 'POST', 'secret/data/ops', { data: { v: '1' } });
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await sim.close();
  });

  describe('metrics', () => {
    let stack: Stack;
    before(async () => {
      const creds = await setupAppRole(sim, { role: 'metrics', policies: ['ops'] });
      stack = await startStack({
        vault: sim,
        hcl: appRoleHcl(creds, 'api_proxy { use_auto_auth_token = true }\ncache {\n  cache_static_secrets = true\n  disable_caching_dynamic_secrets = true\n  static_secret_refresh_interval = "2s"\n}'),
      });
      stacks.push(stack);
    });

    it('after traffic, /metrics shows every metric with plausible values', async () => {
      await untilCacheWatching(stack, kind);
      for (let i = 0; i < 3; i++) await fetch(`${stack.url}/v1/secret/data/ops`); // 1 miss, 2 hits
      await fetch(`${stack.url}/v1/secret/data/ops`, { headers: { 'x-vault-token': 'hvs.not-a-token' } }); // Vault's 403
      // A stream is counted when Envoy closes it, which may come a moment after the client's answer.
      await waitFor('the last stream to be counted', async () => {
        const m = parseMetrics(await (await fetch(`${stack.adminUrl}/metrics`)).text());
        return (m.get('vault_extproc_stream_duration_seconds_count{answer="vault"}') ?? 0) >= 2 ? true : undefined;
      }, 5_000);
      const res = await fetch(`${stack.adminUrl}/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.include('text/plain');
      const text = await res.text();
      const m = parseMetrics(text);
      const value = (name: string): number | undefined => m.get(name);
      expect(value('vault_agent_auth_success')).to.equal(1);
      expect(value('vault_agent_auth_failure')).to.equal(0);
      expect(value('vault_agent_cache_hit')).to.equal(2);
      expect(value('vault_agent_cache_miss')).to.equal(2);
      expect(value('vault_agent_proxy_success')).to.be.at.least(1);
      expect(value('vault_agent_proxy_client_error')).to.equal(1);
      expect(value('vault_agent_proxy_error')).to.equal(0);
      expect(value('vault_extproc_cache_entries{cache="static"}')).to.equal(1);
      expect(value('vault_extproc_cache_bytes{cache="static"}')).to.be.within(200, 10_000);
      expect(value('vault_extproc_event_stream_connected')).to.equal(1);
      expect(value('vault_extproc_event_stream_reconnects_total')).to.equal(0);
      expect(value('vault_extproc_events_received_total')).to.be.at.least(0);
      expect(value('vault_extproc_stream_duration_seconds_count{answer="extproc"}')).to.equal(2);
      expect(value('vault_extproc_stream_duration_seconds_count{answer="vault"}')).to.be.at.least(2);
      expect(value('vault_extproc_renewals_total{kind="auth",outcome="success"}') ?? 0).to.equal(0); // a 768 h token: no renewal yet
      for (const name of ['vault_extproc_cache_evictions_total', 'vault_extproc_renewals_total', 'vault_extproc_capability_refreshes_total']) {
        expect(text, name).to.include(`# TYPE ${name} counter`);
      }
      expect(value('process_resident_memory_bytes')).to.be.greaterThan(1_000_000);
    });

    it('serves Vault Proxy\'s own metrics on /agent/v1/metrics through Envoy: go-metrics JSON; no telemetry stanza, so no Prometheus form (400), as Vault', async () => {
      const res = await fetch(`${stack.url}/agent/v1/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json');
      const body = await res.json() as Record<string, unknown>;
      expect(Object.keys(body)).to.deep.equal(['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
      const prom = await fetch(`${stack.url}/agent/v1/metrics?format=prometheus`);
      expect([prom.status, await prom.text()]).to.deep.equal([400, 'prometheus is not enabled']);
    });

    it('counts a request Vault never answered as a proxy error, and evictions by reason', async () => {
      // The simulator's delete event evicts at once; Vault 1.15 sends none to a non-root subscriber,
      // and the 2 s refetch finds the secret gone.
      await vaultApi(sim, 'DELETE', 'secret/metadata/ops');
      await waitFor('the eviction', async () => {
        const m = parseMetrics(await (await fetch(`${stack.adminUrl}/metrics`)).text());
        return m.get('vault_extproc_cache_evictions_total{cache="static",reason="gone"}') === 1 ? true : undefined;
      }, 5_000);
      await sim.stop();
      try {
        const res = await fetch(`${stack.url}/v1/secret/data/ops`);
        expect(res.status).to.equal(503);
        const m = parseMetrics(await (await fetch(`${stack.adminUrl}/metrics`)).text());
        expect(m.get('vault_agent_proxy_error')).to.equal(1);
      } finally {
        await sim.start();
        await vaultApi(sim, 'POST', 'secret/data/ops', { data: { v: '1' } });
      }
    });
  });

  describe('TLS to Vault through Envoy', () => {
    let pki: TestPki;
    let front: TlsFront;
    before(async () => {
      pki = makeTestPki();
      front = await startTlsFront(sim.port, { cert: pki.serverCert, key: pki.serverKey });
    });
    after(() => front.close());

    async function tlsStack(vaultHcl: string): Promise<Stack> {
      const creds = await setupAppRole(sim, { role: `tls-${stacks.length}`, policies: ['ops'] });
      const stack = await startStack({ vault: { url: front.url, rootToken: 'root' }, vaultHcl, hcl: appRoleHcl(creds, 'api_proxy { use_auto_auth_token = true }') });
      stacks.push(stack);
      return stack;
    }

    it('with ca_cert, the worker logs in over TLS and Envoy verifies Vault with the same CA', async () => {
      const stack = await tlsStack(`ca_cert = "${pki.caCert}"`);
      const res = await fetch(`${stack.url}/v1/secret/data/ops`);
      expect(res.status).to.equal(200);
      expect(stack.service.text).not.to.include('tls_skip_verify');
    });

    it('tls_skip_verify works and logs a warning', async () => {
      const stack = await tlsStack(`ca_cert = "${pki.otherCaCert}"\n  tls_skip_verify = true`);
      expect((await fetch(`${stack.url}/v1/secret/data/ops`)).status).to.equal(200);
      expect(stack.service.jsonLines.some((l) => l['level'] === 40 && String(l['msg']).includes('tls_skip_verify is set'))).to.equal(true);
    });

    it('the wrong CA: the worker cannot log in and says why', async () => {
      const creds = await setupAppRole(sim, { role: 'tls-wrong', policies: ['ops'] });
      const stack = await startStack({ vault: { url: front.url, rootToken: 'root' }, vaultHcl: `ca_cert = "${pki.otherCaCert}"`, hcl: appRoleHcl(creds), waitReady: false });
      stacks.push(stack);
      const failure = await waitFor('an authentication failure', () => stack.service.jsonLines.find((l) => l['msg'] === 'authentication failed'), 10_000);
      expect(JSON.stringify(failure['err'])).to.match(/self-signed certificate|unable to verify/);
      expect((await fetch(`${stack.adminUrl}/readyz`)).status).to.equal(503);
    });
  });

  describe('lifecycle', () => {
    it('SIGTERM during 50 in-flight requests: all 50 complete, exit 0', async () => {
      // A Vault that takes 1.5 s per answer, so that the requests are in flight when the signal comes.
      const slow = http.createServer((_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"data":{"slow":true}}\n');
        }, 1_500);
      });
      await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
      const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
      const stack = await startStack({ vault: { url, rootToken: '' }, hcl: () => '' });
      stacks.push(stack);
      try {
        const pending = Array.from({ length: 50 }, () => fetch(`${stack.url}/v1/slow`).then(async (r) => ({ status: r.status, body: await r.text() })));
        await sleep(500);
        stack.service.signal('SIGTERM');
        const results = await Promise.all(pending);
        expect(results.map((r) => r.status)).to.deep.equal(Array(50).fill(200));
        expect(results.every((r) => r.body.includes('"slow":true'))).to.equal(true);
        const code = await Promise.race([stack.service.exited, sleep(15_000).then(() => 'timeout')]);
        expect(code).to.equal(0);
        expect(stack.service.jsonLines.some((l) => l['msg'] === 'shutting down')).to.equal(true);
      } finally {
        slow.close();
      }
    });

    it('the quit endpoint is off by default: the request goes to Vault', async () => {
      const stack = await startStack({ vault: sim, hcl: () => '' });
      stacks.push(stack);
      sim.clearRequests();
      const res = await fetch(`${stack.url}/agent/v1/quit`, { method: 'POST' });
      expect(res.status).to.equal(404);
      // The simulator records it; a real Vault answers paths outside /v1/ without auditing them.
      if (isSim(sim.kind)) expect(sim.requestsTo('/agent/v1/quit')).to.have.length(1);
      await sleep(300);
      expect(stack.service.jsonLines.some((l) => l['msg'] === 'shutting down')).to.equal(false);
    });

    it('with agent_api { enable_quit = true } the quit endpoint stops the process (exit 0)', async () => {
      const stack = await startStack({ vault: sim, hcl: () => '', listenerHcl: 'tls_disable = true\n  agent_api { enable_quit = true }' });
      stacks.push(stack);
      sim.clearRequests();
      const res = await fetch(`${stack.url}/agent/v1/quit`, { method: 'POST' });
      expect(res.status).to.equal(200);
      expect(sim.requestsTo('/agent/v1/quit')).to.deep.equal([]);
      const code = await Promise.race([stack.service.exited, sleep(15_000).then(() => 'timeout')]);
      expect(code).to.equal(0);
    });

    it('pid_file holds the process id while it runs and is removed on exit', async () => {
      let pidFile = '';
      const stack = await startStack({ vault: sim, hcl: ({ dir }) => { pidFile = join(dir, 'vault-extproc.pid'); return `pid_file = "${pidFile}"`; } });
      stacks.push(stack);
      expect(readFileSync(pidFile, 'utf8').trim()).to.equal(String(stack.service.pid));
      await stack.service.stop();
      expect(existsSync(pidFile)).to.equal(false);
    });
  });
});
