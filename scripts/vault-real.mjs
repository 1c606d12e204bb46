#!/usr/bin/env node
// Builds and runs a real Vault server for acceptance tests (a test dependency only, never shipped).
//
//   npm run vault:real  (= node scripts/vault-real.mjs build)
//   node scripts/vault-real.mjs build [--quiet] [--if-needed]
//       Builds the Vault pinned in test/real-vault/go.mod from the Go module proxy into
//       .tools/vault-<version>/vault and prints that path. A no-op when that binary already
//       answers `version` with the pinned version. Needs Go; a cold build takes a long time
//       (see test/real-vault/README.md). --if-needed: only when VAULT_BACKENDS (the test suites'
//       backends, default "sim,real") names `real` — how `npm test` calls it.
//   node scripts/vault-real.mjs dev [--port 8200] [--root-token root] [-- extra vault args]
//       Builds if needed, then runs `vault server -dev -dev-root-token-id=T
//       -dev-listen-address=127.0.0.1:P -dev-no-store-token` in the foreground with Vault's
//       output on stderr, prints one line on stdout when /v1/sys/health answers, and stops
//       Vault on SIGINT/SIGTERM.
//
// Environment: VAULT_REAL_GO (go binary, default `go`), VAULT_REAL_JOBS (go build -p, default
// the Go default), VAULT_REAL_NICE=0 to build at normal priority (default: nice 19).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const moduleDir = join(root, 'test', 'real-vault');
const VAULT_MODULE = 'github.com/hashicorp/vault';
const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
const version = new RegExp(`^\\s*(?:require\\s+)?${VAULT_MODULE.replaceAll('.', '\\.')} v(\\d+\\.\\d+\\.\\d+)\\s*$`, 'm')
  .exec(goMod)?.[1];
if (!version) fail(`cannot find the pinned ${VAULT_MODULE} version in ${join(moduleDir, 'go.mod')}`);
const toolDir = join(root, '.tools', `vault-${version}`);
if (!goMod.includes(`${VAULT_MODULE} => ../../.tools/vault-${version}/src`)) {
  fail(`test/real-vault/go.mod must replace ${VAULT_MODULE} with ../../.tools/vault-${version}/src`);
}
const srcDir = join(toolDir, 'src'); // go.mod's `replace github.com/hashicorp/vault => …/src`
const binary = join(toolDir, 'vault');
const go = process.env.VAULT_REAL_GO || 'go';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
function log(msg) { if (!quiet) process.stderr.write(`vault-real: ${msg}\n`); }
function fail(msg) { process.stderr.write(`vault-real: ${msg}\n`); process.exit(1); }

