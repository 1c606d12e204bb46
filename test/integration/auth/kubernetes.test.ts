// The kubernetes auto-auth method against both backends: a real Vault's kubernetes plugin (and
// the simulator's) pointed at a TLS TokenReview stand-in (test/support/k8s-token-review.ts) whose
// service-account JWTs the test mints. The worker's KubernetesAuth reads token_path at every
// login; AutoAuth (src/worker/auto-auth.ts) logs in again when the token is revoked.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesMethod } from '../../../src/config/types.js';
import { KubernetesAuth } from '../../../src/worker/auth/kubernetes.js';
import type { AuthMethod } from '../../../src/worker/auth/index.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { secretForPolicy, setupKubernetesAuth } from '../../support/k8s-jwt-setup.js';
import { makeSigningKey, signJwt } from '../../support/jwt-keys.js';
import { startK8sTokenReview, type K8sApi } from '../../support/k8s-token-review.js';
import { waitFor } from '../../support/ports.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';
import { vaultApi } from '../../support/vault-setup.js';

function kubernetesMethod(tokenPath: string, extra: Partial<KubernetesMethod> = {}): KubernetesMethod {
  return {
    type: 'kubernetes', mountPath: 'auth/kubernetes', role: 'app', tokenPath,
    minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false, ...extra,
  };
}

async function loginStatus(v: Backend, body: Record<string, unknown>): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${v.url}/v1/auth/kubernetes/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

