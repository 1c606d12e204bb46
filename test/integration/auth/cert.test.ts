import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { CertMethod } from '../../../src/config/types.js';
import { VaultResponseError } from '../../../src/errors.js';
import { CertAuth } from '../../../src/worker/auth/cert.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { forEachBackend, type Backend } from '../../support/backend.js';
import { makeClientCert, setupCertAuth, startCertBackend } from '../../support/cert-auth.js';
import { sleep, waitFor } from '../../support/ports.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';
import { vaultApi } from '../../support/vault-setup.js';

function certMethod(extra: Partial<CertMethod> = {}): CertMethod {
  return { type: 'cert', mountPath: 'auth/cert', reload: false, minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false, ...extra };
}

/** A login straight to Vault's TLS listener with Node's https (no client certificate unless given). */
async function rawLogin(url: string, pki: TestPki, body: unknown, client?: { cert: string; key: string }): Promise<{ status: number; json: unknown }> {
  return rawPost(url, pki, 'auth/cert/login', undefined, client, body);
}

/** A POST to Vault's TLS listener (no client certificate unless given). */
async function rawPost(url: string, pki: TestPki, path: string, token?: string, client?: { cert: string; key: string }, body: unknown = {}): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}/v1/${path}`, {
      method: 'POST', ca: readFileSync(pki.caCert), headers: { 'content-type': 'application/json', ...(token ? { 'x-vault-token': token } : {}) },
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

forEachBackend('auth: cert auto-auth over Vault\'s TLS listener', function (kind) {
  this.timeout(40_000);
  let pki: TestPki;
  let backend: Backend;
  let tlsUrl: string;
  const runs: AutoAuthRun[] = [];

  before(() => {
    pki = makeTestPki();
  });
  after(() => rmSync(pki.dir, { recursive: true, force: true }));
  beforeEach(async () => {
    ({ backend, tlsUrl } = await startCertBackend(kind, pki));
  });
  afterEach(async function () {
    for (const r of runs.splice(0)) await r.stop();
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${backend.logs()}\n`);
    await backend.close();
  });

  function go(method: CertMethod, vaultBlock: { caCert?: string; clientCert?: string; clientKey?: string } = { caCert: pki.caCert }): AutoAuthRun {
    const r = runAutoAuth({ address: tlsUrl, ...vaultBlock }, new CertAuth(method));
    runs.push(r);
    return r;
  }

  it('logs in with the method\'s client_cert/client_key (and ca_cert): a token of role "web" with its policy, reading the secret', async () => {
    await setupCertAuth(backend, pki);
    const { tokens } = go(certMethod({ name: 'web', caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }), {});
    const token = await waitFor('a token', () => tokens[0]);
    const self = (await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token)).json.data;
    expect(self.path).to.equal('auth/cert/login');
    expect(self.policies).to.deep.equal(['cert-app', 'default']);
    expect(self.display_name).to.equal('cert-web');
    expect(self.meta.cert_name).to.equal('web');
    expect(self.meta.common_name).to.equal('client');
    expect(self.meta.serial_number).to.match(/^\d+$/);
    expect(self.meta.subject_key_id).to.match(/^([0-9a-f]{2}:)+[0-9a-f]{2}$/);
    const secret = await vaultApi(backend, 'GET', 'secret/data/cert-app', undefined, token);
    expect(secret.json.data.data).to.deep.equal({ who: 'cert' });
  });

  it('without client_cert in the method, presents the vault block\'s client certificate (no role named: Vault tries every role)', async () => {
    await setupCertAuth(backend, pki);
    const { tokens } = go(certMethod(), { caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey });
    const token = await waitFor('a token', () => tokens[0]);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.meta.cert_name).to.equal('web');
  });

  it('with ca_cert alone in the method, the login presents no certificate, not the vault block\'s (Vault Agent\'s login client has only ca_cert): refused', async () => {
    await setupCertAuth(backend, pki);
    const vault = new VaultClient({ address: tlsUrl, caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey, tlsSkipVerify: false, numRetries: 0 });
    try {
      const err = await new CertAuth(certMethod({ caCert: pki.caCert })).login(vault).then(() => undefined, (e: unknown) => e);
      expect((err as VaultResponseError).status).to.equal(400);
      expect((err as VaultResponseError).errors).to.deep.equal(['client certificate must be supplied']);
      // The same vault block without the method's ca_cert logs in with its own certificate.
      const ok = await new CertAuth(certMethod()).login(vault);
      expect(ok.token).to.be.a('string').and.not.equal('');
    } finally {
      vault.close();
    }
  });

  it('logs in again after the token is revoked', async () => {
    await setupCertAuth(backend, pki, { tokenTtl: '3s' });
    const { tokens } = go(certMethod({ name: 'web', caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }));
    const first = await waitFor('a token', () => tokens[0]);
    await backend.revokeToken(first);
    const second = await waitFor('a new token', () => tokens[1], 8_000);
    expect(second).not.to.equal(first);
    expect((await vaultApi(backend, 'GET', 'secret/data/cert-app', undefined, second)).status).to.equal(200);
  });

  it('renews the token through the login\'s own TLS client, so Vault sees the same certificate: renewed, no new login', async () => {
    await setupCertAuth(backend, pki, { tokenTtl: '3s' });
    const { tokens } = go(certMethod({ name: 'web', caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }));
    const token = await waitFor('a token', () => tokens[0]);
    const loggedInAt = Date.now();
    backend.clearRequests();
    await waitFor('a renewal', () => (backend.requestsTo('/v1/auth/token/renew-self').length > 0 ? true : undefined), 6_000);
    const renewal = backend.requestsTo('/v1/auth/token/renew-self')[0]!;
    expect(renewal.token).to.equal(await backend.tokenAsSeen(token));
    // Past the login's 3 s TTL: the first token lives on (renewed), and there was no second login.
    await sleep(Math.max(0, loggedInAt + 4_500 - Date.now()));
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token)).status).to.equal(200);
    expect(tokens).to.have.length(1);
  });

  it('reload = true reads the certificate files again at each login: a replaced certificate is the one presented next', async () => {
    await setupCertAuth(backend, pki, { tokenTtl: '3s' });
    const first = makeClientCert(pki, 'rotating', 'ca');
    const certFile = `${pki.dir}/current.pem`;
    const keyFile = `${pki.dir}/current.key`;
    copyFileSync(first.cert, certFile);
    copyFileSync(first.key, keyFile);
    const { tokens } = go(certMethod({ name: 'web', caCert: pki.caCert, clientCert: certFile, clientKey: keyFile, reload: true }));
    const t1 = await waitFor('a token', () => tokens[0]);
    const serial1 = (await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, t1)).json.data.meta.serial_number;
    const next = makeClientCert(pki, 'rotated', 'ca');
    copyFileSync(next.cert, certFile);
    copyFileSync(next.key, keyFile);
    await backend.revokeToken(t1);
    const t2 = await waitFor('a new token', () => tokens[1], 8_000);
    const meta2 = (await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, t2)).json.data.meta;
    expect(meta2.common_name).to.equal('rotated');
    expect(meta2.serial_number).not.to.equal(serial1);
  });

  it('reload + enable_reauth_on_new_credentials: a certificate renewed on disk leads to a new login presenting it, without waiting for the token', async () => {
    await setupCertAuth(backend, pki);
    const first = makeClientCert(pki, 'short-lived-1', 'ca');
    const certFile = `${pki.dir}/watched.pem`;
    const keyFile = `${pki.dir}/watched.key`;
    copyFileSync(first.cert, certFile);
    copyFileSync(first.key, keyFile);
    const method = new CertAuth(certMethod({ name: 'web', caCert: pki.caCert, clientCert: certFile, clientKey: keyFile, reload: true }));
    const r = runAutoAuth({ address: tlsUrl }, method, { reauthOnNewCredentials: true, credentialPollMs: 200 });
    runs.push(r);
    const t1 = await waitFor('a token', () => r.tokens[0]);
    const next = makeClientCert(pki, 'short-lived-2', 'ca');
    copyFileSync(next.key, keyFile);
    copyFileSync(next.cert, certFile);
    const t2 = await waitFor('a login with the renewed certificate', () => r.tokens[1], 8_000);
    expect(t2).not.to.equal(t1);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, t2)).json.data.meta.common_name).to.equal('short-lived-2');
  });

  it('conformance: the login answer and the role read back as Vault gives them (metadata from the certificate, unset lists null)', async () => {
    await setupCertAuth(backend, pki);
    const login = await rawLogin(tlsUrl, pki, { name: 'web' }, { cert: pki.clientCert, key: pki.clientKey }) as { status: number; json: any };
    expect(login.status).to.equal(200);
    expect(login.json.data).to.equal(null);
    expect(login.json.warnings).to.equal(null);
    expect(login.json.auth).to.deep.include({ policies: ['cert-app', 'default'], token_policies: ['cert-app', 'default'], renewable: true, lease_duration: 2764800, orphan: true, token_type: 'service' });
    expect(Object.keys(login.json.auth.metadata).sort()).to.deep.equal(['authority_key_id', 'cert_name', 'common_name', 'serial_number', 'subject_key_id']);
    const serial = BigInt(`0x${execFileSync('openssl', ['x509', '-in', pki.clientCert, '-noout', '-serial']).toString().trim().split('=')[1]}`).toString();
    expect(login.json.auth.metadata.serial_number).to.equal(serial);
    const role = (await vaultApi(backend, 'GET', 'auth/cert/certs/web')).json.data;
    expect(role).to.deep.include({
      display_name: 'web', allowed_names: null, allowed_common_names: null, allowed_dns_sans: null, required_extensions: null,
      ocsp_servers_override: null, ocsp_enabled: false, token_policies: ['cert-app'], token_ttl: 0, token_type: 'default', token_bound_cidrs: [],
    });
    expect((await vaultApi(backend, 'GET', 'auth/cert/config')).json.data).to.deep.equal({ disable_binding: false, enable_identity_alias_metadata: false, ocsp_cache_size: 0, role_cache_size: 0 });
  });

  it('conformance: renewing a cert token needs the login\'s certificate on the connection (Vault\'s binding): 400 without it, 200 with it', async () => {
    await setupCertAuth(backend, pki);
    const client = { cert: pki.clientCert, key: pki.clientKey };
    const login = await rawLogin(tlsUrl, pki, { name: 'web' }, client) as { json: any };
    const token = login.json.auth.client_token as string;
    const plain = await fetch(`${backend.url}/v1/auth/token/renew-self`, { method: 'POST', headers: { 'x-vault-token': token }, body: '{}' });
    expect({ status: plain.status, json: await plain.json() }).to.deep.equal({ status: 400, json: { errors: ['tls connection required'] } });
    expect(await rawPost(tlsUrl, pki, 'auth/token/renew-self', token)).to.deep.include({ status: 400, json: { errors: ['client certificate must be supplied'] } });
    const renewed = await rawPost(tlsUrl, pki, 'auth/token/renew-self', token, client) as { status: number; json: any };
    expect(renewed.status).to.equal(200);
    expect(renewed.json.auth.metadata.cert_name).to.equal('web');
  });

  it('conformance: an unknown certificate, none at all, plain HTTP and an unmet constraint get Vault\'s 400s and texts', async () => {
    await setupCertAuth(backend, pki, { allowedCommonNames: 'only-this-one' });
    const stranger = makeClientCert(pki, 'stranger', 'other-ca');
    const unknown = await rawLogin(tlsUrl, pki, {}, stranger);
    expect(unknown).to.deep.equal({ status: 400, json: { errors: ['invalid certificate or no client certificate supplied; additionally got errors during verification: <nil>'] } });
    expect(await rawLogin(tlsUrl, pki, {})).to.deep.equal({ status: 400, json: { errors: ['client certificate must be supplied'] } });
    const plain = await fetch(`${backend.url}/v1/auth/cert/login`, { method: 'POST', body: '{}' });
    expect({ status: plain.status, json: await plain.json() }).to.deep.equal({ status: 400, json: { errors: ['tls connection required'] } });
    const constrained = await rawLogin(tlsUrl, pki, { name: 'web' }, { cert: pki.clientCert, key: pki.clientKey });
    expect(constrained).to.deep.equal({ status: 400, json: { errors: ['no chain matching all constraints could be found for this login certificate'] } });
    // What the worker's login makes of an unknown certificate: Vault's 400, no token.
    const vault = new VaultClient({ address: tlsUrl, caCert: pki.caCert, tlsSkipVerify: false, numRetries: 0 });
    try {
      const method = new CertAuth(certMethod({ caCert: pki.caCert, clientCert: stranger.cert, clientKey: stranger.key }));
      const err = await method.login(vault).then(() => undefined, (e: unknown) => e);
      expect((err as VaultResponseError).status).to.equal(400);
    } finally {
      vault.close();
    }
  });
});
