import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { freePort, sleep, waitFor } from '../support/ports.js';
import { CLI } from '../support/paths.js';
import { Proc } from '../support/process.js';
import { rawRequest } from '../support/raw-http.js';

const SECRET_PATH = '/v1/secret/data/app/config';
const APP_POLICY = 'path "secret/data/app/*" { capabilities = ["read"] }';

/** Every token and credential of this file's run, to look for in the logs at the end. */
const secrets = new Set<string>();
const stacks: Stack[] = [];

async function appRoleStack(sim: Backend, useAutoAuthToken: string, opts: { listenerHcl?: string; tokenTtl?: string } = {}): Promise<Stack> {
  const creds = await setupAppRole(sim, { role: `app-${stacks.length}`, policies: ['app'], ...(opts.tokenTtl ? { tokenTtl: opts.tokenTtl, tokenMaxTtl: '1h' } : {}) });
  secrets.add(creds.roleId);
  secrets.add(creds.secretId);
  const stack = await startStack({
    vault: sim,
    ...(opts.listenerHcl ? { listenerHcl: opts.listenerHcl } : {}),
    hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true, sinkMode: '0600' })}
api_proxy { use_auto_auth_token = ${useAutoAuthToken} }
`,
  });
  stacks.push(stack);
  return stack;
}

function sinkToken(stack: Stack): string {
  const token = readFileSync(join(stack.dir, 'token'), 'utf8');
  secrets.add(token);
  return token;
}

async function get(stack: Stack, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${stack.url}${path}`, { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

forEachBackend('e2e: API proxy through real Envoy', function (kind) {
  this.timeout(60_000);
  let sim: Backend;
  let clientToken: string;
  showLogsOnFailure(() => stacks, () => sim);

  before(async () => {
    sim = await startBackend(kind, { rootToken: 'root-e2e-token' });
    secrets.add(sim.rootToken);
    await writePolicy(sim, 'app', APP_POLICY);
    await vaultApi(sim, 'POST', 'secret/data/app/config', { data: { password: 'e2e-secret-value' } });
    clientToken = (await vaultApi(sim, 'POST', 'auth/token/create', { policies: ['app'] })).json.auth.client_token;
    secrets.add(clientToken);
  });

  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await sim.close();
  });

  describe('use_auto_auth_token = true', () => {
    let stack: Stack;
    before(async () => { stack = await appRoleStack(sim, 'true'); });

    it('a request without a token reaches Vault carrying the auto-auth token', async () => {
      sim.clearRequests();
      const res = await get(stack, SECRET_PATH);
      expect(res.status).to.equal(200);
      expect(JSON.parse(res.body).data.data).to.deep.equal({ password: 'e2e-secret-value' });
      const seen = sim.requestsTo(SECRET_PATH);
      expect(seen).to.have.length(1);
      expect(seen[0]!.token).to.equal(await sim.tokenAsSeen(sinkToken(stack)));
    });

    it("a request with the client's token reaches Vault with that token", async () => {
      sim.clearRequests();
      expect((await get(stack, SECRET_PATH, { 'x-vault-token': clientToken })).status).to.equal(200);
      expect(sim.requestsTo(SECRET_PATH)[0]!.token).to.equal(await sim.tokenAsSeen(clientToken));
    });

    it('Authorization: Bearer counts as a client token', async () => {
      sim.clearRequests();
      expect((await get(stack, SECRET_PATH, { authorization: `Bearer ${clientToken}` })).status).to.equal(200);
      const seen = sim.requestsTo(SECRET_PATH)[0]!;
      expect(seen.token).to.equal(await sim.tokenAsSeen(clientToken));
      expect(seen.headers['x-vault-token']).to.equal(undefined);
    });

    it('a client cannot read the auto-auth token back through lookup-self or renew-self', async () => {
      const token = sinkToken(stack);
      const lookup = await get(stack, '/v1/auth/token/lookup-self');
      expect(lookup.status).to.equal(200);
      const data = JSON.parse(lookup.body).data;
      expect(data.policies).to.include('app');
      expect(data).not.to.have.property('id');
      expect(data).not.to.have.property('accessor');
      const renew = await fetch(`${stack.url}/v1/auth/token/renew-self`, { method: 'POST', body: '{}' });
      const renewBody = await renew.text();
      expect(renew.status).to.equal(200);
      expect(JSON.parse(renewBody).auth).to.deep.include({ renewable: true });
      expect(JSON.parse(renewBody).auth).to.deep.include({ client_token: '', accessor: '' }); // emptied, as Vault Proxy does
      expect(lookup.body + renewBody).not.to.include(token);
    });

    it('nor through encoded paths Vault decodes (%6Cookup-self, lookup-sel%66, auth%2Ftoken%2Flookup-self, renew-sel%66)', async () => {
      const token = sinkToken(stack);
      for (const [method, path] of [['GET', '/v1/auth/token/%6Cookup-self'], ['GET', '/v1/auth/token/lookup-sel%66'], ['GET', '/v1/auth%2Ftoken%2Flookup-self'], ['POST', '/v1/auth/token/renew-sel%66']]) {
        const res = await fetch(`${stack.url}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
        const body = await res.text();
        expect(res.status, path).to.equal(200); // Vault answered: it decoded the path as lookup-self / renew-self
        expect(body, path).not.to.include(token);
        const parsed = JSON.parse(body);
        expect(parsed.data?.id ?? parsed.auth?.client_token, path).to.be.oneOf([undefined, '']);
      }
    });

    it('nor through response wrapping: a wrapped lookup-self or renew-self with the auto-auth token is refused (400), nothing wrapped', async () => {
      const token = sinkToken(stack);
      for (const [method, path, header] of [['GET', '/v1/auth/token/lookup-self', 'x-vault-wrap-ttl'], ['POST', '/v1/auth/token/renew-self', 'x-vault-wrap-ttl'], ['GET', '/v1/auth/token/lookup-sel%66', 'x-vault-wrap-format']]) {
        const res = await fetch(`${stack.url}${path}`, { method, headers: { [header!]: header === 'x-vault-wrap-ttl' ? '60' : 'jwt' }, ...(method === 'POST' ? { body: '{}' } : {}) });
        const body = await res.text();
        expect(res.status, `${header} ${path}`).to.equal(400);
        expect(JSON.parse(body).errors[0]).to.include('response wrapping');
        expect(body).not.to.include(token);
      }
      // The client's own token may be wrapped: that is Vault's business, and its answer is a wrapping token.
      const own = await fetch(`${stack.url}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': clientToken, 'x-vault-wrap-ttl': '60' } });
      expect(own.status).to.equal(200);
      expect(JSON.parse(await own.text()).wrap_info.token).to.be.a('string');
    });

    it("a client's own lookup-self is passed through unchanged", async () => {
      const lookup = await get(stack, '/v1/auth/token/lookup-self', { 'x-vault-token': clientToken });
      expect(JSON.parse(lookup.body).data.id).to.equal(clientToken);
    });

    it('the sink file holds the current token with the configured mode', () => {
      const path = join(stack.dir, 'token');
      expect(statSync(path).mode & 0o777).to.equal(0o600);
      expect(readFileSync(path, 'utf8')).to.match(/^hvs\./);
    });

    it('revoking the auto-auth token in Vault leads to a re-login; requests work again', async () => {
      const old = sinkToken(stack);
      await sim.revokeToken(old);
      const first = await get(stack, SECRET_PATH);
      expect(first.status).to.equal(403); // Vault's answer for the revoked token, unchanged
      const fresh = await waitFor('a new auto-auth token in the sink', () => {
        const t = sinkToken(stack);
        return t !== old ? t : undefined;
      }, 10_000);
      sim.clearRequests();
      expect((await get(stack, SECRET_PATH)).status).to.equal(200);
      expect(sim.requestsTo(SECRET_PATH)[0]!.token).to.equal(await sim.tokenAsSeen(fresh));
    });
  });

  describe('use_auto_auth_token = "force"', () => {
    let stack: Stack;
    before(async () => { stack = await appRoleStack(sim, '"force"'); });

    it("the client's token is replaced by the auto-auth token", async () => {
      sim.clearRequests();
      const other = (await vaultApi(sim, 'POST', 'auth/token/create', { policies: ['default'] })).json.auth.client_token as string;
      secrets.add(other);
      expect((await get(stack, SECRET_PATH, { 'x-vault-token': other })).status).to.equal(200);
      expect(sim.requestsTo(SECRET_PATH)[0]!.token).to.equal(await sim.tokenAsSeen(sinkToken(stack)));
    });

    it('a Bearer client token is removed, not forwarded', async () => {
      sim.clearRequests();
      expect((await get(stack, SECRET_PATH, { authorization: `Bearer ${clientToken}` })).status).to.equal(200);
      const seen = sim.requestsTo(SECRET_PATH)[0]!;
      expect(seen.token).to.equal(await sim.tokenAsSeen(sinkToken(stack)));
      expect(seen.headers['authorization']).to.equal(undefined);
    });
  });

  describe('use_auto_auth_token = false', () => {
    let stack: Stack;
    before(async () => { stack = await appRoleStack(sim, 'false'); });

    it("the client's token passes and no auto-auth token is added", async () => {
      sim.clearRequests();
      expect((await get(stack, SECRET_PATH, { 'x-vault-token': clientToken })).status).to.equal(200);
      expect(sim.requestsTo(SECRET_PATH)[0]!.token).to.equal(await sim.tokenAsSeen(clientToken));
    });

    it("with neither token, Vault's own 403 reaches the client unchanged", async () => {
      const direct = await fetch(`${sim.url}${SECRET_PATH}`);
      const directBody = await direct.text();
      sim.clearRequests();
      const res = await get(stack, SECRET_PATH);
      expect(res.status).to.equal(403);
      expect(res.body).to.equal(directBody);
      expect(res.headers.get('content-type')).to.equal('application/json');
      expect(sim.requestsTo(SECRET_PATH)[0]!.token).to.equal(undefined);
    });
  });

  describe('listener { require_request_header = true }', () => {
    let stack: Stack;
    before(async () => { stack = await appRoleStack(sim, 'true', { listenerHcl: 'tls_disable = true\n  require_request_header = true' }); });

    it('answers 412 with Vault Proxy\'s body {"errors":["missing \\"X-Vault-Request\\" header"]} without reaching Vault', async () => {
      sim.clearRequests();
      const res = await get(stack, SECRET_PATH);
      expect(res.status).to.equal(412);
      expect(res.body).to.equal('{"errors":["missing \\"X-Vault-Request\\" header"]}\n');
      expect(res.headers.get('content-type')).to.equal('application/json');
      expect(sim.requestsTo(SECRET_PATH)).to.deep.equal([]);
    });

    it('passes when X-Vault-Request: true is present', async () => {
      const res = await get(stack, SECRET_PATH, { 'x-vault-request': 'true' });
      expect(res.status).to.equal(200);
    });

    it('answers 412 to X-Vault-Request sent twice or with another value, as Vault Proxy asks for exactly one line "true"', async () => {
      sim.clearRequests();
      for (const headers of [[['x-vault-request', 'true'], ['x-vault-request', 'true']], [['x-vault-request', 'yes']]] as Array<Array<[string, string]>>) {
        const res = await rawRequest(stack.url, { method: 'GET', path: SECRET_PATH, headers });
        expect(res.status, JSON.stringify(headers)).to.equal(412);
      }
      expect(sim.requestsTo(SECRET_PATH)).to.deep.equal([]);
    });
  });

  describe('local endpoints are guarded', () => {
    let stack: Stack;
    let metricsOnlyUrl: string;
    before(async () => {
      const creds = await setupAppRole(sim, { role: `local-${stacks.length}`, policies: ['app'] });
      secrets.add(creds.roleId);
      secrets.add(creds.secretId);
      const metricsPort = await freePort();
      metricsOnlyUrl = `http://127.0.0.1:${metricsPort}`;
      stack = await startStack({
        vault: sim,
        listenerHcl: 'tls_disable = true\n  require_request_header = true\n  agent_api { enable_quit = true }',
        hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache {}
listener "tcp" {
  address = "127.0.0.1:${metricsPort}"
  tls_disable = true
  role = "metrics_only"
}
`,
      });
      stacks.push(stack);
    });

    it('cache-clear and quit without X-Vault-Request: 412, nothing cleared, the service keeps running', async () => {
      const form = { 'content-type': 'text/plain' };
      for (const path of ['/agent/v1/cache-clear', '/proxy/v1/cache-clear', '/agent/v1/quit']) {
        const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: form, body: '{"type":"all"}' });
        expect(res.status, path).to.equal(412);
      }
      expect((await get(stack, SECRET_PATH, { 'x-vault-request': 'true' })).status).to.equal(200);
    });

    it('cache-clear takes only a JSON body (415 for what an HTML form can send), even with the header', async () => {
      const res = await fetch(`${stack.url}/agent/v1/cache-clear`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-vault-request': 'true' }, body: '{"type":"all"}' });
      expect(res.status).to.equal(415);
      const ok = await fetch(`${stack.url}/agent/v1/cache-clear`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-vault-request': 'true' }, body: '{"type":"all"}' });
      expect(ok.status).to.equal(200);
    });

    it('a metrics_only listener serves the metrics and answers 404 to everything else, Vault never asked', async () => {
      const metrics = await fetch(`${metricsOnlyUrl}/agent/v1/metrics`);
      expect(metrics.status).to.equal(200);
      expect(Object.keys(await metrics.json() as Record<string, unknown>)).to.deep.equal(['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
      sim.clearRequests();
      for (const path of [SECRET_PATH, '/v1/sys/health', '/agent/v1/cache-clear']) {
        const res = await fetch(`${metricsOnlyUrl}${path}`, { method: path.includes('cache-clear') ? 'POST' : 'GET', headers: { 'x-vault-request': 'true', 'content-type': 'application/json' }, ...(path.includes('cache-clear') ? { body: '{"type":"all"}' } : {}) });
        expect(res.status, path).to.equal(404);
        expect(await res.text()).to.equal('404 page not found\n');
      }
      expect(sim.requestsTo(SECRET_PATH)).to.deep.equal([]);
    });
  });

  describe('Vault down', () => {
    let stack: Stack;
    before(async () => { stack = await appRoleStack(sim, 'true', { tokenTtl: '2s' }); });

    it('backs off while Vault is down (no hot loop) and logs in again when it is back', async () => {
      const before = sinkToken(stack);
      await sim.stop();
      const downAt = Date.now();
      await sleep(7_000);
      const failures = stack.service.jsonLines.filter((l) => l['msg'] === 'authentication failed' && Date.parse(String(l['time'])) >= downAt);
      // A token of 2 s runs out about 2 s into the outage; then waits of ~1, 2, 4 s: at most 4 attempts in 7 s.
      expect(failures.length).to.be.within(1, 4);
      const waits = failures.map((l) => Number(l['retryInMs']));
      for (let i = 1; i < waits.length; i++) expect(waits[i]).to.be.greaterThan(waits[i - 1]!);
      await sim.start();
      const after = await waitFor('a new token after Vault is back', () => {
        const t = sinkToken(stack);
        return t !== before ? t : undefined;
      }, 15_000);
      expect((await get(stack, SECRET_PATH)).status).to.equal(200);
      expect(after).to.match(/^hvs\./);
    });
  });

  describe('exit_after_auth', () => {
    it('serve logs in, writes the sink and exits 0', async () => {
      const creds = await setupAppRole(sim, { role: 'once', policies: ['default'] });
      secrets.add(creds.roleId);
      secrets.add(creds.secretId);
      const dir = mkdtempSync(join(tmpdir(), 'vxp-once-'));
      const config = join(dir, 'once.hcl');
      writeFileSync(config, `
vault { address = "${sim.serviceUrl}" }
exit_after_auth = true
extproc {
  address = "127.0.0.1:0"
  admin_address = "127.0.0.1:0"
  tls_disable = true
}
${appRoleAutoAuth(dir, creds, { sink: true })}
`);
      const proc = new Proc('once', process.execPath, [CLI, 'serve', '--config', config]);
      const code = await Promise.race([proc.exited, sleep(15_000).then(() => 'timeout')]);
      expect(code).to.equal(0);
      const token = readFileSync(join(dir, 'token'), 'utf8');
      secrets.add(token);
      expect((await vaultApi(sim, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.path).to.equal('auth/approle/login');
      expect(statSync(join(dir, 'token')).mode & 0o777).to.equal(0o640);
    });
  });

  describe('logs', () => {
    it('no token, secret id or secret value appears anywhere in the logs of the whole run', () => {
      const logs = stacks.map((s) => s.logs()).join('\n');
      expect(logs.length).to.be.greaterThan(1000);
      expect(secrets.size).to.be.greaterThan(8);
      for (const s of [...secrets, 'e2e-secret-value']) expect(logs.includes(s), `a secret of ${s.length} chars is in the logs`).to.equal(false);
    });
  });
}, { versions: 'all' });
