// text/template checks a function's slice and map arguments before the call, by reflect's
// assignability (a []interface {} from Vault's JSON is not a []string), and names the ARGUMENT in
// the error. Our engine does the same from the functions' Go signatures; consul-template (the
// template oracle) renders the same templates, and the whole result must be the same, error text
// (line:col and node) included: fields, variables, piped final arguments, nil and missing values.
import { expect } from 'chai';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { createFuncs } from '../../../src/template/functions/index.js';
import { goErrorfNoArgs } from '../../../src/template/functions/go.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';
import { renderWithConsulTemplate, type OracleResult } from '../../template-oracle/oracle.js';

const DATA = { tags: ['a', 'b'], m: { k: 'v' }, n: null };

const TEMPLATES = [
  '{{ join ";" (oracleData).tags }}',
  '{{ (oracleData).tags | join ";" }}',
  '{{ $t := (oracleData).tags }}{{ join ";" $t }}',
  '{{ with (oracleData) }}{{ join ";" .n }}{{ end }}',
  '{{ with (oracleData) }}{{ join ";" .missing }}{{ end }}',
  '{{ with (oracleData) }}{{ range $k, $v := .m }}{{ join ";" $v }}{{ end }}{{ end }}',
  '{{ with (oracleData) }}{{ mergeMap .m .m }}{{ end }}',
  '{{ with (oracleData) }}{{ .m | explodeMap }}{{ end }}',
  '{{ with (oracleData) }}{{ explodeMap .tags }}{{ end }}',
  '{{ join ";" (split "," "a,b") }}',
  '{{ (oracleData).tags | containsAll (split "," "a") }}',
  '{{ containsAll (oracleData).tags (split "," "a,b,c") }}',
];

describe('unit: template functions, slice and map arguments checked before the call (against consul-template)', function () {
  this.timeout(600_000);
  let want: OracleResult[] = [];
  before(async () => {
    want = await renderWithConsulTemplate(TEMPLATES.map((template) => ({ template, data: DATA })));
  });

  TEMPLATES.forEach((template, i) => {
    it(template, async () => {
      const data = parseVaultJson(JSON.stringify(DATA));
      const funcs = {
        ...createFuncs({ vault: { request: async () => ({ status: 404, text: '' }) }, env: () => undefined, readFile: async () => '', used: [] }),
        oracleData: () => data,
      };
      let got: OracleResult;
      try {
        got = { output: await parseTemplate('', template, { funcs }).execute(null, { missingKey: 'zero' }) };
      } catch (e) {
        got = { error: `execute: ${goErrorfNoArgs((e as Error).message)}` };
      }
      expect(got).to.deep.equal(want[i]);
    });
  });

  it('the oracle refuses []interface {} for []string at the argument, as Vault Agent does', () => {
    expect(want[0]).to.deep.equal({ error: 'execute: template: :1:13: executing "" at <oracleData>: wrong type for value; expected []string; got []interface {}' });
  });
});
