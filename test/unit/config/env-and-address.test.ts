// Settings from Vault's environment variables are shown by check and serve; an upstream that is
// Envoy's own listener is refused; a Vault address Vault's client would refuse is an error.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { vaultAddressProblem } from '../../../src/config/env.js';
import { REPO_ROOT } from '../../support/paths.js';

const CLI = join(REPO_ROOT, 'dist', 'main.js');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const LISTENER = 'listener "tcp" {\n  address = "127.0.0.1:8100"\n  tls_disable = true\n}\n';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vxp-env-')), 'proxy.hcl');
  writeFileSync(file, text);
  return file;
}

describe('config: Vault\'s environment variables and the Vault address', () => {
  it('check names each setting the environment gave, and the file\'s value it replaced', async () => {
    const file = writeConfig(`vault {\n  address = "https://vault.example:8200"\n}\n${LISTENER}`);
    const r = await cli(['check', '--config-only', '--config', file], { VAULT_ADDR: 'https://vault.other:8200', VAULT_CACERT: '/etc/ca.pem', VAULT_MAX_RETRIES: '3' });
    expect(r.stdout.split('\n').filter((l) => l.startsWith('env: '))).to.deep.equal([
      'env: VAULT_ADDR sets vault > address = "https://vault.other:8200" (the config file\'s "https://vault.example:8200" is overridden)',
      'env: VAULT_CACERT sets vault > ca_cert = "/etc/ca.pem"',
      'env: VAULT_MAX_RETRIES sets vault > retry > num_retries = "3"',
    ]);
    expect(r.code).to.equal(0);
    const plain = await cli(['check', '--config-only', '--config', file], {});
    expect(plain.stdout).to.not.include('env: ');
  });

  it('VAULT_ADDR pointing at Envoy\'s own listener (exported for the vault CLI) is refused by check, envoy-config and serve, naming the variable', async () => {
    const file = writeConfig(`vault {\n  address = "https://vault.example:8200"\n}\n${LISTENER}`);
    const env = { VAULT_ADDR: 'http://127.0.0.1:8100' };
    const check = await cli(['check', '--config-only', '--config', file], env);
    expect(check.code).to.equal(1);
    expect(check.stdout).to.include(`error: ${file}: env VAULT_ADDR: http://127.0.0.1:8100 is Envoy's own listener (127.0.0.1:8100): every request would loop back into Envoy`);
    expect(check.stdout).to.include('unset it for vault-extproc');
    const envoy = await cli(['envoy-config', '--config', file], env);
    expect(envoy.code).to.equal(1);
    expect(envoy.stdout).to.equal('');
    expect(envoy.stderr).to.include('env: VAULT_ADDR sets vault > address = "http://127.0.0.1:8100"');
    expect(envoy.stderr).to.include('every request would loop back into Envoy');
    const serve = await cli(['serve', '--config', file], env);
    expect(serve.code).to.equal(1);
    expect(serve.stderr).to.include('env: VAULT_ADDR sets vault > address = "http://127.0.0.1:8100"');
    expect(serve.stderr).to.include('every request would loop back into Envoy');
  });

  for (const [listener, upstream] of [['0.0.0.0:8100', 'http://127.0.0.1:8100'], ['127.0.0.1:8100', 'http://localhost:8100'], ['[::1]:8100', 'http://[::1]:8100'], ['127.0.0.1:443', 'https://127.0.0.1']] as const) {
    it(`a file whose vault address is its own listener loops too: listener ${listener}, address ${upstream}`, () => {
      const loaded = parseConfig(`vault {\n  address = "${upstream}"\n}\nlistener "tcp" {\n  address = "${listener}"\n  tls_disable = true\n}\n`, 't.hcl', {});
      const loop = loaded.errors.filter((e) => e.message.includes('loop back into Envoy'));
      expect(loop.map((e) => e.location)).to.deep.equal(['vault > address']);
      expect(loop[0]!.position).to.deep.equal({ line: 2, column: 3 });
    });
  }

  it('another port, another host than a listener\'s own, or another machine behind a wildcard listener is no loop', () => {
    for (const [upstream, listener] of [['http://127.0.0.1:8200', '127.0.0.1:8100'], ['http://10.0.0.9:8100', '127.0.0.1:8100'], ['http://192.0.2.7:8100', '0.0.0.0:8100']]) {
      const loaded = parseConfig(`vault {\n  address = "${upstream}"\n}\nlistener "tcp" {\n  address = "${listener}"\n  tls_disable = true\n}\n`, 't.hcl', {});
      expect(loaded.errors).to.deep.equal([]);
    }
  });

  it('a Vault address with a Go template left in the host is refused in Vault\'s words, and never reaches the Envoy cluster', async () => {
    const file = writeConfig(`vault {\n  address = "https://vault-{{.Task.Slot}}.example:8200"\n}\n${LISTENER}`);
    const check = await cli(['check', '--config-only', '--config', file], {});
    expect(check.code).to.equal(1);
    expect(check.stdout).to.include(`error: ${file}: vault > address: Vault refuses this address: parse "https://vault-{{.Task.Slot}}.example:8200": invalid character "{" in host name (line 2, column 3)`);
    const envoy = await cli(['envoy-config', '--config', file], {});
    expect(envoy.code).to.equal(1);
    expect(envoy.stdout).to.equal('');
  });

  it('judges hosts and ports as Go\'s net/url does', () => {
    expect(vaultAddressProblem('https://vault.example:8200')).to.equal(undefined);
    expect(vaultAddressProblem('https://VAULT.example')).to.equal(undefined);
    expect(vaultAddressProblem('http://[::1]:8200')).to.equal(undefined);
    expect(vaultAddressProblem('https://user:pw@vault:8200')).to.equal(undefined);
    expect(vaultAddressProblem('https://va ult:8200')).to.match(/invalid character " " in host name/);
    expect(vaultAddressProblem('https://vault:82a0')).to.match(/invalid port ":82a0" after host/);
    expect(vaultAddressProblem('http://[::1')).to.match(/missing '\]' in host/);
  });
});
