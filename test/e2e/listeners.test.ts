import { expect } from 'chai';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, REAL_VAULT_BINARY, startBackend, type Backend } from '../support/backend.js';
import { freePort } from '../support/ports.js';
import { run } from '../support/process.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { makeTestPki, type TestPki } from '../support/tls.js';
import { vaultApi } from '../support/vault-setup.js';

type Ran = { code: number | null; stdout: string; stderr: string };

/** The real `vault` CLI with only the environment given (no VAULT_* of the test run leaks in). */
function vaultCli(env: Record<string, string>, args: string[]): Promise<Ran> {
  const home = mkdtempSync(join(tmpdir(), 'vxp-cli-home-'));
  return run(REAL_VAULT_BINARY, args, { PATH: process.env['PATH'] ?? '', HOME: home, ...env });
}

function curl(args: string[]): Promise<Ran> {
  return run('curl', ['-sS', '--max-time', '10', ...args]);
}

const SECRET = { over: 'the listener' };

/**
 * Vault Proxy's listener blocks, served by the Envoy listeners `envoy-config` generates: a unix
 * socket (pipe), TLS (Vault's default), TLS requiring a client certificate, and TLS 1.3 only.
 */
forEachBackend('e2e: Vault Proxy listeners as Envoy listeners (unix socket, TLS, mTLS, TLS versions)', function (kind) {
  this.timeout(90_000);
  let vault: Backend;
  let pki: TestPki;
  let stack: Stack;
  let socket: string;
  let tlsUrl: string;
  let mtlsUrl: string;
  let tls13Url: string;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await vaultApi(vault, 'POST', 'secret/data/listener', { data: SECRET });
    pki = makeTestPki();
    const [mtlsPort, tls13Port] = await Promise.all([freePort(), freePort()]);
    const serverTls = `tls_cert_file = "${pki.serverCert}"\n  tls_key_file = "${pki.serverKey}"`;
    stack = await startStack({
      vault,
      waitReady: false,
      // The stack's own tcp listener: TLS with Vault's defaults (tls12 to tls13).
      listenerHcl: serverTls,
      hcl: ({ dir }) => {
        socket = join(dir, 'proxy.sock');
        return `
listener "unix" {
  address = "${socket}"
  tls_disable = true
  socket_mode = "0660"
  socket_user = "${process.getuid!()}"
  socket_group = "${process.getgid!()}"
}
listener "tcp" {
  address = "127.0.0.1:${mtlsPort}"
  ${serverTls}
  tls_require_and_verify_client_cert = true
  tls_client_ca_file = "${pki.caCert}"
}
listener "tcp" {
  address = "127.0.0.1:${tls13Port}"
  ${serverTls}
  tls_min_version = "tls13"
}
`;
      },
    });
    stacks.push(stack);
    tlsUrl = stack.url.replace('http://', 'https://');
    mtlsUrl = `https://127.0.0.1:${mtlsPort}`;
    tls13Url = `https://127.0.0.1:${tls13Port}`;
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault?.close();
  });

  describe('listener "unix"', () => {
    it('Envoy listens on the socket path with socket_mode 0660; curl --unix-socket reads a secret through it', async () => {
      const st = statSync(socket);
      expect(st.isSocket()).to.equal(true);
      expect((st.mode & 0o777).toString(8)).to.equal('660');
      const r = await curl(['--unix-socket', socket, '-H', `X-Vault-Token: ${vault.rootToken}`, 'http://localhost/v1/secret/data/listener']);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).data.data).to.deep.equal(SECRET);
    });

    it('the vault CLI with VAULT_ADDR=unix://<socket> reads the secret', async () => {
      const r = await vaultCli({ VAULT_ADDR: `unix://${socket}`, VAULT_TOKEN: vault.rootToken }, ['kv', 'get', '-format=json', 'secret/listener']);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).data.data).to.deep.equal(SECRET);
    });
  });

  describe('listener "tcp" with TLS (Vault\'s default)', () => {
    it('the vault CLI verifies the listener\'s certificate with VAULT_CACERT (the test CA) and reads the secret', async () => {
      const r = await vaultCli({ VAULT_ADDR: tlsUrl, VAULT_CACERT: pki.caCert, VAULT_TOKEN: vault.rootToken }, ['kv', 'get', '-format=json', 'secret/listener']);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).data.data).to.deep.equal(SECRET);
    });

    it('the vault CLI trusting another CA refuses the certificate', async () => {
      const r = await vaultCli({ VAULT_ADDR: tlsUrl, VAULT_CACERT: pki.otherCaCert, VAULT_TOKEN: vault.rootToken }, ['kv', 'get', 'secret/listener']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('x509: certificate signed by unknown authority');
    });

    it('plain HTTP on the TLS port gets no answer from Vault', async () => {
      const r = await curl(['-H', `X-Vault-Token: ${vault.rootToken}`, `${stack.url}/v1/secret/data/listener`]);
      expect(r.stdout).not.to.include('the listener');
      expect(r.code).not.to.equal(0);
    });
  });

  describe('tls_require_and_verify_client_cert with tls_client_ca_file', () => {
    it('refuses a client without a certificate (curl and the vault CLI)', async () => {
      const r = await curl(['--cacert', pki.caCert, '-H', `X-Vault-Token: ${vault.rootToken}`, `${mtlsUrl}/v1/secret/data/listener`]);
      // With TLS 1.3 the refusal comes after curl's handshake: the connection is closed (curl exit 16, 35, 55 or 56).
      expect([16, 35, 55, 56], r.stderr).to.include(r.code);
      expect(r.stdout).to.equal('');
      const cli = await vaultCli({ VAULT_ADDR: mtlsUrl, VAULT_CACERT: pki.caCert, VAULT_TOKEN: vault.rootToken }, ['kv', 'get', 'secret/listener']);
      expect(cli.code).to.equal(2);
      // Envoy's alert, or (TLS 1.3: the client's handshake is done before the server refuses) the closed connection.
      expect(cli.stderr).to.match(/remote error: tls: certificate required|write: broken pipe|connection reset by peer/);
      expect(cli.stdout).to.equal('');
    });

    it('accepts a client presenting a certificate of that CA (curl and the vault CLI)', async () => {
      const r = await curl(['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey, '-H', `X-Vault-Token: ${vault.rootToken}`, `${mtlsUrl}/v1/secret/data/listener`]);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).data.data).to.deep.equal(SECRET);
      const cli = await vaultCli({
        VAULT_ADDR: mtlsUrl, VAULT_CACERT: pki.caCert, VAULT_CLIENT_CERT: pki.clientCert, VAULT_CLIENT_KEY: pki.clientKey, VAULT_TOKEN: vault.rootToken,
      }, ['kv', 'get', '-format=json', 'secret/listener']);
      expect(cli.code, cli.stderr).to.equal(0);
      expect(JSON.parse(cli.stdout).data.data).to.deep.equal(SECRET);
    });
  });

  describe('tls_min_version', () => {
    it('tls13 refuses a client limited to TLS 1.2 and serves a TLS 1.3 client; the default (tls12) serves TLS 1.2', async () => {
      const args = ['--cacert', pki.caCert, '-H', `X-Vault-Token: ${vault.rootToken}`];
      const refused = await curl([...args, '--tls-max', '1.2', `${tls13Url}/v1/secret/data/listener`]);
      expect(refused.code).to.equal(35); // CURLE_SSL_CONNECT_ERROR: the handshake failed
      expect(refused.stdout).to.equal('');
      const served = await curl([...args, '--tlsv1.3', `${tls13Url}/v1/secret/data/listener`]);
      expect(served.code, served.stderr).to.equal(0);
      expect(JSON.parse(served.stdout).data.data).to.deep.equal(SECRET);
      const tls12 = await curl([...args, '--tls-max', '1.2', `${tlsUrl}/v1/secret/data/listener`]);
      expect(tls12.code, tls12.stderr).to.equal(0);
      expect(JSON.parse(tls12.stdout).data.data).to.deep.equal(SECRET);
    });
  });
});
