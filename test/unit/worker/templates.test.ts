import { expect } from 'chai';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { TEMPLATE_DEFAULTS, type TemplateConfig } from '../../../src/config/template.js';
import type { WorkerMetric } from '../../../src/telemetry/metrics.js';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { createFuncs } from '../../../src/template/functions/index.js';
import { commandArgv, runCommand } from '../../../src/worker/templates/command.js';
import { checkWaitMs, DependencyStore, type DependencyIo, type Fetched, type Method } from '../../../src/worker/templates/deps.js';
import { writeRendered } from '../../../src/worker/templates/file-writer.js';
import { TemplateManager } from '../../../src/worker/templates/manager.js';
import { sleep, waitFor } from '../../support/ports.js';

const TIMING = { staticSecretRenderIntervalSeconds: 300, leaseRenewalThreshold: 0.9 };

function kv2(data: Record<string, string>, version = 1): string {
  return JSON.stringify({ request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data: { data, metadata: { version } } });
}

/** A Vault stand-in for the store: answers per path, counts reads and renewals. */
class FakeIo implements DependencyIo {
  answers = new Map<string, () => { status: number; text: string; canonicalPath?: string }>();
  reads: string[] = [];
  renewals: Array<{ leaseId: string; increment: number }> = [];
  renewTtl: (n: number) => number = () => 0;
  async fetch(method: Method, path: string): Promise<Fetched> {
    this.reads.push(`${method} ${path}`);
    const a = this.answers.get(path)?.() ?? { status: 404, text: '{"errors":[]}' };
    return { answer: { status: a.status, text: a.text }, ...(a.canonicalPath ? { canonicalPath: a.canonicalPath } : {}) };
  }
  async renew(leaseId: string, increment: number): Promise<number> {
    this.renewals.push({ leaseId, increment });
    return this.renewTtl(this.renewals.length);
  }
}

