// Vault's HTTP layer as a client sees it (envelopes, status codes, headers, methods), and what a
// backend records and how it goes down and up: the same tests against the simulator and a real Vault.
import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { forEachBackend, simOnly, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { startVaultSim } from '../../support/vault-sim/index.js';
import { DENIED, HSTS, UUID, mountType } from './support.js';

forEachBackend('Vault API: HTTP behaviour', (kind) => {
  let backend: Backend;
  let vault: SimClient;

  before(async function () {
    backend = await startBackend(kind, { rootToken: 'root-token' });
    vault = new SimClient(backend);
    await vault.writePolicy('app-read', 'path "secret/data/app/*" { capabilities = ["read"] }');
    expect((await vault.call('POST', 'secret/data/app/db', { body: { data: { pw: 'x' } } })).status).to.equal(200);
  });

  after(async function () {
    await backend?.close();
  });

  describe('generic HTTP behaviour', function () {
    it('serves sys/health like an unsealed active dev server', async function () {
      const res = await vault.call('GET', 'sys/health', { token: null });
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.headers.get('content-type')).to.equal('application/json');
      expect(res.headers.get('strict-transport-security')).to.equal(HSTS);
      expect(Object.keys(res.json)).to.deep.equal([
        'initialized', 'sealed', 'standby', 'performance_standby', 'replication_performance_mode', 'replication_dr_mode',
        'server_time_utc', 'version', 'cluster_name', 'cluster_id',
      ]);
      expect(res.json).to.include({
        initialized: true, sealed: false, standby: false, performance_standby: false,
        replication_performance_mode: 'disabled', replication_dr_mode: 'disabled', version: '1.15.6',
      });
      expect(res.json.server_time_utc).to.be.closeTo(Date.now() / 1000, 5);
      expect(res.json.cluster_id).to.match(/^[0-9a-f-]{36}$/);
    });

    it('wraps successful replies in the full envelope, ending in a newline', async function () {
      await vault.call('POST', 'secret/data/env', { body: { data: { user: 'app' } } });
      const res = await vault.call('GET', 'secret/data/env');
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.headers.get('content-type')).to.equal('application/json');
      expect(res.text.endsWith('}\n')).to.equal(true);
      expect(Object.keys(res.json)).to.deep.equal([
        'request_id', 'lease_id', 'renewable', 'lease_duration', 'data', 'wrap_info', 'warnings', 'auth', 'mount_type',
      ]);
      expect(res.json.request_id).to.match(UUID);
      expect(res.json).to.include({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null });
      expect(res.json.mount_type).to.equal(mountType(kind, 'kv'));
      expect(res.json.data.data).to.deep.equal({ user: 'app' });
    });

    it('answers 204 with no body for nil responses, still with Cache-Control', async function () {
      const res = await vault.call('DELETE', 'secret/data/env');
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.headers.get('strict-transport-security')).to.equal(HSTS);
    });

    it('answers 404 {"errors":[]} for missing secrets and empty lists', async function () {
      const missing = await vault.call('GET', 'secret/data/never-written');
      expect(missing.status).to.equal(404);
      expect(missing.text).to.equal('{"errors":[]}\n');
      const emptyList = await vault.call('LIST', 'secret/metadata/nothing-here');
      expect(emptyList.status).to.equal(404);
      expect(emptyList.json).to.deep.equal({ errors: [] });
    });

    it('answers 404 "no handler for route" for unknown mounts', async function () {
      const res = await vault.call('GET', 'nowhere/x/y');
      expect(res.status).to.equal(404);
      expect(res.json).to.deep.equal({ errors: ['no handler for route "nowhere/x/y". route entry not found.'] });
    });

    it('answers outside /v1/ with 404 {"errors":[]}, and redirects / to the UI', async function () {
      for (const path of ['/v2/secret/data/x', '/nowhere', '/v1']) {
        const res = await fetch(`${backend.url}${path}`, { headers: { 'X-Vault-Token': backend.rootToken } });
        expect(res.status, path).to.equal(404);
        expect(res.headers.get('content-type')).to.equal('application/json');
        expect(res.headers.get('strict-transport-security')).to.equal(HSTS);
        expect(await res.text()).to.equal('{"errors":[]}\n');
      }
      for (const path of ['/', '/ui']) {
        const res = await fetch(`${backend.url}${path}`, { redirect: 'manual' });
        expect(res.status, path).to.equal(307);
        expect(res.headers.get('location')).to.equal('/ui/');
      }
    });

    it('denies unknown, missing and insufficient tokens with 403 permission denied', async function () {
      // As a real Vault 1.15.6 answers: a bad or missing token gets the plain text, an ACL denial the multierror.
      for (const token of ['hvs.not-a-token', null]) {
        const res = await vault.call('GET', 'secret/data/x', { token });
        expect(res.status).to.equal(403);
        expect(res.json).to.deep.equal({ errors: ['permission denied'] });
      }
      const weak = await vault.tokenWith(['default']);
      const res = await vault.call('GET', 'secret/data/x', { token: weak });
      expect(res.status).to.equal(403);
      expect(res.json.errors[0]).to.equal(DENIED);
    });

    simOnly(kind)('adds "invalid token" for bad tokens in the modern error style (a simulator option)', async function () {
      const modern = await startVaultSim({ errorStyle: 'modern' });
      try {
        const res = await fetch(`${modern.url}/v1/secret/data/x`, { headers: { 'X-Vault-Token': 'hvs.nope' } });
        expect(res.status).to.equal(403);
        const body = (await res.json()) as { errors: string[] };
        expect(body.errors[0]).to.contain('permission denied').and.to.contain('invalid token');
      } finally {
        await modern.close();
      }
    });

    it('takes X-Vault-Token first, then Authorization: Bearer', async function () {
      const bearer = await vault.call('GET', 'auth/token/lookup-self', { token: null, headers: { Authorization: `Bearer ${backend.rootToken}` } });
      expect(bearer.status).to.equal(200);
      expect(bearer.json.data.id).to.equal(backend.rootToken);
      const both = await vault.call('GET', 'auth/token/lookup-self', { token: 'hvs.bad', headers: { Authorization: `Bearer ${backend.rootToken}` } });
      expect(both.status).to.equal(403);
    });

    it('treats GET ?list=true like LIST and rejects a bad list value', async function () {
      await vault.call('POST', 'secret/data/dir/a', { body: { data: { v: 1 } } });
      await vault.call('POST', 'secret/data/dir/sub/b', { body: { data: { v: 2 } } });
      const viaList = await vault.call('LIST', 'secret/metadata/dir');
      const viaGet = await vault.call('GET', 'secret/metadata/dir?list=true');
      expect(viaList.status).to.equal(200);
      expect(viaList.json.data).to.deep.equal({ keys: ['a', 'sub/'] });
      expect(viaGet.json.data).to.deep.equal(viaList.json.data);
      const bad = await vault.call('GET', 'secret/metadata/dir?list=maybe');
      expect(bad.status).to.equal(400);
      expect(bad.json).to.deep.equal({ errors: [] });
    });

    it('accepts LIST between chunked and fixed-length requests on one keep-alive connection', async function () {
      const body = '{"data":{"note":"LIST /v1/x HTTP/1.1"}}';
      const head = (line: string, extra: string): string =>
        `${line} HTTP/1.1\r\nHost: vault\r\nX-Vault-Token: ${backend.rootToken}\r\n${extra}\r\n`;
      const wire = head('POST /v1/secret/data/raw/a', 'Transfer-Encoding: chunked\r\n')
        + `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
        + head('LIST /v1/secret/metadata/raw', '')
        + head('POST /v1/secret/data/raw/b', `Content-Length: ${body.length}\r\n`) + body
        + head('LIST /v1/secret/metadata/raw', 'Connection: close\r\n');
      const received = await new Promise<string>((resolve, reject) => {
        let text = '';
        // write, not end: Go's server cancels in-flight requests when the client half-closes.
        const socket = net.connect(Number(new URL(backend.url).port), '127.0.0.1', () => socket.write(wire));
        socket.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(received.match(/^HTTP\/1\.1 \d+/gm)).to.deep.equal(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
      expect(received).to.contain('"data":{"keys":["a"]}').and.to.contain('"data":{"keys":["a","b"]}');
      const methods = backend.requests.filter((r) => r.path.includes('/raw')).map((r) => r.method);
      expect(methods).to.deep.equal(['POST', 'LIST', 'POST', 'LIST']);
    });

    it('answers HEAD on sys/health without a body and refuses forwarding headers', async function () {
      const head = await vault.call('HEAD', 'sys/health', { token: null });
      expect(head.status).to.equal(200);
      expect(head.text).to.equal('');
      const forward = await vault.call('GET', 'secret/data/app/db', { headers: { 'X-Vault-Forward': 'active-node' } });
      expect(forward.status).to.equal(400);
      expect(forward.json).to.deep.equal({ errors: ['forwarding via header X-Vault-Forward disabled in configuration'] });
    });

    it('requires the merge-patch content type for PATCH and refuses unknown methods', async function () {
      const wrongType = await vault.call('PATCH', 'secret/data/dir/a', { body: { data: { v: 3 } } });
      expect(wrongType.status).to.equal(415);
      expect(wrongType.json.errors[0]).to.equal('PATCH requires Content-Type of application/merge-patch+json, provided application/json');
      const patched = await vault.call('PATCH', 'secret/data/dir/a', {
        body: { data: { w: 4 } }, headers: { 'Content-Type': 'application/merge-patch+json' },
      });
      expect(patched.status).to.equal(200);
      expect((await vault.call('GET', 'secret/data/dir/a')).json.data.data).to.deep.equal({ v: 1, w: 4 });
      const odd = await vault.call('PROPFIND', 'secret/data/dir/a');
      expect(odd.status).to.equal(405);
      expect(odd.json).to.deep.equal({ errors: [] });
    });

    it('rejects bad JSON and a bad X-Vault-Wrap-TTL with 400', async function () {
      const json = await vault.call('POST', 'secret/data/x', { body: '{not json' });
      expect(json.status).to.equal(400);
      expect(json.json).to.deep.equal({ errors: ['error parsing JSON'] });
      const wrap = await vault.call('GET', 'secret/data/dir/a', { headers: { 'X-Vault-Wrap-TTL': 'soon' } });
      expect(wrap.status).to.equal(400);
      expect(wrap.json.errors[0]).to.match(/^error parsing X-Vault-Wrap-TTL header: /);
    });
  });

  describe('lifecycle and recording', function () {
    it('records what reached it', async function () {
      const weak = await vault.tokenWith(['default']);
      const [rootSeen, weakSeen] = [await backend.tokenAsSeen(backend.rootToken), await backend.tokenAsSeen(weak)];
      backend.clearRequests();
      await vault.call('GET', 'secret/data/app/db?version=1', { headers: { 'X-Custom': 'yes' } });
      await vault.call('GET', 'secret/data/app/db', { token: weak });
      await vault.call('POST', 'secret/data/app/new', { body: { data: { a: 1 } } });
      // With the trailing slash: a real Vault's audit log has the logical path, and Vault adds the
      // slash to every list request's path.
      await vault.call('LIST', 'secret/metadata/app/');
      await vault.call('DELETE', 'secret/data/app/new');
      const seen = backend.requestsTo('/v1/secret/data/app/db');
      expect(seen).to.have.length(2);
      const [req, denied] = seen;
      expect(req).to.include({ method: 'GET', path: '/v1/secret/data/app/db', token: rootSeen, status: 200 });
      expect(req?.at).to.be.within(Date.now() - 5000, Date.now());
      expect(denied).to.include({ method: 'GET', token: weakSeen, status: 403 });
      expect(backend.requests.map((r) => [r.method, r.path])).to.deep.equal([
        ['GET', '/v1/secret/data/app/db'], ['GET', '/v1/secret/data/app/db'], ['POST', '/v1/secret/data/app/new'],
        ['LIST', '/v1/secret/metadata/app/'], ['DELETE', '/v1/secret/data/app/new'],
      ]);
      expect(JSON.parse(backend.requestsTo('/v1/secret/data/app/new')[0]?.body ?? '')).to.deep.equal({ data: { a: 1 } });
      backend.clearRequests();
      expect(backend.requests).to.have.length(0);
    });

    simOnly(kind)('records the query and headers too (the simulator\'s own view)', async function () {
      const sim = backend.sim!;
      sim.clearRequests();
      await vault.call('GET', 'secret/data/app/db?version=1', { headers: { 'X-Custom': 'yes' } });
      const [req] = sim.requestsTo('/v1/secret/data/app/db');
      expect(req?.query).to.deep.equal({ version: '1' });
      expect(req?.headers['x-custom']).to.equal('yes');
    });

    it('stops (connections refused) and starts again on the same port with the same state', async function () {
      const token = await vault.tokenWith(['app-read']);
      const port = backend.port;
      await backend.stop();
      const refused = await new Promise<string | undefined>((resolve) => {
        const req = http.get(`${backend.serviceUrl}/v1/sys/health`, { agent: false }, () => resolve(undefined));
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      });
      expect(refused).to.equal('ECONNREFUSED');
      await backend.start();
      expect(backend.port).to.equal(port);
      const read = await new SimClient({ url: backend.serviceUrl, rootToken: backend.rootToken }).call('GET', 'secret/data/app/db', { token });
      expect(read.status).to.equal(200);
      expect(read.json.data.data).to.deep.equal({ pw: 'x' });
    });
  });
});
