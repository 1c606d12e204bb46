// How Vault 1.15.6 reads a request before it answers it: `?help`, non-canonical paths, the token
// headers, method case, use-limited tokens, parameter-constrained policies and X-Vault-Namespace on
// a Vault without namespaces. The same tests run against the simulator and a real Vault; the
// requests go out byte for byte (raw-http.ts), since fetch would clean paths and merge headers.
import { expect } from 'chai';
import { forEachBackend, simOnly, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { rawRequest, type RawResponse } from './raw-http.js';
import { DENIED, HSTS } from './support.js';

/** A bad or missing token (and a used-up one): the plain form, not the multierror. */
const PLAIN_DENIED = { errors: ['permission denied'] };
const SECRET = 'conformance-secret-value';

forEachBackend('Vault API: how Vault reads a request', (kind) => {
  let backend: Backend;
  let vault: SimClient;
  /** read on secret/data/* */
  let reader: string;
  let readerAccessor: string;
  /** only the default policy */
  let nobody: string;

  const send = (method: string, target: string, headers: [string, string][] = [], body?: string): Promise<RawResponse> =>
    rawRequest(backend.url, method, target, headers, body);
  const as = (token: string): [string, string][] => [['X-Vault-Token', token]];
  const lookupAsRoot = async (token: string) => vault.call('POST', 'auth/token/lookup', { body: { token } });

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    await vault.writePolicy('reader', 'path "secret/data/*" { capabilities = ["read"] }');
    expect((await vault.call('POST', 'secret/data/app/db', { body: { data: { pw: SECRET } } })).status).to.equal(200);
    const created = await vault.call('POST', 'auth/token/create', { body: { policies: ['reader'] } });
    reader = created.json.auth.client_token;
    readerAccessor = created.json.auth.accessor;
    nobody = await vault.tokenWith(['default']);
  });

  after(async function () {
    await backend?.close();
  });

  describe('?help', function () {
    const expectHelp = (res: RawResponse): void => {
      expect(res.status).to.equal(200);
      expect(res.header('content-type')).to.equal('application/json');
      expect(res.header('cache-control')).to.equal('no-store');
      expect(Object.keys(res.json)).to.deep.equal(['help', 'openapi', 'see_also']);
      expect(res.json.help).to.be.a('string').and.match(/^Request: +data\/app\/db\n/);
      expect(Object.keys(res.json.openapi)).to.deep.equal(['openapi', 'info', 'paths', 'components']);
      expect(res.json.see_also).to.equal(null);
      expect(res.body).not.to.include(SECRET);
    };

    it('answers 200 with help, not the secret, to a token that may not read it', async function () {
      expect((await send('GET', '/v1/secret/data/app/db', as(nobody))).status).to.equal(403);
      for (const target of [
        '/v1/secret/data/app/db?help=1', '/v1/secret/data/app/db?help=1&version=1', '/v1/secret/data/app/db?help=0',
        '/v1/secret/data/app/db?help=true', '/v1/secret/data/app/db?version=1&help=x',
      ]) {
        expectHelp(await send('GET', target, as(nobody)));
      }
      expectHelp(await send('HELP', '/v1/secret/data/app/db', as(nobody)));
      expectHelp(await send('get', '/v1/secret/data/app/db?help=1', as(nobody)));
    });

    it('is help whatever the method: a POST with ?help=1 writes nothing', async function () {
      expectHelp(await send('POST', '/v1/secret/data/app/db?help=1', as(backend.rootToken), JSON.stringify({ data: { pw: 'overwritten' } })));
      expectHelp(await send('DELETE', '/v1/secret/data/app/db?help=1', as(backend.rootToken)));
      const read = await vault.call('GET', 'secret/data/app/db');
      expect(read.json.data.data).to.deep.equal({ pw: SECRET });
      expect(read.json.data.metadata.version).to.equal(1);
    });

    it('is not help when the first help value is empty', async function () {
      const empty = await send('GET', '/v1/secret/data/app/db?help=', as(nobody));
      expect(empty.status).to.equal(403);
      expect(empty.json).to.deep.equal({ errors: [DENIED] });
      const firstEmpty = await send('GET', '/v1/secret/data/app/db?help=&help=1', as(reader));
      expect(firstEmpty.status).to.equal(200);
      expect(firstEmpty.json.data.data).to.deep.equal({ pw: SECRET });
      const firstSet = await send('GET', '/v1/secret/data/app/db?help=1&help=', as(reader));
      expectHelp(firstSet);
    });

    it('refuses a missing or unknown token with 403, except on unauthenticated paths', async function () {
      for (const headers of [[], as('hvs.not-a-token')] as [string, string][][]) {
        const res = await send('GET', '/v1/secret/data/app/db?help=1', headers);
        expect(res.status).to.equal(403);
        expect(res.json).to.deep.equal(PLAIN_DENIED);
      }
      const health = await send('GET', '/v1/sys/health?help=1');
      expect(health.status).to.equal(200);
      expect(Object.keys(health.json)).to.deep.equal(['help', 'openapi', 'see_also']);
      expect(health.json).not.to.have.property('initialized');
    });

    it('is answered before the path is cleaned, and 404s where no mount matches', async function () {
      const dirty = await send('GET', '/v1//secret/data/app/db?help=1', as(nobody));
      expect(dirty.status).to.equal(404);
      expect(dirty.json).to.deep.equal({ errors: ['no handler for route "/secret/data/app/db". route entry not found.'] });
      const nowhere = await send('GET', '/v1/nowhere/x?help=1', as(nobody));
      expect(nowhere.status).to.equal(404);
      expect(nowhere.json).to.deep.equal({ errors: ['no handler for route "nowhere/x". route entry not found.'] });
    });
  });

  describe('non-canonical paths', function () {
    const expectRedirect = (res: RawResponse, location: string, method = 'GET'): void => {
      expect(res.status, `${method} → ${location}`).to.equal(301);
      expect(res.header('location')).to.equal(location);
      expect(res.header('cache-control')).to.equal('no-store');
      expect(res.header('strict-transport-security')).to.equal(HSTS);
      if (method === 'GET') {
        expect(res.header('content-type')).to.equal('text/html; charset=utf-8');
        const href = location.replace(/&/g, '&amp;');
        expect(res.body).to.equal(`<a href="${href}">Moved Permanently</a>.\n\n`);
      } else if (method === 'HEAD') {
        expect(res.header('content-type')).to.equal('text/html; charset=utf-8');
        expect(res.header('content-length')).to.equal(undefined);
        expect(res.body).to.equal('');
      } else {
        expect(res.header('content-type')).to.equal(undefined);
        expect(res.header('content-length')).to.equal('0');
        expect(res.body).to.equal('');
      }
    };

    it('redirects //, /./, /../ and their percent-encoded forms with 301 to the cleaned path, query kept', async function () {
      const cases: [string, string][] = [
        ['/v1//secret/data/app/db', '/v1/secret/data/app/db'],
        ['/v1/./secret/data/app/db', '/v1/secret/data/app/db'],
        ['/v1/secret/data/app/../app/db?version=1&a=%20b', '/v1/secret/data/app/db?version=1&a=%20b'],
        ['/v1/secret/data/app/db/.', '/v1/secret/data/app/db'],
        ['/v1/secret/data/app/db/..', '/v1/secret/data/app'],
        ['/v1/secret/data/app//', '/v1/secret/data/app/'],
        ['/v1/../secret/data/app/db', '/secret/data/app/db'],
        ['/v1/secret/data/x%2F..%2Fapp/db', '/v1/secret/data/app/db'],
        ['/v1/secret/data/app%2f%2fdb', '/v1/secret/data/app/db'],
        ['/v1/secret/data/%2e%2e/data/app/db', '/v1/secret/data/app/db'],
        ['/v1/secret/data/app/%2E/db', '/v1/secret/data/app/db'],
        ['/v1//secret/data/caf%C3%A9%20x!*()', '/v1/secret/data/caf%C3%A9%20x%21%2A%28%29'],
        ['/v1//sys/health', '/v1/sys/health'],
      ];
      for (const [target, location] of cases) expectRedirect(await send('GET', target, as(reader)), location);
      // Before any token check: no token, same answer.
      expectRedirect(await send('GET', '/v1//secret/data/app/db'), '/v1/secret/data/app/db');
    });

    it('redirects every method, with a body only for GET, and the redirected write does not happen', async function () {
      const root = as(backend.rootToken);
      expectRedirect(await send('POST', '/v1//secret/data/app/db', root, JSON.stringify({ data: { pw: 'x' } })), '/v1/secret/data/app/db', 'POST');
      expectRedirect(await send('PUT', '/v1/secret/data/./app/db', root, JSON.stringify({ data: { pw: 'x' } })), '/v1/secret/data/app/db', 'PUT');
      expectRedirect(await send('DELETE', '/v1//secret/data/app/db', root), '/v1/secret/data/app/db', 'DELETE');
      expectRedirect(await send('LIST', '/v1//secret/metadata/', root), '/v1/secret/metadata/', 'LIST');
      expectRedirect(await send('HEAD', '/v1//secret/data/app/db', root), '/v1/secret/data/app/db', 'HEAD');
      const read = await vault.call('GET', 'secret/data/app/db');
      expect(read.json.data.metadata.version).to.equal(1);
    });

    it('routes a decoded path that is already clean: secret%2Fdata%2F… reads the secret, sys/heal%74h is health', async function () {
      const encoded = await send('GET', '/v1/secret%2Fdata%2Fapp%2Fdb', as(reader));
      expect(encoded.status).to.equal(200);
      expect(encoded.json.data.data).to.deep.equal({ pw: SECRET });
      const health = await send('GET', '/v1/sys/heal%74h');
      expect(health.status).to.equal(200);
      expect(health.json.initialized).to.equal(true);
    });

    it('takes raw UTF-8 in the request target as the same path as its percent-encoded form', async function () {
      expect((await vault.call('POST', 'secret/data/caf%C3%A9', { body: { data: { v: 'utf8' } } })).status).to.equal(200);
      const res = await send('GET', '/v1/secret/data/caf\u00e9', as(reader));
      expect(res.status).to.equal(200);
      expect(res.json.data.data).to.deep.equal({ v: 'utf8' });
    });

    it('answers 404 {"errors":[]} outside /v1/ (//v1/…, /v1)', async function () {
      for (const target of ['//v1/secret/data/app/db', '/v1']) {
        const res = await send('GET', target, as(reader));
        expect(res.status, target).to.equal(404);
        expect(res.body).to.equal('{"errors":[]}\n');
      }
    });

    it("refuses invalid percent escapes (and a space) in the path with Go's plain 400, and drops bad query pairs", async function () {
      for (const target of ['/v1/%zz', '/v1/secret/data/app/db%', '/v1/secret/data/app/d%b', '/v1/secret/data/app db']) {
        const res = await send('GET', target, as(reader));
        expect(res.status, target).to.equal(400);
        expect(res.body).to.equal('400 Bad Request');
        expect(res.header('content-type')).to.equal('text/plain; charset=utf-8');
        expect(res.header('connection')).to.equal('close');
        expect(res.header('cache-control')).to.equal(undefined);
      }
      const badQuery = await send('GET', '/v1/secret/data/app/db?a=%zz&version=1', as(reader));
      expect(badQuery.status).to.equal(200);
      expect(badQuery.json.data.data).to.deep.equal({ pw: SECRET });
    });

    it('refuses non-printable characters in the decoded path with a bare 400', async function () {
      for (const target of ['/v1/secret/data/%00x', '/v1/secret/data/app%0adb', '/v1/secret/data/app%7fdb']) {
        const res = await send('GET', target, as(reader));
        expect(res.status, target).to.equal(400);
        expect(res.body).to.equal('');
        expect(res.header('cache-control')).to.equal(undefined);
        expect(res.header('content-length')).to.equal('0');
      }
    });
  });

  describe('token headers (getTokenFromReq)', function () {
    const read = (headers: [string, string][]): Promise<RawResponse> => send('GET', '/v1/secret/data/app/db', headers);
    const expectRead = (res: RawResponse, what: string): void => {
      expect(res.status, what).to.equal(200);
      expect(res.json.data.data, what).to.deep.equal({ pw: SECRET });
    };
    const expectNoToken = (res: RawResponse, what: string): void => {
      expect(res.status, what).to.equal(403);
      expect(res.json, what).to.deep.equal(PLAIN_DENIED);
    };

    it('takes the first X-Vault-Token, even when it is empty', async function () {
      expectRead(await read([['X-Vault-Token', reader], ['X-Vault-Token', 'hvs.bogus']]), 'good first');
      expectNoToken(await read([['X-Vault-Token', 'hvs.bogus'], ['X-Vault-Token', reader]]), 'bogus first');
      expectNoToken(await read([['X-Vault-Token', ''], ['X-Vault-Token', reader]]), 'empty first');
      expectRead(await read([['x-vault-token', reader]]), 'lower-case name');
    });

    it('falls back to the first Authorization value starting with "Bearer " (case-sensitive, then trimmed)', async function () {
      expectRead(await read([['X-Vault-Token', ''], ['Authorization', `Bearer ${reader}`]]), 'empty X-Vault-Token');
      expectRead(await read([['Authorization', `Bearer    ${reader}   `]]), 'spaces trimmed');
      expectRead(await read([['Authorization', 'Basic Zm9vOmJhcg=='], ['Authorization', `Bearer ${reader}`]]), 'Basic skipped');
      expectNoToken(await read([['Authorization', `bearer ${reader}`]]), 'lower-case bearer');
      expectNoToken(await read([['Authorization', `BEARER ${reader}`]]), 'upper-case BEARER');
      expectNoToken(await read([['Authorization', `Bearer\t${reader}`]]), 'tab after Bearer');
      expectNoToken(await read([['Authorization', 'Bearer hvs.bogus'], ['Authorization', `Bearer ${reader}`]]), 'first Bearer wins');
      expectNoToken(await read([['X-Vault-Token', 'hvs.bogus'], ['Authorization', `Bearer ${reader}`]]), 'X-Vault-Token wins');
    });

    it('routes on the decoded path: auth/token/lookup-sel%66 is lookup-self', async function () {
      const res = await send('GET', '/v1/auth/token/lookup-sel%66', as(reader));
      expect(res.status).to.equal(200);
      expect(res.json.data.accessor).to.equal(readerAccessor);
    });
  });

  describe('method case', function () {
    it('answers 405 {"errors":[]} to methods Vault does not know, lower-case ones included, token or not', async function () {
      for (const [method, target, headers] of [
        ['get', '/v1/secret/data/app/db', as(reader)],
        ['Get', '/v1/secret/data/app/db', as(reader)],
        ['get', '/v1/secret/data/app/db', []],
        ['post', '/v1/secret/data/app/db', as(backend.rootToken)],
        ['list', '/v1/secret/metadata/', as(backend.rootToken)],
        ['FOO', '/v1/secret/data/app/db', as(reader)],
        ['get', '/v1/sys/health', []],
      ] as [string, string, [string, string][]][]) {
        const res = await send(method, target, headers, method === 'post' ? '{}' : undefined);
        expect(res.status, `${method} ${target}`).to.equal(405);
        expect(res.body).to.equal('{"errors":[]}\n');
      }
    });
  });

  describe('num_uses', function () {
    it('spends a use on every authenticated request, refused ones too; the last use shows -1, then the token is gone', async function () {
      const token = await vault.tokenWith(['reader'], { num_uses: 4 });
      const first = await send('GET', '/v1/auth/token/lookup-self', as(token));
      expect(first.json.data.num_uses).to.equal(3);
      const refused = await send('GET', '/v1/secret/metadata/app/db', as(token));
      expect(refused.status).to.equal(403);
      expect(refused.json).to.deep.equal({ errors: [DENIED] });
      expect((await send('GET', '/v1/secret/data/app/db', as(token))).status).to.equal(200);
      const last = await send('GET', '/v1/auth/token/lookup-self', as(token));
      expect(last.status).to.equal(200);
      expect(last.json.data.num_uses).to.equal(-1);
      const after = await send('GET', '/v1/secret/data/app/db', as(token));
      expect(after.status).to.equal(403);
      expect(after.json).to.deep.equal(PLAIN_DENIED);
      const gone = await lookupAsRoot(token);
      expect(gone.status).to.equal(403);
      expect(gone.json).to.deep.equal({ errors: ['bad token'] });
    });

    it('spends one on ?help; not on sys/health, redirects, 405s or unauthenticated paths', async function () {
      const token = await vault.tokenWith(['reader'], { num_uses: 3 });
      expect((await send('GET', '/v1/sys/health', as(token))).status).to.equal(200);
      expect((await send('GET', '/v1//secret/data/app/db', as(token))).status).to.equal(301);
      expect((await send('get', '/v1/secret/data/app/db', as(token))).status).to.equal(405);
      expect((await send('POST', '/v1/sys/wrapping/lookup', as(token), JSON.stringify({ token: 'x' }))).status).to.equal(400);
      expect((await lookupAsRoot(token)).json.data.num_uses).to.equal(3);
      expect((await send('GET', '/v1/secret/data/app/db?help=1', as(token))).status).to.equal(200);
      expect((await lookupAsRoot(token)).json.data.num_uses).to.equal(2);
    });

    it('answers the last use of sys/capabilities-self with 400 invalid token (the token is already pending revocation)', async function () {
      const token = await vault.tokenWith(['reader'], { num_uses: 1 });
      const res = await send('POST', '/v1/sys/capabilities-self', as(token), JSON.stringify({ paths: ['secret/data/app/db'] }));
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal({ errors: ['1 error occurred:\n\t* invalid token\n\n'] });
      expect((await lookupAsRoot(token)).status).to.equal(403);
    });
  });

  describe('parameter constraints on reads', function () {
    before(async function () {
      expect((await vault.call('POST', 'secret/data/app/db', { body: { data: { pw: `${SECRET}-2` } } })).status).to.equal(200);
      const rule = (extra: string): string => `path "secret/data/*" {\n  capabilities = ["read"]\n  ${extra}\n}\n`;
      await vault.writePolicy('deny-version', rule('denied_parameters = { "version" = [] }'));
      await vault.writePolicy('require-version', rule('required_parameters = ["version"]'));
      await vault.writePolicy('allow-version-1', rule('allowed_parameters = { "version" = ["1"] }'));
      await vault.writePolicy('deny-version-1', rule('denied_parameters = { "version" = ["1"] }'));
    });

    const statuses = async (policy: string): Promise<Record<string, number>> => {
      const token = await vault.tokenWith([policy]);
      const out: Record<string, number> = {};
      for (const q of ['', '?version=1', '?version=2', '?VERSION=1', '?other=1', '?list=false']) {
        const res = await send('GET', `/v1/secret/data/app/db${q}`, as(token));
        out[q || 'plain'] = res.status;
        if (res.status === 403) expect(res.json, `${policy} ${q}`).to.deep.equal({ errors: [DENIED] });
      }
      // Capabilities know nothing of parameters.
      const caps = await send('POST', '/v1/sys/capabilities-self', as(token), JSON.stringify({ paths: ['secret/data/app/db'] }));
      expect(caps.json.data.capabilities, policy).to.deep.equal(['read']);
      return out;
    };

    it('denied_parameters = { "version" = [] } refuses any ?version= (names compared lower-cased), not the plain read', async function () {
      expect(await statuses('deny-version')).to.deep.equal({
        plain: 200, '?version=1': 403, '?version=2': 403, '?VERSION=1': 403, '?other=1': 200, '?list=false': 200,
      });
    });

    it('required_parameters = ["version"] refuses the plain read and any read without exactly `version`', async function () {
      expect(await statuses('require-version')).to.deep.equal({
        plain: 403, '?version=1': 200, '?version=2': 200, '?VERSION=1': 403, '?other=1': 403, '?list=false': 403,
      });
    });

    it('allowed_parameters allows the listed values only, and no other parameter', async function () {
      expect(await statuses('allow-version-1')).to.deep.equal({
        plain: 200, '?version=1': 200, '?version=2': 403, '?VERSION=1': 200, '?other=1': 403, '?list=false': 403,
      });
    });

    it('denied_parameters with values refuses only those values', async function () {
      expect(await statuses('deny-version-1')).to.deep.equal({
        plain: 200, '?version=1': 403, '?version=2': 200, '?VERSION=1': 403, '?other=1': 200, '?list=false': 200,
      });
      const token = await vault.tokenWith(['deny-version-1']);
      const v2 = await send('GET', '/v1/secret/data/app/db?version=2', as(token));
      expect(v2.json.data.data).to.deep.equal({ pw: `${SECRET}-2` });
    });
  });

  describe('X-Vault-Namespace without namespaces (Vault CE)', function () {
    it('sys/health says 1.15.6, with no enterprise or license key', async function () {
      const res = await send('GET', '/v1/sys/health');
      expect(res.json.version).to.equal('1.15.6');
      expect(res.json).not.to.have.property('enterprise');
      expect(res.json).not.to.have.property('license');
      const seal = await send('GET', '/v1/sys/seal-status');
      expect(seal.json.version).to.equal('1.15.6');
    });

    it('ignores the header (it is only echoed back): the root namespace answers, not a mount named after it', async function () {
      expect((await vault.call('POST', 'sys/mounts/ns1/secret', { body: { type: 'kv', options: { version: '2' } } })).status).to.equal(204);
      expect((await vault.call('POST', 'ns1/secret/data/app/db', { body: { data: { pw: 'in-ns1' } } })).status).to.equal(200);
      const res = await send('GET', '/v1/secret/data/app/db', [...as(reader), ['X-Vault-Namespace', 'ns1']]);
      expect(res.status).to.equal(200);
      expect(res.json.data.data.pw).to.match(new RegExp(`^${SECRET}`));
      expect(res.header('x-vault-namespace')).to.equal('ns1');
      const health = await send('GET', '/v1/sys/health', [['X-Vault-Namespace', 'ns1/']]);
      expect(health.header('x-vault-namespace')).to.equal('ns1/');
      // A token without access to ns1/secret cannot reach it through the header either.
      const other = await send('GET', '/v1/ns1/secret/data/app/db', as(reader));
      expect(other.status).to.equal(403);
    });
  });

  describe('the namespaces profile (simulator only: Vault Enterprise is not in the test matrix)', function () {
    simOnly(kind)('says +ent in sys/health and reads the namespace the header names', async function () {
      const ent = await startBackend('sim', { sim: { namespaces: true } });
      try {
        const client = new SimClient(ent);
        expect((await send2(ent, 'GET', '/v1/sys/health')).json.version).to.equal('1.15.6+ent');
        expect((await client.call('POST', 'sys/mounts/ns1/secret', { body: { type: 'kv', options: { version: '2' } } })).status).to.equal(204);
        expect((await client.call('POST', 'ns1/secret/data/x', { body: { data: { where: 'ns1' } } })).status).to.equal(200);
        expect((await client.call('POST', 'secret/data/x', { body: { data: { where: 'root' } } })).status).to.equal(200);
        const viaHeader = await send2(ent, 'GET', '/v1/secret/data/x', [['X-Vault-Token', ent.rootToken], ['X-Vault-Namespace', 'ns1']]);
        expect(viaHeader.json.data.data).to.deep.equal({ where: 'ns1' });
        const viaPath = await send2(ent, 'GET', '/v1/ns1/secret/data/x', [['X-Vault-Token', ent.rootToken]]);
        expect(viaPath.json.data.data).to.deep.equal({ where: 'ns1' });
        const plain = await send2(ent, 'GET', '/v1/secret/data/x', [['X-Vault-Token', ent.rootToken]]);
        expect(plain.json.data.data).to.deep.equal({ where: 'root' });
      } finally {
        await ent.close();
      }
    });
  });
});

function send2(b: Backend, method: string, target: string, headers: [string, string][] = []): Promise<RawResponse> {
  return rawRequest(b.url, method, target, headers);
}
