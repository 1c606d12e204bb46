// file, env/envOrDefault/mustEnv with the renderer's environment, and timestamp: its Go layouts
// compared with consul-template's at the same moment (the oracle renders with the real clock, so
// ours is computed just before and just after and must equal one of them).
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFuncs, FileDependencyError, goStringToBytes, type RenderContext } from '../../../src/template/functions/index.js';
import { randomBytes } from 'node:crypto';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { renderWithConsulTemplate } from '../../template-oracle/oracle.js';

function ctx(extra: Partial<RenderContext> = {}): RenderContext {
  return {
    vault: { request: async () => { throw new Error('no Vault here'); } },
    env: (n) => ({ SET: 'value', EMPTY: '' } as Record<string, string>)[n],
    readFile: (p) => readFile(p, 'utf8'),
    used: [],
    ...extra,
  };
}

const render = (text: string, c: RenderContext = ctx()) => parseTemplate('', text, { funcs: createFuncs(c) }).execute(null, { missingKey: 'zero' });

describe('unit: template functions file, env, timestamp', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-tplfile-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('file returns the contents and records the file as a dependency; an empty path is "" without reading', async () => {
    const p = join(dir, 'config.txt');
    writeFileSync(p, 'line1\nline2\n');
    const c = ctx();
    expect(await render(`{{ file "${p}" }}|{{ file "" }}`, c)).to.equal('line1\nline2\n|');
    expect(c.used).to.deep.equal([{ kind: 'file', path: p }]);
  });

  it('with readFileBytes, a binary file\'s bytes survive (goStringToBytes of the output)', async () => {
    const p = join(dir, 'bin.dat');
    const bytes = randomBytes(100);
    writeFileSync(p, bytes);
    const out = await render(`{{ file "${p}" }}`, ctx({ readFileBytes: (f) => readFile(f) }));
    expect(goStringToBytes(out).equals(bytes)).to.equal(true);
  });

  it('a missing file fails with consul-template\'s dependency text (a FileDependencyError: the template waits for it)', async () => {
    const p = join(dir, 'absent.txt');
    const err = await Promise.resolve(createFuncs(ctx())['file']!(p)).then(() => undefined, (e: Error) => e);
    expect(err).to.be.instanceOf(FileDependencyError);
    expect(err!.message).to.equal(`file(${p}): stat ${p}: no such file or directory`);
  });

  it('sandbox_path: file reads inside the sandbox and refuses a path (or a symlink) leading outside, as consul-template does', async () => {
    const box = join(dir, 'box');
    mkdirSync(box, { recursive: true });
    writeFileSync(join(box, 'in.txt'), 'inside');
    writeFileSync(join(dir, 'out.txt'), 'outside');
    symlinkSync(join(dir, 'out.txt'), join(box, 'link.txt'));
    const c = ctx({ sandboxPath: box });
    expect(await render(`{{ file "${join(box, 'in.txt')}" }}`, c)).to.equal('inside');
    for (const p of [join(dir, 'out.txt'), join(box, 'link.txt')]) {
      const err = await render(`{{ file "${p}" }}`, c).then(() => undefined, (e: Error) => e);
      expect(err!.message).to.equal(`template: :1:3: executing "" at <file "${p}">: error calling file: '${p}' is outside of sandbox`);
    }
  });

  it('function_denylist: a denied function fails with consul-template\'s "function is disabled"; the others work', async () => {
    const c = ctx({ functionDenylist: ['env', 'nonexistent'] });
    const err = await render('{{ env "SET" }}', c).then(() => undefined, (e: Error) => e);
    expect(err!.message).to.equal('template: :1:3: executing "" at <env "SET">: error calling env: function is disabled');
    expect(await render('{{ toUpper "still" }}', c)).to.equal('STILL');
  });

  it('env, envOrDefault (a set but empty variable is used) and mustEnv (empty is an error)', async () => {
    expect(await render('{{ env "SET" }}|{{ env "UNSET" }}|{{ envOrDefault "EMPTY" "d" }}|{{ envOrDefault "UNSET" "d" }}|{{ mustEnv "SET" }}')).to.equal('value|||d|value');
    const err = await render('{{ mustEnv "EMPTY" }}').then(() => undefined, (e: Error) => e);
    expect(err!.message).to.equal('template: :1:3: executing "" at <mustEnv "EMPTY">: error calling mustEnv: required environment variable EMPTY is empty');
  });

  it('timestamp: RFC 3339 by default, "unix", and Go layouts, as consul-template formats the same moment', async function () {
    this.timeout(120_000);
    const layouts = ['', '"unix"', '"2006-01-02T15:04:05Z07:00"', '"Mon Jan _2 15:04:05 MST 2006"', '"Monday January 2 2006 3:04PM pm"',
      '"06/1/2 03:4:5 -0700 -07:00 Z0700 Z07"', '"002 __2"', '"Month Jan2 Mond"', '"_2006 2006_01"'];
    const tpl = layouts.map((l) => `{{ timestamp ${l} }}`).join('\n');
    const at = () => render(tpl, ctx({ now: () => new Date(Math.floor(Date.now() / 1000) * 1000) }));
    const before = await at();
    const [want] = await renderWithConsulTemplate([{ template: tpl }]);
    const after = await at();
    expect([before, after]).to.include(want!.output);
  });

  it('timestamp: fractional seconds (.000 keeps zeros, ,999 drops them) and "wrong number of arguments"', async () => {
    const c = ctx({ now: () => new Date('2026-01-02T03:04:05.120Z') });
    expect(await render('{{ timestamp "05.000 05,999 .9 .00" }}', c)).to.equal('05.120 05,12 .1 .12');
    const err = await render('{{ timestamp "a" "b" }}', c).then(() => undefined, (e: Error) => e);
    expect(err!.message).to.equal('template: :1:3: executing "" at <timestamp "a" "b">: error calling timestamp: timestamp: wrong number of arguments, expected 0 or 1, but got 2');
  });

  it('base64Decode of binary data keeps its bytes: goStringToBytes of the output is what was encoded (the renderer writes it so)', async () => {
    const funcs = createFuncs(ctx());
    for (let i = 0; i < 20; i++) {
      const bytes = randomBytes(64 + i);
      const out = funcs['base64Decode']!(bytes.toString('base64')) as string;
      expect(goStringToBytes(out).equals(bytes)).to.equal(true);
      expect(funcs['base64Encode']!(out)).to.equal(bytes.toString('base64'));
    }
    expect(goStringToBytes('plain ✓ text 🙂').equals(Buffer.from('plain ✓ text 🙂', 'utf8'))).to.equal(true);
  });
});
