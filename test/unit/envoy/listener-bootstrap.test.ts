import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIPHER_SUITES } from '../../../src/config/listener.js';
import { parseConfig } from '../../../src/config/load.js';
import { envoyBootstrap } from '../../../src/envoy/bootstrap.js';
import { envoyBinary } from '../../support/envoy.js';
import { run } from '../../support/process.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';

function bootstrapOf(hcl: string): any {
  const { config, errors } = parseConfig(hcl, 'test.hcl', {});
  expect(errors).to.deep.equal([]);
  return envoyBootstrap(config, { adminAddress: '127.0.0.1:19901' });
}

async function envoyValidates(bootstrap: object): Promise<{ ok: boolean; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-validate-'));
  const file = join(dir, 'envoy.json');
  writeFileSync(file, JSON.stringify(bootstrap));
  const r = await run(await envoyBinary(), ['--mode', 'validate', '-c', file, '--log-level', 'error']);
  return { ok: r.code === 0 && r.stdout.includes('OK'), out: r.stdout + r.stderr };
}

describe('envoy: listeners in the generated bootstrap (unix pipe, downstream TLS)', function () {
  this.timeout(30_000);
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });

  it('listener "unix" is an Envoy pipe at its path, with socket_mode as pipe.mode; tls_disable: no transport socket', () => {
    const b = bootstrapOf('listener "unix" {\n address = "/run/p/proxy.sock"\n tls_disable = true\n socket_mode = "0660"\n socket_user = "1"\n socket_group = "1"\n}\nlistener "unix" {\n address = "/run/p/other.sock"\n tls_disable = true\n}\n');
    const [a, other] = b.static_resources.listeners;
    expect(a.address).to.deep.equal({ pipe: { path: '/run/p/proxy.sock', mode: 0o660 } });
    expect(other.address).to.deep.equal({ pipe: { path: '/run/p/other.sock' } });
    expect(a.filter_chains[0].transport_socket).to.equal(undefined);
  });

  it('TLS keys become a DownstreamTlsContext: certificate, versions, BoringSSL cipher names, a required client certificate', () => {
    const b = bootstrapOf(`listener "tcp" {
 address = "127.0.0.1:8443"
 tls_cert_file = "/c/s.pem"
 tls_key_file = "/c/s.key"
 tls_min_version = "tls13"
 tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
 tls_require_and_verify_client_cert = true
 tls_client_ca_file = "/c/ca.pem"
}\n`);
    const ts = b.static_resources.listeners[0].filter_chains[0].transport_socket;
    expect(ts.name).to.equal('envoy.transport_sockets.tls');
    expect(ts.typed_config).to.deep.equal({
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        alpn_protocols: ['h2', 'http/1.1'],
        tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3', cipher_suites: ['ECDHE-RSA-AES256-GCM-SHA384'] },
        tls_certificates: [{ certificate_chain: { filename: '/c/s.pem' }, private_key: { filename: '/c/s.key' } }],
        validation_context: { trusted_ca: { filename: '/c/ca.pem' } },
      },
    });
  });

  it('without client-certificate keys: no validation context (Envoy asks for no certificate)', () => {
    const b = bootstrapOf('listener "tcp" {\n address = "127.0.0.1:8443"\n tls_cert_file = "/c/s.pem"\n tls_key_file = "/c/s.key"\n}\n');
    const ctx = b.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config;
    expect(ctx.require_client_certificate).to.equal(undefined);
    expect(ctx.common_tls_context.validation_context).to.equal(undefined);
    expect(ctx.common_tls_context.tls_params).to.deep.equal({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' });
  });

  it('real Envoy accepts every cipher suite name we map to (envoy --mode validate), with a unix and a TLS listener', async () => {
    const names = [...new Set(Object.values(CIPHER_SUITES).filter((v): v is string => typeof v === 'string' && v !== 'tls13'))];
    expect(names).to.have.length(17);
    const dir = mkdtempSync(join(tmpdir(), 'vxp-listeners-'));
    const b = bootstrapOf(`listener "tcp" {
 address = "127.0.0.1:0"
 tls_cert_file = "${pki.serverCert}"
 tls_key_file = "${pki.serverKey}"
 tls_min_version = "tls10"
 tls_require_and_verify_client_cert = true
 tls_client_ca_file = "${pki.caCert}"
}
listener "unix" {
 address = "${dir}/proxy.sock"
 tls_disable = true
}\n`);
    b.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context.tls_params.cipher_suites = names;
    const r = await envoyValidates(b);
    expect(r.ok, r.out).to.equal(true);
  });

  it('real Envoy refuses the Go suites we report as not offered (so check is right to refuse them)', async () => {
    const refused = Object.entries(CIPHER_SUITES).filter(([, v]) => v === null).map(([go]) => go);
    expect(refused).to.deep.equal(['TLS_RSA_WITH_RC4_128_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA256', 'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA', 'TLS_ECDHE_RSA_WITH_RC4_128_SHA', 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA']);
    // Their OpenSSL names, one at a time.
    for (const name of ['RC4-SHA', 'AES128-SHA256', 'ECDHE-ECDSA-RC4-SHA', 'ECDHE-RSA-RC4-SHA', 'ECDHE-RSA-DES-CBC3-SHA']) {
      const b = bootstrapOf(`listener "tcp" {\n address = "127.0.0.1:0"\n tls_cert_file = "${pki.serverCert}"\n tls_key_file = "${pki.serverKey}"\n}\n`);
      b.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context.tls_params.cipher_suites = [name];
      const r = await envoyValidates(b);
      expect(r.ok, name).to.equal(false);
      expect(r.out).to.include(`Failed to initialize cipher suites ${name}`);
    }
  });
});
