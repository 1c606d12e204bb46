// The per-request decision log (debug level) through real Envoy + vault-extproc, on both backends:
// every request gets one line naming it (request id, method, canonical path) and what was decided
// (forwarded, auto-auth token added, cache HIT static or lease, recorded, 412, a local endpoint),
// with its status and duration; and no token, secret id, secret value or body appears anywhere in
// vault-extproc's output, whatever the request carried.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { waitFor } from '../support/ports.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';

const APP = 'path "secret/data/app/*" { capabilities = ["read", "create", "update"] }\npath "auth/token/lookup" { capabilities = ["read", "update"] }';
/** The auto-auth token's policy: everything, and KV events for the static cache (Vault Proxy's documented policy). */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["create", "read", "update", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;

interface Res { status: number; body: string; headers: Headers }
type Line = Record<string, unknown>;

forEachBackend('e2e: the per-request decision log (debug) through real Envoy', function (kind) {
  this.timeout(60_000);
  let backend: Backend;
  let stack: Stack;
  let creds: AppRoleCreds;
  let clientToken: string;
  /** Every token and secret the run saw: none may appear in vault-extproc's output. */
  const secrets = new Set<string>();
  /** Requests sent through Envoy: each must have exactly one line. */
  let sent = 0;
  showLogsOnFailure(() => [stack], () => backend);

  before(async () => {
    backend = await startBackend(kind);
    await writePolicy(backend, 'app', APP);
    await writePolicy(backend, 'worker', WORKER);
    creds = await setupAppRole(backend, { role: 'request-log', policies: ['worker'] });
    stack = await startStack({
      vault: backend,
      listenerHcl: 'tls_disable = true\n  require_request_header = true',
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache { cache_static_secrets = true }
`,
    });
    await untilCacheWatching(stack, kind);
    clientToken = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['app'], ttl: '1h' })).json.auth.client_token as string;
    await vaultApi(backend, 'POST', 'secret/data/app/one', { data: { password: 'pw-static-0d1c5e9a' } });
    for (const s of [clientToken, creds.roleId, creds.secretId, readFileSync(join(stack.dir, 'token'), 'utf8').trim(), 'pw-static-0d1c5e9a']) secrets.add(s);
  });
  after(async () => {
    await stack?.stop();
    await backend?.close();
  });

  /** Sends one request with a fresh x-request-id (unless the caller sets one) and returns it with the answer. */
  async function send(method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Res & { id: string }> {
    const id = randomUUID();
    sent++;
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { 'x-vault-request': 'true', 'x-request-id': id, ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    return { status: res.status, body: await res.text(), headers: res.headers, id };
  }

  function requestLines(): Line[] {
    return stack.service.jsonLines.filter((l) => l['msg'] === 'request');
  }

  /** The request's line (written when Envoy ends the ext_proc stream, just after the answer). */
  function lineOf(id: string): Promise<Line> {
    return waitFor(`the request line of ${id}`, () => requestLines().find((l) => l['request_id'] === id), 5_000);
  }

  function expectLine(line: Line, want: Line): void {
    expect(line).to.deep.include({ level: 20, component: 'extproc', ...want });
    expect(line['duration_ms']).to.be.a('number').and.to.be.at.least(0);
  }

  it('a read with the client\'s token: forwarded and recorded in the static cache; the next one is a static HIT', async () => {
    const miss = await send('GET', '/v1/secret/data/app/one', { headers: { 'x-vault-token': clientToken } });
    expect(miss.status).to.equal(200);
    expectLine(await lineOf(miss.id), { method: 'GET', path: '/v1/secret/data/app/one', decision: 'forwarded', status: 200, recorded: 'static' });
    const hit = await waitFor('a static HIT', async () => {
      const r = await send('GET', '/v1/secret/data/app/one', { headers: { 'x-vault-token': clientToken } });
      return r.headers.get('x-cache') === 'HIT' ? r : undefined;
    });
    expectLine(await lineOf(hit.id), { method: 'GET', path: '/v1/secret/data/app/one', decision: 'cache-hit-static', status: 200 });
  });

  it('a request without a token: the auto-auth token added; a write with a secret in its body', async () => {
    const read = await send('GET', '/v1/secret/data/app/one');
    expect(read.status).to.equal(200);
    expectLine(await lineOf(read.id), { method: 'GET', path: '/v1/secret/data/app/one', decision: 'forwarded-auto-auth-token', status: 200 });
    secrets.add('pw-written-7f3a91c2');
    const write = await send('POST', '/v1/secret/data/app/written', { headers: { authorization: `Bearer ${clientToken}` }, body: JSON.stringify({ data: { password: 'pw-written-7f3a91c2' } }) });
    expect(write.status).to.equal(200);
    expectLine(await lineOf(write.id), { method: 'POST', path: '/v1/secret/data/app/written', decision: 'forwarded', status: 200 });
  });

  it('the same AppRole login twice: recorded in the lease cache, then a lease HIT (secret id and token never logged)', async () => {
    const body = JSON.stringify({ role_id: creds.roleId, secret_id: creds.secretId });
    const first = await send('POST', '/v1/auth/approle/login', { body });
    const second = await send('POST', '/v1/auth/approle/login', { body });
    expect([first.status, second.status]).to.deep.equal([200, 200]);
    const issued = JSON.parse(first.body).auth;
    secrets.add(issued.client_token);
    expect(second.headers.get('x-cache')).to.equal('HIT');
    expectLine(await lineOf(first.id), { method: 'POST', path: '/v1/auth/approle/login', decision: 'forwarded-auto-auth-token', status: 200, recorded: 'lease' });
    expectLine(await lineOf(second.id), { method: 'POST', path: '/v1/auth/approle/login', decision: 'cache-hit-lease', status: 200 });
  });

  it('412 without X-Vault-Request, and the local metrics endpoint', async () => {
    const refused = await send('GET', '/v1/secret/data/app/one', { headers: { 'x-vault-request': '', 'x-vault-token': clientToken } });
    expect(refused.status).to.equal(412);
    expectLine(await lineOf(refused.id), { method: 'GET', path: '/v1/secret/data/app/one', decision: 'refused-missing-request-header', status: 412 });
    const metrics = await send('GET', '/agent/v1/metrics');
    expect(metrics.status).to.equal(200);
    expectLine(await lineOf(metrics.id), { method: 'GET', path: '/agent/v1/metrics', decision: 'local-metrics', status: 200 });
  });

  it('a token in the path is blanked out; one in the query string is not logged (the path has no query)', async () => {
    const inPath = await send('GET', `/v1/auth/token/lookup/${clientToken}`, { headers: { 'x-vault-token': clientToken } });
    expectLine(await lineOf(inPath.id), { method: 'GET', path: '/v1/auth/token/lookup/[token]', decision: 'forwarded' });
    const inQuery = await send('GET', `/v1/auth/token/lookup?token=${clientToken}`, { headers: { 'x-vault-token': clientToken } });
    expect(inQuery.status).to.equal(200);
    expectLine(await lineOf(inQuery.id), { method: 'GET', path: '/v1/auth/token/lookup', decision: 'forwarded', status: 200 });
  });

  it('the request id: Envoy\'s own when the client sends none; ours when x-request-id is not a UUID (here: the token)', async () => {
    const before = requestLines().length;
    sent++;
    const res = await fetch(`${stack.url}/v1/secret/data/app/one`, { headers: { 'x-vault-request': 'true', 'x-vault-token': clientToken } });
    expect(res.status).to.equal(200);
    const envoys = await waitFor('the line of a request without x-request-id', () => requestLines().slice(before).find((l) => l['path'] === '/v1/secret/data/app/one'));
    expect(envoys['request_id']).to.match(/^[0-9a-f-]{36}$/);
    expect(envoys).to.not.have.property('request_id_generated');

    const mark = requestLines().length;
    const tokenAsId = await send('GET', '/v1/secret/data/app/one', { headers: { 'x-request-id': clientToken, 'x-vault-token': clientToken } });
    expect(tokenAsId.status).to.equal(200);
    const ours = await waitFor('the line of a request whose x-request-id is its token', () => requestLines().slice(mark).find((l) => l['path'] === '/v1/secret/data/app/one'));
    expect(ours).to.deep.include({ request_id_generated: true, method: 'GET', status: 200 });
    expect(ours['request_id']).to.match(/^[0-9a-f-]{36}$/).and.not.equal(clientToken);
  });

  it('every request has exactly one line, and no token, secret id or secret appears anywhere in the output', async () => {
    const output = stack.service.text;
    for (const s of secrets) expect(output.includes(s), `a secret (${s.length} chars) in vault-extproc's output`).to.equal(false);
    const lines = await waitFor('a line for every request', () => (requestLines().length >= sent ? requestLines() : undefined), 5_000).catch(() => requestLines());
    const ids = lines.map((l) => l['request_id']);
    expect(new Set(ids).size, 'one line per request (distinct ids)').to.equal(ids.length);
    expect(lines.length, 'one line per request').to.equal(sent);
    for (const l of lines) expect(Object.keys(l).some((k) => /token|header|body/i.test(k) && k !== 'request_id'), JSON.stringify(Object.keys(l))).to.equal(false);
  });
});
