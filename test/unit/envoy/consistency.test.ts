import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';
import { envoyBootstrap } from '../../../src/envoy/bootstrap.js';

function routesOf(text: string): Array<Record<string, unknown>> {
  const { config } = parseConfig(text, 'test.hcl', {});
  const boot = envoyBootstrap(config) as { static_resources: { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: { route_config: { virtual_hosts: Array<{ routes: Array<{ route: Record<string, unknown> }> }> } } }> }> }> } };
  return boot.static_resources.listeners.flatMap((l) => l.filter_chains.flatMap((c) => c.filters.flatMap((f) => f.typed_config.route_config.virtual_hosts.flatMap((h) => h.routes.map((r) => r.route)))));
}

const LISTENERS = 'listener "tcp" {\n  address = "127.0.0.1:8100"\n  tls_disable = true\n}\nlistener "tcp" {\n  address = "127.0.0.1:8101"\n  tls_disable = true\n}\n';

describe('unit: envoy-config for when_inconsistent = "retry"', () => {
  it('every route retries Vault\'s 412 for requests carrying X-Vault-Index, num_retries times, waiting 1–1.5 s as Vault\'s client', () => {
    const routes = routesOf(`vault {\n  address = "http://127.0.0.1:8200"\n  retry {\n    num_retries = 3\n  }\n}\napi_proxy {\n  enforce_consistency = "always"\n  when_inconsistent = "retry"\n}\n${LISTENERS}`);
    expect(routes).to.have.length(2);
    for (const route of routes) {
      expect(route['retry_policy']).to.deep.equal({
        retry_on: 'retriable-status-codes',
        retriable_status_codes: [412],
        num_retries: 3,
        retry_back_off: { base_interval: '1s', max_interval: '1.5s' },
        retriable_request_headers: [{ name: 'x-vault-index', present_match: true }],
      });
    }
    // Vault's default: 12 retries.
    const byDefault = routesOf(`api_proxy {\n  enforce_consistency = "always"\n  when_inconsistent = "retry"\n}\n${LISTENERS}`);
    expect((byDefault[0]!['retry_policy'] as { num_retries: number }).num_retries).to.equal(12);
  });

  it('no retry policy for fail, forward, enforce_consistency = "never", or num_retries = -1', () => {
    for (const api of ['enforce_consistency = "always"\n  when_inconsistent = "fail"', 'enforce_consistency = "always"\n  when_inconsistent = "forward"', 'when_inconsistent = "retry"']) {
      expect(routesOf(`api_proxy {\n  ${api}\n}\n${LISTENERS}`).map((r) => r['retry_policy']), api).to.deep.equal([undefined, undefined]);
    }
    const off = routesOf(`vault {\n  retry {\n    num_retries = -1\n  }\n}\napi_proxy {\n  enforce_consistency = "always"\n  when_inconsistent = "retry"\n}\n${LISTENERS}`);
    expect(off.map((r) => r['retry_policy'])).to.deep.equal([undefined, undefined]);
  });
});
