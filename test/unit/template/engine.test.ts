// The template engine (src/template/engine) against Go's own text/template: every case of the
// table in test/template-oracle/engine-cases.ts is rendered by both in the same run (Go through the
// template-oracle tool, data decoded with UseNumber as Vault's client decodes it) and must give the
// same output, or the same error text.
import { expect } from 'chai';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { TemplateError } from '../../../src/template/types.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';
import { ENGINE_CASES } from '../../template-oracle/engine-cases.js';
import { renderWithConsulTemplate, renderWithGo, type OracleResult } from '../../template-oracle/oracle.js';

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

  before(async function () {
    this.timeout(600_000); // the first run builds the Go oracle (a cold build takes minutes on a busy machine)
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

// consul-template (Vault Agent's templating) runs text/template its own way: the template is named
// "", dot is nil, missingkey is "zero" (or "error" with error_on_missing_key), and errors are
// wrapped as "parse: …" / "execute: …". The engine under those settings against consul-template's
// own Template.Execute (the version Vault 1.15.6 is built with).
const CONSUL_CASES: { template: string; errorOnMissingKey?: boolean }[] = [
  { template: 'plain {{ "text" }} {{ 1 }} {{ 2.5 }} {{ true }}' },
  { template: '[{{ . }}] [{{ .foo }}] [{{ .foo.bar }}]' },
  { template: '{{ .foo }}', errorOnMissingKey: true },
  { template: '{{ $x := "v" }}{{ with $x }}{{ . }}{{ end }}{{ range $i, $c := (print "ab" | len | print) }}{{ end }}' },
  { template: '{{ define "d" }}<{{ . }}>{{ end }}{{ template "d" "x" }}{{ block "b" 1 }}[{{ . }}]{{ end }}' },
  { template: '{{ printf "%05.1f|%-4s|%x|%q" 3.14159 "ab" 255 "q" }}' },
  { template: '{{ if and (eq 1 1) (ne "a" "b") (lt 1 2) }}yes{{ end }}' },
  { template: 'line\n{{ .a.b }}', errorOnMissingKey: true },
  { template: '{{ nope }}' },
  { template: '{{ if }}' },
  { template: '{{ index nil 1 }}' },
  { template: '{{ range . }}x{{ else }}empty{{ end }}' },
];

describe('template engine: under consul-template\'s settings (consul-template as the oracle)', function () {
  this.timeout(120_000);
  let golden: OracleResult[] = [];

  before(async function () {
    this.timeout(600_000); // the first run builds the Go oracle (a cold build takes minutes on a busy machine)
    golden = await renderWithConsulTemplate(CONSUL_CASES.map((c) => ({ template: c.template, missingKey: c.errorOnMissingKey ? 'error' : 'zero' })));
  });

  CONSUL_CASES.forEach((c, i) => {
    it(JSON.stringify(c.template) + (c.errorOnMissingKey ? ' (error_on_missing_key)' : ''), async () => {
      const want = golden[i]!;
      let got: Outcome;
      try {
        const t = parseTemplate('', c.template, { funcs: {} });
        got = { output: await t.execute(null, { missingKey: c.errorOnMissingKey ? 'error' : 'zero' }) };
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        got = { error: `${err.kind === 'parse' ? 'parse' : 'execute'}: ${err.message}` };
      }
      const expected: Outcome = want.error !== undefined ? { error: want.error } : { output: want.output! };
      expect(got).to.deep.equal(expected);
    });
  });
});
