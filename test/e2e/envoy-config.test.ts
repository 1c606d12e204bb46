import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envoyBinary } from '../support/envoy.js';
import { CLI, FIXTURES, REPO_ROOT } from '../support/paths.js';
import { run } from '../support/process.js';

async function validate(file: string): Promise<{ code: number | null; out: string }> {
  const r = await run(await envoyBinary(), ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'error']);
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('Envoy configs pass the real binary\'s `envoy --mode validate`', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'vxp-validate-'));

  it('envoy/envoy.yaml (compose)', async () => {
    const r = await validate(join(REPO_ROOT, 'envoy', 'envoy.yaml'));
    expect(r.out).to.include('OK');
    expect(r.code).to.equal(0);
  });

  const configs = [
    ...readdirSync(join(FIXTURES, 'seeds')).map((f) => join(FIXTURES, 'seeds', f)),
    join(REPO_ROOT, 'examples', 'compose.hcl'),
  ];
  // The seed whose aws method has no `type` is refused, as Vault Agent refuses it (test/unit/config/load.test.ts).
  const refused = join(FIXTURES, 'seeds', 'agent-caching.hcl');
  it('envoy-config refuses test/fixtures/seeds/agent-caching.hcl, as check does, and says why', async () => {
    const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', refused]);
    expect(generated.code).to.equal(1);
    expect(generated.stderr).to.include('auto_auth > method > config > type: is required');
    expect(generated.stdout).to.equal('');
  });
  for (const config of configs.filter((c) => c !== refused)) {
    it(`envoy-config output for ${config.slice(REPO_ROOT.length + 1)}`, async () => {
      const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', config]);
      expect(generated.code, generated.stderr).to.equal(0);
      const file = join(dir, `${config.replace(/\W+/g, '_')}.json`);
      writeFileSync(file, generated.stdout);
      const r = await validate(file);
      expect(r.out).to.include('OK');
      expect(r.code).to.equal(0);
    });
  }

  /** envoy/envoy.yaml with its ext_proc filter replaced by `filter`: validates a filter snippet in a full bootstrap. */
  function withFilter(filter: unknown): string {
    const bootstrap = parseYaml(readFileSync(join(REPO_ROOT, 'envoy', 'envoy.yaml'), 'utf8'));
    bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0] = filter;
    return JSON.stringify(bootstrap);
  }

  it('the ext_proc filter snippet envoy/http-filter-ext-proc.yaml', async () => {
    const file = join(dir, 'snippet.json');
    writeFileSync(file, withFilter(parseYaml(readFileSync(join(REPO_ROOT, 'envoy', 'http-filter-ext-proc.yaml'), 'utf8'))));
    const r = await validate(file);
    expect(r.out).to.include('OK');
    expect(r.code).to.equal(0);
  });

  it('the filter inside the Istio EnvoyFilter envoy/istio/envoy-filter.yaml', async () => {
    const filter = parseYaml(readFileSync(join(REPO_ROOT, 'envoy', 'istio', 'envoy-filter.yaml'), 'utf8')).spec.configPatches[0].patch.value;
    filter.typed_config.grpc_service.envoy_grpc.cluster_name = 'vault_extproc'; // Istio's outbound cluster name does not exist here
    const file = join(dir, 'istio.json');
    writeFileSync(file, withFilter(filter));
    const r = await validate(file);
    expect(r.out).to.include('OK');
    expect(r.code).to.equal(0);
  });

  it('the Envoy Gateway snippet parses and sets the documented policy', () => {
    const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, 'envoy', 'gateway', 'envoy-extension-policy.yaml'), 'utf8')).map((d) => d.toJS());
    const policy = docs.find((d) => d.kind === 'EnvoyExtensionPolicy');
    expect(policy.spec.extProc[0]).to.deep.include({ failOpen: false, messageTimeout: '1s' });
    expect(policy.spec.extProc[0].backendRefs[0].port).to.equal(9001);
  });

  it('envoy-config refuses a config with errors and says why', async () => {
    const bad = join(dir, 'bad.hcl');
    writeFileSync(bad, 'listener "tcp" {\n address = "nowhere"\n}\n');
    const r = await run(process.execPath, [CLI, 'envoy-config', '--config', bad]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.include('listener "tcp" > address: must be host:port, got "nowhere"');
  });
});