forEachBackend('auth method kubernetes: auto-auth against Vault with a TokenReview stand-in', function (kind) {
  this.timeout(30_000);
  let pki: TestPki;
  let api: K8sApi;
  let vault: Backend;
  let dir: string;
  const runs: AutoAuthRun[] = [];

  before(() => { pki = makeTestPki(); });
  after(() => rmSync(pki.dir, { recursive: true, force: true }));
  beforeEach(async () => {
    api = await startK8sTokenReview({ cert: pki.serverCert, key: pki.serverKey });
    vault = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-k8s-'));
  });
  afterEach(async function () {
    for (const r of runs.splice(0)) await r.stop();
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${vault.logs()}\n`);
    await vault.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function go(method: AuthMethod, extra: Parameters<typeof runAutoAuth>[2] = {}): AutoAuthRun {
    const r = runAutoAuth({ address: vault.serviceUrl }, method, extra);
    runs.push(r);
    return r;
  }

  it("logs in with the service-account JWT at token_path: the token has the role's policies and reads the secret", async () => {
    await setupKubernetesAuth(vault, api, pki.caCert, { policies: ['k8s-app'] });
    await secretForPolicy(vault, 'k8s-app', 'k8s/app', { password: 'from-k8s' });
    const jwt = api.mintToken({ namespace: 'prod', name: 'app' });
    writeFileSync(join(dir, 'token'), `${jwt}\n`);
    const { tokens } = go(new KubernetesAuth(kubernetesMethod(join(dir, 'token'))));
    const token = await waitFor('a token', () => tokens[0]);

    const self = await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.policies).to.deep.equal(['default', 'k8s-app']);
    expect(self.json.data.path).to.equal('auth/kubernetes/login');
    expect(self.json.data.display_name).to.equal('kubernetes-prod-app');
    expect(self.json.data.meta).to.include({ role: 'app', service_account_name: 'app', service_account_namespace: 'prod' });
    const secret = await vaultApi(vault, 'GET', 'secret/data/k8s/app', undefined, token);
    expect(secret.json.data.data).to.deep.equal({ password: 'from-k8s' });
    // Vault asked the API about exactly this JWT (trimmed), authenticated as the reviewer.
    expect(api.reviews.map((r) => ({ token: r.token === jwt, bearer: r.bearer === api.reviewerJwt }))).to.deep.equal([{ token: true, bearer: true }]);
  });

  it('logs in again after the token is revoked, reading token_path again (the rotated JWT is sent)', async () => {
    await setupKubernetesAuth(vault, api, pki.caCert, { policies: ['default'], tokenTtl: '1h' });
    const path = join(dir, 'token');
    const first = api.mintToken({ namespace: 'prod', name: 'app' });
    writeFileSync(path, first);
    const { tokens } = go(new KubernetesAuth(kubernetesMethod(path)));
    const t1 = await waitFor('a token', () => tokens[0]);
    // The kubelet rotates the projected token in place; the old one stays valid.
    const second = api.mintToken({ namespace: 'prod', name: 'app' });
    writeFileSync(path, second);
    await vault.revokeToken(t1);
    // Renewal at 2/3 of 1 h would be far off: ask AutoAuth to check the token as ext_proc would on a 403.
    runs[0]!.auto.suspect();
    const t2 = await waitFor('a second token', () => tokens[1], 10_000);
    expect(t2).not.to.equal(t1);
    expect((await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, t2)).json.data.display_name).to.equal('kubernetes-prod-app');
    expect(api.reviews.map((r) => (r.token === first ? 'first' : r.token === second ? 'second' : 'other'))).to.deep.equal(['first', 'second']);
  });

  it('logs in again with the new JWT when the kubelet rotates the token file (enable_reauth_on_new_credentials)', async () => {
    await setupKubernetesAuth(vault, api, pki.caCert, { policies: ['default'], tokenTtl: '1h' });
    const path = join(dir, 'token');
    const first = api.mintToken({ namespace: 'prod', name: 'app' });
    writeFileSync(path, first);
    const { tokens } = go(new KubernetesAuth(kubernetesMethod(path)), { reauthOnNewCredentials: true, credentialPollMs: 200 });
    const t1 = await waitFor('a token', () => tokens[0]);
    // Replaced by a rename, as the kubelet swaps a projected token.
    const second = api.mintToken({ namespace: 'prod', name: 'app' });
    writeFileSync(join(dir, 'token.new'), second);
    renameSync(join(dir, 'token.new'), path);
    const t2 = await waitFor('a login with the rotated JWT', () => tokens[1], 10_000);
    expect(t2).not.to.equal(t1);
    expect(api.reviews.map((r) => (r.token === first ? 'first' : r.token === second ? 'second' : 'other'))).to.deep.equal(['first', 'second']);
  });

  it('gets no token for a JWT the API server no longer knows, and logs in once a valid one is mounted', async () => {
    await setupKubernetesAuth(vault, api, pki.caCert);
    const path = join(dir, 'token');
    const deleted = api.mintToken({ namespace: 'prod', name: 'app' });
    api.deleteToken(deleted);
    writeFileSync(path, deleted);
    const { tokens } = go(new KubernetesAuth(kubernetesMethod(path)));
    await waitFor('two refused reviews', () => (api.reviews.length >= 2 ? true : undefined), 8_000);
    expect(tokens).to.deep.equal([]);
    writeFileSync(path, api.mintToken({ namespace: 'prod', name: 'app' }));
    await waitFor('a token', () => tokens[0], 8_000);
  });

  it('fails a login without calling Vault when token_path is missing', async () => {
    await setupKubernetesAuth(vault, api, pki.caCert);
    vault.clearRequests();
    const client = new VaultClient({ address: vault.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
    try {
      const missing = join(dir, 'no-such-token');
      const err = await new KubernetesAuth(kubernetesMethod(missing)).login(client).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.equal(`service account token file ${missing} is missing or empty`);
      expect(vault.requestsTo('/v1/auth/kubernetes/login')).to.deep.equal([]);
    } finally {
      client.close();
    }
  });

  it('with pem_keys, checks the JWT signature itself: another signer is refused before any review', async () => {
    await setupKubernetesAuth(vault, api, pki.caCert);
    await vaultApi(vault, 'POST', 'auth/kubernetes/config', {
      kubernetes_host: api.url, kubernetes_ca_cert: readFileSync(pki.caCert, 'utf8'), token_reviewer_jwt: api.reviewerJwt, pem_keys: [api.signingKey.publicPem],
    });
    const good = api.mintToken({ namespace: 'prod', name: 'app' });
    const [header, payload] = good.split('.');
    const forged = `${header}.${payload}.${signJwt(makeSigningKey('RS256'), { forged: true }).split('.')[2]}`;
    expect(await loginStatus(vault, { role: 'app', jwt: forged })).to.deep.equal({ status: 403, json: { errors: ['permission denied'] } });
    expect(api.reviews).to.deep.equal([]);
    expect((await loginStatus(vault, { role: 'app', jwt: good })).status).to.equal(200);
    expect(api.reviews).to.have.length(1);
  });

  // Conformance: the same answers from both backends (the simulator's are checked against the real plugin's here).
  it('answers bad logins as the real plugin does: status and errors for a bad JWT, a wrong role, unbound names', async () => {
    await setupKubernetesAuth(vault, api, pki.caCert);
    const good = api.mintToken({ namespace: 'prod', name: 'app' });
    const deleted = api.mintToken({ namespace: 'prod', name: 'app' });
    api.deleteToken(deleted);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['not a JWT', { role: 'app', jwt: 'not-a-jwt' }],
      ['wrong role', { role: 'nope', jwt: good }],
      ['no role', { jwt: good }],
      ['no jwt', { role: 'app' }],
      ['other namespace', { role: 'app', jwt: api.mintToken({ namespace: 'dev', name: 'app' }) }],
      ['other service account', { role: 'app', jwt: api.mintToken({ namespace: 'prod', name: 'web' }) }],
      ['expired', { role: 'app', jwt: api.mintToken({ namespace: 'prod', name: 'app' }, { ttlSeconds: -600 }) }],
      ['unknown to the API', { role: 'app', jwt: deleted }],
    ];
    const answers: Record<string, unknown> = {};
    for (const [name, body] of cases) answers[name] = await loginStatus(vault, body);
    expect(answers).to.deep.equal({
      'not a JWT': { status: 403, json: { errors: ['permission denied'] } },
      'wrong role': { status: 400, json: { errors: ['invalid role name "nope"'] } },
      'no role': { status: 400, json: { errors: ['missing role'] } },
      'no jwt': { status: 400, json: { errors: ['missing jwt'] } },
      'other namespace': { status: 403, json: { errors: ['namespace not authorized'] } },
      'other service account': { status: 403, json: { errors: ['service account name not authorized'] } },
      'expired': { status: 403, json: { errors: ['invalid expiration time (exp) claim: token is expired'] } },
      'unknown to the API': { status: 403, json: { errors: ['permission denied'] } },
    });
    // Only the last case got as far as the TokenReview API.
    expect(api.reviews.map((r) => r.token === deleted)).to.deep.equal([true]);
  });
});
