// The template engine with a caller's functions (async, as consul-template's functions are here),
// GoStructs and JsonNumbers. Where Go can say what is right, it does: the template-oracle tool
// registers Go twins of the functions below (oracleEcho, oracleFail, oracleNil, oracleSecret,
// returning consul-template's own *dependency.Secret) and both render the same cases.
import { expect } from 'chai';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { GoStruct, JsonNumber, TemplateError, type FuncMap } from '../../../src/template/types.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';
import { renderWithGo, type OracleResult } from '../../template-oracle/oracle.js';

/** consul-template's dependency.Secret as a GoStruct, with its fields' Go types. */
class TestSecret extends GoStruct {
  static readonly goFields = {
    RequestID: 'string', LeaseID: 'string', LeaseDuration: 'int', Renewable: 'bool',
    Data: 'map[string]interface {}', Warnings: '[]string', Auth: '*dependency.SecretAuth', WrapInfo: '*dependency.SecretWrapInfo',
  };

  readonly goTypeName = '*dependency.Secret';
  RequestID = 'req-1';
  LeaseID = '';
  LeaseDuration = 2764800;
  Renewable = false;
  Data: Record<string, unknown> | null = null;
  Warnings: string[] | null = null;
  Auth: unknown = null;
  WrapInfo: unknown = null;
  /** Not a Go field (lower case): invisible to templates. */
  internal = 'hidden';
}

