// A diagnostic (not a test): renders the golden corpus in this process with the engine and the
// functions alone (no renderer, no worker) and compares each result with real Vault Agent's file,
// to tell an engine/functions mismatch from a renderer one; with --sim, our side reads the
// simulator (seeded alike) instead of the real Vault. Run:
//   npx tsx test/e2e/template-golden/direct.ts [--sim] [case names…]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../../support/backend.js';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { createFuncs, type RenderContext } from '../../../src/template/functions/index.js';
import { CASES } from './cases.js';
import { errorClass, goldenEnv, goldenToken, normaliseLease, normalisePem, removeRun, runSide, seed, TEMPLATES } from './harness.js';
import { RUN_OPTS } from './oracle.js';

const args = process.argv.slice(2);
const sim = args.includes('--sim');
const only = args.filter((a) => a !== '--sim');
const cases = CASES.filter((c) => (only.length === 0 || only.includes(c.name)) && !(sim && c.pki));
const vault = await startBackend('real');
const ourVault = sim ? await startBackend('sim') : vault;
let same = 0;
try {
  await seed(vault, { pki: true });
  if (sim) await seed(ourVault, { pki: false });
  const dir = mkdtempSync(join(tmpdir(), 'vxp-golden-direct-'));
  await goldenToken(ourVault, join(dir, 'token'));
  const token = readFileSync(join(dir, 'token'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const env = goldenEnv();
  for (const c of cases) {
    const agent = await runSide('agent', vault, vault.url, [c], RUN_OPTS);
    const expected = agent.files.get(c.name)?.bytes.toString('utf8');
    const ctx: RenderContext = {
      vault: {
        async request(method, path, body) {
          const res = await fetch(`${ourVault.url}/v1/${path}`, {
            method, headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          return { status: res.status, text: await res.text() };
        },
      },
      env: (name) => env[name],
      readFile: async (p) => readFileSync(p, 'utf8'),
      used: [],
    };
    let got: string | undefined;
    let error: string | undefined;
    try {
      const t = parseTemplate('', readFileSync(join(TEMPLATES, c.file), 'utf8'), { leftDelim: c.leftDelimiter, rightDelim: c.rightDelimiter, funcs: createFuncs(ctx) });
      got = await t.execute(null, { missingKey: c.errorOnMissingKey ? 'error' : 'zero' });
    } catch (err) {
      error = (err as Error).message;
    }
    const norm = (s: string | undefined): string | undefined => (s === undefined ? s : c.normalise === 'pem' ? normalisePem(s) : c.normalise === 'lease' ? normaliseLease(s) : s);
    let verdict: string;
    if (c.expect === 'fail') {
      const a = errorClass(agent.output);
      const o = error === undefined ? undefined : errorClass(error);
      verdict = JSON.stringify(a) === JSON.stringify(o) ? 'SAME ERROR' : `ERROR DIFFERS\n  agent: ${JSON.stringify(a)}\n  ours:  ${error ?? `(rendered ${JSON.stringify(got)})`}`;
    } else {
      verdict = norm(expected) === norm(got) ? 'SAME' : `DIFFERS\n  agent: ${JSON.stringify(norm(expected))}\n  ours:  ${error !== undefined ? `error ${error}` : JSON.stringify(norm(got))}`;
    }
    if (verdict.startsWith('SAME')) same++;
    console.log(`${c.name}: ${verdict}`);
    removeRun(agent);
  }
  console.log(`${same}/${cases.length} the same`);
} finally {
  await vault.close();
  if (sim) await ourVault.close();
}
