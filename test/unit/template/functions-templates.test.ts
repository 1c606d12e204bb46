// Whole templates combining the functions (variables, pipes, range, with) rendered by our engine
// with our functions and by consul-template (the oracle, consul mode); outputs and error texts equal.
import { expect } from 'chai';
import { createFuncs, type RenderContext } from '../../../src/template/functions/index.js';
import { goErrorfNoArgs } from '../../../src/template/functions/go.js';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';
import { renderWithConsulTemplate, type OracleResult } from '../../template-oracle/oracle.js';

interface TemplateCase { name: string; template: string; data?: unknown }

const VAULT_DATA = {
  data: { password: 'p@ss', user: 'svc', port: 5432, tags: ['a', 'b'], nested: { k: 'v', n: 1.5 } },
  metadata: { version: 3, created_time: '2026-01-01T00:00:00Z', custom_metadata: null },
};

export const TEMPLATE_CASES: TemplateCase[] = [
  { name: 'env file lines from a KV v2 map', data: VAULT_DATA, template: '{{ range $k, $v := (oracleData).data }}{{ $k | toUpper }}={{ $v }}\n{{ end }}' },
  { name: 'with and toJSONPretty of a sub-map', data: VAULT_DATA, template: '{{ with (oracleData).data.nested }}{{ toJSONPretty . }}{{ end }}' },
  { name: 'toYAML of the data, indented', data: VAULT_DATA, template: 'config:\n{{ (oracleData).data | toYAML | indent 2 }}\n' },
  { name: 'split, range with index, join', template: '{{ $l := split "," "x,y,z" }}{{ range $i, $e := $l }}{{ $i }}:{{ $e }} {{ end }}{{ join "+" $l }}' },
  { name: 'contains in if', data: VAULT_DATA, template: '{{ if (oracleData).data.user | contains "sv" }}yes{{ else }}no{{ end }}{{ if in (split "," "a,b") "c" }}!{{ end }}' },
  { name: 'base64 round trip in a pipe', template: '{{ "s3cr3t\\n" | base64Encode }} {{ "s3cr3t\\n" | base64Encode | base64Decode | trimSpace }}' },
  { name: 'parseJSON fields and maths', template: '{{ $j := parseJSON "{\\"n\\": 41, \\"f\\": 2.5, \\"big\\": 1048576}" }}{{ add $j.n 1 }} {{ multiply $j.f 2 }} {{ $j.big }} {{ divide 2 $j.big }}' },
  { name: 'parseYAML then range (map[interface{}]interface{})', template: '{{ range $k, $v := parseYAML "b: 2\\na: [1, x]\\nc: {d: e}" }}{{ $k }}={{ $v }};{{ end }}' },
  { name: 'mergeMap keeps, mergeMapWithOverride replaces, both change the first map', template:
    '{{ $a := parseJSON "{\\"a\\":1,\\"b\\":{\\"c\\":1},\\"l\\":[1],\\"z\\":\\"\\"}" }}{{ $b := parseJSON "{\\"a\\":2,\\"b\\":{\\"c\\":2,\\"d\\":2},\\"l\\":[2,3],\\"z\\":\\"set\\",\\"n\\":null,\\"new\\":true}" }}'
    + '{{ mergeMap $a $b | toJSON }} {{ $a | toJSON }} {{ mergeMapWithOverride (parseJSON "{\\"a\\":1,\\"m\\":{}}") $b | toJSON }}' },
  { name: 'explodeMap then index', template: '{{ $m := explodeMap (parseJSON "{\\"a/b/c\\": 1, \\"a/d\\": 2}") }}{{ index $m "a" "b" "c" }} {{ $m.a.d }}' },
  { name: 'regex and replace in a pipe', template: '{{ "db-01.prod.example.com" | regexReplaceAll "^([a-z]+)-(\\\\d+)\\\\..*$" "$1#$2" | replaceAll "#" "_" | toUpper }}' },
  { name: 'sha256/md5 of rendered text', template: '{{ printf "%s:%d" "user" 42 | sha256Hex }} {{ "x" | md5sum }}' },
  { name: 'loop in range with maths', template: '{{ range $i := loop 3 }}{{ multiply $i 10 }},{{ end }}{{ range loop 2 4 }}[{{ . }}]{{ end }}' },
  { name: 'splitToMap ranged', template: '{{ range $k, $v := splitToMap "&" "=" "b=2&a=1" }}{{ $k }}->{{ $v }} {{ end }}' },
  { name: 'toTitle/trim family', template: '{{ "  hello world  " | trimSpace | toTitle }}|{{ trimPrefix "v" "v1.2" }}|{{ trimSuffix ".pem" "cert.pem" }}|{{ trim "-" "--x--" }}' },
  { name: 'parse functions in conditions', template: '{{ if parseBool "true" }}{{ parseInt "-3" | add 5 }}{{ end }} {{ parseFloat "2.50" }} {{ parseUint "7" }}' },
  { name: 'toJSON of a list from split and a map from splitToMap', template: '{{ split "," "a,b" | toJSON }}{{ splitToMap "," ":" "k:v" | toJSON }}{{ toUnescapedJSON (split "," "<a>,&") }}' },
  { name: 'containsAny/All with a list from data', data: { list: ['x', 'y'] }, template: '{{ containsAny (oracleData).list (split "," "y,z") }} {{ containsAll (oracleData).list (split "," "x,y,z") }} {{ containsNone (oracleData).list (split "," "z") }} {{ containsNotAll (oracleData).list (split "," "x") }}' },
  { name: 'scratch: Set/Get/Key/SetX', template: '{{ scratch.Set "a" 1 }}{{ scratch.Get "a" }} {{ scratch.Key "a" }} {{ scratch.Key "b" }} {{ scratch.SetX "a" 2 }}{{ scratch.SetX "c" 3 }}{{ scratch.Get "a" }}{{ scratch.Get "c" }} [{{ scratch.Get "nope" }}]' },
  { name: 'scratch: MapSet/MapSetX/MapValues across a range', template: '{{ range $i := loop 3 }}{{ scratch.MapSet "sq" (print "k" $i) (multiply $i $i) }}{{ end }}{{ scratch.MapSetX "sq" "k1" 99 }}{{ scratch.MapValues "sq" | toJSON }} {{ scratch.Get "sq" }} {{ scratch.MapValues "none" }}' },
  { name: 'error: scratch.MapSet on a key holding a string', template: '{{ scratch.Set "s" "x" }}{{ scratch.MapSet "s" "k" 1 }}' },
  { name: 'error: scratch.Set with a missing argument', template: '{{ scratch.Set "s" }}' },
  { name: 'Go types of results (%T) and indexing them', template: '{{ printf "%T %T %T %T %T %T" (split "," "a") (splitToMap "," "=" "a=b") (parseYAML "a: 1") (parseJSON "[1]") (parseFloat "2") (secrets "") }} {{ index (split "," "a,b") 1 }} {{ index (splitToMap "," "=" "a=b") "a" }} {{ printf "%#v" (split "," "x,y") }}' },
  { name: 'printf of float64 results and json.Number data', data: { n: 1048576, f: 1.5 }, template: '{{ printf "%v %v %v %.2f" (parseFloat "1048576") (parseJSON "1e6") (oracleData).n (parseFloat "2") }} {{ (oracleData).f }} {{ add (parseFloat "1") 1 }}' },
  { name: 'error: parseInt inside a range stops the render', template: 'a{{ range split "," "1,x" }}{{ parseInt . }}{{ end }}' },
  { name: 'error: toJSON of a parseYAML map', template: '{{ parseYAML "a: 1" | toJSON }}' },
  { name: 'error: base64Decode in a with', template: '{{ with base64Decode "!!" }}{{ . }}{{ end }}' },
  { name: 'error: indent with a negative count', template: '{{ indent -2 "x" }}' },
  { name: 'error: regexMatch with a bad pattern names it', template: '{{ regexMatch "[z-a]" "x" }}' },
  { name: 'error: add of a json.Number from Vault data', data: { n: 5 }, template: '{{ add 1 (oracleData).n }}' },
];

function ctx(): RenderContext {
  return {
    vault: { request: async () => { throw new Error('no Vault here'); } },
    env: () => undefined,
    readFile: async () => { throw new Error('no files'); },
    used: [],
  };
}

describe('unit: templates combining the functions, our engine against consul-template (oracle, consul mode)', function () {
  this.timeout(300_000);
  let expected: OracleResult[] = [];
  before(async () => {
    expected = await renderWithConsulTemplate(TEMPLATE_CASES.map((c) => ({ template: c.template, ...(c.data === undefined ? {} : { data: c.data }) })));
  });

  TEMPLATE_CASES.forEach((c, i) => {
    it(c.name, async () => {
      const data = c.data === undefined ? undefined : parseVaultJson(JSON.stringify(c.data));
      const funcs = { ...createFuncs(ctx()), oracleData: () => data };
      let got: { output: string } | { error: string };
      try {
        got = { output: await parseTemplate('', c.template, { funcs }).execute(null, { missingKey: 'zero' }) };
      } catch (e) {
        got = { error: `execute: ${goErrorfNoArgs((e as Error).message)}` };
      }
      const want = expected[i]!;
      expect(got).to.deep.equal(want.error !== undefined ? { error: want.error } : { output: want.output });
    });
  });
});
