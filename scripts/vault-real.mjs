#!/usr/bin/env node
// Builds and runs the real Vault servers the acceptance tests run against (test dependencies
// only, never shipped). One wrapper Go module per Vault version (WRAPPERS below):
//   test/real-vault/          Vault 1.15.6 (VAULT_BACKENDS kind `real`)
//   test/real-vault-current/  Vault 1.21.4 (VAULT_BACKENDS kind `current`)
//
//   npm run vault:real  (= node scripts/vault-real.mjs build)
//   node scripts/vault-real.mjs build [--quiet] [--if-needed] [--version V]
//       Builds the Vault pinned in each wrapper's go.mod from the Go module proxy into
//       .tools/vault-<version>/vault and prints the paths, one a line. A binary that already
//       answers `version` with its pinned version (linked by its pinned Go) is kept. Needs Go; a cold build takes a long
//       time (see the wrappers' README.md). --version V: only that wrapper (a version such as
//       1.21.4, or a kind: real, current). --if-needed: only the wrappers whose kind
//       VAULT_BACKENDS names (the test suites' backends, default "sim,openbao,real,current") —
//       how `npm test` calls it. While one version compiles, the modules of the next are
//       downloaded. A wrapper's go.mod may pin the Go release (`toolchain goX.Y.Z`: Vault 1.21.4
//       is built with Go 1.25.7, fetched by the go command). One build per binary at a time:
//       a second `build` waits for the first (.tools/vault-<version>/build.lock).
//   node scripts/vault-real.mjs prepare [--version V]
//       Only unpacks and adapts the pinned Vault module into .tools/vault-<version>/src (what
//       each wrapper's go.mod replaces Vault with; needed before `go mod tidy` in a wrapper).
//   node scripts/vault-real.mjs dev [--version V] [--port 8200] [--root-token root] [-- extra vault args]
//       Builds if needed, then runs `vault server -dev -dev-root-token-id=T
//       -dev-listen-address=127.0.0.1:P -dev-no-store-token` (Vault 1.15.6 unless --version)
//       in the foreground with Vault's output on stderr, prints one line on stdout when
//       /v1/sys/health answers, and stops Vault on SIGINT/SIGTERM.
//
// Environment: VAULT_REAL_GO (go binary, default `go`), VAULT_REAL_JOBS (go build -p, default
// the Go default), VAULT_REAL_NICE=0 to build at normal priority (default: nice 19).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VAULT_MODULE = 'github.com/hashicorp/vault';

/**
 * The wrapper modules. Each adapts the unpacked Vault module to the published sdk it builds
 * with (see its README.md): `addFiles` are copied in whole ([file in the wrapper, path in the
 * module]); `lineEdits` names a JSON file of checked one-line edits ({file, line, from, to}).
 */
const WRAPPERS = [
  { kind: 'real', dir: 'real-vault', addFiles: [['vault-sdk-shim.go.txt', 'vault/zz_vault_extproc_sdk_shim.go']] },
  { kind: 'current', dir: 'real-vault-current', lineEdits: 'sdk-line-edits.json' },
].map((w) => {
  const moduleDir = join(root, 'test', w.dir);
  const goModPath = join(moduleDir, 'go.mod');
  const goMod = readFileSync(goModPath, 'utf8');
  const version = new RegExp(`^\\s*(?:require\\s+)?${VAULT_MODULE.replaceAll('.', '\\.')} v(\\d+\\.\\d+\\.\\d+)\\s*$`, 'm')
    .exec(goMod)?.[1];
  if (!version) fail(`cannot find the pinned ${VAULT_MODULE} version in ${goModPath}`);
  if (!goMod.includes(`${VAULT_MODULE} => ../../.tools/vault-${version}/src`)) {
    fail(`${goModPath} must replace ${VAULT_MODULE} with ../../.tools/vault-${version}/src`);
  }
  const toolDir = join(root, '.tools', `vault-${version}`);
  // A `toolchain goX.Y.Z` line pins the Go release that builds this Vault (GOTOOLCHAIN=goX.Y.Z:
  // the go command fetches it from the module proxy); without one, the local Go is used.
  const toolchain = /^toolchain\s+(go\d+\.\d+(?:\.\d+)?)\s*$/m.exec(goMod)?.[1] ?? 'local';
  // srcDir: go.mod's `replace github.com/hashicorp/vault => …/src`.
  return { ...w, moduleDir, version, toolchain, toolDir, srcDir: join(toolDir, 'src'), binary: join(toolDir, 'vault') };
});
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

