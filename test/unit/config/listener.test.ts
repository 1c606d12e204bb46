import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import type { ListenerConfig } from '../../../src/config/types.js';
import { REAL_VAULT_BINARY } from '../../support/backend.js';
import { CLI } from '../../support/paths.js';
import { run } from '../../support/process.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';

const AUTO_AUTH = 'auto_auth {\n method "token_file" { config = { token_file_path = "/t" } }\n}\napi_proxy { use_auto_auth_token = true }\n';

function load(listenerHcl: string): { listeners: ListenerConfig[]; errors: string[]; warnings: string[] } {
  const r = parseConfig(`${AUTO_AUTH}${listenerHcl}`, 'test.hcl', {});
  return {
    listeners: r.config.listeners,
    errors: r.errors.map((p) => `${p.location}: ${p.message}`),
    warnings: r.warnings.map((p) => `${p.location}: ${p.message}`),
  };
}

const BASE = { requireRequestHeader: false, enableQuit: false, role: 'default' };

describe('config: listener blocks (src/config/listener.ts)', () => {
  describe('listener "unix"', () => {
    it('becomes a unix listener on its path, without warnings (the seeds\' shape)', () => {
      const r = load('listener "unix" {\n address = "/run/vault-proxy/proxy.sock"\n tls_disable = true\n}\n');
      expect(r.errors).to.deep.equal([]);
      expect(r.warnings).to.deep.equal([]);
      expect(r.listeners).to.deep.equal([{ type: 'unix', address: '/run/vault-proxy/proxy.sock', ...BASE }]);
    });

    it('socket_mode with socket_user and socket_group (all three, as Vault needs): the mode is applied, the owner is reported as not', () => {
      const r = load('listener "unix" {\n address = "/run/p.sock"\n tls_disable = true\n socket_mode = "0660"\n socket_user = "vault"\n socket_group = "envoy"\n}\n');
      expect(r.errors).to.deep.equal([]);
      expect(r.listeners[0]!.socketMode).to.equal(0o660);
      expect(r.warnings).to.deep.equal([
      'listener "unix" > socket_user: Envoy cannot change the socket\'s owner: it belongs to the user and group Envoy runs as, not vault:envoy; only socket_mode = "0660" is applied (run Envoy as that user or group)',
      ]);
    });

    it('socket_mode alone is ignored, as Vault ignores it, and says so; a bad mode is an error', () => {
      const alone = load('listener "unix" {\n address = "/run/p.sock"\n tls_disable = true\n socket_mode = "0660"\n}\n');
      expect(alone.listeners[0]!.socketMode).to.equal(undefined);
      expect(alone.warnings).to.deep.equal(['listener "unix" > socket_mode: Vault applies socket_mode, socket_user and socket_group only when all three are set; socket_mode ignored, as Vault does']);
      const bad = load('listener "unix" {\n address = "/run/p.sock"\n tls_disable = true\n socket_mode = "0999"\n socket_user = "1"\n socket_group = "1"\n}\n');
      expect(bad.errors).to.deep.equal(['listener "unix" > socket_mode: must be an octal file mode from 0 to 0777 (Envoy\'s pipe mode), got "0999"']);
    });

    it('needs an absolute path; without an address it is an error', () => {
      expect(load('listener "unix" {\n address = "proxy.sock"\n tls_disable = true\n}\n').errors).to.deep.equal([
        'listener "unix" > address: must be an absolute path (Envoy, not vault-extproc, creates the socket, from its own working directory), got "proxy.sock"',
      ]);
      expect(load('listener "unix" {\n tls_disable = true\n}\n').errors[0]).to.match(/^listener "unix": a unix listener needs the socket's path in address/);
    });

    it('TLS is on by default on a unix listener too (Vault\'s TLSConfig applies to both)', () => {
      expect(load('listener "unix" {\n address = "/run/p.sock"\n}\n').errors[0]).to.match(/^listener "unix": TLS is on \(Vault's default\) and tls_cert_file and tls_key_file are not set/);
    });
  });

  describe('listener "tcp" addresses, validated as Vault listens on them', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1:8100', '127.0.0.1:8100'],
      ['localhost:8100', '127.0.0.1:8100'],
      [':8100', '0.0.0.0:8100'],
      ['[::1]:8100', '[::1]:8100'],
      ['0.0.0.0:0', '0.0.0.0:0'],
    ];
    for (const [written, bound] of cases) {
      it(`"${written}" is bound as ${bound}`, () => {
        const r = load(`listener "tcp" {\n address = "${written}"\n tls_disable = true\n}\n`);
        expect(r.errors).to.deep.equal([]);
        expect(r.listeners[0]!.address).to.equal(bound);
      });
    }

    const bad: Array<[string, RegExp]> = [
      ['127.0.0.1', /must be host:port, got "127.0.0.1" \(Vault Proxy: listen tcp: address 127.0.0.1: missing port in address/],
      ['::1:8100', /must be host:port, got "::1:8100" \(Vault Proxy: listen tcp: address ::1:8100: too many colons in address/],
      ['127.0.0.1:70000', /the port must be a number from 0 to 65535, got "70000"/],
      ['127.0.0.1:http', /the port must be a number from 0 to 65535, got "http"/],
      ['vault.example:8100', /Envoy listens on an IP address, not on a host name: got "vault.example"/],
      ['{{ GetPrivateIP }}:8100', /go-sockaddr templates are not supported/],
      ['', /a tcp listener needs an address/],
    ];
    for (const [written, message] of bad) {
      it(`"${written}" is an error and no listener is made`, () => {
        const r = load(`listener "tcp" {\n address = "${written}"\n tls_disable = true\n}\n`);
        expect(r.errors).to.have.length(1);
        expect(r.errors[0]).to.match(message);
        expect(r.listeners).to.deep.equal([]);
      });
    }

    it('the `adress` typo: an error (no address) next to the unknown key, never a silent default address', () => {
      const r = load('listener "tcp" {\n adress = "127.0.0.1:8200"\n tls_disable = true\n}\n');
      expect(r.errors).to.deep.equal([
        'listener "tcp": a tcp listener needs an address such as "127.0.0.1:8100" (Vault Proxy would listen on its default 127.0.0.1:8200; vault-extproc wants it written out)',
      ]);
      expect(r.warnings).to.deep.equal(['listener "tcp" > adress: unknown key; it is ignored']);
      expect(r.listeners).to.deep.equal([]);
    });

    it('mixed listener forms, `listener "tcp" {}` and `listener { type = "unix" }`, both read', () => {
      const r = load('listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\nlistener {\n type = "unix"\n address = "/run/p.sock"\n tls_disable = true\n}\n');
      expect(r.errors).to.deep.equal([]);
      expect(r.listeners.map((l) => `${l.type} ${l.address}`)).to.deep.equal(['tcp 127.0.0.1:8100', 'unix /run/p.sock']);
    });

    it('an unknown listener type is Vault\'s error', () => {
      expect(load('listener "udp" {\n address = "127.0.0.1:1"\n}\n').errors).to.deep.equal(['listener "udp": unsupported listener type "udp": Vault has "tcp" and "unix"']);
    });
  });

  describe('listener TLS', () => {
    const CERTS = 'tls_cert_file = "/c/server.pem"\n tls_key_file = "/c/server.key"\n';

    it('without tls_disable and without certificates: an error quoting Vault Proxy', () => {
      const r = load('listener "tcp" {\n address = "127.0.0.1:8100"\n}\n');
      expect(r.errors).to.deep.equal([
        'listener "tcp": TLS is on (Vault\'s default) and tls_cert_file and tls_key_file are not set: set tls_cert_file and tls_key_file, or tls_disable = true (Vault Proxy: "Error starting listener: error loading TLS cert: open : no such file or directory")',
      ]);
      expect(load('listener "tcp" {\n address = "127.0.0.1:8100"\n tls_cert_file = "/c/s.pem"\n}\n').errors[0]).to.include('tls_key_file is not set');
    });

    it('Vault\'s defaults: TLS 1.2 to 1.3, Envoy\'s cipher suites, no client certificate required', () => {
      const r = load(`listener "tcp" {\n address = "127.0.0.1:8100"\n ${CERTS}}\n`);
      expect(r.errors).to.deep.equal([]);
      expect(r.listeners[0]!.tls).to.deep.equal({ certFile: '/c/server.pem', keyFile: '/c/server.key', minVersion: 'TLSv1_2', maxVersion: 'TLSv1_3' });
    });

    it('versions, Go cipher suite names as BoringSSL names, and a required client certificate', () => {
      const r = load(`listener "tcp" {
 address = "127.0.0.1:8100"
 ${CERTS}
 tls_min_version = "tls11"
 tls_max_version = "tls12"
 tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_RSA_WITH_AES_256_CBC_SHA"
 tls_require_and_verify_client_cert = true
 tls_client_ca_file = "/c/ca.pem"
}\n`);
      expect(r.errors).to.deep.equal([]);
      expect(r.warnings).to.deep.equal([]);
      expect(r.listeners[0]!.tls).to.deep.equal({
        certFile: '/c/server.pem', keyFile: '/c/server.key', minVersion: 'TLSv1_1', maxVersion: 'TLSv1_2',
        cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'AES256-SHA'],
        clientCaFile: '/c/ca.pem',
      });
    });

    it('bad versions, cipher suites and client-certificate combinations are Vault\'s errors; what Envoy cannot do is an error too', () => {
      const errorsOf = (keys: string): string[] => load(`listener "tcp" {\n address = "127.0.0.1:8100"\n ${CERTS}${keys}\n}\n`).errors;
      expect(errorsOf('tls_min_version = "tls14"')).to.deep.equal(['listener "tcp" > tls_min_version: \'tls_min_version\' value "tls14" not supported, please specify one of [tls10,tls11,tls12,tls13]']);
      expect(errorsOf('tls_min_version = "tls13"\n tls_max_version = "tls12"')).to.deep.equal(['listener "tcp" > tls_max_version: \'tls_max_version\' must be greater than or equal to \'tls_min_version\'']);
      expect(errorsOf('tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,ECDHE-RSA-AES128-GCM-SHA256"')).to.deep.equal(['listener "tcp" > tls_cipher_suites: invalid value for tls_cipher_suites: unsupported cipher "ECDHE-RSA-AES128-GCM-SHA256"']);
      expect(errorsOf('tls_cipher_suites = "TLS_RSA_WITH_RC4_128_SHA"')).to.deep.equal(['listener "tcp" > tls_cipher_suites: TLS_RSA_WITH_RC4_128_SHA is not offered by Envoy (BoringSSL); choose another suite']);
      expect(errorsOf('tls_require_and_verify_client_cert = true\n tls_client_ca_file = "/c/ca.pem"\n tls_disable_client_certs = true')).to.deep.equal([
        'listener "tcp" > tls_disable_client_certs: \'tls_disable_client_certs\' and \'tls_require_and_verify_client_cert\' are mutually exclusive',
      ]);
    });

    it('TLS 1.3 suite names and a client CA without tls_require_and_verify_client_cert are ignored, with a warning each', () => {
      const r = load(`listener "tcp" {\n address = "127.0.0.1:8100"\n ${CERTS} tls_cipher_suites = "TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"\n tls_client_ca_file = "/c/ca.pem"\n}\n`);
      expect(r.errors).to.deep.equal([]);
      expect(r.listeners[0]!.tls).to.deep.equal({ certFile: '/c/server.pem', keyFile: '/c/server.key', minVersion: 'TLSv1_2', maxVersion: 'TLSv1_3', cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256'] });
      expect(r.warnings).to.deep.equal([
        'listener "tcp" > tls_cipher_suites: TLS_AES_128_GCM_SHA256: TLS 1.3 suites cannot be chosen (in Go as in Envoy); all of them stay on, ignored',
        'listener "tcp" > tls_client_ca_file: is used only with tls_require_and_verify_client_cert = true (as in Vault); ignored',
      ]);
    });

    it('tls_disable = true: the TLS keys are ignored, with a warning', () => {
      const r = load(`listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n ${CERTS}}\n`);
      expect(r.listeners[0]!.tls).to.equal(undefined);
      expect(r.warnings).to.deep.equal(['listener "tcp" > tls_cert_file: tls_cert_file, tls_key_file ignored: tls_disable = true']);
    });
  });

  describe('a config without a listener block, judged as Vault Proxy judges it', () => {
    const errorsOf = (hcl: string): string[] => parseConfig(hcl, 'test.hcl', {}).errors.map((p) => p.message);
    it('with a cache or an api_proxy block: Vault Proxy\'s errors; with auto_auth alone: no listener, no problem', () => {
      expect(errorsOf(`${AUTO_AUTH}cache {}\n`)).to.deep.equal(['enabling the cache requires at least 1 listener to be defined']);
      expect(errorsOf(AUTO_AUTH)).to.deep.equal(['configuring the api_proxy requires at least 1 listener to be defined']);
      const alone = parseConfig('auto_auth {\n method "token_file" { config = { token_file_path = "/t" } }\n sink "file" { config = { path = "/tmp/t" } }\n}\n', 'test.hcl', {});
      expect(alone.problems).to.deep.equal([]);
      expect(alone.config.listeners).to.deep.equal([]);
      expect(errorsOf('vault { address = "http://127.0.0.1:8200" }\n')).to.deep.equal(['no auto_auth, cache, or listener block found in config']);
    });

    it('the real vault proxy 1.15.6 says the same words', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-listener-'));
      const proxy = async (name: string, hcl: string): Promise<string> => {
        const file = join(dir, name);
        writeFileSync(file, `vault { address = "http://127.0.0.1:1" }\n${hcl}`);
        const r = await run(REAL_VAULT_BINARY, ['proxy', `-config=${file}`], { PATH: process.env['PATH'] ?? '', HOME: dir });
        expect(r.code).to.equal(1);
        return r.stdout + r.stderr;
      };
      expect(await proxy('cache.hcl', 'cache {}\n')).to.include('enabling the cache requires at least 1 listener to be defined');
      expect(await proxy('empty.hcl', '')).to.include('no auto_auth, cache, or listener block found in config');
      // TLS on by default: the words our check quotes.
      expect(await proxy('notls.hcl', 'listener "tcp" {\n address = "127.0.0.1:0"\n}\n')).to.include('Error starting listener: error loading TLS cert: open : no such file or directory');
    });
  });

  describe('check reads the listener files', () => {
    let pki: TestPki;
    let dir: string;
    before(() => {
      pki = makeTestPki();
      dir = mkdtempSync(join(tmpdir(), 'vxp-listener-'));
    });
    const check = async (listenerHcl: string): Promise<{ code: number | null; errors: string[] }> => {
      const file = join(dir, `c${Math.random().toString(36).slice(2)}.hcl`);
      writeFileSync(file, `vault { address = "http://127.0.0.1:8200" }\nextproc {\n address = "unix://${dir}/x.sock"\n}\n${listenerHcl}`);
      const r = await run(process.execPath, [CLI, 'check', '--config', file]);
      return { code: r.code, errors: r.stdout.split('\n').filter((l) => l.startsWith('error:')).map((l) => l.replace(`error: ${file}: `, '').replace(/ \(line \d+, column \d+\)$/, '')) };
    };

    it('a certificate and its key, and a client CA: valid (exit 0)', async () => {
      const r = await check(`listener "tcp" {\n address = "127.0.0.1:8100"\n tls_cert_file = "${pki.serverCert}"\n tls_key_file = "${pki.serverKey}"\n tls_require_and_verify_client_cert = true\n tls_client_ca_file = "${pki.caCert}"\n}\n`);
      expect(r.errors).to.deep.equal([]);
      expect(r.code).to.equal(0);
    });

    it('a key that is not the certificate\'s, a missing CA file, a socket directory that does not exist: errors (exit 1)', async () => {
      const r = await check(`listener "tcp" {
 address = "127.0.0.1:8100"
 tls_cert_file = "${pki.serverCert}"
 tls_key_file = "${pki.clientKey}"
 tls_require_and_verify_client_cert = true
 tls_client_ca_file = "${dir}/nope.pem"
}
listener "unix" {
 address = "${dir}/missing/proxy.sock"
 tls_disable = true
}
`);
      expect(r.code).to.equal(1);
      expect(r.errors).to.have.length(3);
      expect(r.errors[0]).to.equal(`listener "tcp" #1 > tls_client_ca_file: cannot read ${dir}/nope.pem: no such file`);
      expect(r.errors[1]).to.match(new RegExp(`^listener "tcp" #1 > tls_key_file: ${pki.clientKey} is not the key of ${pki.serverCert}`));
      expect(r.errors[2]).to.equal(`listener "unix" #2 > address: the socket ${dir}/missing/proxy.sock cannot be created: the directory ${dir}/missing does not exist`);
    });
  });
});
