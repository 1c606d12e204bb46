// Our HCL v1 parser against HashiCorp's own (hashicorp/hcl v1 compiled to JS: js-hcl-parser): every
// .hcl file of Vault 1.15.6's agent, proxy and server config test fixtures (read in place from the
// Vault source next to the real-Vault binary) and of this repository decodes to the same value;
// where HashiCorp's generic decode fails ("map must have string keys": labelled and unlabelled
// blocks of one name, which Vault itself reads through the AST), ours parses.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { decodeConfigText } from '../../../src/config/hcl.js';
import { REAL_VAULT_BINARY } from '../../support/backend.js';
import { REPO_ROOT } from '../../support/paths.js';

const require = createRequire(import.meta.url);
const hashicorp = require('js-hcl-parser') as { parse(text: string): string };
const VAULT_SRC = join(REAL_VAULT_BINARY, '..', 'src');

function hclFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name.startsWith('.') ? [] : hclFiles(path);
    return name.endsWith('.hcl') ? [path] : [];
  });
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  return v;
}

describe('config: our HCL v1 parser decodes as HashiCorp\'s HCL v1 does', () => {
  const files = [
    ...['command/agent/config/test-fixtures', 'command/proxy/config/test-fixtures', 'command/server/test-fixtures'].flatMap((d) => hclFiles(join(VAULT_SRC, d))),
    ...hclFiles(join(REPO_ROOT, 'test')),
    ...hclFiles(join(REPO_ROOT, 'examples')),
  ];

  it('reads Vault\'s agent, proxy and server fixtures and ours: the same value for each file HashiCorp\'s decoder reads, and no refusal where it fails only on mixed block forms', () => {
    expect(files.length).to.be.greaterThan(100);
    let same = 0;
    const mixed: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const theirs = hashicorp.parse(text);
      let expected: unknown;
      try {
        expected = JSON.parse(theirs);
      } catch {
        if (/map must have string keys/.test(theirs)) {
          expect(() => decodeConfigText(text, file), file).to.not.throw();
          mixed.push(file);
        } else {
          expect(() => decodeConfigText(text, file), `${file}: HashiCorp's parser refuses it (${theirs})`).to.throw(/line \d+, column \d+/);
        }
        continue;
      }
      expect(sorted(JSON.parse(JSON.stringify(decodeConfigText(text, file)))), file).to.deep.equal(sorted(expected));
      same++;
    }
    expect(same).to.be.greaterThan(100);
    // Vault's own config-cache fixtures (agent, agent config-dir, proxy) and our corpus file.
    expect(mixed.length).to.be.at.least(4);
  });
});