/** Whether w's binary is built: it answers `version` with the pinned version (and was linked by the pinned Go, if any). */
function upToDate(w) {
  if (versionOf(w.binary) !== w.version) return false;
  if (w.toolchain === 'local') return true;
  const r = spawnSync(go, ['version', w.binary], { encoding: 'utf8', env: goEnv(), timeout: 30_000 });
  return r.status === 0 && r.stdout.trim().endsWith(` ${w.toolchain}`);
}

function goEnv(extra = {}) {
  // GOTOOLCHAIN=local: never download another toolchain unless a wrapper pins one (extra). CGO
  // is not needed by Vault.
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', ...extra };
}

function goCommand(goArgs) {
  const nice = process.env.VAULT_REAL_NICE !== '0' && spawnSync('nice', ['true']).status === 0;
  return nice ? ['nice', ['-n', '19', go, ...goArgs]] : [go, goArgs];
}

function runGo(goArgs, opts = {}) {
  const [cmd, cmdArgs] = goCommand(goArgs);
  const r = spawnSync(cmd, cmdArgs, { stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8', ...opts });
  if (r.error) fail(`${go} ${goArgs.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${go} ${goArgs.join(' ')} exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

/** The adaptation a wrapper applies, as [added files, line edits] (read and checked for shape). */
function adaptationOf(w) {
  const added = (w.addFiles ?? []).map(([from, to]) => ({ to, text: readFileSync(join(w.moduleDir, from), 'utf8') }));
  let edits = [];
  if (w.lineEdits) {
    const path = join(w.moduleDir, w.lineEdits);
    edits = JSON.parse(readFileSync(path, 'utf8')).edits;
    const ok = Array.isArray(edits) && edits.every((e) => typeof e.file === 'string' && Number.isInteger(e.line)
      && e.line > 0 && typeof e.from === 'string' && typeof e.to === 'string' && !e.from.includes('\n') && !e.to.includes('\n'));
    if (!ok) fail(`${path}: "edits" must be a list of {file, line, from, to} (one line each)`);
  }
  return { added, edits };
}

/**
 * Applies the checked one-line edits to the unpacked module at dir. Returns why it could not
 * (a line is not the expected text, or that text is not unique in its file), else undefined.
 */
function applyLineEdits(w, dir, edits) {
  for (const e of edits) {
    const path = join(dir, e.file);
    const where = `${VAULT_MODULE}@v${w.version} ${e.file}:${e.line}`;
    if (!existsSync(path)) return `${where}: no such file (test/${w.dir}/${w.lineEdits} does not fit this Vault)`;
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    if (lines[e.line - 1] !== e.from) {
      return `${where} is not the line test/${w.dir}/${w.lineEdits} expects:\n  expected: ${JSON.stringify(e.from)}\n  found:    ${JSON.stringify(lines[e.line - 1] ?? null)}`;
    }
    const count = text.split(e.from).length - 1;
    if (count !== 1) return `${where}: the expected text occurs ${count} times in the file, not once`;
    lines[e.line - 1] = e.to;
    writeFileSync(path, lines.join('\n'));
  }
  return undefined;
}

// Unpacks the pinned Vault module (checksum-verified by the go command) into .tools/ and applies
// the wrapper's adaptation. A marker file records which adaptation the unpacked copy carries,
// so a changed adaptation (or Vault version) unpacks a fresh copy. See the wrappers' README.md.
function prepareSource(w) {
  const { added, edits } = adaptationOf(w);
  const fingerprint = createHash('sha256').update(JSON.stringify({ version: w.version, added, edits })).digest('hex');
  const marker = join(w.srcDir, '.vault-extproc-adaptation');
  if (existsSync(join(w.srcDir, 'go.mod')) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === fingerprint) return;
  log(`unpacking ${VAULT_MODULE}@v${w.version} from the Go module proxy into ${w.srcDir}`);
  const scratch = mkdtempSync(join(tmpdir(), 'vault-real-'));
  let info;
  try {
    // Outside any module, so the wrapper's replace of this very module does not apply.
    info = JSON.parse(runGo(['mod', 'download', '-json', `${VAULT_MODULE}@v${w.version}`],
      { cwd: scratch, env: goEnv({ GOFLAGS: '-mod=mod' }), capture: true }));
  } finally { rmSync(scratch, { recursive: true, force: true }); }
  if (info.Error || !info.Dir) fail(`go mod download: ${info.Error ?? 'no directory'}`);
  const staging = `${w.srcDir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(w.toolDir, { recursive: true });
  execFileSync('cp', ['-R', info.Dir, staging]);
  execFileSync('chmod', ['-R', 'u+w', staging]); // the module cache is read-only
  for (const f of added) writeFileSync(join(staging, f.to), f.text);
  const refused = applyLineEdits(w, staging, edits);
  if (refused) { rmSync(staging, { recursive: true, force: true }); fail(refused); }
  if (added.length + edits.length > 0) log(`adapted: ${[...added.map((f) => `added ${f.to}`), ...edits.map((e) => `edited ${e.file}:${e.line}`)].join(', ')}`);
  writeFileSync(join(staging, '.vault-extproc-adaptation'), `${fingerprint}\n`);
  rmSync(w.srcDir, { recursive: true, force: true });
  renameSync(staging, w.srcDir);
}

/** Starts `go mod download` of a wrapper's module graph in the background; resolves when it ends (never rejects). */
function downloadModules(w) {
  const [cmd, cmdArgs] = goCommand(['mod', 'download']);
  return new Promise((done) => {
    const child = spawn(cmd, cmdArgs, { cwd: w.moduleDir, env: goEnv({ GOTOOLCHAIN: w.toolchain }), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { if (err.length < 4000) err += d; });
    child.on('error', (e) => { log(`go mod download for Vault ${w.version}: ${e.message}`); done(); });
    child.on('exit', (code) => {
      // A failure here is not fatal: `go build` downloads what is still missing and reports it.
      if (code !== 0) log(`go mod download for Vault ${w.version} exited with ${code}: ${err.trim()}`);
      done();
    });
  });
}

async function compile(w) {
  log(`building Vault ${w.version} into ${w.binary} with ${w.toolchain === 'local' ? 'the local Go' : w.toolchain} (a cold build downloads gigabytes of modules and compiles for a long time)`);
  const started = Date.now();
  const staging = `${w.binary}.partial`;
  rmSync(staging, { force: true });
  const jobs = process.env.VAULT_REAL_JOBS ? ['-p', process.env.VAULT_REAL_JOBS] : [];
  const goArgs = ['build', ...jobs, '-mod=readonly', '-trimpath', '-ldflags=-s -w', '-o', staging, '.'];
  const [cmd, cmdArgs] = goCommand(goArgs);
  const code = await new Promise((done) => {
    const child = spawn(cmd, cmdArgs, { cwd: w.moduleDir, env: goEnv({ GOTOOLCHAIN: w.toolchain }), stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (e) => { log(`${go} build: ${e.message}`); done(1); });
    child.on('exit', (c, sig) => done(c ?? sig));
  });
  if (code !== 0) fail(`${go} ${goArgs.join(' ')} (Vault ${w.version}) exited with ${code}`);
  renameSync(staging, w.binary);
  const got = versionOf(w.binary);
  if (got !== w.version) fail(`${w.binary} reports version ${got ?? 'none'}, expected ${w.version}`);
  log(`built Vault ${w.version} in ${Math.round((Date.now() - started) / 1000)} s`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function pidIn(dir) {
  try { const pid = Number(readFileSync(join(dir, 'pid'), 'utf8')); return Number.isInteger(pid) && pid > 0 ? pid : undefined; } catch { return undefined; }
}
function alive(pid) { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } }

/**
 * Takes w's build lock, .tools/vault-<version>/build.lock (a directory holding the builder's
 * pid): several sessions share a work tree, and two builds of one binary would clobber each
 * other. Waits while a live process holds it; takes over a dead one's. Returns the release
 * (also done on exit).
 */
async function lock(w) {
  const dir = join(w.toolDir, 'build.lock');
  mkdirSync(w.toolDir, { recursive: true });
  let told = false;
  for (;;) {
    try { mkdirSync(dir); break; } catch (e) { if (e.code !== 'EEXIST') throw e; }
    const pid = pidIn(dir);
    if (pid === undefined && Date.now() - statSync(dir, { throwIfNoEntry: false })?.mtimeMs < 10_000) { await sleep(500); continue; }
    if (pid !== undefined && pid !== process.pid && alive(pid)) {
      if (!told) log(`waiting for process ${pid}, which is building Vault ${w.version}`);
      told = true;
      await sleep(5000);
      continue;
    }
    rmSync(dir, { recursive: true, force: true }); // left by a process that is gone
  }
  writeFileSync(join(dir, 'pid'), String(process.pid));
  const release = () => { if (pidIn(dir) === process.pid) rmSync(dir, { recursive: true, force: true }); };
  process.on('exit', release);
  return release;
}

/**
 * Builds every wrapper in `list` whose binary is missing or stale, all at once: one Vault build
 * alone keeps two cores only about 115 % busy (the package graph narrows, the link is serial),
 * so two side by side take far less than one after the other.
 */
async function build(list) {
  const todo = [];
  const releases = [];
  for (const w of list) {
    if (upToDate(w)) continue;
    releases.push(await lock(w)); // in list order, so two builders never wait on each other
    if (!upToDate(w)) todo.push(w); // the process waited for may have built it
  }
  for (const w of todo) prepareSource(w);
  await Promise.all(todo.map(async (w, i) => {
    if (i > 0) await downloadModules(w); // the first build's go build fetches its own modules
    await compile(w);
  }));
  for (const release of releases) release();
  return list.map((w) => w.binary);
}

function option(name, fallback) {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`${name} needs a value`);
  return v;
}

/** The wrappers --version selects (all when absent). */
function selected() {
  const v = option('--version', undefined);
  if (v === undefined) return WRAPPERS;
  const w = WRAPPERS.find((x) => x.version === v.replace(/^v/, '') || x.kind === v);
  if (!w) fail(`--version ${v}: not one of ${WRAPPERS.map((x) => `${x.version} (${x.kind})`).join(', ')}`);
  return [w];
}

async function dev() {
  const port = Number(option('--port', '8200'));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail('--port must be a TCP port');
  const token = option('--root-token', 'root');
  const dd = args.indexOf('--');
  const extra = dd === -1 ? [] : args.slice(dd + 1);
  const [bin] = await build(selected().slice(0, 1));
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

const backends = (process.env.VAULT_BACKENDS ?? 'sim,openbao,real,current').split(',').map((s) => s.trim());
switch (args[0] ?? 'build') {
  case 'build': {
    let list = selected();
    if (args.includes('--if-needed')) {
      for (const w of list.filter((x) => !backends.includes(x.kind))) log(`VAULT_BACKENDS does not name \`${w.kind}\`: not building Vault ${w.version}`);
      list = list.filter((w) => backends.includes(w.kind));
    }
    for (const bin of await build(list)) process.stdout.write(`${bin}\n`);
    break;
  }
  case 'prepare':
    for (const w of selected()) { const release = await lock(w); prepareSource(w); release(); process.stdout.write(`${w.srcDir}\n`); }
    break;
  case 'dev': await dev(); break;
  default: fail('usage: node scripts/vault-real.mjs build [--quiet] [--if-needed] [--version V] | prepare [--version V] | dev [--version V] [--port P] [--root-token T] [-- vault args]');
}