describe('worker: templates', () => {
  describe('when a read is due again (consul-template\'s leaseCheckWait)', () => {
    const mid = (): number => 0.5; // no stagger
    it('no lease: static_secret_render_interval × lease_renewal_threshold', () => {
      expect(checkWaitMs({ leaseId: '', leaseDuration: 0, renewable: false, data: {} }, TIMING, mid, 0)).to.equal(270_000);
      expect(checkWaitMs({ leaseId: '', leaseDuration: 0, renewable: false, data: {} }, { ...TIMING, staticSecretRenderIntervalSeconds: 60 }, mid, 0)).to.equal(54_000);
    });
    it('a non-renewable lease: its duration × the threshold, staggered by ±0.05', () => {
      expect(checkWaitMs({ leaseId: 'l', leaseDuration: 100, renewable: false, data: {} }, TIMING, mid, 0)).to.equal(90_000);
      expect(checkWaitMs({ leaseId: 'l', leaseDuration: 100, renewable: false, data: {} }, TIMING, () => 0, 0)).to.be.closeTo(85_000, 1e-6);
      expect(checkWaitMs({ leaseId: 'l', leaseDuration: 100, renewable: false, data: {} }, { ...TIMING, leaseRenewalThreshold: 0.5 }, mid, 0)).to.equal(50_000);
    });
    it('a certificate without a lease: until its expiration; a rotating secret: its ttl + 1 s, unstaggered', () => {
      expect(checkWaitMs({ leaseId: '', leaseDuration: 0, renewable: false, data: { certificate: 'x', expiration: 1_100 } }, TIMING, mid, 1_000_000)).to.equal(90_000);
      expect(checkWaitMs({ leaseId: '', leaseDuration: 0, renewable: false, data: { rotation_period: 60, ttl: 20 } }, TIMING, mid, 0)).to.equal(21_000);
    });
  });

  describe('DependencyStore', () => {
    let io: FakeIo;
    let due: string[][];
    let store: DependencyStore;
    beforeEach(() => {
      io = new FakeIo();
      due = [];
      store = new DependencyStore(io, TIMING, (keys) => due.push(keys), () => 0.5);
    });
    afterEach(() => store.stop());

    it('one read per dependency, shared (two templates reading the same path get the same answer)', async () => {
      let n = 0;
      io.answers.set('secret/data/a', () => ({ status: 200, text: kv2({ n: String(++n) }) }));
      const [x, y] = await Promise.all([store.request('GET', 'secret/data/a', undefined), store.request('GET', 'secret/data/a', undefined)]);
      expect(x).to.deep.equal(y);
      expect((await store.request('GET', 'secret/data/a', undefined)).text).to.equal(x.text);
      expect(io.reads).to.deep.equal(['GET secret/data/a']);
    });

    it('an error is not kept: the next render reads again', async () => {
      await store.request('GET', 'secret/data/missing', undefined);
      await sleep(0);
      await store.request('GET', 'secret/data/missing', undefined);
      expect(io.reads).to.have.length(2);
    });

    it('a static-cache change of the canonical path makes the read due at once', async () => {
      io.answers.set('secret/data/a', () => ({ status: 200, text: kv2({ v: '1' }), canonicalPath: 'secret/data/a' }));
      await store.request('GET', 'secret/data/a', undefined);
      await sleep(0);
      expect(store.changed('secret/data/other')).to.deep.equal([]);
      expect(store.changed('secret/data/a')).to.deep.equal(['GET secret/data/a']);
      expect(due).to.deep.equal([['GET secret/data/a']]);
      await store.request('GET', 'secret/data/a', undefined);
      expect(io.reads).to.have.length(2);
    });

    it('a renewable lease is renewed (increment = its first duration), and due at once when renewal stops extending it', async () => {
      io.answers.set('database/creds/r', () => ({ status: 200, text: JSON.stringify({ lease_id: 'database/creds/r/1', lease_duration: 1, renewable: true, data: { username: 'u' } }) }));
      // First renewal: a full second again; then only 0.2 s is left (max TTL).
      io.renewTtl = (n) => (n === 1 ? 1 : 0.2);
      await store.request('GET', 'database/creds/r', undefined);
      await waitFor('renewal stopped extending', () => (due.length ? true : undefined), 5_000, 10);
      expect(io.renewals).to.deep.equal([{ leaseId: 'database/creds/r/1', increment: 1 }, { leaseId: 'database/creds/r/1', increment: 1 }]);
      expect(due).to.deep.equal([['GET database/creds/r']]);
    });

    it('a renewal refused makes the read due (read anew)', async () => {
      io.answers.set('database/creds/r', () => ({ status: 200, text: JSON.stringify({ lease_id: 'l', lease_duration: 1, renewable: true, data: {} }) }));
      io.renew = async () => { throw new Error('refused'); };
      await store.request('GET', 'database/creds/r', undefined);
      await waitFor('due', () => (due.length ? true : undefined), 5_000, 10);
      expect(due).to.deep.equal([['GET database/creds/r']]);
    });
  });

  describe('writeRendered (consul-template\'s atomic write)', () => {
    let dir: string;
    const target = (over: Partial<TemplateConfig> = {}): TemplateConfig => ({
      destination: join(dir, 'out.txt'), createDestDirs: true, command: [], commandTimeoutSeconds: 30, errorOnMissingKey: false, backup: false, location: 'template', ...over,
    });
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-tmplw-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('creates with 0644, writes only when the bytes change, leaves no temp file', async () => {
      expect(await writeRendered(target(), 'a\n')).to.equal(true);
      expect(statSync(join(dir, 'out.txt')).mode & 0o777).to.equal(TEMPLATE_DEFAULTS.filePerms);
      const ino = statSync(join(dir, 'out.txt')).ino;
      expect(await writeRendered(target(), 'a\n')).to.equal(false);
      expect(statSync(join(dir, 'out.txt')).ino).to.equal(ino);
      expect(await writeRendered(target(), 'b\n')).to.equal(true);
      expect(statSync(join(dir, 'out.txt')).ino, 'replaced by a rename').to.not.equal(ino);
      expect(readdirSync(dir)).to.deep.equal(['out.txt']);
    });

    it('perms when given; otherwise an existing file keeps its mode', async () => {
      await writeRendered(target({ perms: 0o600 }), 'a');
      expect(statSync(join(dir, 'out.txt')).mode & 0o777).to.equal(0o600);
      chmodSync(join(dir, 'out.txt'), 0o640);
      await writeRendered(target(), 'b');
      expect(statSync(join(dir, 'out.txt')).mode & 0o777).to.equal(0o640);
    });

    it('user and group (ids or names from /etc/passwd and /etc/group) own the file; an unknown name is an error', async () => {
      if (process.getuid?.() !== 0) {
        // Giving a file away needs root: only the unknown name can be checked here.
        let refused: unknown;
        try { await writeRendered(target({ user: 'no-such-user-vxp' }), 'x'); } catch (e) { refused = e; }
        expect(String(refused)).to.match(/user no-such-user-vxp not found/);
        return;
      }
      await writeRendered(target({ user: '1', group: 'daemon' }), 'x');
      const st = statSync(join(dir, 'out.txt'));
      const daemonGid = Number(readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('daemon:'))!.split(':')[2]);
      expect([st.uid, st.gid]).to.deep.equal([1, daemonGid]);
      // Same bytes but the wrong owner: written again (consul-template's isChownNeeded).
      expect(await writeRendered(target({ user: '2' }), 'x')).to.equal(true);
      expect(statSync(join(dir, 'out.txt')).uid).to.equal(2);
      let refused: unknown;
      try { await writeRendered(target({ user: 'no-such-user-vxp' }), 'x'); } catch (e) { refused = e; }
      expect(String(refused)).to.match(/user no-such-user-vxp not found/);
    });

    it('backup keeps the previous file as .bak', async () => {
      await writeRendered(target({ backup: true }), 'one');
      await writeRendered(target({ backup: true }), 'two');
      expect(readFileSync(join(dir, 'out.txt.bak'), 'utf8')).to.equal('one');
      expect(readFileSync(join(dir, 'out.txt'), 'utf8')).to.equal('two');
    });

    it('create_dest_dirs: missing directories are made; without it, an error and nothing written', async () => {
      expect(await writeRendered(target({ destination: join(dir, 'a', 'b', 'c.txt') }), 'x')).to.equal(true);
      expect(readFileSync(join(dir, 'a', 'b', 'c.txt'), 'utf8')).to.equal('x');
      let err: unknown;
      try {
        await writeRendered(target({ destination: join(dir, 'z', 'c.txt'), createDestDirs: false }), 'x');
      } catch (e) { err = e; }
      expect(String(err)).to.match(/parent directory .* does not exist/);
      expect(existsSync(join(dir, 'z'))).to.equal(false);
    });
  });

  describe('the command', () => {
    it('one string with spaces runs with sh -c; a list as is; empty is nothing', () => {
      expect(commandArgv(['echo a b'])).to.deep.equal(['sh', '-c', 'echo a b']);
      expect(commandArgv(['touch', '/tmp/x'])).to.deep.equal(['touch', '/tmp/x']);
      expect(commandArgv(['true'])).to.deep.equal(['true']);
      expect(commandArgv([])).to.equal(undefined);
    });
    it('outcomes: ok, a non-zero exit, a timeout (the process group killed), a program that does not exist', async () => {
      expect(await runCommand(['true'], 5_000)).to.deep.equal({ ok: true });
      expect(await runCommand(['exit 3'], 5_000)).to.deep.include({ ok: false, reason: 'exit', code: 3 });
      const start = Date.now();
      expect(await runCommand(['sleep 5'], 200)).to.deep.equal({ ok: false, reason: 'timeout' });
      expect(Date.now() - start).to.be.below(3_000);
      expect(await runCommand(['/nonexistent/program'], 5_000)).to.deep.include({ ok: false, reason: 'spawn' });
    });
  });

  describe('TemplateManager (the engine and functions, a Vault stand-in)', () => {
    let dir: string;
    let io: FakeIo;
    let metrics: WorkerMetric[];
    let fatal: Array<{ code: number; reason: string }>;
    let manager: TemplateManager | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'vxp-tmplm-'));
      io = new FakeIo();
      metrics = [];
      fatal = [];
    });
    afterEach(() => {
      manager?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    function start(templates: Array<Partial<TemplateConfig>>, opts: { exitOnRetryFailure?: boolean; once?: boolean; log?: pino.Logger } = {}): TemplateManager {
      manager = new TemplateManager({
        templates: templates.map((t, i) => ({ destination: join(dir, `out${i}.txt`), createDestDirs: true, command: [], commandTimeoutSeconds: 5, errorOnMissingKey: false, backup: false, location: `template #${i + 1}`, ...t })),
        settings: { exitOnRetryFailure: opts.exitOnRetryFailure ?? false, staticSecretRenderIntervalSeconds: 300, maxConnectionsPerHost: 10, leaseRenewalThreshold: 0.9 },
        io, log: opts.log ?? pino({ level: 'silent' }),
        metric: (m) => metrics.push(m),
        onFatal: (code, reason) => fatal.push({ code, reason }),
        compile: parseTemplate, createFuncs,
        minBackoffMs: 50, maxBackoffMs: 100, numRetries: 2, once: opts.once ?? false,
        random: () => 0.5,
      });
      manager.tokenChanged();
      return manager;
    }

    /** KV v2 as consul-template reads it: the mount preflight, then the data path. */
    function kvSecret(path: string, data: () => Record<string, string>): void {
      io.answers.set(`sys/internal/ui/mounts/secret/data/${path}`, () => ({ status: 200, text: JSON.stringify({ data: { path: 'secret/', type: 'kv', options: { version: '2' } } }) }));
      io.answers.set(`secret/data/${path}`, () => ({ status: 200, text: kv2(data()), canonicalPath: `secret/data/${path}` }));
    }

    it('renders, and renders again when a secret it read changed; the command runs once per change, never for an unchanged file', async () => {
      let v = 'one';
      kvSecret('app', () => ({ v }));
      const m = start([{ contents: '{{ with secret "secret/data/app" }}{{ .Data.data.v }}{{ end }}', command: [`echo x >> ${join(dir, 'ran')}`] }]);
      expect(await m.firstRound).to.equal(true);
      expect(readFileSync(join(dir, 'out0.txt'), 'utf8')).to.equal('one');
      v = 'two';
      m.staticChanged('secret/data/app');
      await waitFor('re-rendered', () => (readFileSync(join(dir, 'out0.txt'), 'utf8') === 'two' ? true : undefined), 5_000, 10);
      m.staticChanged('secret/data/app'); // same bytes: no write, no command
      await sleep(200);
      expect(readFileSync(join(dir, 'ran'), 'utf8')).to.equal('x\nx\n');
      expect(metrics.filter((x) => x.metric === 'template_render').map((x) => (x as { outcome: string }).outcome)).to.deep.equal(['written', 'written', 'unchanged']);
      expect(metrics.filter((x) => x.metric === 'template_command')).to.have.length(2);
    });

    it('wait { min max }: changes within min are rendered once, after min', async () => {
      let v = 0;
      kvSecret('w', () => ({ v: String(v) }));
      const m = start([{ contents: '{{ with secret "secret/data/w" }}{{ .Data.data.v }}{{ end }}', wait: { minSeconds: 0.4, maxSeconds: 2 }, command: [`echo x >> ${join(dir, 'ran')}`] }]);
      await m.firstRound;
      for (let i = 1; i <= 3; i++) {
        v = i;
        m.staticChanged('secret/data/w');
        await sleep(100);
      }
      expect(readFileSync(join(dir, 'out0.txt'), 'utf8')).to.equal('0');
      await waitFor('rendered after the wait', () => (readFileSync(join(dir, 'out0.txt'), 'utf8') === '3' ? true : undefined), 3_000, 10);
      await sleep(100);
      expect(readFileSync(join(dir, 'ran'), 'utf8')).to.equal('x\nx\n');
    });

    it('a failing command is counted and logged; the worker goes on rendering', async () => {
      let v = 'a';
      kvSecret('c', () => ({ v }));
      const m = start([{ contents: '{{ with secret "secret/data/c" }}{{ .Data.data.v }}{{ end }}', command: ['exit 7'] }]);
      await m.firstRound;
      v = 'b';
      m.staticChanged('secret/data/c');
      await waitFor('re-rendered', () => (readFileSync(join(dir, 'out0.txt'), 'utf8') === 'b' ? true : undefined), 5_000, 10);
      await sleep(100);
      expect(metrics.filter((x) => x.metric === 'template_command')).to.deep.equal([{ metric: 'template_command', outcome: 'failure' }, { metric: 'template_command', outcome: 'failure' }]);
    });

    it('a template error with exit_on_retry_failure: fatal at once with code 1; without it: retried with backoff', async () => {
      kvSecret('e', () => ({ v: 'x' }));
      const bad = '{{ with secret "secret/data/e" }}{{ .Data.data.nope }}{{ end }}';
      start([{ contents: bad, errorOnMissingKey: true }], { exitOnRetryFailure: true });
      await waitFor('fatal', () => (fatal.length ? true : undefined), 2_000, 10);
      expect(fatal[0]!.code).to.equal(1);
      manager!.stop();
      fatal = [];
      start([{ contents: bad, errorOnMissingKey: true }]);
      await waitFor('three failures', () => (metrics.filter((x) => x.metric === 'template_render').length >= 3 ? true : undefined), 3_000, 10);
      expect(fatal).to.deep.equal([]);
      expect(existsSync(join(dir, 'out0.txt'))).to.equal(false);
    });

    it('a Vault read that keeps failing: exit_on_retry_failure after num_retries + 1 attempts', async () => {
      start([{ contents: '{{ with secret "secret/data/none" }}{{ .Data.data.v }}{{ end }}' }], { exitOnRetryFailure: true });
      await waitFor('fatal', () => (fatal.length ? true : undefined), 5_000, 10);
      expect(metrics.filter((x) => x.metric === 'template_render' && x.outcome === 'error')).to.have.length(3);
    });

    it('a failing render never logs a secret value: the error text is consul-template\'s, values [redacted] (KV v1 and v2, parse errors too)', async () => {
      const lines: string[] = [];
      const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
      io.answers.set('sys/internal/ui/mounts/kv1/fail', () => ({ status: 200, text: JSON.stringify({ data: { path: 'kv1/', type: 'kv', options: { version: '1' } } }) }));
      io.answers.set('kv1/fail', () => ({ status: 200, text: JSON.stringify({ request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data: { present: 'TOPSECRET-v1', other: 'entry' } }) }));
      kvSecret('fail2', () => ({ present: 'TOPSECRET-v2' }));
      start([
        { contents: '{{ with secret "kv1/fail" }}{{ range .Data.present }}x{{ end }}{{ end }}' },
        { contents: '{{ with secret "kv1/fail" }}{{ .Data.nokey }}{{ end }}', errorOnMissingKey: true },
        { contents: '{{ with secret "secret/data/fail2" }}{{ range .Data.data.present }}x{{ end }}{{ end }}' },
        { contents: '{{ with secret "kv1/fail" }}{{ .Data.present }}{{ if }}{{ end }}' },
      ], { log });
      await waitFor('every template failed twice', () => (metrics.filter((x) => x.metric === 'template_render' && x.outcome === 'error').length >= 8 ? true : undefined), 5_000, 10);
      const text = lines.join('');
      expect(text).to.not.include('TOPSECRET');
      const errs = lines.map((l) => JSON.parse(l) as { err?: string; destination?: string }).filter((l) => l.err !== undefined);
      const first = (i: number): string | undefined => errs.find((e) => e.destination === join(dir, `out${i}.txt`))?.err;
      expect(first(0)).to.equal('execute: template: :1:42: executing "" at <.Data.present>: range can\'t iterate over [redacted]');
      expect(first(1)).to.equal('execute: template: :1:36: executing "" at <.Data.nokey>: map has no [redacted] for key "nokey"');
      expect(first(2)).to.equal('execute: template: :1:51: executing "" at <.Data.data.present>: range can\'t iterate over [redacted]');
      expect(first(3)).to.match(/^parse: template: :1: missing value for if$/);
    });

    it('an error that is not the template\'s (a write) is redacted too, an empty secret value left alone', async () => {
      const lines: string[] = [];
      const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
      io.answers.set('sys/internal/ui/mounts/kv1/w', () => ({ status: 200, text: JSON.stringify({ data: { path: 'kv1/', type: 'kv', options: { version: '1' } } }) }));
      io.answers.set('kv1/w', () => ({ status: 200, text: JSON.stringify({ request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data: { empty: '', v: 'TOPSECRET-dir' } }) }));
      start([{ contents: '{{ with secret "kv1/w" }}{{ .Data.v }}{{ end }}', destination: join(dir, 'TOPSECRET-dir', 'out.txt'), createDestDirs: false }], { log });
      await waitFor('the write failed', () => (lines.some((l) => l.includes('"err"')) ? true : undefined), 5_000, 10);
      expect(lines.join('')).to.not.include('TOPSECRET-dir"');
      const err = lines.map((l) => JSON.parse(l) as { err?: string }).find((l) => l.err !== undefined)!.err;
      expect(err).to.equal(`failed writing file: parent directory ${join(dir, '[redacted]')} does not exist (create_dest_dirs is false)`);
    });

    it('error_on_missing_key = false is consul-template\'s missingkey=zero: a missing key prints <no value>, a field of it fails as in Vault Agent', async () => {
      const lines: string[] = [];
      const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
      kvSecret('mk', () => ({ present: 'present-value' }));
      start([
        { contents: '{{ with secret "secret/data/mk" }}[{{ .Data.data.absent }}]{{ end }}' },
        { contents: '{{ with secret "secret/data/mk" }}{{ .Data.data.absent.deeper }}{{ end }}' },
      ], { log });
      await waitFor('the second failed', () => (lines.some((l) => l.includes('"err"')) ? true : undefined), 5_000, 10);
      await waitFor('the first rendered', () => (existsSync(join(dir, 'out0.txt')) ? true : undefined), 5_000, 10);
      expect(readFileSync(join(dir, 'out0.txt'), 'utf8')).to.equal('[<no value>]');
      expect(existsSync(join(dir, 'out1.txt'))).to.equal(false);
      const err = lines.map((l) => JSON.parse(l) as { err?: string }).find((l) => l.err !== undefined)!.err;
      expect(err).to.equal('execute: template: :1:42: executing "" at <.Data.data.absent.deeper>: nil pointer evaluating interface {}.deeper');
    });

    it('binary output: base64Decode of a binary secret and file of a binary file write those exact bytes', async () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      kvSecret('bin', () => ({ b64: all.toString('base64') }));
      writeFileSync(join(dir, 'in.bin'), Buffer.concat([all, Buffer.from(all).reverse()]));
      const m = start([
        { contents: '{{ with secret "secret/data/bin" }}{{ .Data.data.b64 | base64Decode }}{{ end }}' },
        { contents: `{{ file "${join(dir, 'in.bin')}" }}` },
      ]);
      expect(await m.firstRound).to.equal(true);
      expect(readFileSync(join(dir, 'out0.txt')).equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i))), 'base64Decode').to.equal(true);
      expect(readFileSync(join(dir, 'out1.txt')).equals(readFileSync(join(dir, 'in.bin'))), 'file').to.equal(true);
      expect(readFileSync(join(dir, 'out1.txt'))).to.have.length(512);
    });

    it('two templates reading the same secret share one read', async () => {
      kvSecret('s', () => ({ v: 'same' }));
      const m = start([{ contents: '{{ with secret "secret/data/s" }}{{ .Data.data.v }}{{ end }}' }, { contents: '{{ with secret "secret/data/s" }}{{ .Data.data.v }}!{{ end }}' }]);
      await m.firstRound;
      expect(io.reads.filter((r) => r === 'GET secret/data/s')).to.have.length(1);
      expect([readFileSync(join(dir, 'out0.txt'), 'utf8'), readFileSync(join(dir, 'out1.txt'), 'utf8')]).to.deep.equal(['same', 'same!']);
    });

    it('a source file is read; custom delimiters', async () => {
      kvSecret('d', () => ({ v: 'delim' }));
      writeFileSync(join(dir, 'in.ctmpl'), '[[ with secret "secret/data/d" ]][[ .Data.data.v ]][[ end ]] {{ kept }}');
      const m = start([{ source: join(dir, 'in.ctmpl'), leftDelimiter: '[[', rightDelimiter: ']]' }]);
      await m.firstRound;
      expect(readFileSync(join(dir, 'out0.txt'), 'utf8')).to.equal('delim {{ kept }}');
    });
  });
});
