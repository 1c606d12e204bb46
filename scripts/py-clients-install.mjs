#!/usr/bin/env node
// Installs the Python clients pinned in test/clients/requirements.txt (hvac and its dependencies)
// into a venv at .tools/py-clients/ and prints that venv's python. A second run with the same
// requirements and the same python is a no-op (it reads one stamp file).
// Usage: npm run py-clients:install [-- --quiet]   (--quiet: print only the path)
// Environment: VXP_PYTHON, the python to build the venv with (default: python3, then python).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requirementsPath = join(root, 'test', 'clients', 'requirements.txt');
const requirements = readFileSync(requirementsPath, 'utf8');
const quiet = process.argv.includes('--quiet');
const target = join(root, '.tools', 'py-clients');
const python = join(target, 'bin', 'python');
const stampPath = join(target, 'installed.txt');

function log(msg) { if (!quiet) process.stderr.write(`py-clients:install: ${msg}\n`); }
function fail(msg) { process.stderr.write(`py-clients:install failed: ${msg}\n`); process.exit(1); }

/** What the stamp holds: the requirements and the venv python's version, so either changing reinstalls. */
function stampFor(py) {
  try {
    const version = execFileSync(py, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${version}\n${requirements}`;
  } catch { return undefined; }
}

function installed() {
  if (!existsSync(stampPath)) return false;
  const stamp = stampFor(python);
  return stamp !== undefined && readFileSync(stampPath, 'utf8') === stamp;
}

if (!installed()) {
  // Per process, so that two test runs in one work tree do not build into the same directory.
  const staging = `${target}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  const candidates = process.env.VXP_PYTHON ? [process.env.VXP_PYTHON] : ['python3', 'python'];
  let created = false;
  let lastError;
  for (const py of candidates) {
    try {
      execFileSync(py, ['-m', 'venv', staging], { stdio: ['ignore', 'ignore', 'pipe'] });
      created = true;
      log(`installing ${requirementsPath} into a venv at ${target} (${py})`);
      break;
    } catch (err) {
      lastError = err.stderr?.toString().trim() || err.message;
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (!created) fail(`cannot create a venv (${candidates.join(', ')}): ${lastError ?? 'no python found'} — on Debian/Ubuntu: apt-get install python3-venv`);
  const stagedPython = join(staging, 'bin', 'python');
  try {
    execFileSync(stagedPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet',
      '--no-deps', '--only-binary=:all:', '-r', requirementsPath], { stdio: ['ignore', 'ignore', 'inherit'] });
    // Proves the install: the client imports and reports the pinned version.
    const got = execFileSync(stagedPython, ['-c', 'import hvac, importlib.metadata as m; print(m.version("hvac"))'], { encoding: 'utf8' }).trim();
    const want = /^hvac==(\S+)$/m.exec(requirements)?.[1];
    if (got !== want) throw new Error(`hvac reports version ${got}, expected ${want}`);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    fail(`installing ${requirementsPath}: ${err.message}`);
  }
  // The stamp goes in before the move, so a venv at `target` is either complete or absent.
  const stamp = stampFor(stagedPython);
  if (stamp === undefined) fail(`${stagedPython} does not run after the install`);
  writeFileSync(join(staging, 'installed.txt'), stamp);
  if (installed()) {
    rmSync(staging, { recursive: true, force: true }); // another run finished first
  } else {
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(staging, target);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (!installed()) fail(`moving the venv into ${target}: ${err.message}`);
    }
  }
  // A venv's scripts name the path it was made at: run its python by path only (never bin/pip).
  if (!installed()) fail(`${python} does not run after the install`);
}
process.stdout.write(`${python}\n`);
