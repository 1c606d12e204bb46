// The kubernetes and jwt auto-auth methods end to end: `vault-extproc serve` (the built CLI)
// logs in with the method from its HCL config, and a request through real Envoy without a token
// reaches Vault carrying the auto-auth token (api_proxy use_auto_auth_token = true). Both
// backends: the real Vault's kubernetes plugin asks a TLS TokenReview stand-in, its jwt plugin
// checks the test's public keys. And `check` on these methods' config.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoAuthHcl, getThroughEnvoy, runCli, writeCheckConfig } from '../../support/auto-auth-e2e.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { secretForPolicy, setupJwtAuth, setupKubernetesAuth } from '../../support/k8s-jwt-setup.js';
import { startK8sTokenReview, type K8sApi } from '../../support/k8s-token-review.js';
import { makeSigningKey, nowSeconds, signJwt } from '../../support/jwt-keys.js';
import { waitFor } from '../../support/ports.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';
import { vaultApi } from '../../support/vault-setup.js';

forEachBackend('e2e: kubernetes and jwt auto-auth tokens through real Envoy', function (kind) {
  this.timeout(60_000);
  let pki: TestPki;
  let api: K8sApi;
  let vault: Backend;
  const stacks: Stack[] = [];
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  showLogsOnFailure(() => stacks, () => vault);

  before(async () => {
    pki = makeTestPki();
    api = await startK8sTokenReview({ cert: pki.serverCert, key: pki.serverKey });
    vault = await startBackend(kind);
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault.close();
    await api.close();
    for (const d of [pki.dir, ...dirs]) rmSync(d, { recursive: true, force: true });
  });

  /** GET through Envoy without a token; the token Vault saw for it, and the one in the sink at <sinkDir>/token. */
  async function readThroughEnvoy(stack: Stack, sinkDir: string, path: string): Promise<{ status: number; body: any; sawToken: string | undefined; sinkToken: string }> {
    const read = await getThroughEnvoy(stack, vault, `/v1/${path}`);
    return { status: read.status, body: read.body, sawToken: read.seen.at(-1)?.token, sinkToken: readFileSync(join(sinkDir, 'token'), 'utf8') };
  }

  it("kubernetes: the service-account JWT at token_path logs serve in, and a request through Envoy reads the role's secret with that token", async () => {
    await setupKubernetesAuth(vault, api, pki.caCert, { role: 'web', names: ['web'], namespaces: ['shop'], policies: ['e2e-k8s'] });
    await secretForPolicy(vault, 'e2e-k8s', 'shop/web', { dsn: 'k8s-e2e' });
    const dir = tempDir('vxp-e2e-k8s-');
    writeFileSync(join(dir, 'sa-token'), api.mintToken({ namespace: 'shop', name: 'web' }));
    const stack = await startStack({ vault, hcl: () => autoAuthHcl(dir, 'kubernetes', `role = "web", token_path = "${join(dir, 'sa-token')}"`) });
    stacks.push(stack);
    const read = await readThroughEnvoy(stack, dir, 'secret/data/shop/web');
    expect(read.status, JSON.stringify(read.body)).to.equal(200);
    expect(read.body.data.data).to.deep.equal({ dsn: 'k8s-e2e' });
    expect(read.sawToken).to.equal(await vault.tokenAsSeen(read.sinkToken));
    expect(api.reviews.filter((r) => r.bearer === api.reviewerJwt).length).to.be.greaterThan(0);
  });

  it("jwt: the JWT at path logs serve in (the file is removed after reading), and a request through Envoy reads the role's secret with that token", async () => {
    const key = makeSigningKey('ES256');
    await setupJwtAuth(vault, [key.publicPem], { role: 'deploy', audience: 'vault-e2e', subject: 'pipeline-7', policies: ['e2e-jwt'] });
    await secretForPolicy(vault, 'e2e-jwt', 'ci/deploy', { key: 'jwt-e2e' });
    const dir = tempDir('vxp-e2e-jwt-');
    const now = nowSeconds();
    writeFileSync(join(dir, 'jwt'), signJwt(key, { sub: 'pipeline-7', aud: 'vault-e2e', iat: now, exp: now + 600 }));
    const stack = await startStack({ vault, hcl: () => autoAuthHcl(dir, 'jwt', `role = "deploy", path = "${join(dir, 'jwt')}"`) });
    stacks.push(stack);
    const read = await readThroughEnvoy(stack, dir, 'secret/data/ci/deploy');
    expect(read.status, JSON.stringify(read.body)).to.equal(200);
    expect(read.body.data.data).to.deep.equal({ key: 'jwt-e2e' });
    expect(read.sawToken).to.equal(await vault.tokenAsSeen(read.sinkToken));
    expect(existsSync(join(dir, 'jwt'))).to.equal(false);
  });

  it('jwt: a JWT rotated on disk makes serve log in again with it (enable_reauth_on_new_credentials, jwt_read_period), and Envoy then carries the new token', async () => {
    const key = makeSigningKey('RS256');
    await setupJwtAuth(vault, [key.publicPem], { mount: 'jwt-rotate', role: 'rotate', audience: 'vault-rotate', policies: ['e2e-rotate'], tokenTtl: '1h' });
    await secretForPolicy(vault, 'e2e-rotate', 'ci/rotate', { key: 'rotated' });
    const dir = tempDir('vxp-e2e-rotate-');
    const jwtFile = join(dir, 'jwt');
    const mint = (sub: string): string => {
      const now = nowSeconds();
      return signJwt(key, { sub, aud: 'vault-rotate', iat: now, exp: now + 600 });
    };
    writeFileSync(jwtFile, mint('pipeline-1'));
    const stack = await startStack({
      vault,
      hcl: () => autoAuthHcl(dir, 'jwt', `role = "rotate", path = "${jwtFile}", jwt_read_period = "200ms"`, {
        autoAuth: 'enable_reauth_on_new_credentials = true', method: 'mount_path = "auth/jwt-rotate"',
      }),
    });
    stacks.push(stack);
    const sink = join(dir, 'token');
    const first = readFileSync(sink, 'utf8');
    await waitFor('the first JWT removed after reading', () => (existsSync(jwtFile) ? undefined : true));
    writeFileSync(jwtFile, mint('pipeline-2'));
    const second = await waitFor('a new token in the sink', () => {
      const now = readFileSync(sink, 'utf8');
      return now !== first ? now : undefined;
    }, 10_000);
    const names = await Promise.all([first, second].map(async (t) => (await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, t)).json.data.display_name));
    expect(names).to.deep.equal(['jwt-rotate-pipeline-1', 'jwt-rotate-pipeline-2']);
    const read = await readThroughEnvoy(stack, dir, 'secret/data/ci/rotate');
    expect(read.status, JSON.stringify(read.body)).to.equal(200);
    expect(read.sawToken).to.equal(await vault.tokenAsSeen(second));
  });
});

