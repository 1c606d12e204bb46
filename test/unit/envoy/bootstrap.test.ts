import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';
import { envoyBootstrap } from '../../../src/envoy/bootstrap.js';

const LISTENER = 'listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\n';

function bootstrapOf(hcl: string): any {
  const { config, errors } = parseConfig(hcl.includes('listener "tcp"') ? hcl : `${LISTENER}${hcl}`, 'test.hcl', {});
  expect(errors).to.deep.equal([]);
  return envoyBootstrap(config, { adminAddress: '127.0.0.1:19901' });
}

describe('envoy: the generated bootstrap', () => {
  it('one Envoy listener per listener block, each naming itself to ext_proc', () => {
    const b = bootstrapOf('listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\nlistener "tcp" {\n address = "0.0.0.0:8101"\n tls_disable = true\n require_request_header = true\n}');
    const listeners = b.static_resources.listeners;
    expect(listeners.map((l: any) => l.address.socket_address)).to.deep.equal([{ address: '127.0.0.1', port_value: 8100 }, { address: '0.0.0.0', port_value: 8101 }]);
    const meta = listeners.map((l: any) => l.filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.grpc_service.initial_metadata);
    expect(meta).to.deep.equal([[{ key: 'x-vault-extproc-listener', value: '0' }], [{ key: 'x-vault-extproc-listener', value: '1' }]]);
    expect(b.admin.address.socket_address).to.deep.equal({ address: '127.0.0.1', port_value: 19901 });
  });

  it('fails closed, with a 1 s message timeout, mode override and LIST allowed', () => {
    const b = bootstrapOf('');
    const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const extproc = hcm.http_filters[0].typed_config;
    expect(extproc).to.deep.include({ failure_mode_allow: false, message_timeout: '1s', allow_mode_override: true });
    expect(hcm.http_protocol_options).to.deep.equal({ allow_custom_methods: true });
    const cluster = b.static_resources.clusters.find((c: any) => c.name === 'vault_extproc');
    expect(cluster.circuit_breakers.thresholds[0].max_requests).to.equal(100000);
    expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).to.deep.equal({ http2_protocol_options: {} });
  });

  it('ends ext_proc streams with a reset (1.40.0\'s graceful close segfaults) and opens a new connection every 500 streams', () => {
    const b = bootstrapOf('');
    expect(b.layered_runtime.layers[0].static_layer['envoy.reloadable_features.ext_proc_graceful_grpc_close']).to.equal(false);
    const cluster = b.static_resources.clusters.find((c: any) => c.name === 'vault_extproc');
    // nghttp2 (Node's HTTP/2) answers a 1001st stream reset on one connection with GOAWAY.
    expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].common_http_protocol_options)
      .to.deep.equal({ max_requests_per_connection: 500 });
  });

  it('reaches vault-extproc on its unix socket by default (a pipe address)', () => {
    const cluster = bootstrapOf('').static_resources.clusters.find((c: any) => c.name === 'vault_extproc');
    expect(cluster.type).to.equal('STATIC');
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).to.deep.equal({ pipe: { path: '/run/vault-extproc/extproc.sock' } });
    expect(cluster.transport_socket).to.equal(undefined);
  });

  it('presents Envoy\'s client certificate and checks vault-extproc\'s on a TCP address (mutual TLS)', () => {
    const cluster = bootstrapOf(`extproc {
 address = "10.0.0.5:9001"
 tls_cert_file = "/x/server.pem"
 tls_key_file = "/x/server.key"
 tls_client_ca_file = "/x/ca.pem"
 envoy_client_cert_file = "/e/client.pem"
 envoy_client_key_file = "/e/client.key"
 tls_ca_file = "/e/ca.pem"
 tls_server_name = "vault-extproc.internal"
}`).static_resources.clusters.find((c: any) => c.name === 'vault_extproc');
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).to.deep.equal({ address: '10.0.0.5', port_value: 9001 });
    const tls = cluster.transport_socket.typed_config;
    expect(tls['@type']).to.equal('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    expect(tls.sni).to.equal('vault-extproc.internal');
    expect(tls.common_tls_context.alpn_protocols).to.deep.equal(['h2']);
    expect(tls.common_tls_context.tls_certificates).to.deep.equal([{ certificate_chain: { filename: '/e/client.pem' }, private_key: { filename: '/e/client.key' } }]);
    expect(tls.common_tls_context.validation_context.trusted_ca).to.deep.equal({ filename: '/e/ca.pem' });
  });

  it('plain TCP only with tls_disable = true', () => {
    const cluster = bootstrapOf('extproc {\n address = "0.0.0.0:9001"\n tls_disable = true\n}').static_resources.clusters.find((c: any) => c.name === 'vault_extproc');
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).to.deep.equal({ address: '127.0.0.1', port_value: 9001 });
    expect(cluster.transport_socket).to.equal(undefined);
  });

  it('takes Vault over TLS with the vault block\'s CA, client certificate and server name', () => {
    const b = bootstrapOf('vault {\n address = "https://vault.internal:8200"\n ca_cert = "/ca.pem"\n client_cert = "/c.pem"\n client_key = "/k.pem"\n tls_server_name = "vault.example"\n}');
    const vault = b.static_resources.clusters.find((c: any) => c.name === 'vault');
    expect(vault.type).to.equal('STRICT_DNS');
    expect(vault.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).to.deep.equal({ address: 'vault.internal', port_value: 8200 });
    const tls = vault.transport_socket.typed_config;
    expect(tls.sni).to.equal('vault.example');
    expect(tls.common_tls_context.validation_context).to.deep.equal({ trusted_ca: { filename: '/ca.pem' } });
    expect(tls.common_tls_context.tls_certificates).to.deep.equal([{ certificate_chain: { filename: '/c.pem' }, private_key: { filename: '/k.pem' } }]);
  });

  it('skips verification only when tls_skip_verify is set', () => {
    const b = bootstrapOf('vault {\n address = "https://127.0.0.1:8200"\n ca_cert = "/ca.pem"\n tls_skip_verify = true\n}');
    const vault = b.static_resources.clusters.find((c: any) => c.name === 'vault');
    expect(vault.type).to.equal('STATIC');
    expect(vault.transport_socket.typed_config.common_tls_context.validation_context).to.equal(undefined);
  });
});
