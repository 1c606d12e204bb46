// `extproc { envoy_access_log = "<path>" }`: the Envoy bootstrap that `envoy-config` prints writes
// an access log, run here by real Envoy in front of vault-extproc on both backends. Each request
// has its JSON line (method, path without the query, status, vault-extproc's answer in
// response_code_details, X-Cache, the x-request-id vault-extproc's debug line carries too), and no
// token — from X-Vault-Token, Authorization or the query string — nor a body appears in the file.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { waitFor } from '../support/ports.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';

const APP = 'path "secret/data/app/*" { capabilities = ["read", "create", "update"] }\npath "auth/token/lookup" { capabilities = ["read", "update"] }';
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["create", "read", "update", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;

type Line = Record<string, unknown>;

forEachBackend('e2e: Envoy access log from envoy-config (extproc.envoy_access_log)', function (kind) {
  this.timeout(60_000);
  let backend: Backend;
  let stack: Stack;
  let creds: AppRoleCreds;
  let clientToken: string;
  let logFile: string;
  const secrets = new Set<string>();
  showLogsOnFailure(() => [stack], () => backend);

  before(async () => {
    backend = await startBackend(kind);
    await writePolicy(backend, 'app', APP);
    await writePolicy(backend, 'worker', WORKER);
    creds = await setupAppRole(backend, { role: 'access-log', policies: ['worker'] });
    stack = await startStack({
      vault: backend,
      listenerHcl: 'tls_disable = true\n  require_request_header = true',
      extprocHcl: ({ dir }) => `address = "unix://${join(dir, 'extproc.sock')}"\n  envoy_access_log = "${join(dir, 'access.log')}"`,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache { cache_static_secrets = true }
`,
    });
    logFile = join(stack.dir, 'access.log');
    await untilCacheWatching(stack, kind);
    clientToken = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['app'], ttl: '1h' })).json.auth.client_token as string;
    await vaultApi(backend, 'POST', 'secret/data/app/one', { data: { password: 'pw-static-51f0a2d4' } });
    for (const s of [clientToken, creds.roleId, creds.secretId, readFileSync(join(stack.dir, 'token'), 'utf8').trim(), 'pw-static-51f0a2d4']) secrets.add(s);
  });
  after(async () => {
    await stack?.stop();
    await backend?.close();
  });

  async function send(method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<{ id: string; status: number; body: string; xCache: string | null }> {
    const id = randomUUID();
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { 'x-vault-request': 'true', 'x-request-id': id, ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    return { id, status: res.status, body: await res.text(), xCache: res.headers.get('x-cache') };
  }

  function lines(): Line[] {
    if (!existsSync(logFile)) return [];
    return readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Line);
  }

  /** Envoy writes its access log out every 10 s (without --file-flush-interval-msec): the requests go first, then one wait. */
  const sent: Record<string, { id: string; status: number; body: string; xCache: string | null }> = {};
  let byId: Map<unknown, Line>;

  it('every request through Envoy gets its line', async function () {
    this.timeout(40_000);
    sent['miss'] = await send('GET', '/v1/secret/data/app/one', { headers: { 'x-vault-token': clientToken } });
    sent['hit'] = await waitFor('a static HIT', async () => {
      const r = await send('GET', '/v1/secret/data/app/one', { headers: { authorization: `Bearer ${clientToken}` } });
      return r.xCache === 'HIT' ? r : undefined;
    });
    sent['refused'] = await send('GET', '/v1/secret/data/app/one', { headers: { 'x-vault-request': '', 'x-vault-token': clientToken } });
    sent['lookup'] = await send('GET', `/v1/auth/token/lookup?token=${clientToken}`, { headers: { 'x-vault-token': clientToken } });
    secrets.add('pw-written-c0ffee11');
    sent['write'] = await send('POST', '/v1/secret/data/app/written', { body: JSON.stringify({ data: { password: 'pw-written-c0ffee11' } }) });
    sent['login'] = await send('POST', '/v1/auth/approle/login', { body: JSON.stringify({ role_id: creds.roleId, secret_id: creds.secretId }) });
    // A client that sends its token as x-request-id, or in the path: neither is written.
    const tokenAsId = await fetch(`${stack.url}/v1/secret/data/app/one`, { headers: { 'x-vault-request': 'true', 'x-request-id': clientToken, 'x-vault-token': clientToken } });
    expect(tokenAsId.status).to.equal(200);
    sent['inPath'] = await send('GET', `/v1/auth/token/lookup/${clientToken}`, { headers: { 'x-vault-token': clientToken } });
    const { inPath, ...rest } = sent;
    expect(Object.fromEntries(Object.entries(rest).map(([k, r]) => [k, r.status]))).to.deep.equal({ miss: 200, hit: 200, refused: 412, lookup: 200, write: 200, login: 200 });
    expect(inPath!.status).to.be.at.least(200);
    secrets.add(JSON.parse(sent['login'].body).auth.client_token);
    byId = await waitFor('a line for every request', () => {
      const m = new Map(lines().map((l) => [l['request_id'], l]));
      return Object.values(sent).every((r) => m.has(r.id)) ? m : undefined;
    }, 15_000, 200);
  });

  it('a read with X-Vault-Token: method, path, 200, MISS, the upstream, and the request id vault-extproc\'s debug line carries', async () => {
    const line = byId.get(sent['miss']!.id)!;
    expect(line).to.deep.include({ method: 'GET', path: '/v1/secret/data/app/one', response_code: 200, x_cache: 'MISS', response_code_details: 'via_upstream' });
    expect(line['upstream_host']).to.be.a('string').and.not.equal('-');
    expect(line['duration_ms']).to.be.a('number');
    const debug = await waitFor('vault-extproc\'s line', () => stack.service.jsonLines.find((l) => l['msg'] === 'request' && l['request_id'] === sent['miss']!.id));
    expect(debug).to.deep.include({ path: '/v1/secret/data/app/one', status: 200, decision: 'forwarded' });
  });

  it('answers of vault-extproc itself: a static cache HIT and a 412 are named in response_code_details', () => {
    expect(byId.get(sent['hit']!.id)).to.deep.include({ path: '/v1/secret/data/app/one', response_code: 200, x_cache: 'HIT', response_code_details: 'vault_extproc_cache_hit', upstream_host: null });
    expect(byId.get(sent['refused']!.id)).to.deep.include({ response_code: 412, response_code_details: 'vault_extproc_missing_request_header' });
  });

  it('a token in the query string is not in the path; a body is counted, not logged', () => {
    expect(byId.get(sent['lookup']!.id)).to.deep.include({ method: 'GET', path: '/v1/auth/token/lookup', response_code: 200 });
    const write = byId.get(sent['write']!.id)!;
    expect(write).to.deep.include({ method: 'POST', path: '/v1/secret/data/app/written', response_code: 200 });
    expect(write['bytes_received']).to.be.greaterThan(0);
    expect(byId.get(sent['login']!.id)).to.deep.include({ method: 'POST', path: '/v1/auth/approle/login', response_code: 200 });
  });

  it('envoy_access_log = "/dev/stdout" (the Kubernetes manifests\' setting): the lines are on Envoy\'s stdout', async function () {
    this.timeout(40_000);
    const out = await startStack({
      vault: backend,
      extprocHcl: ({ dir }) => `address = "unix://${join(dir, 'extproc.sock')}"\n  envoy_access_log = "/dev/stdout"`,
      hcl: () => '',
      waitReady: false,
    });
    try {
      const id = randomUUID();
      const res = await fetch(`${out.url}/v1/sys/health?token=${clientToken}`, { headers: { 'x-request-id': id, 'x-vault-token': clientToken } });
      expect(res.status).to.equal(200);
      const line = await waitFor('the line on Envoy\'s stdout', () => out.envoy.proc.text.split('\n').find((l) => l.includes(id)), 15_000, 200);
      expect(JSON.parse(line)).to.deep.include({ request_id: id, method: 'GET', path: '/v1/sys/health', response_code: 200 });
      expect(out.envoy.proc.text.includes(clientToken)).to.equal(false);
    } finally {
      await out.stop();
    }
  });

  it('no token, secret id or secret anywhere in the access log; no field is a token header, cookie or body', () => {
    const text = readFileSync(logFile, 'utf8');
    for (const s of secrets) expect(text.includes(s), `a secret (${s.length} chars) in the access log`).to.equal(false);
    expect(lines().length).to.be.at.least(Object.keys(sent).length);
    expect(lines().filter((l) => l['request_id'] === '-').length, 'the line of the request whose x-request-id was its token').to.equal(1);
    expect(byId.get(sent['inPath']!.id)).to.deep.include({ method: 'GET', path: '[path with a token]' });
    for (const l of lines()) {
      expect(Object.keys(l).filter((k) => /token|authorization|cookie|body|query/i.test(k))).to.deep.equal([]);
    }
  });
});
