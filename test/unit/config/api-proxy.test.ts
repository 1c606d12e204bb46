import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalizeNamespace, configuredNamespace } from '../../../src/config/api-proxy.js';
import { parseConfig } from '../../../src/config/load.js';
import { FIXTURES } from '../../support/paths.js';

const AUTO_AUTH = `auto_auth {
  method "approle" {
    NS
    config = { role_id_file_path = "/r", secret_id_file_path = "/s" }
  }
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
`;

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = parseConfig(text, 'test.hcl', env);
  return { config: loaded.config, problems: loaded.problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`) };
}

describe('unit: config: api_proxy namespaces and consistency keys', () => {
  it('the api-proxy seed loads with no "not implemented" warning for enforce_consistency', () => {
    const { config, problems } = load(readFileSync(join(FIXTURES, 'seeds', 'agent-api-proxy.hcl'), 'utf8'));
    expect(problems.filter((p) => p.includes('not implemented'))).to.deep.equal([]);
    expect(config.apiProxyOptions).to.deep.equal({ prependConfiguredNamespace: false, enforceConsistency: 'always', whenInconsistent: 'fail' });
    // ... and says plainly that only a Vault that sends X-Vault-Index is affected.
    expect(problems.some((p) => /^warning: api_proxy > enforce_consistency: .*Vault Community never sends it/.test(p))).to.equal(true);
  });

  it('values other than Vault Proxy\'s are errors with Vault Proxy\'s words', () => {
    const { problems } = load(`api_proxy {\n  enforce_consistency = "sometimes"\n  when_inconsistent = "panic"\n}\n${AUTO_AUTH.replace('NS', '')}`);
    expect(problems).to.deep.equal([
      'error: api_proxy > enforce_consistency: Unknown api_proxy setting for enforce_consistency: "sometimes" (must be "always" or "never")',
      'error: api_proxy > when_inconsistent: Unknown api_proxy setting for when_inconsistent: "panic" (must be "fail", "retry" or "forward")',
    ]);
  });

  it('when_inconsistent without enforce_consistency = "always" is a warning: it does nothing, as in Vault Proxy', () => {
    const { config, problems } = load(`api_proxy {\n  when_inconsistent = "retry"\n}\n${AUTO_AUTH.replace('NS', '')}`);
    expect(config.apiProxyOptions?.whenInconsistent).to.equal('retry');
    expect(problems.some((p) => p.startsWith('warning: api_proxy > when_inconsistent: has no effect without enforce_consistency'))).to.equal(true);
  });

  it('vault { namespace }, the method\'s namespace and prepend_configured_namespace are read (no warning); the method\'s wins, VAULT_NAMESPACE wins over both', () => {
    const text = `vault {\n  address = "http://127.0.0.1:8200"\n  namespace = "team-a"\n}\napi_proxy {\n  prepend_configured_namespace = true\n}\n${AUTO_AUTH.replace('NS', 'namespace = "/team-a/app"')}`;
    const { config, problems } = load(text);
    expect(problems.filter((p) => p.includes('namespace'))).to.deep.equal([]);
    expect(config.vault.namespace).to.equal('team-a');
    expect(config.apiProxyOptions?.prependConfiguredNamespace).to.equal(true);
    const method = config.autoAuth!.method as { namespace?: string };
    expect(method.namespace).to.equal('team-a/app/');
    expect(configuredNamespace(config, {})).to.equal('team-a/app/');
    expect(configuredNamespace(config, { VAULT_NAMESPACE: 'from-env' })).to.equal('from-env/');
    const noMethodNs = load(text.replace('namespace = "/team-a/app"', '')).config;
    expect(configuredNamespace(noMethodNs, {})).to.equal('team-a/');
  });

  it('a top-level namespace is the same setting; one that differs from the vault block\'s is an error', () => {
    expect(configuredNamespace(load(`namespace = "ns1"\n${AUTO_AUTH.replace('NS', '')}`).config, {})).to.equal('ns1/');
    const both = load(`namespace = "ns1"\nvault {\n  namespace = "ns2"\n}\n${AUTO_AUTH.replace('NS', '')}`);
    expect(both.problems.some((p) => p.startsWith('error: namespace: differs from vault { namespace = "ns2" }'))).to.equal(true);
    const bad = load(`vault {\n  namespace = "ns1/../root"\n}\n${AUTO_AUTH.replace('NS', '')}`);
    expect(bad.problems.some((p) => p.startsWith('error: vault > namespace: is not a namespace path'))).to.equal(true);
  });

  it('Canonicalize as Vault: one leading slash removed, a trailing one added', () => {
    expect(canonicalizeNamespace('')).to.equal('');
    expect(canonicalizeNamespace('ns1')).to.equal('ns1/');
    expect(canonicalizeNamespace('/ns1/ns2/')).to.equal('ns1/ns2/');
    expect(canonicalizeNamespace('//ns1')).to.equal('/ns1/');
  });
});

describe('unit: config: Vault Agent\'s cache { enforce_consistency, when_inconsistent }', () => {
  it('is the same setting as api_proxy\'s; both at once, or other values, are refused with Vault Agent\'s words', () => {
    const listener = AUTO_AUTH.replace('NS', '');
    const legacy = load(`cache {\n  enforce_consistency = "always"\n  when_inconsistent = "forward"\n}\n${listener}`);
    expect(legacy.config.apiProxyOptions).to.deep.equal({ prependConfiguredNamespace: false, enforceConsistency: 'always', whenInconsistent: 'forward' });
    expect(legacy.problems.filter((p) => p.startsWith('error') || p.includes('unknown key'))).to.deep.equal([]);
    const both = load(`api_proxy {\n  enforce_consistency = "always"\n  when_inconsistent = "retry"\n}\ncache {\n  enforce_consistency = "always"\n  when_inconsistent = "forward"\n}\n${listener}`);
    expect(both.problems.filter((p) => p.startsWith('error'))).to.deep.equal([
      'error: cache > enforce_consistency: enforce_consistency configured in both api_proxy and cache blocks. Please remove this configuration from the cache block.',
      'error: cache > when_inconsistent: when_inconsistent configured in both api_proxy and cache blocks. Please remove this configuration from the cache block.',
    ]);
    const bad = load(`cache {\n  enforce_consistency = "maybe"\n}\n${listener}`);
    expect(bad.problems.filter((p) => p.startsWith('error'))).to.deep.equal(['error: cache > enforce_consistency: Unknown cache setting for enforce_consistency: "maybe" (must be "always" or "never")']);
  });
});
