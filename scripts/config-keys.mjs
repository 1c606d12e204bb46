#!/usr/bin/env node
// Writes docs/config-keys.md from the config reader itself (src/config/keys.ts, built into dist/):
// every key of Vault Proxy's and Vault Agent's config, with what `vault-extproc check` says about it.
//   node scripts/config-keys.mjs           (re)write docs/config-keys.md (run `npm run build` first)
//   node scripts/config-keys.mjs --check   exit 1 when docs/config-keys.md is not what the reader says
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { keyTableMarkdown } = await import(new URL('../dist/config/keys.js', import.meta.url).href);
const target = `${root}docs/config-keys.md`;
const generated = keyTableMarkdown();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: differs
  }
  if (current !== generated) {
    process.stderr.write('docs/config-keys.md differs from what the config reader says; run: npm run build && node scripts/config-keys.mjs\n');
    process.exit(1);
  }
  process.stdout.write('docs/config-keys.md matches the config reader\n');
} else {
  writeFileSync(target, generated);
  process.stdout.write(`wrote ${target}\n`);
}
