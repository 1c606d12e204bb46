import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';
import { envoyBootstrap } from '../../../src/envoy/bootstrap.js';

function bootstrapOf(hcl: string): any {
  const { config, errors } = parseConfig(hcl, 'test.hcl', {});
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

  it('fails closed, with a 1 s message timeout, mode override, graceful stream close and LIST allowed', () => {
    const b = bootstrapOf('');
    const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const extproc = hcm.http_filters[0].typed_config;
    expect(extproc).to.deep.include({ failure_mode_allow: false, message_timeout: '1s', allow_mode_override: true });
    expect(hcm.http_protocol_options).to.deep.equal({ allow_custom_methods: true });
    expect(b.layered_runtime.layers[0].static_layer['envoy.reloadable_features.ext_proc_graceful_grpc_close']).to.equal(true);
    const cluster = b.static_resources.clusters.find((c: any) => c.name === 'vault_extproc');
    expect(cluster.circuit_breakers.thresholds[0].max_requests).to.equal(100000);
    expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).to.deep.equal({ http2_protocol_options: {} });
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