describe('e2e: check on kubernetes and jwt auto-auth configs', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-check-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function check(method: string, config: string): Promise<{ code: number | null; out: string; file: string }> {
    const file = writeCheckConfig(dir, `${method}.hcl`, 'http://127.0.0.1:8200', autoAuthHcl(dir, method, config));
    const r = await runCli(['check', '--config', file]);
    return { code: r.code, out: `${r.stdout}${r.stderr}`, file };
  }

  it('kubernetes: a missing token file is an error; with the file the config is valid and nothing is "not implemented"', async () => {
    const token = join(dir, 'sa-token');
    const missing = await check('kubernetes', `role = "app", token_path = "${token}"`);
    expect(missing.out).to.include(`error: ${missing.file}: auto_auth > method "kubernetes" > config > token_path: service account token file ${token}: no such file`);
    expect(missing.out).not.to.match(/not implemented/i);
    expect(missing.code).to.equal(1);
    writeFileSync(token, 'a.b.c');
    const ok = await check('kubernetes', `role = "app", token_path = "${token}"`);
    expect(ok.out).to.include('valid (0 warning(s))');
    expect(ok.code).to.equal(0);
  });

  it('kubernetes: without token_path, the pod default /var/run/secrets/kubernetes.io/serviceaccount/token is checked', async () => {
    const r = await check('kubernetes', 'role = "app"');
    expect(r.out).to.include('token_path: service account token file /var/run/secrets/kubernetes.io/serviceaccount/token: no such file');
    expect(r.code).to.equal(1);
  });

  it('jwt: a missing JWT file is a warning while it is removed after reading, an error with remove_jwt_after_reading = false', async () => {
    const jwt = join(dir, 'jwt');
    const removed = await check('jwt', `role = "ci", path = "${jwt}"`);
    expect(removed.out).to.include(`warning: ${removed.file}: auto_auth > method "jwt" > config > path: JWT file ${jwt} does not exist (yet)`);
    expect(removed.out).not.to.match(/not implemented/i);
    expect(removed.code).to.equal(0);
    const kept = await check('jwt', `role = "ci", path = "${jwt}", remove_jwt_after_reading = false`);
    expect(kept.out).to.include(`error: ${kept.file}: auto_auth > method "jwt" > config > path: JWT file ${jwt}: no such file (remove_jwt_after_reading = false: the file is meant to stay)`);
    expect(kept.code).to.equal(1);
  });

  it('jwt and kubernetes: role (and path for jwt) are required', async () => {
    const k = await check('kubernetes', 'token_path = "/x"');
    expect(k.out).to.include(`error: ${k.file}: auto_auth > method "kubernetes" > config > role: is required`);
    const j = await check('jwt', 'remove_jwt_after_reading = false');
    expect(j.out).to.include(`error: ${j.file}: auto_auth > method "jwt" > config > path: is required`);
    expect(j.out).to.include(`error: ${j.file}: auto_auth > method "jwt" > config > role: is required`);
  });
});
