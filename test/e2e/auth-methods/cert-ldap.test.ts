import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoAuthHcl, getThroughEnvoy } from '../../support/auto-auth-e2e.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { setupCertAuth, startCertBackend } from '../../support/cert-auth.js';
import { setupLdapAuth } from '../../support/ldap-auth.js';
import { startSlapd, type Slapd } from '../../support/slapd.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';
import { vaultApi } from '../../support/vault-setup.js';

/** A GET through Envoy without a token; the body and the token Vault saw on it. */
async function readThroughEnvoy(stack: Stack, backend: Backend, path: string): Promise<{ status: number; body: any; seenToken: string | undefined }> {
  const read = await getThroughEnvoy(stack, backend, `/v1/${path}`);
  return { status: read.status, body: read.body, seenToken: read.seen[0]!.token };
}

forEachBackend('e2e: cert and ldap auto-auth through Envoy', function (kind) {
  this.timeout(60_000);
  const stacks: Stack[] = [];
  let backend: Backend | undefined;
  showLogsOnFailure(() => stacks, () => backend);

  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    await backend?.close();
    backend = undefined;
  });

  describe('cert', () => {
    let pki: TestPki;
    before(() => { pki = makeTestPki(); });
    after(() => rmSync(pki.dir, { recursive: true, force: true }));

    it('a request without a token reaches Vault over TLS carrying the token of a cert login (use_auto_auth_token = true)', async () => {
      const started = await startCertBackend(kind, pki);
      backend = started.backend;
      await setupCertAuth(backend, pki);
      const stack = await startStack({
        vault: { url: backend.url, rootToken: backend.rootToken, serviceUrl: started.tlsUrl },
        vaultHcl: `ca_cert = "${pki.caCert}"`,
        hcl: ({ dir }) => autoAuthHcl(dir, 'cert', `      name = "web"
      ca_cert = "${pki.caCert}"
      client_cert = "${pki.clientCert}"
      client_key = "${pki.clientKey}"`),
      });
      stacks.push(stack);
      const token = readFileSync(join(stack.dir, 'token'), 'utf8');
      expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.meta.cert_name).to.equal('web');
      const read = await readThroughEnvoy(stack, backend, 'secret/data/cert-app');
      expect(read.status).to.equal(200);
      expect(read.body.data.data).to.deep.equal({ who: 'cert' });
      expect(read.seenToken).to.equal(await backend.tokenAsSeen(token));
    });
  });

  describe('ldap', () => {
    let slapd: Slapd;
    before(async () => { slapd = await startSlapd([{ uid: 'alice', password: 'alice-pw' }]); });
    after(async () => { await slapd?.stop(); });

    it('a request without a token reaches Vault carrying the token of an LDAP login against slapd (use_auto_auth_token = true)', async () => {
      backend = await startBackend(kind);
      await setupLdapAuth(backend, slapd);
      const stack = await startStack({
        vault: backend,
        hcl: ({ dir }) => {
          writeFileSync(join(dir, 'ldap-password'), 'alice-pw');
          return autoAuthHcl(dir, 'ldap', `      username = "alice"
      password_file_path = "${join(dir, 'ldap-password')}"`);
        },
      });
      stacks.push(stack);
      const token = readFileSync(join(stack.dir, 'token'), 'utf8');
      expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.path).to.equal('auth/ldap/login/alice');
      const read = await readThroughEnvoy(stack, backend, 'secret/data/ldap-app');
      expect(read.status).to.equal(200);
      expect(read.body.data.data).to.deep.equal({ who: 'ldap' });
      expect(read.seenToken).to.equal(await backend.tokenAsSeen(token));
    });
  });
});
