import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { AUTO_AUTH_LEASE_CACHE, clientView, X_VAULT_REQUEST } from '../support/oracle.js';
import { rawRequest, type RawRequest } from '../support/raw-http.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { startVaultProxy, type RunningVaultProxy } from '../support/vault-proxy.js';

// Vault Proxy as the oracle: the same requests go to the real `vault proxy` of the build and to
// Envoy + vault-extproc, both with the same stanzas in front of the same Vault, and the answers a
// client reads (status, content type, body without per-request ids) must be the same.

const STANZAS = AUTO_AUTH_LEASE_CACHE;
const LISTENER = 'require_request_header = true';
const OK = X_VAULT_REQUEST;
const seen = clientView;

forEachBackend('e2e: Vault Proxy 1.15.6 as the oracle (same requests, same answers)', function (kind) {
  this.timeout(120_000);
  let sim: Backend;
  let proxy: RunningVaultProxy;
  let stack: Stack;
  showLogsOnFailure(() => [stack], () => ({ logs: () => `${proxy?.proc.text ?? ''}\n${sim?.logs?.() ?? ''}` }));

  before(async () => {
    sim = await startBackend(kind);
    await writePolicy(sim, 'oracle', 'path "secret/data/oracle/*" { capabilities = ["read"] }');
    await vaultApi(sim, 'POST', 'secret/data/oracle/config', { data: { answer: '42' } });
    const forProxy = await setupAppRole(sim, { role: 'oracle', policies: ['oracle'] });
    const forUs = await setupAppRole(sim, { role: 'oracle', policies: ['oracle'] });
    proxy = await startVaultProxy({
      vault: sim, listenerHcl: LISTENER,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, forProxy)}\n${STANZAS}`,
      // Ready once auto-auth holds a token: the secret reads with no token of the client's.
      ready: async (url) => (await fetch(`${url}/v1/secret/data/oracle/config`, { headers: { 'x-vault-request': 'true' } })).status === 200,
    });
    stack = await startStack({ vault: sim, listenerHcl: `tls_disable = true\n  ${LISTENER}`, hcl: ({ dir }) => `${appRoleAutoAuth(dir, forUs)}\n${STANZAS}`, waitReady: true });
  });
  after(async () => {
    await stack?.stop();
    await proxy?.stop();
    await sim?.close();
  });

  async function both(req: RawRequest): Promise<{ theirs: ReturnType<typeof seen>; ours: ReturnType<typeof seen> }> {
    const theirs = seen(await rawRequest(proxy.url, req));
    const ours = seen(await rawRequest(stack.url, req));
    return { theirs, ours };
  }

  const cases: Array<{ title: string; req: RawRequest }> = [
    { title: 'no X-Vault-Request: 412 and its body', req: { method: 'GET', path: '/v1/secret/data/oracle/config' } },
    { title: 'X-Vault-Request twice: 412', req: { method: 'GET', path: '/v1/secret/data/oracle/config', headers: [OK, OK] } },
    { title: 'X-Vault-Request: false: 412', req: { method: 'GET', path: '/v1/secret/data/oracle/config', headers: [['x-vault-request', 'false']] } },
    { title: 'a read with no client token uses the auto-auth token', req: { method: 'GET', path: '/v1/secret/data/oracle/config', headers: [OK] } },
    { title: 'a read outside the policy: 403 and its body', req: { method: 'GET', path: '/v1/secret/data/other', headers: [OK] } },
    { title: 'a missing secret: 404', req: { method: 'GET', path: '/v1/secret/data/oracle/missing', headers: [OK] } },
    { title: 'a client token Vault does not know: 403', req: { method: 'GET', path: '/v1/secret/data/oracle/config', headers: [OK, ['x-vault-token', 'hvs.not-a-token']] } },
    { title: 'cache-clear with an empty JSON body', req: { method: 'POST', path: '/proxy/v1/cache-clear', headers: [OK, ['content-type', 'application/json']] } },
    { title: 'cache-clear with an unknown type', req: { method: 'POST', path: '/proxy/v1/cache-clear', headers: [OK, ['content-type', 'application/json']], body: '{"type":"bogus"}' } },
    { title: 'cache-clear of everything', req: { method: 'POST', path: '/proxy/v1/cache-clear', headers: [OK, ['content-type', 'application/json']], body: '{"type":"all"}' } },
    { title: 'cache-clear with GET', req: { method: 'GET', path: '/proxy/v1/cache-clear', headers: [OK] } },
  ];
  for (const c of cases) {
    it(c.title, async () => {
      const { theirs, ours } = await both(c.req);
      expect(ours, `Vault Proxy answered ${JSON.stringify(theirs)}`).to.deep.equal(theirs);
    });
  }

  // The differences we keep, each listed in the README with its reason. Both sides are asserted,
  // so a change on either side shows here.
  describe('differences kept on purpose', () => {
    it('cache-clear without Content-Type: application/json: Vault Proxy reads the body (400 for an empty one), we answer 415 (a web form cannot clear the cache)', async () => {
      const { theirs, ours } = await both({ method: 'POST', path: '/proxy/v1/cache-clear', headers: [OK], body: '{"type":"all"}' });
      expect(theirs.status).to.equal(200);
      expect(ours).to.deep.equal({ status: 415, contentType: 'application/json', body: { errors: ['cache-clear needs a JSON body (Content-Type: application/json)'] } });
    });

    it('require_request_header guards cache-clear too: Vault Proxy guards only the proxied API (it clears), we answer 412', async () => {
      const { theirs, ours } = await both({ method: 'POST', path: '/proxy/v1/cache-clear', headers: [['content-type', 'application/json']], body: '{"type":"all"}' });
      expect(theirs.status).to.equal(200);
      expect(ours).to.deep.equal({ status: 412, contentType: 'application/json', body: { errors: ['missing "X-Vault-Request" header'] } });
    });

    it('cache-clear of type request_path without a value: the same message, Vault Proxy with 500, we with 400 (the client\'s mistake)', async () => {
      const { theirs, ours } = await both({ method: 'POST', path: '/proxy/v1/cache-clear', headers: [OK, ['content-type', 'application/json']], body: '{"type":"request_path"}' });
      expect(theirs).to.deep.equal({ status: 500, contentType: 'application/json', body: { errors: ['failed to clear cache: request path not provided'] } });
      expect(ours).to.deep.equal({ ...theirs, status: 400 });
    });

    it('cache-clear with a body that is not JSON: 400 on both, the parser\'s own words after "failed to parse JSON input: "', async () => {
      const { theirs, ours } = await both({ method: 'POST', path: '/proxy/v1/cache-clear', headers: [OK, ['content-type', 'application/json']], body: 'not json' });
      for (const side of [theirs, ours]) {
        expect(side.status).to.equal(400);
        expect((side.body as { errors: string[] }).errors[0]).to.match(/^failed to parse JSON input: /);
      }
    });
  });
});
