import { expect } from 'chai';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
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
  for (const config of configs) {
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

  it('envoy-config refuses a config with errors and says why', async () => {
    const bad = join(dir, 'bad.hcl');
    writeFileSync(bad, 'listener "tcp" {\n address = "nowhere"\n}\n');
    const r = await run(process.execPath, [CLI, 'envoy-config', '--config', bad]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.include('listener "tcp" > address: must be host:port, got "nowhere"');
  });
});
