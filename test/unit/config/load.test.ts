import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { CLI, FIXTURES } from '../../support/paths.js';
import { run } from '../../support/process.js';

const SEEDS = join(FIXTURES, 'seeds');

function messages(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  return parseConfig(text, 'test.hcl', env).problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`);
}

describe('config: loading Vault Proxy HCL', () => {
  describe('the seed example configs', () => {
    // agent-caching.hcl's aws method has no `type`: Vault Agent needs one ("missing 'type' value")
    // and refuses the file anyway (use_auto_auth_token with a wrapped auto-auth token).
    const REFUSED_SEEDS: Record<string, RegExp> = { 'agent-caching.hcl': /^error: .*auto_auth > method > config > type: is required: "iam" or "ec2" \(line \d+, column \d+\)$/m };
    for (const name of readdirSync(SEEDS).filter((f) => f.endsWith('.hcl'))) {
      it(`check --config-only reads ${name}${REFUSED_SEEDS[name] ? ' and refuses it, as Vault Agent does' : ' without errors'}; exit 1 exactly when serve refuses something in it`, async () => {
        // --config-only: the seeds name files of the machines they were written for.
        const r = await run(process.execPath, [CLI, 'check', '--config-only', '--config', join(SEEDS, name)]);
        const refusal = REFUSED_SEEDS[name];
        if (refusal) {
          expect(r.stdout).to.match(refusal);
          expect(r.code).to.equal(1);
          return;
        }
        expect(r.stdout).not.to.match(/^error:/m);
        const refused = r.stdout.includes('serve refuses to start');
        expect(r.stdout).to.match(refused ? /0 error\(s\), \d+ warning\(s\); serve refuses this config\n$/ : /valid \(\d+ warning\(s\)\)\n$/);
        expect(r.code).to.equal(refused ? 1 : 0);
      });
    }

    it('warns about nothing: every stanza of the seed is implemented (the aws method, the encrypted sink, the unix listener, the two templates)', async () => {
      const r = await run(process.execPath, [CLI, 'check', '--config-only', '--config', join(SEEDS, 'agent-example.hcl')]);
      const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings.some((w) => w.includes('listener "unix"'))).to.equal(false);
      expect(warnings).to.deep.equal([]);
    });

    it('reads the static-secret-caching example: approle, force, one tcp listener', () => {
      const loaded = parseConfig(readFileSync(join(SEEDS, 'proxy-static-secret-caching.hcl'), 'utf8'), 'seed', {});
      expect(loaded.problems).to.deep.equal([]);
      expect(loaded.config.cache).to.deep.include({ leaseCache: true, staticSecrets: true, capabilityRefreshSeconds: 3600, staticRefreshSeconds: 60, maxBytes: 64 * 1024 * 1024 });
      expect(loaded.config.apiProxy.useAutoAuthToken).to.equal('force');
      expect(loaded.config.autoAuth?.method).to.deep.include({
        type: 'approle', mountPath: 'auth/approle', roleIdFilePath: 'roleid', secretIdFilePath: 'secretid', removeSecretIdFileAfterReading: false,
      });
      expect(loaded.config.listeners).to.deep.equal([{ type: 'tcp', address: '127.0.0.1:8100', requireRequestHeader: false, enableQuit: false, role: 'default' }]);
    });

    it('serve refuses a config whose auth method is not implemented, with a clear message', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-config-'));
      const file = join(dir, 'kerberos.hcl');
      writeFileSync(file, readFileSync(join(SEEDS, 'agent-example.hcl'), 'utf8').replace(/method "aws"|type\s*=\s*"aws"/, (m) => m.replace('aws', 'kerberos')));
      const r = await run(process.execPath, [CLI, 'serve', '--config', file]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('auth method "kerberos" is not implemented by vault-extproc yet');
      expect(r.stderr).to.match(/problem\(s\); not starting\n$/);
    });
  });

  it('check lists all three mistakes of a config with their locations (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-config-'));
    const file = join(dir, 'three.hcl');
    writeFileSync(file, `
vault {
  address = "https://vault:8200"
  retry { num_retries = "many" }
}
auto_auth {
  method "approle" {
    config = { secret_id_file_path = "/run/secret_id" }
  }
}
listener "tcp" {
  address = "localhost"
  tls_disable = true
}
`);
    const r = await run(process.execPath, [CLI, 'check', '--config', file]);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).to.deep.equal([
      `error: ${file}: vault > retry > num_retries: must be a whole number, got "many" (line 4, column 11)`,
      `error: ${file}: auto_auth > method "approle" > config > role_id_file_path: is required (line 8, column 14)`,
      `error: ${file}: listener "tcp" > address: must be host:port, got "localhost" (Vault Proxy: listen tcp: address localhost: missing port in address; an IPv6 host goes in brackets) (line 12, column 3)`,
    ]);
    expect(r.stdout).to.include('3 error(s)');
    expect(r.code).to.equal(1);
  });

  it('reports a syntax error with its line and column', () => {
    const found = messages('vault {\n  address = "http://x:1"\n');
    expect(found).to.have.length(1);
    expect(found[0]).to.match(/^error: : line \d+, column \d+: /);
  });

  it('reads JSON with the same shape as HCL into the same config', () => {
    const hcl = `
vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "approle" {
    mount_path = "auth/other"
    config = { role_id_file_path = "/r", secret_id_file_path = "/s" }
  }
  sink "file" { config = { path = "/tmp/t", mode = 0600 } }
}
api_proxy { use_auto_auth_token = "force" }
listener "tcp" {
  address = "0.0.0.0:8100"
  tls_disable = true
  require_request_header = true
}
extproc {
  address = "127.0.0.1:7001"
  admin_address = "127.0.0.1:7002"
  tls_disable = true
}
`;
    const json = JSON.stringify({
      vault: { address: 'http://127.0.0.1:8200' },
      auto_auth: {
        method: [{ type: 'approle', mount_path: 'auth/other', config: { role_id_file_path: '/r', secret_id_file_path: '/s' } }],
        sink: [{ type: 'file', config: { path: '/tmp/t', mode: '0600' } }],
      },
      api_proxy: { use_auto_auth_token: 'force' },
      listener: { tcp: { address: '0.0.0.0:8100', tls_disable: true, require_request_header: true } },
      extproc: { address: '127.0.0.1:7001', admin_address: '127.0.0.1:7002', tls_disable: true },
    });
    const a = parseConfig(hcl, 'a.hcl', {});
    const b = parseConfig(json, 'b.json', {});
    expect(a.errors).to.deep.equal([]);
    // The JSON form has no positions; otherwise the same problems.
    expect(b.problems).to.deep.equal(a.problems.map(({ position: _, ...p }) => p));
    expect(b.config).to.deep.equal(a.config);
    expect(a.config.autoAuth?.sinks).to.deep.equal([{ path: '/tmp/t', mode: 0o600 }]);
    expect(a.config.extproc).to.deep.include({ address: '127.0.0.1:7001', adminAddress: '127.0.0.1:7002' });
  });

  it('accepts the older cache { use_auto_auth_token } spelling and refuses both at once', () => {
    // A listener: Vault Proxy refuses a cache block without one.
    const base = 'auto_auth {\n method "token_file" { config = { token_file_path = "/t" } }\n}\nlistener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\n';
    expect(parseConfig(`${base}cache { use_auto_auth_token = true }`, 'x', {}).config.apiProxy.useAutoAuthToken).to.equal(true);
    expect(parseConfig(`${base}cache { use_auto_auth_token = "force" }`, 'x', {}).config.apiProxy.useAutoAuthToken).to.equal('force');
    const both = parseConfig(`${base}cache { use_auto_auth_token = true }\napi_proxy { use_auto_auth_token = true }`, 'x', {});
    expect(both.errors.map((e) => e.message)).to.deep.equal(['use_auto_auth_token is set in both api_proxy and cache; remove it from the cache block']);
    const bad = parseConfig(`${base}api_proxy { use_auto_auth_token = "always" }`, 'x', {});
    expect(bad.errors.map((e) => `${e.location}: ${e.message}`)).to.deep.equal(['api_proxy > use_auto_auth_token: must be true, false or "force", got "always"']);
  });

  it('warns about unknown keys, as Vault does, instead of dropping them silently', () => {
    expect(messages('listener "tcp" {\n address = "127.0.0.1:1"\n tls_disable = true\n require_request_heder = true\n}')).to.deep.equal([
      'warning: listener "tcp" > require_request_heder: unknown key; it is ignored',
    ]);
  });

  it('reads durations as Vault writes them', () => {
    const cfg = (v: string): number | undefined => {
      const loaded = parseConfig(`auto_auth {\n method "token_file" {\n max_backoff = ${v}\n config = { token_file_path = "/t" }\n }\n}`, 'x', {});
      const m = loaded.config.autoAuth?.method;
      return m && m.type === 'token_file' ? m.maxBackoffSeconds : undefined;
    };
    expect(cfg('"5m"')).to.equal(300);
    expect(cfg('"1h30m"')).to.equal(5400);
    expect(cfg('"90"')).to.equal(90);
    expect(cfg('45')).to.equal(45);
    expect(cfg('"1d"')).to.equal(86400);
    expect(messages(`auto_auth {\n method "token_file" {\n max_backoff = "soon"\n config = { token_file_path = "/t" }\n }\n}`)).to.deep.equal([
      'error: auto_auth > method "token_file" > max_backoff: must be a duration such as "30s", "5m" or "1h30m", got "soon"',
    ]);
  });

  it("applies Vault's environment variables over the file", () => {
    const loaded = parseConfig('vault {\n address = "http://file:8200"\n retry { num_retries = 3 }\n}\nlistener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}', 'x', {
      VAULT_ADDR: 'https://env:8200/',
      VAULT_CACERT: '/ca.pem',
      VAULT_CAPATH: '/cas',
      VAULT_CLIENT_CERT: '/c.pem',
      VAULT_CLIENT_KEY: '/k.pem',
      VAULT_SKIP_VERIFY: 'true',
      VAULT_TLS_SERVER_NAME: 'vault.internal',
      VAULT_MAX_RETRIES: '-1',
    });
    expect(loaded.problems).to.deep.equal([]);
    expect(loaded.config.vault).to.deep.equal({
      address: 'https://env:8200', caCert: '/ca.pem', caPath: '/cas', clientCert: '/c.pem', clientKey: '/k.pem',
      tlsSkipVerify: true, tlsServerName: 'vault.internal', numRetries: -1,
    });
    expect(messages('', { VAULT_MAX_RETRIES: 'lots' })).to.include('error: env VAULT_MAX_RETRIES: must be a whole number ≥ -1, got "lots"');
  });

  it('check on an unreadable file says so and exits 1', async () => {
    const r = await run(process.execPath, [CLI, 'check', '--config', '/nonexistent/vault.hcl']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('cannot read config file /nonexistent/vault.hcl');
  });
});

