import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { forEachBackend, startBackend, type Backend, isReal, isSim } from '../../support/backend.js';
import { CASES, type GoldenCase } from './cases.js';
import { caBlocks, configText, errorClass, normaliseLease, normalisePem, pemFacts, removeRun, runSide, seed, show, tail, TEMPLATES, type ErrorClass, type Rendered, type RunResult } from './harness.js';
import { agentOracle, closeOracle, FAIL_CASES, RENDER_CASES, RUN_OPTS, type Oracle } from './oracle.js';

// Vault Agent as the oracle (issue 20, item 5). Every template of test/fixtures/templates is rendered
// by real Vault Agent 1.15.6 against a real Vault seeded with setup.json, and by vault-extproc
// (`serve` with the same vault, auto_auth and template blocks, exit_after_auth = true):
// - against that same real Vault: the golden comparison;
// - against the simulator seeded with the same data: the simulator's conformance (a difference
//   there, where the real-Vault comparison matches, is a simulator bug).
// A template that must render: the same bytes and file mode in both. The only values normalised
// are those Vault issues fresh each time, named per case in cases.ts: PEM bodies and serial numbers
// (pkiCert, pki/issue; what the certificates say is compared instead, and the CA byte for byte),
// a lease id's random part and a 1 h lease's lease_duration (Vault answers 3600 or 3599).
// A template that must fail: both exit non-zero, write no file, and print the same Go template
// error (line, column, node, message with consul-template's [redacted]; the template's name aside).
// Intended differences are listed in INTENDED with the reason, and what we do instead is asserted.

/**
 * Intended differences from Vault Agent: case name → the reason, and what vault-extproc does
 * instead (still asserted: the bytes it renders, or the error it prints). Every other case must match.
 */
type Intended = { reason: string } & ({ ours: string } | { oursError: ErrorClass });
const INTENDED: Record<string, Intended> = {
  'error-text-kv2-value': {
    reason: 'vault-extproc also redacts KV v2 values (.Data.data.*) in error texts: consul-template redacts only the %v of each top-level .Data value, which for KV v2 are the data and metadata maps as wholes, so Vault Agent logs a KV v2 value an error quotes',
    oursError: { line: 1, col: 41, at: '.Data.data.endpoint', message: 'range can\'t iterate over [redacted]' },
  },
};

/** Templates the simulator cannot serve, with the reason (each asserted by its own test). */
const SIM_CANNOT: Record<string, string> = Object.fromEntries(CASES.filter((c) => c.pki).map((c) => [c.name, 'the simulator has no pki secrets engine']));

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const around = (x: Buffer): string => JSON.stringify(x.subarray(Math.max(0, i - 20), i + 40).toString('utf8'));
  return `first difference at byte ${i}: Vault Agent ${around(a)}, vault-extproc ${around(b)}`;
}

