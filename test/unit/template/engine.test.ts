// The template engine (src/template/engine) against Go's own text/template: every case of the
// table in test/template-oracle/engine-cases.ts is rendered by both in the same run (Go through the
// template-oracle tool, data decoded with UseNumber as Vault's client decodes it) and must give the
// same output, or the same error text.
import { expect } from 'chai';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { TemplateError } from '../../../src/template/types.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';
import { ENGINE_CASES } from '../../template-oracle/engine-cases.js';
import { renderWithGo, type OracleResult } from '../../template-oracle/oracle.js';

type Outcome = { output: string } | { error: string };

async function renderWithEngine(c: (typeof ENGINE_CASES)[number]): Promise<Outcome> {
  try {
    const t = parseTemplate(c.name ?? 't', c.template, { funcs: {}, leftDelim: c.leftDelim, rightDelim: c.rightDelim });
    const data = c.data === undefined ? undefined : parseVaultJson(c.data);
    return { output: await t.execute(data, { missingKey: c.missingKey }) };
  } catch (err) {
    if (err instanceof TemplateError) return { error: err.message };
    throw err;
  }
}

describe('template engine: Go text/template as the oracle', function () {
  this.timeout(120_000);
  let golden: OracleResult[] = [];

  before(async () => {
    golden = await renderWithGo(ENGINE_CASES.map((c) => ({
      name: c.name ?? 't',
      template: c.template,
      dataJson: c.data,
      leftDelim: c.leftDelim ?? '',
      rightDelim: c.rightDelim ?? '',
      missingKey: c.missingKey,
    })));
  });

  it(`the table holds at least 150 cases (${ENGINE_CASES.length})`, () => {
    expect(ENGINE_CASES.length).to.be.at.least(150);
  });

  ENGINE_CASES.forEach((c, i) => {
    it(`${c.title}`, async () => {
      const want = golden[i]!;
      const got = await renderWithEngine(c);
      const expected: Outcome = want.error !== undefined ? { error: want.error } : { output: want.output! };
      expect(got, `template: ${JSON.stringify(c.template)}`).to.deep.equal(expected);
    });
  });
});
