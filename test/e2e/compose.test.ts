import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../support/paths.js';
import { run } from '../support/process.js';

/** The compose client on this machine: the docker plugin, or docker-compose. */
async function composeClient(): Promise<string[] | undefined> {
  if ((await run('docker', ['compose', 'version']).catch(() => ({ code: 1 }))).code === 0) return ['docker', 'compose'];
  if ((await run('docker-compose', ['version']).catch(() => ({ code: 1 }))).code === 0) return ['docker-compose'];
  return undefined;
}

const FLEET_SERVICES = ['redis', 'fleet-key', 'vault-extproc-1', 'vault-extproc-2', 'vault-extproc-3', 'envoy-fleet'];
const REPLICAS = [1, 2, 3];

describe('docker-compose.yml', function () {
  this.timeout(30_000);
  const file = join(REPO_ROOT, 'docker-compose.yml');

  it('passes `docker compose config` (CI installs a client; without one, its structure is checked here)', async () => {
    const client = await composeClient();
    if (client) {
      const r = await run(client[0]!, [...client.slice(1), '-f', file, 'config', '-q']);
      expect(r.stderr).to.equal('');
      expect(r.code).to.equal(0);
    }
    const compose = parseYaml(readFileSync(file, 'utf8'));
    expect(Object.keys(compose.services)).to.have.members(['vault', 'vault-init', 'vault-extproc', 'envoy', ...FLEET_SERVICES]);
    // `docker compose up` starts the single-replica services only.
    for (const name of ['vault', 'vault-init', 'vault-extproc', 'envoy']) expect(compose.services[name].profiles, name).to.equal(undefined);
    expect(compose.services.envoy.image).to.equal(`envoyproxy/envoy:v${readFileSync(join(REPO_ROOT, 'envoy', 'VERSION'), 'utf8').trim()}`);
    expect(compose.services.vault.image).to.match(/^hashicorp\/vault:\d+\.\d+\.\d+$/);
    expect(compose.services.envoy.depends_on['vault-extproc'].condition).to.equal('service_healthy');
    expect(compose.services['vault-extproc'].depends_on['vault-init'].condition).to.equal('service_completed_successfully');
  });

  it('Envoy and vault-extproc share the ext_proc unix socket\'s volume, Envoy running as the socket\'s user', () => {
    const compose = parseYaml(readFileSync(file, 'utf8'));
    expect(compose.services['vault-extproc'].volumes).to.include('extproc-socket:/run/vault-extproc');
    expect(compose.services.envoy.volumes).to.include('extproc-socket:/run/vault-extproc');
    // The vault-extproc image runs as node (1000:1000); its socket is mode 0600.
    expect(compose.services.envoy.environment).to.deep.equal({ ENVOY_UID: '1000', ENVOY_GID: '1000' });
    expect(readFileSync(join(REPO_ROOT, 'examples', 'compose.hcl'), 'utf8')).to.include('address       = "unix:///run/vault-extproc/extproc.sock"');
    expect(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')).to.include('chown node:node /run/vault-extproc');
  });

  it('the image\'s runtime stage copies every directory vault-extproc reads at run time (bin, dist, and proto: the fleet\'s schema)', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const copied = [...runtime.matchAll(/^COPY (?:--from=\S+ )?(?:\/app\/)?(\S+) \.\/\1$/gm)].map((m) => m[1]);
    const shipped = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
    // `envoy/` holds Envoy's configs for deployments, not read by vault-extproc itself.
    for (const dir of shipped.filter((d) => d !== 'envoy')) expect(copied, dir).to.include(dir);
  });

  it('the vault-extproc config it mounts is valid (its credential files exist only inside the containers)', async () => {
    const r = await run(process.execPath, [join(REPO_ROOT, 'bin', 'vault-extproc.js'), 'check', '--config-only', '--config', join(REPO_ROOT, 'examples', 'compose.hcl')]);
    expect(r.stdout).to.include('valid');
    expect(r.code).to.equal(0);
  });

  describe('the fleet profile (Redis + three replicas + an Envoy for all three)', () => {
    it('passes `docker compose --profile fleet config`; every fleet service is in the profile only', async () => {
      const client = await composeClient();
      if (client) {
        const r = await run(client[0]!, [...client.slice(1), '-f', file, '--profile', 'fleet', 'config', '-q']);
        expect(r.stderr).to.equal('');
        expect(r.code).to.equal(0);
      }
      const compose = parseYaml(readFileSync(file, 'utf8'));
      for (const name of FLEET_SERVICES) expect(compose.services[name].profiles, name).to.deep.equal(['fleet']);
      expect(compose.services.redis.image).to.match(/^redis:\d+\.\d+\.\d+$/);
      expect(compose.services.redis.healthcheck.test).to.deep.equal(['CMD', 'redis-cli', 'ping']);
      expect(compose.services['envoy-fleet'].image).to.equal(compose.services.envoy.image);
      expect(compose.services['envoy-fleet'].ports).to.deep.equal(['8110:8100']);
    });

    it('three replicas of examples/compose-fleet.hcl, each socket on its own volume, which Envoy mounts at /run/vault-extproc-N', () => {
      const compose = parseYaml(readFileSync(file, 'utf8'));
      const envoy = compose.services['envoy-fleet'];
      for (const n of REPLICAS) {
        const replica = compose.services[`vault-extproc-${n}`];
        expect(replica.volumes).to.include.members([
          './examples/compose-fleet.hcl:/etc/vault-extproc/config.hcl:ro',
          'fleet-key:/run/fleet:ro',
          `extproc-socket-${n}:/run/vault-extproc`,
        ]);
        expect(replica.depends_on).to.deep.equal({
          'vault-init': { condition: 'service_completed_successfully' },
          'fleet-key': { condition: 'service_completed_successfully' },
          redis: { condition: 'service_healthy' },
        });
        expect(envoy.volumes).to.include(`extproc-socket-${n}:/run/vault-extproc-${n}`);
        expect(envoy.depends_on[`vault-extproc-${n}`].condition).to.equal('service_healthy');
      }
      expect(envoy.volumes).to.include('./envoy/envoy-fleet.yaml:/etc/envoy/envoy.yaml:ro');
      expect(envoy.environment).to.deep.equal({ ENVOY_UID: '1000', ENVOY_GID: '1000' });
      // The key service writes the file the fleet block names, for the replicas' user.
      expect(compose.services['fleet-key'].volumes).to.deep.equal(['fleet-key:/run/fleet']);
      expect(compose.services['fleet-key'].command[0]).to.include('head -c 32 /dev/urandom | base64 > /run/fleet/fleet.key');
      expect(compose.services['fleet-key'].command[0]).to.include('chown 1000:1000 /run/fleet/fleet.key');
    });

    it('envoy/envoy-fleet.yaml is what envoy-config prints for examples/compose-fleet.hcl and the three sockets', async () => {
      const r = await run(process.execPath, [join(REPO_ROOT, 'bin', 'vault-extproc.js'), 'envoy-config', '--config', join(REPO_ROOT, 'examples', 'compose-fleet.hcl'),
        '--envoy-admin-address', '0.0.0.0:9901', ...REPLICAS.flatMap((n) => ['--extproc-address', `unix:///run/vault-extproc-${n}/extproc.sock`])]);
      expect(r.code, r.stderr).to.equal(0);
      const checkedIn = parseYaml(readFileSync(join(REPO_ROOT, 'envoy', 'envoy-fleet.yaml'), 'utf8'));
      expect(checkedIn).to.deep.equal(JSON.parse(r.stdout));
      const cluster = checkedIn.static_resources.clusters.find((c: { name: string }) => c.name === 'vault_extproc');
      expect(cluster.load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.pipe.path))
        .to.deep.equal(REPLICAS.map((n) => `/run/vault-extproc-${n}/extproc.sock`));
      expect(cluster.health_checks[0].grpc_health_check).to.deep.equal({ service_name: 'envoy.service.ext_proc.v3.ExternalProcessor' });
    });

    it('the replicas\' config has the fleet block of the contract and no error (serve runs it)', async () => {
      const config = readFileSync(join(REPO_ROOT, 'examples', 'compose-fleet.hcl'), 'utf8');
      expect(config).to.match(/fleet \{\n  redis_url           = "redis:\/\/redis:6379\/0"\n  encryption_key_file = "\/run\/fleet\/fleet\.key"\n\}/);
      expect(config).to.include('address       = "unix:///run/vault-extproc/extproc.sock"');
      const r = await run(process.execPath, [join(REPO_ROOT, 'bin', 'vault-extproc.js'), 'check', '--config-only', '--config', join(REPO_ROOT, 'examples', 'compose-fleet.hcl')]);
      const problems = r.stdout.split('\n').filter((l) => /^(error|warning):/.test(l));
      expect(problems, r.stdout).to.deep.equal([]);
      expect(r.stdout).to.include('valid');
      expect(r.code).to.equal(0);
    });
  });
});
