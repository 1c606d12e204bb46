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
    expect(Object.keys(compose.services)).to.have.members(['vault', 'vault-init', 'vault-extproc', 'envoy']);
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

  it('the vault-extproc config it mounts is valid (its credential files exist only inside the containers)', async () => {
    const r = await run(process.execPath, [join(REPO_ROOT, 'bin', 'vault-extproc.js'), 'check', '--config-only', '--config', join(REPO_ROOT, 'examples', 'compose.hcl')]);
    expect(r.stdout).to.include('valid');
    expect(r.code).to.equal(0);
  });
});
