// docs/config-keys.md is what the config reader says about every key of Vault Proxy's and Vault
// Agent's config, and covers every key of Vault 1.15.6's own config structs.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { keyTable, keyTableMarkdown, METHOD_KEYS } from '../../../src/config/keys.js';
import { REAL_VAULT_BINARY } from '../../support/backend.js';
import { REPO_ROOT } from '../../support/paths.js';

/**
 * Vault keys the reader does not know yet ("unknown key; it is ignored"), each owned by another
 * file than this suite's. The test fails when this list and the reader disagree either way.
 */
const NOT_READ_YET: Record<string, string> = {};

/** Vault 1.15.6's source, unpacked by scripts/vault-real.mjs next to the binary the real-Vault tests use. */
const VAULT_SRC = join(REAL_VAULT_BINARY, '..', 'src');

/** The `hcl:"name"` tags of Vault's Agent/Proxy config structs and the shared listener/telemetry/server ones. */
function vaultConfigKeys(): Set<string> {
  const files = [
    'command/proxy/config/config.go', 'command/agent/config/config.go', 'command/agentproxyshared/helpers.go',
    'internalshared/configutil/listener.go', 'internalshared/configutil/config.go', 'internalshared/configutil/telemetry.go',
  ];
  const keys = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(join(VAULT_SRC, f), 'utf8').matchAll(/hcl:"([a-z_]*)/g)) if (m[1]) keys.add(m[1]);
  }
  // Go field names that differ from the HCL block name.
  const renamed: Record<string, string> = { sinks: 'sink', templates: 'template' };
  return new Set([...keys].map((k) => renamed[k] ?? k));
}

describe('config keys: docs/config-keys.md is generated from the reader', () => {
  it('docs/config-keys.md is exactly what the reader says today (regenerate: npm run build && node scripts/config-keys.mjs)', () => {
    expect(readFileSync(join(REPO_ROOT, 'docs', 'config-keys.md'), 'utf8')).to.equal(keyTableMarkdown());
  });

  it('scripts/config-keys.mjs --check agrees (what CI can run)', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'config-keys.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).to.equal('');
    expect(r.status).to.equal(0);
  });

  it('every key of Vault 1.15.6\'s Agent, Proxy, listener, telemetry and shared config structs has a row', () => {
    expect(existsSync(VAULT_SRC), `Vault's source at ${VAULT_SRC} (made by scripts/vault-real.mjs)`).to.equal(true);
    const segments = new Set(keyTable().flatMap((r) => r.key.split(' > ')));
    const missing = [...vaultConfigKeys()].filter((k) => !segments.has(k)).sort();
    expect(missing).to.deep.equal([]);
  });

  it('every config key each auto-auth method of Vault 1.15.6 reads (command/agentproxyshared/auth/<method>) has a row', () => {
    const dir = join(VAULT_SRC, 'command', 'agentproxyshared', 'auth');
    const missing: string[] = [];
    for (const m of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const method = m.name.replace('-', '_');
      const source = readdirSync(join(dir, m.name)).filter((f) => f.endsWith('.go') && !f.endsWith('_test.go')).map((f) => readFileSync(join(dir, m.name, f), 'utf8')).join('\n');
      const keys = new Set([...source.matchAll(/Config\["([a-z_]+)"\]|read\("([a-z_]+)"/g)].map((x) => x[1] ?? x[2]!));
      for (const k of keys) if (!(METHOD_KEYS[method] ?? []).includes(k)) missing.push(`${method} > ${k}`);
    }
    expect(missing).to.deep.equal([]);
    const rows = new Set(keyTable().map((r) => r.key));
    for (const [method, keys] of Object.entries(METHOD_KEYS)) for (const k of keys) expect(rows.has(`auto_auth > method "${method}" > config > ${k}`), `${method} > ${k}`).to.equal(true);
  });

  it('the reader calls no Vault key unknown except those listed with the file that should read them', () => {
    const unknown = keyTable().filter((r) => r.status === 'unknown').map((r) => r.key).sort();
    expect(unknown).to.deep.equal(Object.keys(NOT_READ_YET).sort());
  });

  it('no key of a valid sample is refused, and every row not "works" gives its reason', () => {
    for (const r of keyTable()) {
      expect(r.status, `${r.key}: ${r.why}`).to.not.equal('refused');
      if (r.status !== 'works') expect(r.why, r.key).to.not.equal('');
    }
  });
});