describe('e2e: template golden suite, Vault Agent 1.15.6 as the oracle', function () {
  this.timeout(600_000);
  after(closeOracle);

  it('the corpus: at least 25 templates, every .ctmpl of the fixtures used, names unique, intended differences name real cases', () => {
    expect(CASES.length).to.be.at.least(25);
    const files = readdirSync(TEMPLATES).filter((f) => f.endsWith('.ctmpl')).sort();
    expect([...new Set(CASES.map((c) => c.file))].sort(), 'every .ctmpl is used, every case has its .ctmpl').to.deep.equal(files);
    expect(new Set(CASES.map((c) => c.name)).size).to.equal(CASES.length);
    for (const [name, why] of Object.entries(INTENDED)) {
      const c = CASES.find((x) => x.name === name);
      expect(c, name).to.not.equal(undefined);
      expect('oursError' in why ? 'fail' : 'render', `${name}: the intended difference is of its kind`).to.equal(c!.expect);
    }
    expect(FAIL_CASES.length).to.be.at.least(2);
    for (const c of FAIL_CASES) expect(c.error, c.name).to.not.equal(undefined);
  });

  it('both sides get the same config text but vault-extproc\'s extproc block (the template blocks identical, destinations relative to each run\'s directory)', () => {
    const agent = configText('agent', 'http://127.0.0.1:8200', CASES, true);
    const ours = configText('ours', 'http://127.0.0.1:8200', CASES, true);
    expect(agent.match(/^template \{/gm)?.length).to.equal(CASES.length);
    expect(ours.replace(/^extproc \{\n[^}]*\n\}\n/m, '')).to.equal(agent);
  });

  forEachBackend('vault-extproc renders what Vault Agent renders', function (kind) {
    let oracle: Oracle;
    let vault: Backend;
    let ours: RunResult;
    const oursFails = new Map<string, RunResult>();
    const alone = new Map<string, Promise<RunResult>>();
    const applicable = RENDER_CASES.filter((c) => isReal(kind) || !(c.name in SIM_CANNOT));

    before(async () => {
      oracle = await agentOracle();
      if (isReal(kind)) vault = oracle.vault;
      else {
        vault = await startBackend('sim');
        await seed(vault, { pki: false });
      }
      ours = await runSide('ours', vault, vault.serviceUrl, applicable, RUN_OPTS);
      for (const c of FAIL_CASES) oursFails.set(c.name, await runSide('ours', vault, vault.serviceUrl, [c], RUN_OPTS));
    });
    after(async () => {
      removeRun(ours);
      for (const r of oursFails.values()) removeRun(r);
      for (const p of alone.values()) removeRun(await p.catch(() => undefined));
      if (isSim(kind)) await vault?.close();
    });

    /** A case rendered by vault-extproc alone (when the all-in-one run did not render it): for the failure message. */
    function oursAlone(c: GoldenCase): Promise<RunResult> {
      let p = alone.get(c.name);
      if (!p) {
        p = runSide('ours', vault, vault.serviceUrl, [c], RUN_OPTS);
        alone.set(c.name, p);
      }
      return p;
    }

    it('Vault Agent (the oracle) rendered every template that must render, in one run, and exited 0', () => {
      expect(oracle.batch.code, tail(oracle.batch.output)).to.equal(0);
      for (const c of RENDER_CASES) expect(oracle.batch.files.get(c.name), c.name).to.not.equal(undefined);
    });

    it(`vault-extproc rendered all ${applicable.length} templates in one run (exit_after_auth) and exited 0`, () => {
      const missing = applicable.filter((c) => ours.files.get(c.name) === undefined).map((c) => c.name);
      expect({ code: ours.code, timedOut: ours.timedOut, missing }, tail(ours.output)).to.deep.equal({ code: 0, timedOut: false, missing: [] });
    });

    for (const c of RENDER_CASES) {
      if (isSim(kind) && c.name in SIM_CANNOT) {
        it(`${c.name}: not rendered against the simulator (${SIM_CANNOT[c.name]})`, async () => {
          // The reason holds: the simulator refuses to mount pki. When it learns to, this fails and the case joins the run.
          const res = await fetch(`${vault.url}/v1/sys/mounts/pki-probe`, {
            method: 'POST', headers: { 'x-vault-token': vault.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'pki' }),
          });
          expect(res.status).to.equal(400);
          expect(await res.text()).to.include('plugin not found in the catalog: pki');
        });
        continue;
      }
      const how = c.normalise === 'pem' ? 'the same text with fresh PEM bodies and serials normalised, the same certificate facts'
        : c.normalise === 'lease' ? 'byte for byte but the lease id\'s fresh random part and the lease duration\'s rounding second' : 'byte for byte';
      it(`${c.name}: ${INTENDED[c.name] ? 'an intended difference from Vault Agent (see INTENDED)' : `the same file as Vault Agent (${how})`}`, async () => {
        const theirs = oracle.batch.files.get(c.name);
        expect(theirs, `Vault Agent rendered no ${c.name}:\n${tail(oracle.batch.output)}`).to.not.equal(undefined);
        let mine: Rendered | undefined = ours.files.get(c.name);
        if (mine === undefined) {
          const single = await oursAlone(c);
          const cls = errorClass(single.output);
          expect.fail(`vault-extproc rendered no ${c.name} (all-in-one run exit ${ours.code}; alone: exit ${single.code}${single.timedOut ? ', timed out' : ''}${cls ? `, error line ${cls.line} col ${cls.col}: ${cls.message}` : ''}, file ${show(single.files.get(c.name)?.bytes)})\nexpected ${show(theirs!.bytes)}\n${tail(single.output)}`);
        }
        const intended = INTENDED[c.name];
        if (intended && 'ours' in intended) {
          expect(mine!.bytes.toString('utf8'), intended.reason).to.equal(intended.ours);
          return;
        }
        if (c.normalise === 'pem') {
          const [a, b] = [theirs!.bytes.toString('utf8'), mine!.bytes.toString('utf8')];
          expect(normalisePem(b), 'the text around the PEM blocks').to.equal(normalisePem(a));
          expect(pemFacts(b), 'what the certificates and keys say').to.deep.equal(pemFacts(a));
          expect(pemFacts(a).length, 'PEM blocks rendered').to.be.at.least(2);
          if (isReal(kind)) expect(caBlocks(b), 'the CA (the same Vault: the same bytes)').to.deep.equal(caBlocks(a));
        } else if (c.normalise === 'lease') {
          const [a, b] = [theirs!.bytes.toString('utf8'), mine!.bytes.toString('utf8')];
          expect(a, 'Vault Agent printed a lease id and duration').to.match(/lease_id=pki\/issue\/leased\/[A-Za-z0-9]{24}\nlease_duration=(?:3600|3599)\n/);
          expect(normaliseLease(b)).to.equal(normaliseLease(a));
        } else if (!mine!.bytes.equals(theirs!.bytes)) {
          expect.fail(`${c.name}: ${firstDifference(theirs!.bytes, mine!.bytes)}\nexpected ${show(theirs!.bytes)}\ngot      ${show(mine!.bytes)}`);
        }
        expect(mine!.mode.toString(8), 'file mode').to.equal(theirs!.mode.toString(8));
      });
    }

    for (const c of FAIL_CASES) {
      const title = INTENDED[c.name] ? 'non-zero exit, no file; the error text differs as intended (see INTENDED)' : 'non-zero exit, no file, the same template error';
      it(`${c.name}: fails as Vault Agent fails (${title})`, () => {
        const theirs = oracle.fails.get(c.name)!;
        const mine = oursFails.get(c.name)!;
        const agentClass = errorClass(theirs.output);
        expect(theirs.code, `Vault Agent exit:\n${tail(theirs.output)}`).to.not.equal(0);
        expect(theirs.timedOut).to.equal(false);
        expect(agentClass, `Vault Agent's template error:\n${tail(theirs.output)}`).to.deep.equal({ col: undefined, at: undefined, ...c.error });
        expect(theirs.files.get(c.name)).to.equal(undefined);
        expect({ exitedNonZero: mine.code !== 0 && mine.code !== null, timedOut: mine.timedOut, file: show(mine.files.get(c.name)?.bytes) }, tail(mine.output))
          .to.deep.equal({ exitedNonZero: true, timedOut: false, file: '(no file)' });
        const intended = INTENDED[c.name];
        const wanted = intended && 'oursError' in intended ? intended.oursError : agentClass;
        expect(errorClass(mine.output), `vault-extproc's error (Vault Agent's: ${JSON.stringify(agentClass)})${intended ? ` — intended: ${intended.reason}` : ''}:\n${tail(mine.output)}`).to.deep.equal(wanted);
      });
    }
  });
});
