import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envoyBinary } from '../support/envoy.js';
import { CLI, FIXTURES, REPO_ROOT } from '../support/paths.js';
import { run } from '../support/process.js';
import { makeTestPki } from '../support/tls.js';

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

  it('envoy/envoy-fleet.yaml (compose fleet profile: three replicas)', async () => {
    const r = await validate(join(REPO_ROOT, 'envoy', 'envoy-fleet.yaml'));
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

  describe('several replicas: --extproc-address, repeated', () => {
    const cli = (config: string, ...args: string[]) => run(process.execPath, [CLI, 'envoy-config', '--config', config, ...args]);
    const cluster = (stdout: string): any => JSON.parse(stdout).static_resources.clusters.find((c: { name: string }) => c.name === 'vault_extproc');

    it('unix sockets: one round-robin cluster of all, gRPC health checks on the ext_proc service, outlier detection, no panic mode; Envoy validates it', async () => {
      const config = join(REPO_ROOT, 'examples', 'compose.hcl');
      const sockets = ['/run/a/extproc.sock', '/run/b/extproc.sock', '/run/c/extproc.sock'];
      const r = await cli(config, ...sockets.flatMap((s) => ['--extproc-address', `unix://${s}`]));
      expect(r.code, r.stderr).to.equal(0);
      const c = cluster(r.stdout);
      expect(c.type).to.equal('STATIC');
      expect(c.lb_policy).to.equal('ROUND_ROBIN');
      expect(c.load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address)).to.deep.equal(sockets.map((path) => ({ pipe: { path } })));
      expect(c.health_checks).to.deep.equal([{
        interval: '1s', timeout: '1s', no_traffic_interval: '1s', unhealthy_threshold: 2, healthy_threshold: 2,
        grpc_health_check: { service_name: 'envoy.service.ext_proc.v3.ExternalProcessor' },
      }]);
      expect(c.common_lb_config).to.deep.equal({ healthy_panic_threshold: { value: 0 } });
      expect(c.outlier_detection).to.deep.include({ split_external_local_origin_errors: true, consecutive_local_origin_failure: 2, enforcing_consecutive_5xx: 0 });
      // Still fails closed: a dead replica never lets a request through unprocessed.
      const filter = JSON.parse(r.stdout).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config;
      expect(filter.failure_mode_allow).to.equal(false);
      // compose.hcl caches and has no fleet block: each replica would keep its own cache.
      expect(r.stderr).to.include('3 replicas without a fleet block each keep their own cache: a revocation or cache-clear through one does not reach the others\' cached answers');
      const fleet = await cli(join(REPO_ROOT, 'examples', 'compose-fleet.hcl'), ...sockets.flatMap((s) => ['--extproc-address', `unix://${s}`]));
      expect(fleet.code, fleet.stderr).to.equal(0);
      expect(fleet.stderr).to.equal('');
      const file = join(dir, 'fleet-unix.json');
      writeFileSync(file, r.stdout);
      const v = await validate(file);
      expect(v.out).to.include('OK');
      expect(v.code).to.equal(0);
    });

    it('host:port with mutual TLS: every replica gets the config\'s client certificate, and the health checks offer h2; names make it STRICT_DNS; Envoy validates it', async () => {
      const pki = makeTestPki();
      const config = join(dir, 'fleet-mtls.hcl');
      writeFileSync(config, `listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
cache {}
extproc {
  address = "0.0.0.0:9001"
  tls_cert_file = "${pki.serverCert}"
  tls_key_file = "${pki.serverKey}"
  tls_client_ca_file = "${pki.caCert}"
  envoy_client_cert_file = "${pki.clientCert}"
  envoy_client_key_file = "${pki.clientKey}"
  tls_server_name = "vault-extproc.internal"
}
`);
      const r = await cli(config, '--extproc-address', '10.0.0.5:9001', '--extproc-address', 'replica-2.internal:9001', '--extproc-address', '[fd00::7]:9001');
      expect(r.code, r.stderr).to.equal(0);
      const c = cluster(r.stdout);
      expect(c.type).to.equal('STRICT_DNS');
      expect(c.load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address)).to.deep.equal([
        { address: '10.0.0.5', port_value: 9001 }, { address: 'replica-2.internal', port_value: 9001 }, { address: 'fd00::7', port_value: 9001 },
      ]);
      expect(c.transport_socket.typed_config.sni).to.equal('vault-extproc.internal');
      expect(c.transport_socket.typed_config.common_tls_context.tls_certificates[0].certificate_chain.filename).to.equal(pki.clientCert);
      expect(c.health_checks[0].tls_options).to.deep.equal({ alpn_protocols: ['h2'] });
      const file = join(dir, 'fleet-mtls.json');
      writeFileSync(file, r.stdout);
      const v = await validate(file);
      expect(v.out).to.include('OK');
      expect(v.code).to.equal(0);
    });

    it('one --extproc-address is today\'s single-endpoint cluster (no health checks); none is the config\'s own address, as before', async () => {
      const config = join(REPO_ROOT, 'examples', 'compose.hcl');
      const plain = await cli(config);
      const same = await cli(config, '--extproc-address', 'unix:///run/vault-extproc/extproc.sock');
      expect(same.stdout).to.equal(plain.stdout);
      const moved = cluster((await cli(config, '--extproc-address', 'unix:///elsewhere/extproc.sock')).stdout);
      expect(moved.load_assignment.endpoints[0].lb_endpoints).to.deep.equal([{ endpoint: { address: { pipe: { path: '/elsewhere/extproc.sock' } } } }]);
      for (const c of [cluster(plain.stdout), moved]) {
        expect(c.health_checks).to.equal(undefined);
        expect(c.outlier_detection).to.equal(undefined);
        expect(c.lb_policy).to.equal(undefined);
      }
    });

    it('refuses (exit 2, nothing printed) an address that is not unix:///path or host:port, one named twice, or one of the other kind than the config\'s', async () => {
      const config = join(REPO_ROOT, 'examples', 'compose.hcl');
      const cases: Array<[string[], string]> = [
        [['nowhere'], '--extproc-address must be unix:///path/to/socket or host:port, got "nowhere"'],
        [['unix:///a.sock', 'unix:///a.sock'], '--extproc-address "unix:///a.sock" is named twice'],
        [['unix:///a.sock', '10.0.0.5:9001'], '--extproc-address "10.0.0.5:9001" is host:port, but the config\'s extproc address is a unix socket'],
      ];
      for (const [addresses, message] of cases) {
        const r = await cli(config, ...addresses.flatMap((a) => ['--extproc-address', a]));
        expect(r.code, addresses.join(' ')).to.equal(2);
        expect(r.stdout).to.equal('');
        expect(r.stderr).to.include(message);
      }
    });
  });
});
