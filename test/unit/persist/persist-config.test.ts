import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { CLI } from '../../support/paths.js';
import { run } from '../../support/process.js';

function configText(dir: string, cache: string): string {
  return `vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "${join(dir, 'role_id')}"
      secret_id_file_path = "${join(dir, 'secret_id')}"
    }
  }
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
extproc { address = "unix://${join(dir, 'extproc.sock')}" }
cache {
${cache}
}
`;
}

describe('config: cache { persist "file" | "kubernetes" }, serve_stale', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-persist-config-'));
    writeFileSync(join(dir, 'role_id'), 'r');
    writeFileSync(join(dir, 'secret_id'), 's');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const parse = (cache: string): ReturnType<typeof parseConfig> => parseConfig(configText(dir, cache), 'c.hcl', {});

  it('persist "file": path, key_file, readiness, and keep_after_import on by default', () => {
    const r = parse('  cache_static_secrets = true\n  persist "file" {\n    path = "/var/lib/vx"\n    key_file = "/etc/vx/key"\n    readiness = "cache"\n  }');
    expect(r.errors).to.deep.equal([]);
    expect(r.config.cache?.persist).to.deep.equal({
      type: 'file', path: '/var/lib/vx', keyFile: '/etc/vx/key', keepAfterImport: true, exitOnErr: false, readiness: 'cache', flushMs: 100,
    });
  });

  it('persist "kubernetes": Vault Agent\'s keys with their meaning (keep_after_import off by default, the service account token file), plus a key source', () => {
    const r = parse('  persist = {\n    type = "kubernetes"\n    path = "/vault/agent-cache"\n    key_env_var = "VX_KEY"\n    exit_on_err = true\n  }');
    expect(r.errors).to.deep.equal([]);
    expect(r.config.cache?.persist).to.deep.equal({
      type: 'kubernetes', path: '/vault/agent-cache', keyEnvVar: 'VX_KEY', keepAfterImport: false, exitOnErr: true,
      serviceAccountTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token', readiness: 'vault', flushMs: 100,
    });
  });

  it('refuses a persist block without a key source (the key is never kept in the store), without a path, of an unknown type', () => {
    const msgs = (cache: string): string[] => parse(cache).errors.map((e) => `${e.location}: ${e.message}`);
    expect(msgs('  persist "kubernetes" {\n    path = "/p"\n  }').join('\n')).to.match(/key_file \(or key_env_var\) is required: vault-extproc never keeps the encryption key in the store/);
    expect(msgs('  persist "file" {\n    key_file = "/k"\n  }').join('\n')).to.include('must specify persistent cache path');
    expect(msgs('  persist "bolt" {\n    path = "/p"\n  }').join('\n')).to.include('persistent key protection type "bolt" is not supported');
    expect(msgs('  persist "file" {\n    path = "/p"\n    key_file = "/k"\n    readiness = "later"\n  }').join('\n')).to.include('must be "vault" or "cache"');
  });

  it('serve_stale (default off) and serve_stale_max (default 10m)', () => {
    expect(parse('  cache_static_secrets = true').config.cache?.stale).to.equal(undefined);
    expect(parse('  cache_static_secrets = true\n  serve_stale = true').config.cache?.stale).to.deep.equal({ serveStale: true, serveStaleMaxSeconds: 600 });
    expect(parse('  cache_static_secrets = true\n  serve_stale = true\n  serve_stale_max = "90s"').config.cache?.stale).to.deep.equal({ serveStale: true, serveStaleMaxSeconds: 90 });
    expect(parse('  cache_static_secrets = true\n  serve_stale_max = "90s"').warnings.map((w) => w.message)).to.include('does nothing without serve_stale = true');
  });

  it('`vault-extproc check` reports a missing key file, a short key and a missing service account token; accepts `openssl rand -base64 32`', async () => {
    const check = async (cache: string): Promise<{ code: number | null; out: string }> => {
      const file = join(dir, `c-${Math.random().toString(36).slice(2)}.hcl`);
      writeFileSync(file, configText(dir, cache));
      const r = await run(process.execPath, [CLI, 'check', '--config', file]);
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const good = join(dir, 'good.key');
    writeFileSync(good, `${randomBytes(32).toString('base64')}\n`);
    const short = join(dir, 'short.key');
    writeFileSync(short, `${randomBytes(16).toString('base64')}\n`);
    const ok = await check(`  persist "file" {\n    path = "${join(dir, 'store')}"\n    key_file = "${good}"\n  }`);
    expect(ok.code, ok.out).to.equal(0);
    const missing = await check(`  persist "file" {\n    path = "${join(dir, 'store')}"\n    key_file = "${join(dir, 'nope.key')}"\n  }`);
    expect(missing.code).to.equal(1);
    expect(missing.out).to.include(`cache > persist "file" > key_file: cannot read the key file ${join(dir, 'nope.key')}`);
    const shortOut = await check(`  persist "file" {\n    path = "${join(dir, 'store')}"\n    key_file = "${short}"\n  }`);
    expect(shortOut.code).to.equal(1);
    expect(shortOut.out).to.include('holds 16 bytes; the key must be 32 random bytes in base64');
    const k8s = await check(`  persist "kubernetes" {\n    path = "${join(dir, 'store')}"\n    key_file = "${good}"\n    service_account_token_file = "${join(dir, 'no-sa')}"\n  }`);
    expect(k8s.code).to.equal(1);
    expect(k8s.out).to.include('failed to read service account token from');
  });
});