/** consul-template's dependency.PemEncoded: a struct value whose Data() method returns itself. */
class TestPem extends GoStruct {
  static readonly goMethodFields: readonly string[] = ['Data'];
  readonly goTypeName = 'dependency.PemEncoded';
  Cert = 'cert';
  Key = 'key';
  CA = 'ca';
  constructor() {
    super();
    const view = Object.assign(Object.create(TestPem.prototype) as TestPem, { goTypeName: 'dependency.PemEncoded', Cert: this.Cert, Key: this.Key, CA: this.CA });
    Object.defineProperty(this, 'Data', { value: view, enumerable: true });
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** A slice or map with a declared Go type (the engine reads Symbol.for('vault-extproc.goType')). */
function goTyped<T extends object>(v: T, goType: string): T {
  Object.defineProperty(v, Symbol.for('vault-extproc.goType'), { value: goType, enumerable: false });
  return v;
}

const goText = (a: unknown): string => (a instanceof JsonNumber ? a.text : String(a));

/** The TypeScript twins of the oracle's Go functions, all async. */
const FUNCS: FuncMap = {
  oracleEcho: async (...args: unknown[]) => { await tick(); return args; },
  oracleFail: async (...args: unknown[]) => {
    await tick();
    throw new Error(args.map((a) => (a instanceof JsonNumber ? a.text : String(a))).join(''));
  },
  oracleNil: async () => { await tick(); return null; },
  oracleStrings: (...args: unknown[]) => goTyped(args.map(goText), '[]string'),
  oracleStringMap: (...args: unknown[]) => {
    const m: Record<string, string> = {};
    for (let i = 0; i + 1 < args.length; i += 2) m[goText(args[i])] = goText(args[i + 1]);
    return goTyped(m, 'map[string]string');
  },
  oraclePem: () => new TestPem(),
  oracleRepeat: Object.assign(async (s: unknown, n: unknown) => { await tick(); return String(s).repeat(Number(n)); }, { goSignature: { params: ['string', 'int'], variadic: null } }),
  oracleFlag: Object.assign((b: unknown, ...rest: unknown[]) => `${String(b)} ${rest.length}`, { goSignature: { params: ['bool'], variadic: 'interface {}' } }),
  oracleSecret: async (data?: unknown) => {
    await tick();
    const s = new TestSecret();
    if (data !== null && typeof data === 'object' && !Array.isArray(data) && !(data instanceof GoStruct)) s.Data = data as Record<string, unknown>;
    return s;
  },
};

const DATA = '{"d":{"password":"p4ss","port":5432,"nested":{"k":"v"},"none":null},"num":7,"str":"s","list":[1,"b"]}';

interface FuncCase { title: string; template: string; missingKey?: 'default' | 'zero' | 'error' }

const CASES: FuncCase[] = [
  { title: 'an async function result is printed', template: '{{oracleEcho 1 "a" .num}}' },
  { title: 'nil and missing arguments arrive as nil', template: '{{oracleEcho nil .nope .d.nope}}' },
  { title: 'a piped value is the last argument', template: '{{.str | oracleEcho "x"}}' },
  { title: 'results feed other functions', template: '{{len (oracleEcho 1 2 3)}} {{index (oracleEcho "a" "b") 1}}' },
  { title: 'a function error names the function and the call', template: 'ok\n {{oracleFail "boom: " .num}}' },
  { title: 'a function error inside a pipeline', template: '{{.str | oracleFail "bad "}}' },
  { title: 'a function error in an argument position', template: '{{print (oracleFail "inner")}}' },
  { title: 'a nil result prints <no value>', template: '[{{oracleNil}}] [{{print (oracleNil)}}]' },
  { title: 'a field of a nil result', template: '{{(oracleNil).x}}' },
  { title: 'if and with on function results', template: '{{if oracleNil}}yes{{else}}no{{end}} {{with oracleEcho 1}}{{.}}{{end}}' },
  { title: 'and/or do not call functions they skip', template: '{{or 1 (oracleFail "never")}} {{and 0 (oracleFail "never")}}' },
  { title: 'range over a function result', template: '{{range $i, $v := oracleEcho "x" "y"}}{{$i}}={{$v}} {{end}}' },
  { title: 'a struct: fields, types, Data map', template: '{{with oracleSecret .d}}{{.RequestID}} {{.LeaseDuration}} {{.Renewable}} {{.Data.password}} {{.Data.port}} {{printf "%T %T" . .Data}}{{end}}' },
  { title: 'a struct printed with %v and %+v', template: '{{printf "%v|%+v" (oracleSecret .d) (oracleSecret .d)}}' },
  { title: 'a struct printed by an action', template: '{{oracleSecret .d}}' },
  { title: 'nil fields of a struct: map, slice, pointer', template: '{{with oracleSecret}}[{{.Data}}] [{{.Warnings}}] [{{.Auth}}] [{{.Data.x}}] [{{len .Data}}] {{if .Auth}}auth{{else}}no auth{{end}}{{end}}' },
  { title: 'a field of a nil pointer field', template: '{{(oracleSecret).Auth.ClientToken}}' },
  { title: 'an unknown field of a struct', template: '{{(oracleSecret .d).Nope}}' },
  { title: 'a lower-case property is not a field', template: '{{(oracleSecret .d).internal}}' },
  { title: 'a struct field with arguments', template: '{{(oracleSecret .d).RequestID 1}}' },
  { title: 'a missing key of a struct\'s Data under missingkey=error', template: '{{(oracleSecret .d).Data.nope}}', missingKey: 'error' },
  { title: 'a nil map field under missingkey=error', template: '{{(oracleSecret).Data.nope}}', missingKey: 'error' },
  { title: 'range over a struct fails', template: '{{range oracleSecret .d}}x{{end}}' },
  { title: 'eq on structs compares identity', template: '{{$s := oracleSecret .d}}{{eq $s $s}} {{eq (oracleSecret .d) (oracleSecret .d)}}' },
  { title: 'len of a struct fails', template: '{{len (oracleSecret .d)}}' },
  { title: 'a declared signature: string and int parameters', template: '{{oracleRepeat "ab" 3}} {{2 | oracleRepeat .str}} {{oracleRepeat (print "x") (len .list)}}' },
  { title: 'a declared signature: too few arguments', template: '{{oracleRepeat "ab"}}' },
  { title: 'a declared signature: too many arguments', template: '{{oracleRepeat "ab" 1 2}}' },
  { title: 'a declared signature: a number literal for a string', template: '{{oracleRepeat 1 2}}' },
  { title: 'a declared signature: a json.Number for a string', template: '{{oracleRepeat .num 2}}' },
  { title: 'a declared signature: a float literal for an int', template: '{{oracleRepeat .str 2.5}}' },
  { title: 'a declared signature: a json.Number for an int', template: '{{oracleRepeat .str .num}}' },
  { title: 'a declared signature: nil for a string', template: '{{oracleRepeat nil 1}}' },
  { title: 'a declared signature: a missing key for a string', template: '{{oracleRepeat .nope 1}}' },
  { title: 'a declared signature: a null for a string', template: '{{oracleRepeat .d.none 1}}' },
  { title: 'a declared signature: a piped value of the wrong type', template: '{{.str | oracleRepeat "x"}}' },
  { title: 'a declared variadic signature', template: '{{oracleFlag true 1 "a"}} {{oracleFlag false}} {{"x" | oracleFlag true}}' },
  { title: 'a declared variadic signature: missing fixed argument', template: '{{oracleFlag}}' },
  { title: 'a declared variadic signature: wrong literal', template: '{{oracleFlag 1}}' },
  { title: 'a []string result prints and types as Go\'s', template: '{{oracleStrings "a" "b"}} {{printf "%T %#v %q %v" (oracleStrings "a") (oracleStrings "a" "b") (oracleStrings "x") (oracleStrings)}}' },
  { title: 'elements of a []string are strings, not interfaces', template: '{{range oracleStrings "a"}}{{.x}}{{end}}' },
  { title: 'index into a []string', template: '{{printf "%T" (index (oracleStrings "a") 0)}} {{len (oracleStrings "a" "b")}}' },
  { title: 'a map[string]string result', template: '{{(oracleStringMap "k" "v").k}} {{printf "%T %#v" (oracleStringMap "k" "v") (oracleStringMap "b" 2 "a" 1)}} [{{index (oracleStringMap) "x"}}]' },
  { title: 'a missing key of a map[string]string, missingkey=default', template: '[{{(oracleStringMap "k" "v").nope}}]' },
  { title: 'a missing key of a map[string]string, missingkey=zero', template: '[{{(oracleStringMap "k" "v").nope}}]', missingKey: 'zero' },
  { title: 'a field of a map[string]string value', template: '{{(oracleStringMap "k" "v").k.x}}' },
  { title: 'a struct method marked in goMethodFields is called, not printed', template: '{{oraclePem}} {{(oraclePem).Data.Cert}} {{printf "%+v %T" (oraclePem).Data (oraclePem)}} {{with oraclePem}}{{.Data.Key}}{{end}}' },
  { title: 'a method without parameters given an argument', template: '{{(oraclePem).Data 1}}' },
  { title: 'eq on struct values compares their fields; on a struct holding a map fails', template: '{{eq (oraclePem) (oraclePem)}} {{eq (oraclePem) (oraclePem).Data}} {{ne (oraclePem) (oraclePem)}}' },
  { title: 'eq on a struct pointer and an int fails', template: '{{$s := oracleSecret .d}}{{eq (index (oracleEcho $s) 0) 1}}' },
  { title: 'eq on nil pointer fields', template: '{{$s := oracleSecret .d}}{{eq $s.Auth nil}} {{eq $s.Auth $s.WrapInfo}} {{eq $s.Auth $s}}' },
  { title: 'eq on a struct value holding a map fails', template: '{{$s := oracleSecret .d}}{{$v := index (oracleEcho $s) 0}}{{eq $v.Data $v.Data}}' },
  { title: 'json.Number from data through a function', template: '{{printf "%v %T %s" (index (oracleEcho .num) 0) (index (oracleEcho .num) 0) .num}}' },
];

describe('template engine: functions, GoStructs and JsonNumbers (Go as the oracle)', function () {
  this.timeout(120_000);
  let golden: OracleResult[] = [];

  before(async function () {
    this.timeout(600_000); // the first run builds the Go oracle (a cold build takes minutes on a busy machine)
    golden = await renderWithGo(CASES.map((c) => ({ template: c.template, dataJson: DATA, missingKey: c.missingKey })));
  });

  CASES.forEach((c, i) => {
    it(c.title, async () => {
      const want = golden[i]!;
      let got: { output: string } | { error: string };
      try {
        const t = parseTemplate('t', c.template, { funcs: FUNCS });
        got = { output: await t.execute(parseVaultJson(DATA), { missingKey: c.missingKey }) };
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        got = { error: err.message };
      }
      const expected = want.error !== undefined ? { error: want.error } : { output: want.output! };
      expect(got, c.template).to.deep.equal(expected);
    });
  });
});

describe('template engine: async functions and values (targeted)', () => {
  it('awaits each call before the next, in template order', async () => {
    const calls: string[] = [];
    const slowFirst: FuncMap = {
      step: async (name: unknown, ms: unknown) => {
        calls.push(`start ${String(name)}`);
        await new Promise((r) => setTimeout(r, Number(ms)));
        calls.push(`end ${String(name)}`);
        return name;
      },
    };
    const t = parseTemplate('t', '{{step "a" 20}}-{{step "b" 1}}-{{if step "c" 5}}{{step "d" 0}}{{end}}', { funcs: slowFirst });
    expect(await t.execute(null)).to.equal('a-b-d');
    expect(calls).to.deep.equal(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
  });

  it('a rejected promise is an exec error naming the function, template, line and column', async () => {
    const t = parseTemplate('cfg', 'line1\n  {{ fetch "x" }}', { funcs: { fetch: async () => { throw new Error('permission denied'); } } });
    const err = await t.execute(null).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(TemplateError);
    expect((err as TemplateError).kind).to.equal('exec');
    expect((err as TemplateError).message).to.equal('template: cfg:2:5: executing "cfg" at <fetch "x">: error calling fetch: permission denied');
  });

  it('an unknown function is a parse error, as in Go', () => {
    let err: unknown;
    try {
      parseTemplate('t', '{{ nope }}', { funcs: {} });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(TemplateError);
    expect((err as TemplateError).kind).to.equal('parse');
    expect((err as TemplateError).message).to.equal('template: t:1: function "nope" not defined');
  });

  it('functions receive JsonNumber as is and plain values for literals', async () => {
    const seen: unknown[] = [];
    const t = parseTemplate('t', '{{ grab .n 3 2.5 "s" true nil .missing }}', { funcs: { grab: (...a: unknown[]) => { seen.push(...a); return ''; } } });
    await t.execute({ n: new JsonNumber('1.50') });
    expect(seen).to.have.length(7);
    expect(seen[0]).to.be.instanceOf(JsonNumber);
    expect((seen[0] as JsonNumber).text).to.equal('1.50');
    expect(seen.slice(1)).to.deep.equal([3, 2.5, 's', true, null, null]);
  });

  it('a JsonNumber prints its text, compares as a string and has length', async () => {
    const t = parseTemplate('t', '{{.n}} {{eq .n "1.50"}} {{len .n}} {{printf "%5s|%T" .n .n}}', { funcs: {} });
    expect(await t.execute({ n: new JsonNumber('1.50') })).to.equal('1.50 true 4  1.50|json.Number');
  });

  it('a template runs again with other data (nothing kept between runs)', async () => {
    const t = parseTemplate('t', '{{$x := .a}}{{range .l}}{{$x = .}}{{end}}{{$x}}', { funcs: {} });
    expect(await t.execute({ a: 'first', l: ['x', 'y'] })).to.equal('y');
    expect(await t.execute({ a: 'second', l: [] })).to.equal('second');
  });

  it('several executions of one template may run at once', async () => {
    const t = parseTemplate('t', '{{range .}}{{wait .}}{{end}}', { funcs: { wait: async (v: unknown) => { await new Promise((r) => setTimeout(r, Number(v))); return v; } } });
    const [a, b] = await Promise.all([t.execute([5, 1, 3]), t.execute([1, 2])]);
    expect(a).to.equal('513');
    expect(b).to.equal('12');
  });
});
