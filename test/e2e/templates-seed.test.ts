// Seed 004's example config (test/fixtures/seeds/agent-example.hcl, Vault Agent's docs) with its two
// `template` blocks (server.key and server.crt from .ctmpl sources), its paths rewritten into a temp
// dir: `check` accepts the templates, and `serve` renders both from a real PKI mount the test makes.
// Both templates issue with the same arguments, so (as with Vault Agent, whose watcher shares one
// view per dependency) they show one issue: the key is the certificate's key.
//
// Real Vault 1.15.6 only: the simulator has no PKI engine.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendKinds, backendLabel, startBackend, type Backend } from '../support/backend.js';
import { CLI, FIXTURES } from '../support/paths.js';
import { freePort, waitFor } from '../support/ports.js';
import { Proc, run } from '../support/process.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { readOr, serviceEnv } from './templates-helpers.js';

const KEY_CTMPL = `{{- with secret "pki/issue/example-dot-com" "common_name=foo.example.com" -}}
{{ .Data.private_key }}
{{- end }}
`;
const CRT_CTMPL = `{{- with secret "pki/issue/example-dot-com" "common_name=foo.example.com" -}}
{{ .Data.certificate }}
{{- end }}
`;

if (backendKinds().includes('real')) {
  describe(`e2e: seed 004's example config renders its two templates ${backendLabel('real')}`, function () {
    this.timeout(60_000);
    let vault: Backend;
    let proc: Proc | undefined;
    afterEach(function () {
      if (this.currentTest?.state === 'failed' && proc) process.stderr.write(`\n${proc.text}\n`);
    });
    before(async () => {
      vault = await startBackend('real');
      await vaultApi(vault, 'POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } });
      await vaultApi(vault, 'POST', 'pki/root/generate/internal', { common_name: 'example.com', ttl: '87600h' });
      await vaultApi(vault, 'POST', 'pki/roles/example-dot-com', { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h' });
      await writePolicy(vault, 'seed-pki', 'path "pki/issue/example-dot-com" { capabilities = ["update"] }');
    });
    after(async () => {
      await proc?.stop();
      await vault.close();
    });

    it('the two template blocks load (check: no template warning) and render server.key and server.crt: a key pair from one issue', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-seed004-'));
      const etc = join(dir, 'etc', 'vault');
      mkdirSync(etc, { recursive: true });
      writeFileSync(join(etc, 'server.key.ctmpl'), KEY_CTMPL);
      writeFileSync(join(etc, 'server.crt.ctmpl'), CRT_CTMPL);
      const creds = await setupAppRole(vault, { role: 'seed-pki', policies: ['seed-pki'] });
      const seed = readFileSync(join(FIXTURES, 'seeds', 'agent-example.hcl'), 'utf8');
      const templates = seed.match(/^template \{[\s\S]*?^\}/gm) ?? [];
      expect(templates).to.have.length(2);
      const [listenerPort, adminPort] = await Promise.all([freePort(), freePort()]);
      // The seed's paths into the temp dir; its aws method (an EC2 instance's identity) becomes AppRole,
      // its second sink (wrapped and encrypted for a consumer's key) is left out, its listeners on free places.
      const config = `pid_file = "${join(dir, 'pidfile')}"
vault {
  address = "${vault.serviceUrl}"
  retry {
    num_retries = 5
  }
}
${appRoleAutoAuth(dir, creds, { sink: true })}
cache {
  use_auto_auth_token = true
}
listener "unix" {
  address = "${join(dir, 'agent.sock')}"
  tls_disable = true
}
listener "tcp" {
  address = "127.0.0.1:${listenerPort}"
  tls_disable = true
}
extproc {
  address = "unix://${join(dir, 'extproc.sock')}"
  admin_address = "127.0.0.1:${adminPort}"
}
${templates.join('\n').replaceAll('/etc/vault/', `${etc}/`)}
`;
      const file = join(dir, 'agent-example.hcl');
      writeFileSync(file, config);
      const check = await run(process.execPath, [CLI, 'check', '--config', file], serviceEnv());
      expect(check.stdout).to.not.match(/template/);
      expect(check.code, check.stdout).to.equal(0);

      proc = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', file], serviceEnv());
      const key = await waitFor('server.key', () => (readOr(join(etc, 'server.key')).includes('PRIVATE KEY') ? readOr(join(etc, 'server.key')) : undefined), 20_000);
      const crt = await waitFor('server.crt', () => (readOr(join(etc, 'server.crt')).includes('CERTIFICATE') ? readOr(join(etc, 'server.crt')) : undefined), 20_000);
      const cert = new X509Certificate(crt);
      expect(cert.subject).to.include('CN=foo.example.com');
      expect(cert.checkPrivateKey(createPrivateKey(key))).to.equal(true);
    });
  });
}