function versionOf(path) {
  try {
    const out = execFileSync(path, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
    return /Vault v(\d+\.\d+\.\d+)/.exec(out)?.[1];
  } catch { return undefined; }
}

function goEnv(extra = {}) {
  // GOTOOLCHAIN=local: never try to download another toolchain. CGO is not needed by Vault.
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', ...extra };
}

function runGo(goArgs, opts = {}) {
  const nice = process.env.VAULT_REAL_NICE !== '0' && spawnSync('nice', ['true']).status === 0;
  const [cmd, cmdArgs] = nice ? ['nice', ['-n', '19', go, ...goArgs]] : [go, goArgs];
  const r = spawnSync(cmd, cmdArgs, { stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8', ...opts });
  if (r.error) fail(`${go} ${goArgs.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${go} ${goArgs.join(' ')} exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

// Unpacks the pinned Vault module (checksum-verified by the go command) into .tools/ and adds
// test/real-vault/vault-sdk-shim.go.txt to its `vault` package. See test/real-vault/README.md.
function prepareSource() {
  const shim = join(srcDir, 'vault', 'zz_vault_extproc_sdk_shim.go');
  if (existsSync(join(srcDir, 'go.mod')) && existsSync(shim)) {
    copyFileSync(join(moduleDir, 'vault-sdk-shim.go.txt'), shim);
    return;
  }
  log(`downloading ${VAULT_MODULE}@v${version} from the Go module proxy`);
  const scratch = mkdtempSync(join(tmpdir(), 'vault-real-'));
  let info;
  try {
    // Outside any module, so the wrapper's replace of this very module does not apply.
    info = JSON.parse(runGo(['mod', 'download', '-json', `${VAULT_MODULE}@v${version}`],
      { cwd: scratch, env: goEnv({ GOFLAGS: '-mod=mod' }), capture: true }));
  } finally { rmSync(scratch, { recursive: true, force: true }); }
  if (info.Error || !info.Dir) fail(`go mod download: ${info.Error ?? 'no directory'}`);
  const staging = `${srcDir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(toolDir, { recursive: true });
  execFileSync('cp', ['-R', info.Dir, staging]);
  execFileSync('chmod', ['-R', 'u+w', staging]); // the module cache is read-only
  copyFileSync(join(moduleDir, 'vault-sdk-shim.go.txt'), join(staging, 'vault', 'zz_vault_extproc_sdk_shim.go'));
  rmSync(srcDir, { recursive: true, force: true });
  renameSync(staging, srcDir);
}

function build() {
  if (versionOf(binary) === version) return binary;
  prepareSource();
  log(`building Vault ${version} into ${binary} (a cold build downloads ~3 GB of modules and compiles for a long time)`);
  const started = Date.now();
  const staging = `${binary}.partial`;
  rmSync(staging, { force: true });
  const jobs = process.env.VAULT_REAL_JOBS ? ['-p', process.env.VAULT_REAL_JOBS] : [];
  runGo(['build', ...jobs, '-mod=readonly', '-trimpath', '-ldflags=-s -w', '-o', staging, '.'],
    { cwd: moduleDir, env: goEnv() });
  renameSync(staging, binary);
  const got = versionOf(binary);
  if (got !== version) fail(`${binary} reports version ${got ?? 'none'}, expected ${version}`);
  log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

function option(name, fallback) {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`${name} needs a value`);
  return v;
}

async function dev() {
  const port = Number(option('--port', '8200'));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail('--port must be a TCP port');
  const token = option('--root-token', 'root');
  const dd = args.indexOf('--');
  const extra = dd === -1 ? [] : args.slice(dd + 1);
  const bin = build();
  const addr = `127.0.0.1:${port}`;
  const child = spawn(bin, ['server', '-dev', `-dev-root-token-id=${token}`, `-dev-listen-address=${addr}`,
    '-dev-no-store-token', ...extra], { stdio: ['ignore', process.stderr, 'inherit'], env: { ...process.env, VAULT_ADDR: `http://${addr}` } });
  let exited = false;
  child.on('exit', (code, signal) => { exited = true; process.exit(code ?? (signal ? 1 : 0)); });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { if (!exited) child.kill(sig); });
  const deadline = Date.now() + 60_000;
  while (!exited && Date.now() < deadline) {
    try {
      const res = await fetch(`http://${addr}/v1/sys/health`);
      if (res.status === 200) {
        const h = await res.json();
        process.stdout.write(`vault-real: Vault ${h.version} dev server ready at http://${addr} (root token ${token}, pid ${child.pid})\n`);
        return;
      }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!exited) { child.kill('SIGTERM'); fail(`Vault did not answer http://${addr}/v1/sys/health within 60 s`); }
}

const wanted = (process.env.VAULT_BACKENDS ?? 'sim,real').split(',').map((s) => s.trim()).includes('real');
switch (args[0] ?? 'build') {
  case 'build':
    if (args.includes('--if-needed') && !wanted) log('VAULT_BACKENDS does not name `real`: not building');
    else process.stdout.write(`${build()}\n`);
    break;
  case 'dev': await dev(); break;
  default: fail('usage: node scripts/vault-real.mjs build [--quiet] | dev [--port P] [--root-token T] [-- vault args]');
}
