// consul-template's pure functions compared with consul-template itself: every case in
// functions-oracle-cases.ts is rendered by the template oracle (consul-template's NewTemplate/Execute,
// the version Vault 1.15.6's Agent runs) and computed by calling our function; the printed value
// must be the same, or, when consul-template fails, our error text must be the one in its message.
import { expect } from 'chai';
import { goErrorfNoArgs } from '../../../src/template/functions/go.js';
import { renderWithConsulTemplate, type OracleResult } from '../../template-oracle/oracle.js';
import { CASES, KNOWN_DIFFERENCES } from './functions-oracle-cases.js';
import { contextFor, evaluate, templateOf } from './functions-harness.js';
import { createFuncs } from '../../../src/template/functions/index.js';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';

describe('unit: template functions against consul-template (oracle, consul mode)', function () {
  this.timeout(300_000);
  let expected: OracleResult[] = [];
  before(async () => {
    expected = await renderWithConsulTemplate(CASES.map((fc) => ({
      template: templateOf(fc),
      ...(fc.data === undefined ? {} : { data: fc.data }),
      ...(fc.env ? { env: fc.env } : {}),
    })));
  });

  it(`has at least 80 cases, each function of the brief at least once (${CASES.length} cases)`, () => {
    expect(CASES.length).to.be.at.least(80);
    const named = new Set(CASES.flatMap((c) => [c.f]));
    for (const f of ['base64Decode', 'base64Encode', 'base64URLDecode', 'base64URLEncode', 'toJSON', 'toJSONPretty', 'toUnescapedJSON',
      'toUnescapedJSONPretty', 'parseJSON', 'toYAML', 'contains', 'containsAll', 'containsAny', 'containsNone', 'containsNotAll', 'in',
      'split', 'join', 'trimSpace', 'trim', 'trimPrefix', 'trimSuffix', 'toLower', 'toUpper', 'toTitle', 'replaceAll', 'regexReplaceAll',
      'regexMatch', 'indent', 'parseBool', 'parseInt', 'parseFloat', 'parseUint', 'sha256Hex', 'md5sum', 'add', 'subtract', 'multiply',
      'divide', 'modulo', 'minimum', 'maximum', 'timestamp', 'loop', 'explode', 'splitToMap', 'env', 'envOrDefault', 'mustEnv']) {
      expect(named.has(f), f).to.equal(true);
    }
  });

  CASES.forEach((fc, i) => {
    it(`#${i} ${templateOf(fc).slice(0, 110)}`, async () => {
      const want = expected[i]!;
      const got = await evaluate(fc);
      if (want.error !== undefined) {
        expect(got, `consul-template failed with: ${want.error}`).to.have.property('error');
        // text/template refused the arguments before the call (the engine block below holds that text).
        if (fc.argCheck) return;
        // consul-template passes the message through fmt.Errorf without arguments (its redactinator).
        const msg = goErrorfNoArgs((got as { error: string }).error);
        expect(want.error, 'our error text is in consul-template\'s message').to.include(msg);
      } else {
        expect(got, `consul-template rendered: ${JSON.stringify(want.output)}`).to.deep.equal({ output: want.output });
      }
    });
  });
});

describe('unit: template functions rendered by our engine against consul-template (oracle, consul mode)', function () {
  this.timeout(300_000);
  let expected: OracleResult[] = [];
  before(async () => {
    expected = await renderWithConsulTemplate(CASES.map((fc) => ({
      template: templateOf(fc),
      ...(fc.data === undefined ? {} : { data: fc.data }),
      ...(fc.env ? { env: fc.env } : {}),
    })));
  });

  CASES.forEach((fc, i) => {
    it(`#${i} ${templateOf(fc).slice(0, 110)}`, async () => {
      const want = expected[i]!;
      const data = fc.data === undefined ? undefined : parseVaultJson(JSON.stringify(fc.data));
      const funcs = { ...createFuncs(contextFor(fc)), oracleData: () => data };
      let got: { output: string } | { error: string };
      try {
        // consul-template parses with the name "" and executes with nil data, missingkey=zero.
        got = { output: await parseTemplate('', templateOf(fc), { funcs }).execute(null, { missingKey: 'zero' }) };
      } catch (e) {
        // Its Execute wraps the error as "execute: …" after fmt.Errorf of the message (its redactinator).
        got = { error: `execute: ${goErrorfNoArgs((e as Error).message)}` };
      }
      const wanted = want.error !== undefined ? { error: want.error } : { output: want.output };
      expect(got).to.deep.equal(wanted);
    });
  });
});

describe('unit: template functions, known differences from consul-template (asserted as they are)', function () {
  this.timeout(300_000);
  it(`${KNOWN_DIFFERENCES.length} cases: consul-template's output and ours (through the engine)`, async () => {
    const want = await renderWithConsulTemplate(KNOWN_DIFFERENCES.map((fc) => ({ template: templateOf(fc) })));
    for (const [i, fc] of KNOWN_DIFFERENCES.entries()) {
      // Rendered through our engine, as a template runs them.
      const funcs = createFuncs(contextFor(fc));
      const got = { output: await parseTemplate('', templateOf(fc), { funcs }).execute(null, { missingKey: 'zero' }) };
      expect(got, fc.why).to.deep.equal({ output: fc.ours });
      expect(want[i], fc.why).to.not.deep.equal({ output: fc.ours });
    }
  });
});
