import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';

const LISTENER = 'listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\n';

function load(extproc: string): ReturnType<typeof parseConfig> {
  return parseConfig(`${LISTENER}extproc {\n${extproc}\n}\n`, 'test.hcl', {});
}

const MTLS = `tls_cert_file = "/s.pem"
 tls_key_file = "/s.key"
 tls_client_ca_file = "/ca.pem"
 envoy_client_cert_file = "/c.pem"
 envoy_client_key_file = "/c.key"`;

describe('config: the extproc block (an authenticated ext_proc channel)', () => {
  it('defaults to the unix socket /run/vault-extproc/extproc.sock with mode 0600', () => {
    const { config, errors, warnings } = parseConfig(LISTENER, 'test.hcl', {});
    expect(errors).to.deep.equal([]);
    expect(warnings).to.deep.equal([]);
    expect(config.extproc).to.deep.equal({
      address: 'unix:///run/vault-extproc/extproc.sock', adminAddress: '127.0.0.1:9002', socketMode: 0o600, tlsDisable: false,
    });
  });

  it('takes socket_mode 0660 (a group), refuses a mode that lets others in', () => {
    expect(load('address = "unix:///tmp/x/e.sock"\n socket_mode = 0660').config.extproc.socketMode).to.equal(0o660);
    const { errors } = load('address = "unix:///tmp/x/e.sock"\n socket_mode = "0666"');
    expect(errors.map((e) => `${e.location}: ${e.message}`)).to.deep.equal([
      'extproc > socket_mode: must be 0600 (only Envoy running as vault-extproc\'s user) or 0660 (its group too), got "0666"',
    ]);
  });

  it('refuses a unix address without an absolute path', () => {
    expect(load('address = "unix://relative.sock"').errors.map((e) => e.message)).to.deep.equal([
      'a unix socket address needs an absolute path, such as unix:///run/vault-extproc/extproc.sock; got "unix://relative.sock"',
    ]);
  });

  it('refuses a TCP address with neither mutual TLS nor tls_disable', () => {
    const { errors } = load('address = "127.0.0.1:9001"');
    expect(errors).to.have.length(1);
    expect(errors[0]!.location).to.equal('extproc > address');
    expect(errors[0]!.message).to.include('a TCP ext_proc address needs mutual TLS').and.include('tls_disable = true');
  });

  it('names the missing files of a partial mutual TLS setup', () => {
    const { errors } = load('address = "127.0.0.1:9001"\n tls_cert_file = "/s.pem"\n tls_key_file = "/s.key"');
    expect(errors.map((e) => `${e.location}: ${e.message}`)).to.deep.equal([
      'extproc > tls_client_ca_file: mutual TLS on a TCP ext_proc address needs tls_client_ca_file, envoy_client_cert_file, envoy_client_key_file',
    ]);
  });

  it('reads mutual TLS; Envoy checks the server with tls_client_ca_file unless tls_ca_file is given', () => {
    const { config, errors } = load(`address = "127.0.0.1:9001"\n ${MTLS}`);
    expect(errors).to.deep.equal([]);
    expect(config.extproc.tls).to.deep.equal({
      certFile: '/s.pem', keyFile: '/s.key', clientCaFile: '/ca.pem', envoyClientCertFile: '/c.pem', envoyClientKeyFile: '/c.key', caFile: '/ca.pem',
    });
    expect(load(`address = "127.0.0.1:9001"\n ${MTLS}\n tls_ca_file = "/other.pem"`).config.extproc.tls?.caFile).to.equal('/other.pem');
  });

  it('plain TCP with tls_disable = true written out, with a warning', () => {
    const { config, errors, warnings } = load('address = "127.0.0.1:9001"\n tls_disable = true');
    expect(errors).to.deep.equal([]);
    expect(config.extproc).to.deep.include({ address: '127.0.0.1:9001', tlsDisable: true });
    expect(config.extproc.tls).to.equal(undefined);
    expect(warnings.map((w) => `${w.location}: ${w.message}`)).to.deep.equal([
      'extproc > tls_disable: ext_proc listens on plain TCP (127.0.0.1:9001): anything that can connect to it can send requests to Vault with the auto-auth token and write into the cache; use a unix socket or mutual TLS',
    ]);
  });

  it('warns that TLS keys do nothing on a unix socket', () => {
    const { warnings } = load(`address = "unix:///tmp/e.sock"\n tls_cert_file = "/s.pem"`);
    expect(warnings.map((w) => `${w.location}: ${w.message}`)).to.deep.equal([
      'extproc > tls_cert_file: is for a TCP address; a unix socket is guarded by its file mode, so it is ignored',
    ]);
  });
});
