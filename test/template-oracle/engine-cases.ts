// The differential table for the template engine: every case is rendered by our engine and by Go's
// own text/template (test/template-oracle) in the same run; output or error text must be equal.
// Data is JSON text, decoded as Vault's Go client decodes it (numbers are json.Number).

export interface EngineCase {
  /** What the case shows (the test title). */
  title: string;
  template: string;
  /** JSON text for dot (omitted: nil data). */
  data?: string;
  name?: string;
  missingKey?: 'default' | 'zero' | 'error';
  leftDelim?: string;
  rightDelim?: string;
}

const SECRET = `{"data":{"data":{"password":"s3cr3t","user":"app","port":5432,"ratio":0.25,"tags":["a","b"],"empty":""},
  "metadata":{"version":3,"created_time":"2024-01-01T00:00:00Z","destroyed":false}},
  "lease_duration":0,"renewable":false,"nothing":null,"list":[1,"two",3.5,null,true,{"k":"v"},[1,2]],
  "nested":{"b":{"c":"deep"}},"m":{"z":1,"a":2,"m":3,"B":4,"_":5,"é":6,"10":7,"9":8},"zero":0,"yes":true,"no":false,
  "str":"héllo wörld","num":42,"neg":-7,"big":12345678901234567890,"f":1.50,"exp":1e3,"emptyList":[],"emptyMap":{},
  "html":"<a href='x'>&\\"</a>","spaces":"  padded  ","multi":"line1\\nline2","tab":"a\\tb","unicode":"日本語"}`;

export const ENGINE_CASES: EngineCase[] = [
  // --- text, actions, comments, trim markers ---
  { title: 'plain text passes through', template: 'hello, world\n' },
  { title: 'empty template', template: '' },
  { title: 'a field of a map', template: 'user={{.data.data.user}}', data: SECRET },
  { title: 'dot prints the whole map, keys sorted', template: '{{.m}}', data: SECRET },
  { title: 'a missing key prints <no value>', template: '[{{.nope}}] [{{.data.nope.deeper}}]', data: SECRET },
  { title: 'JSON null prints <no value>', template: '[{{.nothing}}]', data: SECRET },
  { title: 'nil data', template: '[{{.}}] [{{.a}}]' },
  { title: 'comments vanish', template: 'a{{/* a comment */}}b{{- /* trimmed */ -}} c' },
  { title: 'multi-line comment', template: 'x{{/*\nline\n*/}}y' },
  { title: 'trim markers eat spaces and newlines', template: 'a  \n\t {{- "b" -}} \n\n  c' },
  { title: 'trim on one side only', template: 'a  {{- "b" }}  c  {{ "d" -}}  e' },
  { title: 'minus number is not a trim marker', template: '{{-3}} {{ -4 }}' },
  { title: 'custom delimiters', template: '<<.data.data.user>> {{.data}} <<- " x " ->>!', data: SECRET, leftDelim: '<<', rightDelim: '>>' },
  { title: 'custom delimiters, one side given', template: '[[ .num }} {{ .num }}', data: SECRET, leftDelim: '[[' },
  { title: 'unicode text and values', template: 'ünï {{.unicode}} {{.str}}', data: SECRET },
  { title: 'raw strings keep backslashes', template: '{{`a\\nb`}}|{{"a\\tb"}}' },
  { title: 'string escapes', template: '{{"\\x41\\u00e9\\U0001F600\\101\\a\\\\\\""}}' },
  { title: 'char constants are ints', template: "{{'a'}} {{'\\n'}} {{'é'}} {{printf \"%c\" 'x'}}" },
  { title: 'number literals', template: '{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{1.5}} {{1e3}} {{.5}} {{-0}} {{+3}} {{0x1p4}}' },
  { title: 'booleans and nil in print', template: '{{true}} {{false}} {{print nil}}' },
  { title: 'JSON numbers print as written', template: '{{.f}} {{.exp}} {{.big}} {{.num}}', data: SECRET },

  // --- pipelines, parentheses, variables ---
  { title: 'pipeline passes the last value', template: '{{"x" | printf "%s-%s" "y"}}' },
  { title: 'parenthesised pipelines', template: '{{printf "%s/%s" (print "a" "b") ("c" | print)}}' },
  { title: 'chains on parenthesised pipelines', template: '{{(.data).data.user}} {{(index .list 5).k}}', data: SECRET },
  { title: 'variables: declare, use, reassign', template: '{{$x := "a"}}{{$x}}{{$x = "b"}}{{$x}}{{$y := .num}}{{$y}}', data: SECRET },
  { title: 'variable scoping ends with the block', template: '{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}' },
  { title: 'assignment inside a block changes the outer variable', template: '{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}' },
  { title: '$ is the data', template: '{{with .data}}{{$.num}}{{end}}', data: SECRET },
  { title: 'variable field chains', template: '{{$d := .data.data}}{{$d.user}}:{{$d.port}}', data: SECRET },
  { title: 'variable holding a missing value', template: '{{$m := .missing}}[{{$m}}] [{{$m.x}}]', data: SECRET },
  { title: 'declaration prints nothing', template: '[{{$a := "x"}}]' },

  // --- if / else ---
  { title: 'if / else if / else', template: '{{if .no}}A{{else if .zero}}B{{else if .emptyList}}C{{else if .str}}D{{else}}E{{end}}', data: SECRET },
  { title: 'truthiness of every kind', template: '{{range $k, $v := .}}{{$k}}={{if $v}}T{{else}}F{{end}} {{end}}', data: '{"a":0,"b":1,"c":"","d":"x","e":[],"f":[0],"g":{},"h":{"k":1},"i":null,"j":false,"k":true,"l":0.0,"m":"0"}' },
  { title: 'if with a declaration', template: '{{if $u := .data.data.user}}user {{$u}}{{end}}', data: SECRET },
  { title: 'if on literals', template: '{{if 0}}a{{end}}{{if 1}}b{{end}}{{if ""}}c{{end}}{{if "x"}}d{{end}}{{if 0.0}}e{{end}}{{if nil}}f{{end}}' },

  // --- range ---
  { title: 'range over a list', template: '{{range .data.data.tags}}[{{.}}]{{end}}', data: SECRET },
  { title: 'range with index and value', template: '{{range $i, $v := .list}}{{$i}}:{{$v}} {{end}}', data: SECRET },
  { title: 'range over a map is sorted by key', template: '{{range $k, $v := .m}}{{$k}}={{$v}},{{end}}', data: SECRET },
  { title: 'range over a map with one variable gets values', template: '{{range $v := .m}}{{$v}} {{end}}', data: SECRET },
  { title: 'range else on empty list, map and missing', template: '{{range .emptyList}}x{{else}}empty{{end}} {{range .emptyMap}}x{{else}}none{{end}} {{range .nope}}x{{else}}missing{{end}}', data: SECRET },
  { title: 'range break and continue', template: '{{range $i, $v := .list}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 4}}{{break}}{{end}}{{$i}}{{end}}', data: SECRET },
  { title: 'range over an integer', template: '{{range 3}}{{.}}{{end}} {{range $i := 2}}<{{$i}}>{{end}} {{range 0}}x{{else}}none{{end}}' },
  { title: 'range assigns with =', template: '{{$i := 0}}{{$v := 0}}{{range $i, $v = .data.data.tags}}{{end}}{{$i}} {{$v}}', data: SECRET },
  { title: 'nested ranges and $', template: '{{range $k, $v := .nested}}{{range $k2, $v2 := $v}}{{$k}}.{{$k2}}={{$v2.c}} {{$.num}}{{end}}{{end}}', data: SECRET },
  { title: 'dot inside range is the element', template: '{{range .list}}{{printf "%T" .}} {{end}}', data: SECRET },
  { title: 'range over a string fails', template: '{{range .str}}x{{end}}', data: SECRET },
  { title: 'range over a number fails', template: '{{range .num}}x{{end}}', data: SECRET },
  { title: 'range over an integer with two variables fails', template: '{{range $i, $v := 3}}x{{end}}' },

  // --- with ---
  { title: 'with sets dot', template: '{{with .data.data}}{{.user}}@{{.port}}{{end}}', data: SECRET },
  { title: 'with / else with / else', template: '{{with .nope}}a{{else with .zero}}b{{else with .str}}{{.}}{{else}}c{{end}}', data: SECRET },
  { title: 'with else on an empty value', template: '{{with .emptyMap}}x{{else}}empty {{.num}}{{end}}', data: SECRET },

  // --- define / template / block ---
  { title: 'define and template', template: '{{define "T"}}[{{.}}]{{end}}{{template "T" .num}}{{template "T" "x"}}{{template "T"}}', data: SECRET },
  { title: 'block defines and runs', template: '{{block "B" .data.data}}user={{.user}}{{end}} and {{template "B" .data.data}}', data: SECRET },
  { title: 'templates do not see the caller\'s variables', template: '{{define "T"}}{{$}}{{end}}{{$x := 1}}{{template "T" "dot"}}' },
  { title: 'template defined after use', template: '{{template "later" 5}}{{define "later"}}<{{.}}>{{end}}' },
  { title: 'undefined template', template: '{{template "nope"}}' },
  { title: 'error inside a defined template names it', template: '{{define "inner"}}\n  {{.x.y}}{{end}}{{template "inner" .}}', data: '{"x":"s"}' },
  { title: 'redefinition in one parse', template: '{{define "a"}}1{{end}}{{define "a"}}2{{end}}' },
  { title: 'an empty redefinition is allowed', template: '{{define "a"}}1{{end}}{{define "a"}} {{end}}{{template "a"}}' },

  // --- builtins: logic and comparison ---
  { title: 'and / or return values', template: '{{and 1 2}} {{and 0 2}} {{or 0 ""}} {{or 0 "x"}} {{and .yes .str}} {{or .nope "dflt"}}', data: SECRET },
  { title: 'and / or short-circuit', template: '{{or 1 (index .list 99)}} {{and 0 (index .list 99)}}', data: SECRET },
  { title: 'and with a piped final argument', template: '{{"last" | and 1}} {{0 | or ""}}' },
  { title: 'not', template: '{{not 0}} {{not .str}} {{not .nope}}', data: SECRET },
  { title: 'eq with several arguments', template: '{{eq 1 2 3 1}} {{eq "a" "b"}} {{eq .data.data.user "x" "app"}}', data: SECRET },
  { title: 'eq on json.Number compares text', template: '{{eq .num "42"}} {{eq .f "1.5"}}', data: SECRET },
  { title: 'eq json.Number with an int fails', template: '{{eq .num 42}}', data: SECRET },
  { title: 'eq on missing values', template: '{{eq .nope .nope2}} {{eq .nope 1}} {{eq nil nil}}', data: SECRET },
  { title: 'eq on maps fails', template: '{{eq .m .m}}', data: SECRET },
  { title: 'eq with one argument fails', template: '{{eq 1}}' },
  { title: 'ne lt le gt ge on ints, floats, strings', template: '{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}} {{lt 1.5 2.5}} {{lt "a" "b"}} {{gt "b" "a"}} {{lt "Z" "a"}}' },
  { title: 'lt int with float fails', template: '{{lt 1 2.5}}' },
  { title: 'lt on booleans fails', template: '{{lt true false}}' },
  { title: 'lt on missing fails', template: '{{lt .nope 1}}', data: SECRET },
  { title: 'comparison arity', template: '{{lt 1}}' },

  // --- builtins: index, slice, len ---
  { title: 'index into lists and maps', template: '{{index .list 1}} {{index .data.data "user"}} {{index .nested "b" "c"}} {{index .list 6 1}}', data: SECRET },
  { title: 'index of a missing map key', template: '[{{index .data.data "nope"}}]', data: SECRET },
  { title: 'index out of range', template: '{{index .list 7}}', data: SECRET },
  { title: 'index far out of range', template: '{{index .list 99}}', data: SECRET },
  { title: 'index with a json.Number fails', template: '{{index .list .num}}', data: SECRET },
  { title: 'index into a string gives a byte', template: '{{index "abc" 1}}' },
  { title: 'index of nil', template: '{{index .nope 1}}', data: SECRET },
  { title: 'index a map with an int', template: '{{index .m 1}}', data: SECRET },
  { title: 'index a number', template: '{{index .num 0}}', data: SECRET },
  { title: 'slice lists and strings', template: '{{slice .list 1 3}} {{slice "hello" 1 3}} {{slice "hello" 2}} {{slice .data.data.tags}}', data: SECRET },
  { title: 'slice with bad indexes', template: '{{slice .list 3 1}}', data: SECRET },
  { title: 'three-index slice of a string fails', template: '{{slice "abc" 0 1 2}}' },
  { title: 'len of list, map, string (bytes), json.Number', template: '{{len .list}} {{len .m}} {{len .str}} {{len .num}} {{len ""}}', data: SECRET },
  { title: 'len of a number fails', template: '{{len 3}}' },
  { title: 'len of a missing value', template: '{{len .nope}}', data: SECRET },
  { title: 'len of a null', template: '{{len .nothing}}', data: SECRET },

  // --- builtins: print, println, html, js, urlquery ---
  { title: 'print spacing rules', template: '{{print 1 2 "a" 3 "b" "c" 4.5 true nil}}' },
  { title: 'print of a missing value is <nil>', template: '{{print .nope}} {{print .nothing}}', data: SECRET },
  { title: 'println', template: '{{println 1 "a" 2 .list}}', data: SECRET },
  { title: 'print of nested values', template: '{{print .list}} {{print .nested}} {{print .data.data}}', data: SECRET },
  { title: 'html escaping', template: '{{html .html}} {{.html | html}} {{html 1 "<" 2}}', data: SECRET },
  { title: 'html of a missing value', template: '{{html .nope}}', data: SECRET },
  { title: 'js escaping', template: '{{js .html}} {{js "a=b\\n\\u2028 é"}}', data: SECRET },
  { title: 'urlquery escaping', template: '{{urlquery "a b&c=d/é?"}} {{urlquery .str 1}}', data: SECRET },

  // --- errors: missingkey ---
  { title: 'missingkey=error on a missing key', template: 'x {{.data.data.nope}}', data: SECRET, missingKey: 'error' },
  { title: 'missingkey=error on a nil map step', template: '{{.nope.deeper}}', data: SECRET, missingKey: 'error' },
  { title: 'missingkey=error with nil data', template: '{{.a}}', missingKey: 'error' },
  { title: 'missingkey=error still passes existing keys', template: '{{.data.data.user}}', data: SECRET, missingKey: 'error' },
  { title: 'missingkey=zero prints <no value> for interface maps', template: '[{{.nope}}]', data: SECRET, missingKey: 'zero' },
  { title: 'missingkey=zero makes a nil interface', template: '{{.nope.deeper}}', data: SECRET, missingKey: 'zero' },
  { title: 'missingkey=default on chains', template: '[{{.nope.deeper}}]', data: SECRET, missingKey: 'default' },

  // --- errors: fields ---
  { title: 'field of a string fails', template: '{{.str.x}}', data: SECRET },
  { title: 'field of a null fails as nil pointer', template: '{{.nothing.x}}', data: SECRET },
  { title: 'field of a list fails', template: '{{.x}}', data: '[1,2]' },
  { title: 'field of a variable holding a string', template: '{{$s := .str}}{{$s.x}}', data: SECRET },
  { title: 'field with arguments', template: '{{.data.data.user 1}}', data: SECRET },
  { title: 'piping into a field', template: '{{"x" | .data}}', data: SECRET },
  { title: 'json.Number methods', template: '{{.num.String}} {{.f.Float64}} {{.num.Int64}}', data: SECRET },
  { title: 'json.Number Int64 of a float fails', template: '{{.f.Int64}}', data: SECRET },
  { title: 'piping into a variable', template: '{{$x := 1}}{{2 | $x}}' },
  { title: 'arguments to dot', template: '{{. 1}}', data: SECRET },
  { title: 'nil is not a command', template: '{{nil}}' },
  { title: 'explicit nil chain', template: '{{(nil).x}}' },
  { title: 'error position on a later line and column', template: 'line one\n  line two {{ .ok }}\n\t\t{{ printf "%d" .str | len | .x }}', data: '{"ok":"y","str":"s"}' },
  { title: 'error column counts bytes', template: 'ééé {{.a.b}}', data: '{"a":"x"}' },

  // --- errors: function calls ---
  { title: 'wrong number of args', template: '{{not 1 2}}' },
  { title: 'printf needs a format', template: '{{printf}}' },
  { title: 'printf format must be a string', template: '{{printf 3}}' },
  { title: 'printf format from a json.Number', template: '{{printf .num}}', data: SECRET },
  { title: 'printf format from a missing key', template: '{{printf .nope}}', data: SECRET },
  { title: 'printf format from a null', template: '{{printf .nothing}}', data: SECRET },
  { title: 'printf format nil', template: '{{printf nil}}' },
  { title: 'call of a non-function', template: '{{call .str}}', data: SECRET },
  { title: 'call of nil', template: '{{call .nope}}', data: SECRET },

  // --- parse errors ---
  { title: 'unclosed action', template: 'a {{ .x ' },
  { title: 'unclosed action across lines', template: 'a {{ .x \n\n' },
  { title: 'unexpected EOF in if', template: '{{if .x}}abc' },
  { title: 'unexpected end', template: '{{end}}' },
  { title: 'unexpected else', template: 'x{{else}}' },
  { title: 'function not defined', template: 'a\n{{nope 1}}' },
  { title: 'undefined variable', template: '{{$x}}' },
  { title: 'variable out of scope', template: '{{if true}}{{$x := 1}}{{end}}{{$x}}' },
  { title: 'bad character', template: '{{.x#}}' },
  { title: 'unrecognized character', template: '{{ \u0001 }}' },
  { title: 'unterminated string', template: '{{"abc}}' },
  { title: 'unterminated raw string', template: '{{`abc}}' },
  { title: 'unterminated char', template: "{{'a}}" },
  { title: 'bad number', template: '{{3x}}' },
  { title: 'integer overflow', template: '{{99999999999999999999}}' },
  { title: 'octal-looking decimal', template: '{{089}}' },
  { title: 'malformed char constant', template: "{{'ab'}}" },
  { title: 'invalid escape in string', template: '{{"\\q"}}' },
  { title: 'unclosed comment', template: '{{/* x }}' },
  { title: 'comment without closing delimiter', template: '{{/* x */ .y}}' },
  { title: 'unclosed left paren', template: '{{(print 1}}' },
  { title: 'unexpected right paren', template: '{{print 1)}}' },
  { title: 'missing value for if', template: '{{if}}x{{end}}' },
  { title: 'missing value for command', template: '{{}}' },
  { title: 'non executable command in pipeline', template: '{{1 | 2}}' },
  { title: 'unexpected . after term', template: '{{"x".y}}' },
  { title: 'break outside range', template: '{{break}}' },
  { title: 'continue outside range', template: '{{if 1}}{{continue}}{{end}}' },
  { title: 'too many declarations', template: '{{$a, $b := 1}}' },
  { title: 'range with three variables', template: '{{range $a, $b, $c := .}}{{end}}' },
  { title: 'range can only initialize variables', template: '{{range $a, 1}}{{end}}' },
  { title: 'expected :=', template: '{{$a : 1}}' },
  { title: 'define without a name', template: '{{define x}}{{end}}' },
  { title: 'unexpected token in operand', template: '{{print 1 = 2}}' },
  { title: 'else after else', template: '{{if 1}}a{{else}}b{{else}}c{{end}}' },
  { title: 'unexpected token long text is truncated', template: '{{if 1 "abcdefghijklmnopqrstuvwxyz" = }}x{{end}}' },
  { title: 'error in a later line of a multi-line action', template: '{{if\n1\n"x" = }}\n{{end}}' },
  { title: 'parse error in a define names the top template', template: 'x\n{{define "d"}}\n{{.a | }}{{end}}', name: 'outer' },
  { title: 'template names with spaces and quotes', template: '{{.a.b}}', data: '{"a":1}', name: 'my "tmpl" 1' },
];

// --- printf: a matrix of verbs, flags and values (Go's fmt is the oracle) ---
const PRINTF_VALUES: [string, string][] = [
  ['int', '42'], ['negative int', '-7'], ['float', '3.14159'], ['integral float', '2.0'], ['small float', '0.000012345'],
  ['big float', '1e21'], ['string', '"héllo"'], ['json.Number', '.num'], ['bool', 'true'], ['nil', 'nil'],
  ['list', '.list'], ['map', '.m'], ['missing', '.nope'], ['char', "'x'"],
];
const PRINTF_FORMATS = [
  '%v', '%+v', '%#v', '%T', '%d', '%5d', '%-5d|', '%05d', '%+d', '%x', '%X', '%#x', '%o', '%#o', '%O', '%b', '%c', '%q',
  '%U', '%#U', '%e', '%E', '%.2e', '%f', '%.2f', '%8.3f', '%-8.3f|', '%08.3f', '%+.1f', '% .1f', '%g', '%.3g', '%G', '%#g',
  '%s', '%10s', '%-10s|', '%.2s', '%q', '%#q', '%+q', '%x', '% x', '%X', '%t', '%5t', '%z', '%%',
];

for (const [vname, expr] of PRINTF_VALUES) {
  ENGINE_CASES.push({
    title: `printf verbs on ${vname}`,
    template: PRINTF_FORMATS.map((f) => `{{printf "${f}" ${expr}}}`).join('|'),
    data: SECRET,
  });
}

ENGINE_CASES.push(
  { title: 'printf missing and extra arguments', template: '{{printf "%d %d" 1}} {{printf "%d" 1 2 "x" nil}}' },
  { title: 'printf argument indexes', template: '{{printf "%[2]d %[1]d" 1 2}} {{printf "%[3]d" 1}} {{printf "%[2]*[1]d" 12 5}}' },
  { title: 'printf star width and precision', template: '{{printf "%*d|%-*d|%.*f" 5 1 4 2 2 3.14159}} {{printf "%*d" "x" 1}}' },
  { title: 'printf no verb at end', template: '{{printf "abc%"}} {{printf "%-"}}' },
  { title: 'printf rounding half to even', template: '{{printf "%.0f %.0f %.0f %.1f %.1f %.2f" 0.5 1.5 2.5 0.25 0.35 1.005}}' },
  { title: 'printf float edge values', template: '{{printf "%v %v %v %v %v %v" 1e6 1e-5 123456789.0 0.1 100000.0 1e20}}' },
  { title: 'printf %g precision', template: '{{printf "%.1g %.2g %.10g %g %g" 123.0 0.000123 3.14159 1e-7 12345678.0}}' },
  { title: 'printf %e of zero and big', template: '{{printf "%e %e %.0e %E" 0.0 1e100 5.5 123456.0}}' },
  { title: 'printf on list elements with verbs', template: '{{printf "%d %s %q %x %5v" .list .data.data.tags .data.data.tags .data.data.tags .data.data.tags}}', data: SECRET },
  { title: 'printf %v of nested structures', template: '{{printf "%v|%+v|%#v" .nested .list .data.data}}', data: SECRET },
  { title: 'printf %#v of values', template: '{{printf "%#v %#v %#v %#v %#v" 1 "s" 1.5 .nothing .emptyList}}', data: SECRET },
  { title: 'printf unicode width counts runes', template: '{{printf "[%6s][%-6s][%.1s]" "日本" "é" "日本"}}' },
  { title: 'printf quoting', template: '{{printf "%q %+q %#q %q" "a\\"b\\n\\u0001é日" "é" "back`tick" .tab}}', data: SECRET },
  { title: 'printf %x of strings', template: '{{printf "%x|% X|%#x|%# x|%.2x|%8x" "hé" "hé" "hé" "hé" "hé" "ab"}}' },
  { title: 'printf integers in bases', template: '{{printf "%b %o %x %X %#b %#o %#X %08b %-8x| %+x" 5 64 255 255 5 8 255 5 255 -255}}' },
  { title: 'printf %c %q %U of ints', template: '{{printf "%c%c %q %U %#U %.6U" 72 0x1F600 65 0x1F600 0x41 1}}' },
  { title: 'printf precision on ints', template: '{{printf "%.3d|%6.3d|%.0d|%5.0d|" 7 -7 0 0}}' },
  { title: 'printf zero flag with minus', template: '{{printf "%-05d|%-08.2f|%05s|%-05s|" 3 1.5 "ab" "ab"}}' },
  { title: 'printf infinities and NaN via huge numbers', template: '{{printf "%f %v" 1e308 -1e308}}' },
  { title: 'sprint of floats through print', template: '{{print 0.1 1.0 1e21 1e20 123456789.123 -0.0 3.0e-5}}' },
);

// --- output byte-for-byte against Go for a realistic config-file template ---
ENGINE_CASES.push(
  {
    title: 'a config file template',
    template: `{{- with .data.data -}}
[database]
user = "{{ .user }}"
password = "{{ .password }}"
port = {{ .port }}
{{- range $i, $t := .tags }}
tag.{{ $i }} = {{ $t | printf "%q" }}
{{- end }}
{{ end -}}
# version {{ .data.metadata.version }}{{ if not .data.metadata.destroyed }} (live){{ end }}
`,
    data: SECRET,
  },
  {
    title: 'an env file template',
    template: '{{ range $k, $v := .data.data }}{{ $k | printf "%s" | print | html }}={{ if $v }}{{ $v }}{{ else }}""{{ end }}\n{{ end }}',
    data: SECRET,
  },
);

// --- edge cases found while checking the lexer, parser, executor and fmt against Go ---
ENGINE_CASES.push(
  { title: "edge: {{$ = 1}}{{$}}", template: "{{$ = 1}}{{$}}" },
  { title: "edge: {{ /* c */ }}", template: "{{ /* c */ }}" },
  { title: "edge: {{with $x := .a}}{{$x}}{{end}}{{$x}}", template: "{{with $x := .a}}{{$x}}{{end}}{{$x}}", data: "{\"a\":1}" },
  { title: "edge: {{range $i, $e := .}}{{$i}}{{$e}}{{end}}", template: "{{range $i, $e := .}}{{$i}}{{$e}}{{end}}", data: "[\"a\",\"b\"]" },
  { title: "edge: {{.x}}", template: "{{.x}}", data: "5" },
  { title: "edge: {{index . \\\"a\\\"}}", template: "{{index . \"a\"}}", data: "{\"a\":[1]}" },
  { title: "edge: {{.a.b}}", template: "{{.a.b}}", data: "{\"a\":\"100%\"}" },
  { title: "edge: {{and}}", template: "{{and}}" },
  { title: "edge: {{range .}}{{break}}{{else}}x{{end}}", template: "{{range .}}{{break}}{{else}}x{{end}}", data: "[]" },
  { title: "edge: {{$x := 1}}{{range $x = .}}{{end}}{{$x}}", template: "{{$x := 1}}{{range $x = .}}{{end}}{{$x}}", data: "[5,6]" },
  { title: "edge: «.a» {{.a}}", template: "«.a» {{.a}}", data: "{\"a\":1}", leftDelim: "«", rightDelim: "»" },
  { title: "edge: {{define \\\"x\\\"}}a{{end}}", template: "{{define \"x\"}}a{{end}}" },
  { title: "edge:   {{define \\\"x\\\"}}a{{end}}\\n  ", template: "  {{define \"x\"}}a{{end}}\n  " },
  { title: "edge: {{html \\\"\\\\u0000a\\\"}}", template: "{{html \"\\u0000a\"}}" },
  { title: "edge: {{js \\\"\\\\u0000\\\\u007f\\\\u0085\\\\u00a0\\\\ufeff\\\"}}", template: "{{js \"\\u0000\\u007f\\u0085\\u00a0\\ufeff\"}}" },
  { title: "edge: {{print 1.0 2.0}} {{print \\\"a\\\" 1.5 \\\"b\\\"}}", template: "{{print 1.0 2.0}} {{print \"a\" 1.5 \"b\"}}" },
  { title: "edge: {{printf \\\"%v %v\\\" .a .b}}", template: "{{printf \"%v %v\" .a .b}}", data: "{\"a\":[],\"b\":{}}" },
  { title: "edge: {{printf \\\"%#v\\\" .}}", template: "{{printf \"%#v\" .}}", data: "{\"a\":[1,\"x\",null,{\"b\":true}],\"c\":1.5}" },
  { title: "edge: {{printf \\\"%T %T %T\\\" .a .b .c}}", template: "{{printf \"%T %T %T\" .a .b .c}}", data: "{\"a\":[],\"b\":{},\"c\":null}" },
  { title: "edge: {{printf \\\"%s\\\" .}}", template: "{{printf \"%s\" .}}", data: "{\"a\":[1,\"x\",null,{\"b\":true}],\"c\":1.5}" },
  { title: "edge: {{printf \\\"%d\\\" .}}", template: "{{printf \"%d\" .}}", data: "{\"a\":[1,\"x\",null,{\"b\":true}],\"c\":1.5}" },
  { title: "edge: {{printf \\\"%x\\\" .}}", template: "{{printf \"%x\" .}}", data: "{\"a\":[1,\"x\",null,{\"b\":true}],\"c\":1.5}" },
  { title: "edge: {{printf \\\"%q\\\" .}}", template: "{{printf \"%q\" .}}", data: "{\"a\":[1,\"x\",null,{\"b\":true}],\"c\":1.5}" },
  { title: "edge: {{printf \\\"%6.2v|%-6v|%06v\\\" 3.14159 \\\"ab\\\" 12}}", template: "{{printf \"%6.2v|%-6v|%06v\" 3.14159 \"ab\" 12}}" },
  { title: "edge: {{printf \\\"%v\\\" 100000000.0}} {{printf \\\"%v\\\" 123456.0}} {{printf \\\"%v\\\" 1234567....", template: "{{printf \"%v\" 100000000.0}} {{printf \"%v\" 123456.0}} {{printf \"%v\" 1234567.0}} {{printf \"%v\" 0.0001}} {{printf \"%v\" 0.00001}}" },
  { title: "edge: {{printf \\\"%.3v\\\" \\\"abcdef\\\"}} {{printf \\\"%.0s|\\\" \\\"abc\\\"}}", template: "{{printf \"%.3v\" \"abcdef\"}} {{printf \"%.0s|\" \"abc\"}}" },
  { title: "edge: {{printf \\\"%5.1q\\\" \\\"abc\\\"}}", template: "{{printf \"%5.1q\" \"abc\"}}" },
  { title: "edge: {{printf \\\"%#q\\\" \\\"a\\\\tb\\\"}}", template: "{{printf \"%#q\" \"a\\tb\"}}" },
  { title: "edge: {{printf \\\"%t %v\\\" true false}} {{printf \\\"%d\\\" true}}", template: "{{printf \"%t %v\" true false}} {{printf \"%d\" true}}" },
  { title: "edge: {{printf \\\"%08.3e|%+.3e|% e\\\" 1234.5678 -0.000123 5.0}}", template: "{{printf \"%08.3e|%+.3e|% e\" 1234.5678 -0.000123 5.0}}" },
  { title: "edge: {{printf \\\"%#.3x %#X %#o %#b\\\" 255 255 8 5}}", template: "{{printf \"%#.3x %#X %#o %#b\" 255 255 8 5}}" },
  { title: "edge: {{printf \\\"%x %X\\\" -1 -255}}", template: "{{printf \"%x %X\" -1 -255}}" },
  { title: "edge: {{printf \\\"%c|%5c|%-5c|\\\" 65 66 67}}", template: "{{printf \"%c|%5c|%-5c|\" 65 66 67}}" },
  { title: "edge: {{printf \\\"%.2f %.2f %.2f %.3f\\\" 2.675 1.115 0.125 1.0005}}", template: "{{printf \"%.2f %.2f %.2f %.3f\" 2.675 1.115 0.125 1.0005}}" },
  { title: "edge: {{printf \\\"%.15f %.20f %.17g\\\" 0.1 0.1 0.1}}", template: "{{printf \"%.15f %.20f %.17g\" 0.1 0.1 0.1}}" },
  { title: "edge: {{printf \\\"%g %g %g %g\\\" 1e-320 5e-324 1.7976931348623157e308 2.2250738585072014e...", template: "{{printf \"%g %g %g %g\" 1e-320 5e-324 1.7976931348623157e308 2.2250738585072014e-308}}" },
  { title: "edge: {{printf \\\"%e %.3e\\\" 1e-320 5e-324}}", template: "{{printf \"%e %.3e\" 1e-320 5e-324}}" },
  { title: "edge: {{printf \\\"%v %v\\\" 1e15 1e16}} {{print 123456789012345678.0}}", template: "{{printf \"%v %v\" 1e15 1e16}} {{print 123456789012345678.0}}" },
  { title: "edge: {{0x1.8p1}} {{1e-3}} {{1_0.5_0}} {{0X_1F}} {{0_7}}", template: "{{0x1.8p1}} {{1e-3}} {{1_0.5_0}} {{0X_1F}} {{0_7}}" },
  { title: "edge: {{1__0}}", template: "{{1__0}}" },
  { title: "edge: {{0x}}", template: "{{0x}}" },
  { title: "edge: {{1e}}", template: "{{1e}}" },
  { title: "edge: {{9223372036854775807}} {{-9223372036854775808}}", template: "{{9223372036854775807}} {{-9223372036854775808}}" },
  { title: "edge: {{9223372036854775808}}", template: "{{9223372036854775808}}" },
  { title: "edge: {{18446744073709551616}}", template: "{{18446744073709551616}}" },
  { title: "edge: {{.5.a}}", template: "{{.5.a}}" },
  { title: "edge: {{3.a}}", template: "{{3.a}}" },
  { title: "edge: {{true.a}}", template: "{{true.a}}" },
  { title: "edge: {{.a | . }}", template: "{{.a | . }}", data: "{\"a\":1}" },
  { title: "edge: {{.a | \\\"x\\\"}}", template: "{{.a | \"x\"}}", data: "{\"a\":1}" },
  { title: "edge: {{(1).x}}", template: "{{(1).x}}" },
  { title: "edge: {{(.a).x}}", template: "{{(.a).x}}", data: "{\"a\":{\"x\":2}}" },
  { title: "edge: {{$x := .a}}{{$x.x.y}}", template: "{{$x := .a}}{{$x.x.y}}", data: "{\"a\":{\"x\":{\"y\":3}}}" },
  { title: "edge: {{range $k, $v := .}}{{$k}}{{end}}", template: "{{range $k, $v := .}}{{$k}}{{end}}", data: "{\"b\":1,\"a\":2,\"B\":3,\"ä\":4,\"aa\":5,\"\":6}" },
  { title: "edge: {{with .a}}{{.}}{{else with .b}}{{.}}{{end}}", template: "{{with .a}}{{.}}{{else with .b}}{{.}}{{end}}", data: "{\"a\":0,\"b\":\"bee\"}" },
  { title: "edge: {{if .a}}{{else}}empty-if{{end}}", template: "{{if .a}}{{else}}empty-if{{end}}", data: "{}" },
  { title: "edge: {{- if true -}}\\n  yes\\n{{- end -}}\\n", template: "{{- if true -}}\n  yes\n{{- end -}}\n" },
  { title: "edge: a{{- \\\"\\\" -}}\\n\\n{{- \\\"\\\" -}}b", template: "a{{- \"\" -}}\n\n{{- \"\" -}}b" },
  { title: "edge: {{- /* x */ -}}", template: "{{- /* x */ -}}" },
  { title: "edge: x {{- /* x */}} y", template: "x {{- /* x */}} y" },
  { title: "edge: {{/* x */ -}} y", template: "{{/* x */ -}} y" },
  { title: "edge: {{/*x*/-}} y", template: "{{/*x*/-}} y" },
  { title: "edge: {{-/* x */}} y", template: "{{-/* x */}} y" },
  { title: "edge: {{ .a }}{{- .b -}}{{ .c }}", template: "{{ .a }}{{- .b -}}{{ .c }}", data: "{\"a\":1,\"b\":2,\"c\":3}" },
  { title: "edge: {{print `a\\r\\nb`}}", template: "{{print `a\r\nb`}}" },
  { title: "edge: {{\\\"\\\\'\\\"}}", template: "{{\"\\'\"}}" },
  { title: "edge: {{'\\\\''}} {{'\\\"'}}", template: "{{'\\''}} {{'\"'}}" },
  { title: "edge: {{'\\\\\\\"'}}", template: "{{'\\\"'}}" },
  { title: "edge: {{''}}", template: "{{''}}" },
  { title: "edge: {{'\\\\400'}}", template: "{{'\\400'}}" },
  { title: "edge: {{\\\"\\\\400\\\"}}", template: "{{\"\\400\"}}" },
  { title: "edge: {{\\\"\\\\ud800\\\"}}", template: "{{\"\\ud800\"}}" },
  { title: "edge: {{'\\\\U00110000'}}", template: "{{'\\U00110000'}}" },
  { title: "edge: {{print \\\"a\\\" | printf \\\"%s%s\\\" \\\"b\\\"}}", template: "{{print \"a\" | printf \"%s%s\" \"b\"}}" },
  { title: "edge: {{slice .a 1 2 3}}", template: "{{slice .a 1 2 3}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .a 1 2 5}}", template: "{{slice .a 1 2 5}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .a 5}}", template: "{{slice .a 5}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .a 4}}", template: "{{slice .a 4}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .a 0 1 2 3}}", template: "{{slice .a 0 1 2 3}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .a -1}}", template: "{{slice .a -1}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .a \\\"1\\\"}}", template: "{{slice .a \"1\"}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{slice .s 1}}", template: "{{slice .s 1}}", data: "{\"s\":\"héllo\"}" },
  { title: "edge: {{slice .n 1}}", template: "{{slice .n 1}}", data: "{\"n\":12345}" },
  { title: "edge: {{slice .m}}", template: "{{slice .m}}", data: "{\"m\":{}}" },
  { title: "edge: {{slice nil}}", template: "{{slice nil}}" },
  { title: "edge: {{index .a}}", template: "{{index .a}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{index nil}}", template: "{{index nil}}" },
  { title: "edge: {{index .a nil}}", template: "{{index .a nil}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{index .a 1.0}}", template: "{{index .a 1.0}}", data: "{\"a\":[1,2,3,4]}" },
  { title: "edge: {{index .m nil}}", template: "{{index .m nil}}", data: "{\"m\":{\"a\":1}}" },
  { title: "edge: {{index .m .k}}", template: "{{index .m .k}}", data: "{\"m\":{\"a\":1},\"k\":\"a\"}" },
  { title: "edge: {{index .a 0 0}}", template: "{{index .a 0 0}}", data: "{\"a\":[null]}" },
  { title: "edge: {{len nil}}", template: "{{len nil}}" },
  { title: "edge: {{not}}", template: "{{not}}" },
  { title: "edge: {{eq}}", template: "{{eq}}" },
  { title: "edge: {{eq 1.5 1.5}} {{eq true true}} {{eq true 1}}", template: "{{eq 1.5 1.5}} {{eq true true}} {{eq true 1}}" },
  { title: "edge: {{eq .a .b}}", template: "{{eq .a .b}}", data: "{\"a\":[1],\"b\":[1]}" },
  { title: "edge: {{eq .a nil}}", template: "{{eq .a nil}}", data: "{\"a\":[1]}" },
  { title: "edge: {{eq .a .b}}", template: "{{eq .a .b}}", data: "{\"a\":null,\"b\":null}" },
  { title: "edge: {{eq .a 1}}", template: "{{eq .a 1}}", data: "{\"a\":null}" },
  { title: "edge: {{eq .m \\\"x\\\"}}", template: "{{eq .m \"x\"}}", data: "{\"m\":{\"a\":1}}" },
  { title: "edge: {{ne .a .a}}", template: "{{ne .a .a}}", data: "{\"a\":{}}" },
  { title: "edge: {{lt \\\"b\\\" \\\"ab\\\"}} {{lt \\\"\\\" \\\"a\\\"}} {{le 1.5 1.5}} {{ge \\\"a\\\" \\\"a\\\"}}", template: "{{lt \"b\" \"ab\"}} {{lt \"\" \"a\"}} {{le 1.5 1.5}} {{ge \"a\" \"a\"}}" },
  { title: "edge: {{lt .a .b}}", template: "{{lt .a .b}}", data: "{\"a\":\"10\",\"b\":9}" },
  { title: "edge: {{lt .a .b}}", template: "{{lt .a .b}}", data: "{\"a\":10,\"b\":9}" },
  { title: "edge: {{call}}", template: "{{call}}" },
  { title: "edge: {{call nil}}", template: "{{call nil}}" },
  { title: "edge: {{call 1}}", template: "{{call 1}}" },
  { title: "edge: {{call .f 1}}", template: "{{call .f 1}}", data: "{\"f\":\"x\"}" },
  { title: "edge: {{template \\\"x\\\" 1 2}}", template: "{{template \"x\" 1 2}}" },
  { title: "edge: {{template .x}}", template: "{{template .x}}" },
  { title: "edge: {{template \\\"a\\\" | print}}", template: "{{template \"a\" | print}}" },
  { title: "edge: {{block \\\"b\\\"}}x{{end}}", template: "{{block \"b\"}}x{{end}}" },
  { title: "edge: {{block \\\"b\\\" .}}x{{else}}y{{end}}", template: "{{block \"b\" .}}x{{else}}y{{end}}" },
  { title: "edge: {{define \\\"a\\\"}}x{{else}}{{end}}", template: "{{define \"a\"}}x{{else}}{{end}}" },
  { title: "edge: {{define \\\"a\\\" 1}}x{{end}}", template: "{{define \"a\" 1}}x{{end}}" },
  { title: "edge: {{define \\\"a\\\"}}x", template: "{{define \"a\"}}x" },
  { title: "edge: {{if 1}}x{{else if}}y{{end}}", template: "{{if 1}}x{{else if}}y{{end}}" },
  { title: "edge: {{if 1}}x{{else 1}}y{{end}}", template: "{{if 1}}x{{else 1}}y{{end}}" },
  { title: "edge: {{range}}{{end}}", template: "{{range}}{{end}}" },
  { title: "edge: {{with}}{{end}}", template: "{{with}}{{end}}" },
  { title: "edge: {{end 1}}", template: "{{end 1}}" },
  { title: "edge: {{range .}}{{break 1}}{{end}}", template: "{{range .}}{{break 1}}{{end}}", data: "[1]" },
  { title: "edge: {{$x, $y := 1}}", template: "{{$x, $y := 1}}" },
  { title: "edge: {{range $x, $y, := .}}{{end}}", template: "{{range $x, $y, := .}}{{end}}" },
  { title: "edge: {{range $x := 1, 2}}{{end}}", template: "{{range $x := 1, 2}}{{end}}" },
  { title: "edge: {{$x := 1 | $y := 2}}", template: "{{$x := 1 | $y := 2}}" },
  { title: "edge: {{print $}}", template: "{{print $}}" },
  { title: "edge: {{$.a}}", template: "{{$.a}}", data: "{\"a\":1}" },
  { title: "edge: {{$x := 1}}{{$x := 2}}{{$x}}", template: "{{$x := 1}}{{$x := 2}}{{$x}}" },
  { title: "edge: {{$x = 1}}", template: "{{$x = 1}}" },
  { title: "edge: {{.a.b.c}}", template: "{{.a.b.c}}", data: "{\"a\":{\"b\":[1]}}" },
  { title: "edge: {{.a.b.c}}", template: "{{.a.b.c}}", data: "{\"a\":{\"b\":true}}" },
  { title: "edge: {{.a.b.c}}", template: "{{.a.b.c}}", data: "{\"a\":{\"b\":1.5}}" },
  { title: "edge: {{.a.b.c}}", template: "{{.a.b.c}}", data: "{\"a\":{}}", missingKey: "zero" },
  { title: "edge: {{.a.b.c}}", template: "{{.a.b.c}}", data: "{\"a\":{}}", missingKey: "error" },
  { title: "edge: {{.}}", template: "{{.}}", missingKey: "error" },
  { title: "edge: {{$.a}}", template: "{{$.a}}", missingKey: "error" },
  { title: "edge: {{print .a}}", template: "{{print .a}}", data: "{}", missingKey: "zero" },
  { title: "edge: {{printf \\\"%T\\\" .a}}", template: "{{printf \"%T\" .a}}", data: "{}", missingKey: "zero" },
  { title: "edge: {{if .a}}y{{else}}n{{end}}", template: "{{if .a}}y{{else}}n{{end}}", data: "{}", missingKey: "error" },
  { title: "edge: {{with .a}}y{{else}}n{{end}}", template: "{{with .a}}y{{else}}n{{end}}", data: "{}", missingKey: "zero" },
  { title: "edge: {{index . \\\"a\\\"}}", template: "{{index . \"a\"}}", data: "{}", missingKey: "error" },
  { title: "edge: {{range .a}}{{.}}{{end}}", template: "{{range .a}}{{.}}{{end}}", data: "{}", missingKey: "zero" },
  { title: "edge: {{len .a}}", template: "{{len .a}}", data: "{}", missingKey: "zero" },
  { title: "edge: {{.a.b}}", template: "{{.a.b}}", data: "{\"a\":null}", missingKey: "error" },
  { title: "edge: {{urlquery \\\"\\\"}}|{{urlquery}}|{{html}}|{{js}}|{{print}}|{{println}}", template: "{{urlquery \"\"}}|{{urlquery}}|{{html}}|{{js}}|{{print}}|{{println}}" },
  { title: "edge: {{html .a .b}}", template: "{{html .a .b}}", data: "{\"a\":\"<\",\"b\":null}" },
  { title: "edge: {{urlquery .a}}", template: "{{urlquery .a}}", data: "{\"a\":[\"x y\",1]}" },
  { title: "edge: {{print .a}}", template: "{{print .a}}", data: "{\"a\":[\"x y\",1,null,[]]}" },
  { title: "edge: {{println}}{{println nil nil}}", template: "{{println}}{{println nil nil}}" },
  { title: "edge: {{print nil 1 nil \\\"a\\\" nil}}", template: "{{print nil 1 nil \"a\" nil}}" },
  { title: "edge: {{.}}", template: "{{.}}", data: "\"just a string\"" },
  { title: "edge: {{.}}", template: "{{.}}", data: "[1,2]" },
  { title: "edge: {{.}}", template: "{{.}}", data: "true" },
  { title: "edge: {{.}}", template: "{{.}}", data: "1e400" },
  { title: "edge: {{printf \\\"%v|%d\\\" . .}}", template: "{{printf \"%v|%d\" . .}}", data: "-0" },
  { title: "edge: a\\r\\n{{- .x -}}\\r\\nb", template: "a\r\n{{- .x -}}\r\nb", data: "{\"x\":1}" },
  { title: "edge: {{\\n.x\\n}}", template: "{{\n.x\n}}", data: "{\"x\":1}" },
  { title: "edge: {{ .x\\n| printf\\n\\\"%v\\\" }}", template: "{{ .x\n| printf\n\"%v\" }}", data: "{\"x\":1}" },
  { title: "edge: line1\\nline2 {{\\n  .a.b\\n}}", template: "line1\nline2 {{\n  .a.b\n}}", data: "{\"a\":\"s\"}" },
  { title: "edge: l1\\n{{define \\\"d\\\"}}\\nl3 {{.x.y}}{{end}}\\n{{template \\\"d\\\" .}}", template: "l1\n{{define \"d\"}}\nl3 {{.x.y}}{{end}}\n{{template \"d\" .}}", data: "{\"x\":1}" },
  { title: "edge: {{define \\\"d\\\"}}{{template \\\"e\\\" .}}{{end}}{{define \\\"e\\\"}}{{.q.r}}{{end}}{{templ...", template: "{{define \"d\"}}{{template \"e\" .}}{{end}}{{define \"e\"}}{{.q.r}}{{end}}{{template \"d\" .}}", data: "{\"q\":5}" },
  { title: "edge: {{template \\\"d\\\"}}{{define \\\"d\\\"}}{{.}}{{end}}", template: "{{template \"d\"}}{{define \"d\"}}{{.}}{{end}}" },
  { title: "edge: {{range $i, $v := .}}{{if $i}}, {{end}}{{$v}}{{end}}", template: "{{range $i, $v := .}}{{if $i}}, {{end}}{{$v}}{{end}}", data: "[\"a\",\"b\",\"c\"]" },
  { title: "edge: {{range .}}{{range .}}{{.}}{{break}}{{end}};{{end}}", template: "{{range .}}{{range .}}{{.}}{{break}}{{end}};{{end}}", data: "[[1,2],[3,4]]" },
  { title: "edge: {{range .}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{else}}none{{end}}", template: "{{range .}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{else}}none{{end}}", data: "[1,2,3]" },
  { title: "edge: {{range $i, $v := .}}{{$i}}{{end}} {{$i := 5}}{{$i}}", template: "{{range $i, $v := .}}{{$i}}{{end}} {{$i := 5}}{{$i}}", data: "[1,2]" },
  { title: "edge: {{range .a}}{{$.b}}{{end}}", template: "{{range .a}}{{$.b}}{{end}}", data: "{\"a\":[1,2],\"b\":\"B\"}" },
  { title: "edge: {{with .a}}{{$.b}}{{.c}}{{end}}", template: "{{with .a}}{{$.b}}{{.c}}{{end}}", data: "{\"a\":{\"c\":\"C\"},\"b\":\"B\"}" },
  { title: "edge: {{range $k, $v := .}}{{$k}}:{{range $v}}{{.}}{{end}};{{end}}", template: "{{range $k, $v := .}}{{$k}}:{{range $v}}{{.}}{{end}};{{end}}", data: "{\"x\":[1,2],\"y\":[]}" },
  { title: "edge: {{if and .a .b}}both{{else if or .a .b}}one{{else}}none{{end}}", template: "{{if and .a .b}}both{{else if or .a .b}}one{{else}}none{{end}}", data: "{\"a\":1,\"b\":0}" },
  { title: "edge: {{if not (eq .a \\\"x\\\")}}ne{{end}}", template: "{{if not (eq .a \"x\")}}ne{{end}}", data: "{\"a\":\"y\"}" },
  { title: "edge: {{if (eq .a \\\"x\\\") | not}}ne{{end}}", template: "{{if (eq .a \"x\") | not}}ne{{end}}", data: "{\"a\":\"y\"}" },
  { title: "edge: {{.a | len | printf \\\"%03d\\\"}}", template: "{{.a | len | printf \"%03d\"}}", data: "{\"a\":[1,2]}" },
  { title: "edge: {{printf \\\"%s=%s\\\" \\\"k\\\" \\\"v\\\" | printf \\\"[%s]\\\"}}", template: "{{printf \"%s=%s\" \"k\" \"v\" | printf \"[%s]\"}}" },
  { title: "edge: {{with $v := index . \\\"key\\\"}}{{$v}}{{end}}", template: "{{with $v := index . \"key\"}}{{$v}}{{end}}", data: "{\"key\":\"val\"}" },
  { title: "edge: {{- range $k, $v := . }}\\n{{ $k }}: {{ $v }}\\n{{- end }}", template: "{{- range $k, $v := . }}\n{{ $k }}: {{ $v }}\n{{- end }}", data: "{\"b\":2,\"a\":1}" },
  { title: "edge: {{ range . -}}\\n  - {{ . }}\\n{{ end -}}", template: "{{ range . -}}\n  - {{ . }}\n{{ end -}}", data: "[\"x\",\"y\"]" },
  { title: "edge: {{.a}}", template: "{{.a}}", data: "{\"a\":\"line\\nbreak\"}" },
  { title: "edge: {{.a}}", template: "{{.a}}", data: "{\"a\":\"\\u0000nul\"}" },
  { title: "edge: {{printf \\\"%q\\\" .a}}", template: "{{printf \"%q\" .a}}", data: "{\"a\":\"\\u0000\\u001f\\u007f\\u0085\\u200b\\ufeff😀\"}" },
  { title: "edge: {{printf \\\"%+q\\\" .a}}", template: "{{printf \"%+q\" .a}}", data: "{\"a\":\"é😀\\u2028\"}" },
  { title: "edge: {{printf \\\"%x\\\" .a}}", template: "{{printf \"%x\" .a}}", data: "{\"a\":\"😀\"}" },
  { title: "edge: {{printf \\\"%U %#U\\\" 128512 0}}", template: "{{printf \"%U %#U\" 128512 0}}" },
  { title: "edge: {{printf \\\"%c\\\" 55296}} {{printf \\\"%q\\\" 55296}} {{printf \\\"%U\\\" 55296}}", template: "{{printf \"%c\" 55296}} {{printf \"%q\" 55296}} {{printf \"%U\" 55296}}" },
  { title: "edge: {{printf \\\"%q\\\" 1114112}}", template: "{{printf \"%q\" 1114112}}" },
  { title: "edge: {{printf \\\"%10.4v|%-10.3q|\\\" \\\"abcdefgh\\\" \\\"abcdefgh\\\"}}", template: "{{printf \"%10.4v|%-10.3q|\" \"abcdefgh\" \"abcdefgh\"}}" },
  { title: "edge: {{printf \\\"%v\\\" .}}", template: "{{printf \"%v\" .}}", data: "{\"a\":{\"b\":{\"c\":[{\"d\":null}]}}}" },
  { title: "edge: {{printf \\\"%+v %#v\\\" .a .a}}", template: "{{printf \"%+v %#v\" .a .a}}", data: "{\"a\":[null,\"\"]}" },
  { title: "edge: {{printf \\\"%05v\\\" .a}}", template: "{{printf \"%05v\" .a}}", data: "{\"a\":[1,\"x\"]}" },
  { title: "edge: {{printf \\\"%-5d|\\\" .a}}", template: "{{printf \"%-5d|\" .a}}", data: "{\"a\":[1,22]}" },
  { title: "edge: {{printf \\\"%[1]v %[1]T %v\\\" 5}}", template: "{{printf \"%[1]v %[1]T %v\" 5}}" },
  { title: "edge: {{printf \\\"%[0]v\\\" 5}}", template: "{{printf \"%[0]v\" 5}}" },
  { title: "edge: {{printf \\\"%[x]v\\\" 5}}", template: "{{printf \"%[x]v\" 5}}" },
  { title: "edge: {{printf \\\"%[2]v\\\" 5}}", template: "{{printf \"%[2]v\" 5}}" },
  { title: "edge: {{printf \\\"%[1]*v\\\" 5}}", template: "{{printf \"%[1]*v\" 5}}" },
  { title: "edge: {{printf \\\"%.[1]*v\\\" 5}}", template: "{{printf \"%.[1]*v\" 5}}" },
  { title: "edge: {{printf \\\"%[1]2d\\\" 5}}", template: "{{printf \"%[1]2d\" 5}}" },
  { title: "edge: {{printf \\\"%.*d\\\" -1 5}}", template: "{{printf \"%.*d\" -1 5}}" },
  { title: "edge: {{printf \\\"%*d\\\" -5 5}}|", template: "{{printf \"%*d\" -5 5}}|" },
  { title: "edge: {{printf \\\"%*d\\\" 10000000 5}}|", template: "{{printf \"%*d\" 10000000 5}}|" },
  { title: "edge: {{printf \\\"%.f|%.e|%.g\\\" 3.7 3.7 3.7}}", template: "{{printf \"%.f|%.e|%.g\" 3.7 3.7 3.7}}" },
  { title: "edge: {{printf \\\"%!\\\"}} {{printf \\\"%é\\\" 1}}", template: "{{printf \"%!\"}} {{printf \"%é\" 1}}" },
  { title: "edge: {{printf \\\"%v %v\\\"}}", template: "{{printf \"%v %v\"}}" },
  { title: "edge: {{printf \\\"%d %s\\\" \\\"a\\\" 1}}", template: "{{printf \"%d %s\" \"a\" 1}}" },
  { title: "edge: {{printf \\\"\\\" 1}}", template: "{{printf \"\" 1}}" },
  { title: "edge: {{printf \\\"%v\\\" nil}} {{printf \\\"%d\\\" nil}} {{printf \\\"%T\\\" nil}}", template: "{{printf \"%v\" nil}} {{printf \"%d\" nil}} {{printf \"%T\" nil}}" },
  { title: "edge: {{printf \\\"%s\\\" .a}}", template: "{{printf \"%s\" .a}}", data: "{\"a\":null}" },
  { title: "edge: {{printf \\\"%d\\\" .a}}", template: "{{printf \"%d\" .a}}", data: "{\"a\":null}" },
  { title: "edge: {{printf \\\"%5v|%-5v|\\\" .a .a}}", template: "{{printf \"%5v|%-5v|\" .a .a}}", data: "{\"a\":null}" },
  { title: "edge: {{printf \\\"%v\\\" .a}}", template: "{{printf \"%v\" .a}}", data: "{\"a\":{\"x\":null}}" },
  { title: "edge: {{printf \\\"%d\\\" .a}}", template: "{{printf \"%d\" .a}}", data: "{\"a\":{\"x\":null}}" },
  { title: "edge: {{printf \\\"%s\\\" .a}}", template: "{{printf \"%s\" .a}}", data: "{\"a\":[true,false]}" },
  { title: "edge: {{printf \\\"%t\\\" .a}}", template: "{{printf \"%t\" .a}}", data: "{\"a\":[true,\"x\"]}" },
  { title: "edge: {{printf \\\"%.1f\\\" .a}}", template: "{{printf \"%.1f\" .a}}", data: "{\"a\":[1.25,\"x\"]}" },
  { title: "edge: {{printf \\\"%v %s %d\\\" .a .a .a}}", template: "{{printf \"%v %s %d\" .a .a .a}}", data: "{\"a\":1.25}" },
  { title: "edge: {{printf \\\"%x\\\" .a}}", template: "{{printf \"%x\" .a}}", data: "{\"a\":255}" },
  { title: "edge: {{printf \\\"%#v %+v\\\" .a .a}}", template: "{{printf \"%#v %+v\" .a .a}}", data: "{\"a\":255}" },
  { title: "edge: {{printf \\\"%g\\\" 100000.0}} {{printf \\\"%g\\\" 1000000.0}} {{printf \\\"%G\\\" 1e-7}}", template: "{{printf \"%g\" 100000.0}} {{printf \"%g\" 1000000.0}} {{printf \"%G\" 1e-7}}" },
  { title: "edge: {{printf \\\"%#g %#.3g %#e %#f %#.0f %#.0e\\\" 1.0 1.0 1.0 1.0 1.0 1.0}}", template: "{{printf \"%#g %#.3g %#e %#f %#.0f %#.0e\" 1.0 1.0 1.0 1.0 1.0 1.0}}" },
  { title: "edge: {{printf \\\"%#x %#X %#.2x\\\" 1.0 2.5 3.14159}}", template: "{{printf \"%#x %#X %#.2x\" 1.0 2.5 3.14159}}" },
  { title: "edge: {{printf \\\"%.3x %.0x %.1X\\\" 1.0 1.5 -3.75}}", template: "{{printf \"%.3x %.0x %.1X\" 1.0 1.5 -3.75}}" },
  { title: "edge: {{printf \\\"%b\\\" 0.0}} {{printf \\\"%x\\\" 0.0}} {{printf \\\"%b\\\" 5}}", template: "{{printf \"%b\" 0.0}} {{printf \"%x\" 0.0}} {{printf \"%b\" 5}}" },
  { title: "edge: {{printf \\\"%e %f %g\\\" -0.0 -0.0 -0.0}}", template: "{{printf \"%e %f %g\" -0.0 -0.0 -0.0}}" },
  { title: "edge: {{printf \\\"%+d %+d % d % d\\\" 5 -5 5 -5}}", template: "{{printf \"%+d %+d % d % d\" 5 -5 5 -5}}" },
  { title: "edge: {{printf \\\"%+s %+v\\\" \\\"x\\\" \\\"y\\\"}}", template: "{{printf \"%+s %+v\" \"x\" \"y\"}}" },
  { title: "edge: {{printf \\\"% x\\\" \\\"\\\"}}|{{printf \\\"%5x\\\" \\\"\\\"}}|", template: "{{printf \"% x\" \"\"}}|{{printf \"%5x\" \"\"}}|" },
  { title: "edge: {{printf \\\"%-#10x|%#-10q|\\\" \\\"ab\\\" \\\"ab\\\"}}", template: "{{printf \"%-#10x|%#-10q|\" \"ab\" \"ab\"}}" },
  { title: "edge: {{printf \\\"%010.3f|%-010.3f|%+010.3f\\\" -3.14159 3.14159 3.14159}}", template: "{{printf \"%010.3f|%-010.3f|%+010.3f\" -3.14159 3.14159 3.14159}}" },
  { title: "edge: {{printf \\\"%06s|%-06s|\\\" \\\"héllo\\\" \\\"héllo\\\"}}", template: "{{printf \"%06s|%-06s|\" \"héllo\" \"héllo\"}}" },
  { title: "edge: {{printf \\\"%.3d|%08.3d|%-8.3d|\\\" 5 5 5}}", template: "{{printf \"%.3d|%08.3d|%-8.3d|\" 5 5 5}}" },
  { title: "edge: {{printf \\\"%#o %#o %O\\\" 0 8 0}}", template: "{{printf \"%#o %#o %O\" 0 8 0}}" },
  { title: "edge: {{printf \\\"%o %b\\\" -8 -5}}", template: "{{printf \"%o %b\" -8 -5}}" },
  { title: "edge: {{printf \\\"%c%c%c\\\" 'h' 'é' '😀'}}", template: "{{printf \"%c%c%c\" 'h' 'é' '😀'}}" },
  { title: "edge: {{printf \\\"%v\\\" 'a'}} {{printf \\\"%q\\\" 'a'}} {{printf \\\"%T\\\" 'a'}}", template: "{{printf \"%v\" 'a'}} {{printf \"%q\" 'a'}} {{printf \"%T\" 'a'}}" },
  { title: "edge: {{print 'a' \\\"b\\\" 'c'}}", template: "{{print 'a' \"b\" 'c'}}" },
  { title: "edge: {{print 1 2}} {{print \\\"1\\\" 2}} {{print 1 \\\"2\\\"}} {{print true false}}", template: "{{print 1 2}} {{print \"1\" 2}} {{print 1 \"2\"}} {{print true false}}" },
  { title: "edge: {{print .a .b}}", template: "{{print .a .b}}", data: "{\"a\":1,\"b\":2}" },
  { title: "edge: {{print .a .b .c}}", template: "{{print .a .b .c}}", data: "{\"a\":[1],\"b\":{},\"c\":null}" },
  { title: "edge: {{println .a .b .c}}", template: "{{println .a .b .c}}", data: "{\"a\":[1],\"b\":{},\"c\":null}" },
  { title: "edge: {{js .a}} {{js 1 2}} {{js \\\"\\\\u0085\\\\u2028\\\\ud7ff\\\"}}", template: "{{js .a}} {{js 1 2}} {{js \"\\u0085\\u2028\\ud7ff\"}}", data: "{\"a\":\"it's <b>\"}" },
  { title: "edge: {{urlquery .a}}", template: "{{urlquery .a}}", data: "{\"a\":\"~-_.!*'()\"}" },
  { title: "edge: {{html \\\"é&\\\" 1 nil}}", template: "{{html \"é&\" 1 nil}}" },
  { title: "edge: {{. | html}}", template: "{{. | html}}", data: "[\"<\",1]" },
  { title: "edge: {{eq .a .b}}", template: "{{eq .a .b}}", data: "{\"a\":1,\"b\":1.0}" },
  { title: "edge: {{eq 1 1.0}}", template: "{{eq 1 1.0}}" },
  { title: "edge: {{eq .a 1.5}}", template: "{{eq .a 1.5}}", data: "{\"a\":1.5}" },
  { title: "edge: {{lt 2 10}} {{lt \\\"2\\\" \\\"10\\\"}} {{lt .a .b}}", template: "{{lt 2 10}} {{lt \"2\" \"10\"}} {{lt .a .b}}", data: "{\"a\":\"2\",\"b\":\"10\"}" },
  { title: "edge: {{len .}}", template: "{{len .}}", data: "\"日本\"" },
  { title: "edge: {{index \\\"日本\\\" 0}}", template: "{{index \"日本\" 0}}" },
  { title: "edge: {{slice \\\"日本\\\" 0 1}}", template: "{{slice \"日本\" 0 1}}" },
  { title: "edge: {{slice \\\"abc\\\" 0 3}} {{slice \\\"abc\\\" 3}} {{slice \\\"abc\\\" 3 3}}", template: "{{slice \"abc\" 0 3}} {{slice \"abc\" 3}} {{slice \"abc\" 3 3}}" },
  { title: "edge: {{slice \\\"abc\\\" 4}}", template: "{{slice \"abc\" 4}}" },
  { title: "edge: {{index \\\"abc\\\" 3}}", template: "{{index \"abc\" 3}}" },
  { title: "edge: {{index \\\"abc\\\" 4}}", template: "{{index \"abc\" 4}}" },
  { title: "edge: {{index .a 2}}", template: "{{index .a 2}}", data: "{\"a\":[1,2]}" },
  { title: "edge: {{index .a -1}}", template: "{{index .a -1}}", data: "{\"a\":[1,2]}" },
  { title: "edge: {{index .a \\\"x\\\"}}", template: "{{index .a \"x\"}}", data: "{\"a\":[1,2]}" },
  { title: "edge: {{index .a 1 2}}", template: "{{index .a 1 2}}", data: "{\"a\":[1,2]}" },
  { title: "edge: {{index .a \\\"k\\\" \\\"x\\\"}}", template: "{{index .a \"k\" \"x\"}}", data: "{\"a\":{\"k\":null}}" },
  { title: "edge: {{index .a \\\"k\\\" \\\"x\\\"}}", template: "{{index .a \"k\" \"x\"}}", data: "{\"a\":{}}" },
  { title: "edge: {{.a.k.x}}", template: "{{.a.k.x}}", data: "{\"a\":{\"k\":null}}" },
  { title: "edge: {{with index .a \\\"k\\\"}}y{{else}}n{{end}}", template: "{{with index .a \"k\"}}y{{else}}n{{end}}", data: "{\"a\":{}}" },
  { title: "edge: {{range index .a \\\"k\\\"}}y{{else}}n{{end}}", template: "{{range index .a \"k\"}}y{{else}}n{{end}}", data: "{\"a\":{}}" },
  { title: "edge: {{template \\\"x\\\" .}}", template: "{{template \"x\" .}}", data: "{}", name: "x" },
  { title: "edge: {{define \\\"t\\\"}}inner{{end}}outer", template: "{{define \"t\"}}inner{{end}}outer", name: "t" },
  { title: "edge: outer{{define \\\"t\\\"}}inner{{end}}", template: "outer{{define \"t\"}}inner{{end}}", name: "t" },
  { title: "edge: {{block \\\"t\\\" .}}blk{{end}}", template: "{{block \"t\" .}}blk{{end}}", name: "t" },
  { title: "edge: {{define \\\"a\\\"}}{{.}}{{end}}{{template \\\"a\\\" (print \\\"x\\\" 1)}}", template: "{{define \"a\"}}{{.}}{{end}}{{template \"a\" (print \"x\" 1)}}" },
  { title: "edge: {{define \\\"r\\\"}}{{if .}}{{len .}}{{template \\\"r\\\" (slice . 1)}}{{end}}{{end}}{{te...", template: "{{define \"r\"}}{{if .}}{{len .}}{{template \"r\" (slice . 1)}}{{end}}{{end}}{{template \"r\" .}}", data: "[1,2,3]" },
  { title: "edge: {{$x := 3}}{{define \\\"a\\\"}}{{$x}}{{end}}", template: "{{$x := 3}}{{define \"a\"}}{{$x}}{{end}}" },
  { title: "edge: {{template \\\"a\\\"}}{{define \\\"a\\\"}}{{template \\\"b\\\"}}{{end}}", template: "{{template \"a\"}}{{define \"a\"}}{{template \"b\"}}{{end}}" },
  { title: "edge: {{.é}} {{.日本}}", template: "{{.é}} {{.日本}}", data: "{\"é\":1,\"日本\":2}" },
  { title: "edge: {{.a-b}}", template: "{{.a-b}}", data: "{\"a-b\":1}" },
  { title: "edge: {{.a.0}}", template: "{{.a.0}}", data: "{\"a\":[1]}" },
  { title: "edge: {{.a._x}}", template: "{{.a._x}}", data: "{\"a\":{\"_x\":1}}" },
  { title: "edge: {{.1a}}", template: "{{.1a}}", data: "{}" },
  { title: "edge: {{$é := 1}}{{$é}}", template: "{{$é := 1}}{{$é}}" },
  { title: "edge: {{$1 := 1}}{{$1}}", template: "{{$1 := 1}}{{$1}}" },
  { title: "edge: {{$x:=1}}{{$x}}", template: "{{$x:=1}}{{$x}}" },
  { title: "edge: {{$x:= 1}}{{$x}}", template: "{{$x:= 1}}{{$x}}" },
  { title: "edge: {{$x =1}}", template: "{{$x =1}}" },
  { title: "edge: {{$x := 1}}{{$x=2}}{{$x}}", template: "{{$x := 1}}{{$x=2}}{{$x}}" },
  { title: "edge: {{print $x}}{{$x := 1}}", template: "{{print $x}}{{$x := 1}}" },
  { title: "edge: {{ $x }}", template: "{{ $x }}" },
  { title: "edge: {{.a|printf \\\"%v\\\"}}", template: "{{.a|printf \"%v\"}}", data: "{\"a\":1}" },
  { title: "edge: {{.a|.b}}", template: "{{.a|.b}}", data: "{\"a\":1}" },
  { title: "edge: {{ | .a}}", template: "{{ | .a}}" },
  { title: "edge: {{.a | }}", template: "{{.a | }}" },
  { title: "edge: {{.a ||.b}}", template: "{{.a ||.b}}" },
  { title: "edge: {{(.a}}", template: "{{(.a}}" },
  { title: "edge: {{.a)}}", template: "{{.a)}}" },
  { title: "edge: {{()}}", template: "{{()}}" },
  { title: "edge: {{(  )}}", template: "{{(  )}}" },
  { title: "edge: {{((1))}}", template: "{{((1))}}" },
  { title: "edge: {{print (1) (2)}}", template: "{{print (1) (2)}}" },
  { title: "edge: {{print(1)}}", template: "{{print(1)}}" },
  { title: "edge: {{print\\\"a\\\"}}", template: "{{print\"a\"}}" },
  { title: "edge: {{.a\\\"b\\\"}}", template: "{{.a\"b\"}}", data: "{}" },
  { title: "edge: {{1 2}}", template: "{{1 2}}" },
  { title: "edge: {{\\\"a\\\" \\\"b\\\"}}", template: "{{\"a\" \"b\"}}" },
  { title: "edge: {{.a 1}}", template: "{{.a 1}}", data: "{\"a\":1}" },
  { title: "edge: {{true 1}}", template: "{{true 1}}" },
  { title: "edge: {{nil 1}}", template: "{{nil 1}}" },
  { title: "edge: {{$ 1}}", template: "{{$ 1}}" },
  { title: "edge: {{.}} {{. }}", template: "{{.}} {{. }}", data: "1" },
  { title: "edge: {{..}}", template: "{{..}}" },
  { title: "edge: {{.a..b}}", template: "{{.a..b}}" },
  { title: "edge: {{.a.}}", template: "{{.a.}}" },
  { title: "edge: {{$.}}", template: "{{$.}}" },
  { title: "edge: {{$x.}}", template: "{{$x.}}" },
  { title: "edge: {{@}}", template: "{{@}}" },
  { title: "edge: {{#}}", template: "{{#}}" },
  { title: "edge: {{,}}", template: "{{,}}" },
  { title: "edge: {{a,}}", template: "{{a,}}" },
  { title: "edge: {{;}}", template: "{{;}}" },
  { title: "edge: {{\\t}}", template: "{{\t}}" },
  { title: "edge: {{ - 3}}", template: "{{ - 3}}" },
  { title: "edge: {{3 -}}", template: "{{3 -}}" },
  { title: "edge: {{3 -}} x", template: "{{3 -}} x" },
  { title: "edge: x {{- 3}}", template: "x {{- 3}}" },
  { title: "edge: {{- 3 -}}", template: "{{- 3 -}}" },
  { title: "edge: {{-}}", template: "{{-}}" },
  { title: "edge: {{- -}}", template: "{{- -}}" },
  { title: "edge: {{ -}}", template: "{{ -}}" },
  { title: "edge: {{1-}}", template: "{{1-}}" },
  { title: "edge: {{-1}}", template: "{{-1}}" },
  { title: "edge: {{+1}}{{+1.5}}{{-.5}}", template: "{{+1}}{{+1.5}}{{-.5}}" },
  { title: "edge: {{1..2}}", template: "{{1..2}}" },
  { title: "edge: {{0x1.}}", template: "{{0x1.}}" },
  { title: "edge: {{0b2}}", template: "{{0b2}}" },
  { title: "edge: {{0o8}}", template: "{{0o8}}" },
  { title: "edge: {{08}}", template: "{{08}}" },
  { title: "edge: {{08.5}}", template: "{{08.5}}" },
  { title: "edge: {{1e+}}", template: "{{1e+}}" },
  { title: "edge: {{1_}}", template: "{{1_}}" },
  { title: "edge: {{_1}}", template: "{{_1}}" },
  { title: "edge: {{0_x1}}", template: "{{0_x1}}" },
  { title: "edge: {{0x_}}", template: "{{0x_}}" },
  { title: "edge: {{0xg}}", template: "{{0xg}}" },
  { title: "edge: {{.5e2}}{{5.e-1}}", template: "{{.5e2}}{{5.e-1}}" },
  { title: "edge: {{1E3}} {{1e0}} {{0e0}}", template: "{{1E3}} {{1e0}} {{0e0}}" },
  { title: "edge: {{0.1e400}}", template: "{{0.1e400}}" },
  { title: "edge: {{1e-400}}", template: "{{1e-400}}" },
  { title: "edge: {{0x10p-2}} {{0x.8p1}}", template: "{{0x10p-2}} {{0x.8p1}}" },
  { title: "edge: {{0x1P+2}}", template: "{{0x1P+2}}" },
  { title: "edge: {{0b11_01}} {{0O7_7}}", template: "{{0b11_01}} {{0O7_7}}" },
  { title: "edge: {{18446744073709551615}}", template: "{{18446744073709551615}}" },
  { title: "edge: {{-9223372036854775809}}", template: "{{-9223372036854775809}}" },
  { title: "edge: {{'\\\\x41'}}{{'\\\\101'}}{{'\\\\u0041'}}", template: "{{'\\x41'}}{{'\\101'}}{{'\\u0041'}}" },
  { title: "edge: {{'ab}}", template: "{{'ab}}" },
  { title: "edge: {{'\\n'}}", template: "{{'\n'}}" },
  { title: "edge: {{\\\"a\\nb\\\"}}", template: "{{\"a\nb\"}}" },
  { title: "edge: {{`a\\nb`}}", template: "{{`a\nb`}}" },
  { title: "edge: {{/**/}}", template: "{{/**/}}" },
  { title: "edge: {{/* */ }}", template: "{{/* */ }}" },
  { title: "edge: {{/* */-}}", template: "{{/* */-}}" },
  { title: "edge: {{- /* */}}x", template: "{{- /* */}}x" },
  { title: "edge: {{-/* */}}x", template: "{{-/* */}}x" },
  { title: "edge: a{{/* {{ nested }} */}}b", template: "a{{/* {{ nested }} */}}b" },
  { title: "edge: {{/* a */}}{{/* b */}}c", template: "{{/* a */}}{{/* b */}}c" },
  { title: "edge: {{/* a", template: "{{/* a" },
  { title: "edge: {{/*/}}", template: "{{/*/}}" },
  { title: "edge: {{/* */ /* */}}", template: "{{/* */ /* */}}" },
  { title: "edge: x}}y{{", template: "x}}y{{" },
  { title: "edge: x}}y", template: "x}}y" },
  { title: "edge: {{{", template: "{{{" },
  { title: "edge: {{{1}}}", template: "{{{1}}}" },
  { title: "edge: }}{{1}}", template: "}}{{1}}" },
  { title: "edge: {{\\\"}}\\\"}}", template: "{{\"}}\"}}" },
  { title: "edge: {{`}}`}}", template: "{{`}}`}}" },
  { title: "edge: {{ \\\"{{\\\" }}", template: "{{ \"{{\" }}" },
  { title: "edge: <<.a>>", template: "<<.a>>", data: "{\"a\":1}", leftDelim: "<<", rightDelim: ">>" },
  { title: "edge: <<.a >> {{.a}}", template: "<<.a >> {{.a}}", data: "{\"a\":1}", leftDelim: "<<", rightDelim: ">>" },
  { title: "edge: <<- .a ->> x", template: "<<- .a ->> x", data: "{\"a\":1}", leftDelim: "<<", rightDelim: ">>" },
  { title: "edge: <</* c */>>x", template: "<</* c */>>x", leftDelim: "<<", rightDelim: ">>" },
  { title: "edge: [[.a]] [[ .a ]]", template: "[[.a]] [[ .a ]]", data: "{\"a\":1}", leftDelim: "[[", rightDelim: "]]" },
  { title: "edge: ((.a))", template: "((.a))", data: "{\"a\":1}", leftDelim: "((", rightDelim: "))" },
  { title: "edge: ((print (.a)))", template: "((print (.a)))", data: "{\"a\":1}", leftDelim: "((", rightDelim: "))" },
  { title: "edge: $.a$", template: "$.a$", data: "{\"a\":1}", leftDelim: "$", rightDelim: "$" },
  { title: "edge: {.a}", template: "{.a}", data: "{\"a\":1}", leftDelim: "{", rightDelim: "}" },
  { title: "edge: {{.a}}", template: "{{.a}}", data: "{\"a\":1}", leftDelim: "{{", rightDelim: "}}" },
  { title: "edge: %{.a}%", template: "%{.a}%", data: "{\"a\":1}", leftDelim: "%{", rightDelim: "}%" },
  { title: "edge: <%.a%>", template: "<%.a%>", data: "{\"a\":1}", leftDelim: "<%", rightDelim: "%>" },
  { title: "edge: «- .a -»", template: "«- .a -»", data: "{\"a\":1}", leftDelim: "«", rightDelim: "»" },
  { title: "edge: {{if 1}}\\n{{else}}\\n{{end}}", template: "{{if 1}}\n{{else}}\n{{end}}" },
  { title: "edge: {{if 1}}a{{ else }}b{{ end }}", template: "{{if 1}}a{{ else }}b{{ end }}" },
  { title: "edge: {{if 1}}a{{else  if 0}}b{{end}}", template: "{{if 1}}a{{else  if 0}}b{{end}}" },
  { title: "edge: {{if 1}}a{{else\\nif 0}}b{{end}}", template: "{{if 1}}a{{else\nif 0}}b{{end}}" },
  { title: "edge: {{with 1}}a{{else if 0}}b{{end}}", template: "{{with 1}}a{{else if 0}}b{{end}}" },
  { title: "edge: {{if 1}}a{{else with 0}}b{{end}}", template: "{{if 1}}a{{else with 0}}b{{end}}" },
  { title: "edge: {{range 1}}a{{else if 0}}b{{end}}", template: "{{range 1}}a{{else if 0}}b{{end}}" },
  { title: "edge: {{if 1}}a{{else}}b{{else if 1}}c{{end}}", template: "{{if 1}}a{{else}}b{{else if 1}}c{{end}}" },
  { title: "edge: {{if 1}}{{define \\\"x\\\"}}{{end}}{{end}}", template: "{{if 1}}{{define \"x\"}}{{end}}{{end}}" },
  { title: "edge: {{if 1}}x", template: "{{if 1}}x" },
  { title: "edge: {{range .}}x", template: "{{range .}}x", data: "[]" },
  { title: "edge: {{range .}}{{end}}{{end}}", template: "{{range .}}{{end}}{{end}}", data: "[]" },
  { title: "edge: {{block \\\"a\\\" .}}", template: "{{block \"a\" .}}" },
  { title: "edge: {{template}}", template: "{{template}}" },
  { title: "edge: {{template \\\"a\\\" \\\"b\\\" \\\"c\\\"}}", template: "{{template \"a\" \"b\" \"c\"}}" },
  { title: "edge: {{template `a`}}{{define `a`}}raw{{end}}", template: "{{template `a`}}{{define `a`}}raw{{end}}" },
  { title: "edge: {{template \\\"a\\\\x41\\\"}}{{define \\\"a\\\\x41\\\"}}esc{{end}}", template: "{{template \"a\\x41\"}}{{define \"a\\x41\"}}esc{{end}}" },
  { title: "edge: {{define \\\"\\\"}}empty name{{end}}{{template \\\"\\\"}}", template: "{{define \"\"}}empty name{{end}}{{template \"\"}}" },
  { title: "edge: {{define \\\"t\\\"}}{{end}}", template: "{{define \"t\"}}{{end}}", name: "t" },
  { title: "edge: {{define \\\"t\\\"}}x{{end}}", template: "{{define \"t\"}}x{{end}}", name: "t" },
  { title: "edge: x{{define \\\"t\\\"}}y{{end}}", template: "x{{define \"t\"}}y{{end}}", name: "t" },
  { title: "edge: {{break}}{{range .}}{{end}}", template: "{{break}}{{range .}}{{end}}" },
  { title: "edge: {{range .}}{{define \\\"x\\\"}}{{break}}{{end}}{{end}}", template: "{{range .}}{{define \"x\"}}{{break}}{{end}}{{end}}" },
  { title: "edge: {{range .}}{{with 1}}{{break}}{{end}}{{.}}{{end}}", template: "{{range .}}{{with 1}}{{break}}{{end}}{{.}}{{end}}", data: "[1,2]" },
  { title: "edge: {{range .}}{{else}}{{break}}{{end}}", template: "{{range .}}{{else}}{{break}}{{end}}", data: "[]" },
  { title: "edge: {{range .}}{{continue}}x{{end}}done", template: "{{range .}}{{continue}}x{{end}}done", data: "[1,2]" },
  { title: "edge: {{range $i := .}}{{$i}}{{end}}", template: "{{range $i := .}}{{$i}}{{end}}", data: "{\"a\":\"x\"}" },
  { title: "edge: {{range $i, $v := .}}{{$i}}{{$v}}{{end}}", template: "{{range $i, $v := .}}{{$i}}{{$v}}{{end}}", data: "{\"a\":\"x\"}" },
  { title: "edge: {{range $i, $v := .}}{{end}}{{$i}}", template: "{{range $i, $v := .}}{{end}}{{$i}}", data: "{}" },
  { title: "edge: {{range $v := .}}{{$v := 2}}{{$v}}{{end}}", template: "{{range $v := .}}{{$v := 2}}{{$v}}{{end}}", data: "[1]" },
  { title: "edge: {{$v := 0}}{{range $v = .}}{{$v}}{{end}}{{$v}}", template: "{{$v := 0}}{{range $v = .}}{{$v}}{{end}}{{$v}}", data: "[1,2]" },
  { title: "edge: {{$i := 0}}{{range $i, $v := .}}{{end}}{{$i}}", template: "{{$i := 0}}{{range $i, $v := .}}{{end}}{{$i}}", data: "[1,2]" },
  { title: "edge: {{range .a}}{{.}}{{end}}", template: "{{range .a}}{{.}}{{end}}", data: "{\"a\":\"str\"}" },
  { title: "edge: {{range .a}}{{.}}{{end}}", template: "{{range .a}}{{.}}{{end}}", data: "{\"a\":true}" },
  { title: "edge: {{range .a}}{{.}}{{end}}", template: "{{range .a}}{{.}}{{end}}", data: "{\"a\":1.5}" },
  { title: "edge: {{range 1.0}}{{.}}{{end}}", template: "{{range 1.0}}{{.}}{{end}}" },
  { title: "edge: {{range -1}}{{.}}{{else}}neg{{end}}", template: "{{range -1}}{{.}}{{else}}neg{{end}}" },
  { title: "edge: {{range 'a'}}{{end}}x", template: "{{range 'a'}}{{end}}x" },
  { title: "edge: {{range .a}}{{.}}{{end}}", template: "{{range .a}}{{.}}{{end}}", data: "{\"a\":null}" },
  { title: "edge: {{range $k, $v := .a}}{{$k}}{{end}}", template: "{{range $k, $v := .a}}{{$k}}{{end}}", data: "{\"a\":[\"x\",\"y\"]}" },
);

// --- complex constants (Go's 1+2i, 2i): printing, verbs, truth, comparison, errors ---
ENGINE_CASES.push(
  { title: "complex: {{1+2i}} {{2i}} {{-1.5-0.5i}} {{1e2+3e-1i}} {{0i}} {{1+0i}}", template: "{{1+2i}} {{2i}} {{-1.5-0.5i}} {{1e2+3e-1i}} {{0i}} {{1+0i}}" },
  { title: "complex: {{printf \\\"%v %.2f %e %g %5.1f %+v %T %d\\\" 1+2i 1+2i 1+2i 1+2i 1+2i 1+2i 1+2i ...", template: "{{printf \"%v %.2f %e %g %5.1f %+v %T %d\" 1+2i 1+2i 1+2i 1+2i 1+2i 1+2i 1+2i 1+2i}}" },
  { title: "complex: {{if 0i}}y{{else}}n{{end}} {{if 1i}}y{{end}} {{eq 1+2i 1+2i}} {{eq 1i 2i}}", template: "{{if 0i}}y{{else}}n{{end}} {{if 1i}}y{{end}} {{eq 1+2i 1+2i}} {{eq 1i 2i}}" },
  { title: "complex: {{lt 1i 2i}}", template: "{{lt 1i 2i}}" },
  { title: "complex: {{eq 1i 1}}", template: "{{eq 1i 1}}" },
  { title: "complex: {{print 1i 2i \\\"x\\\" 3i}}", template: "{{print 1i 2i \"x\" 3i}}" },
  { title: "complex: {{range 1i}}{{end}}", template: "{{range 1i}}{{end}}" },
  { title: "complex: {{len 2i}}", template: "{{len 2i}}" },
  { title: "complex: {{index .l 1+0i}}", template: "{{index .l 1+0i}}", data: "{\"l\":[1,2]}" },
  { title: "complex: {{slice .l 0i 1}}", template: "{{slice .l 0i 1}}", data: "{\"l\":[1,2]}" },
  { title: "complex: {{printf \\\"%*d\\\" 2i 1}}", template: "{{printf \"%*d\" 2i 1}}" },
  { title: "complex: {{0x1p1+2i}} {{1_0+2_0i}}", template: "{{0x1p1+2i}} {{1_0+2_0i}}" },
  { title: "complex: {{1i+2i}}", template: "{{1i+2i}}" },
  { title: "complex: {{1+i}}", template: "{{1+i}}" },
  { title: "complex: {{printf \\\"%x %X %b\\\" 1.5+2i 1+0i 1i}}", template: "{{printf \"%x %X %b\" 1.5+2i 1+0i 1i}}" },
  { title: "complex: {{printf \\\"%#v %q\\\" 1+2i 1+2i}}", template: "{{printf \"%#v %q\" 1+2i 1+2i}}" },
  { title: "complex: {{printf \\\"%08.2f|%-12.1f|\\\" 1+2i -1-2i}}", template: "{{printf \"%08.2f|%-12.1f|\" 1+2i -1-2i}}" },
);

// --- generated cases (fixed seed): printf verbs/flags/widths/precisions over many values, and
// builtin calls nested in if/with/range/variables under every missingkey setting ---
const GEN_DATA = '{"n":42,"f":1.50,"s":"str","l":[1,"a",null,2.5],"m":{"b":1,"a":"x"},"e":[],"z":null}';

function generator(seed: number): <T>(a: readonly T[]) => T {
  let state = seed;
  const rnd = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
}

{
  const pick = generator(20261207);
  const flags = ['', '', '', '-', '+', '#', ' ', '0', '-0', '+0', '# ', '+#'];
  const widths = ['', '', '1', '3', '8', '12', '*'];
  const precs = ['', '', '.', '.0', '.1', '.3', '.8', '.*'];
  const verbs = 'vvvdsqxXofeEgGtcbUTO%z'.split('');
  const values = ['0', '1', '-1', '42', '255', '-255', '65', '1114111', '0.0', '1.0', '-2.5', '3.14159', '1e-7', '1e21', '123456.789', '0.1', '100.0',
    '"a"', '"héllo"', '""', '"a\\tb"', 'true', 'false', 'nil', '.n', '.f', '.s', '.l', '.m', '.e', '.z', '.miss', "'x'", '9007199254740993', '-0.0', '5e-324'];
  for (let i = 0; i < 300; i++) {
    let fmt = '';
    const args: string[] = [];
    const n = pick([1, 2, 3]);
    for (let j = 0; j < n; j++) {
      const w = pick(widths);
      const p = pick(precs);
      fmt += `%${pick(flags)}${w}${p}${pick(verbs)}|`;
      if (w === '*') args.push(pick(['3', '-4', '"x"', '2']));
      if (p === '.*') args.push(pick(['2', '0', '-1', '1.5']));
      args.push(pick(values));
    }
    const extra = pick([0, 0, 0, 0, 0, 0, 0, 0, 1, -1]);
    if (extra > 0) args.push(pick(values));
    if (extra < 0) args.pop();
    const template = `{{printf ${JSON.stringify(fmt)} ${args.join(' ')}}}`;
    ENGINE_CASES.push({ title: `generated printf ${i}: ${template}`, template, data: GEN_DATA });
  }
}

{
  const pick = generator(7);
  const atoms = ['0', '1', '-1', '2', '1.5', '2.0', '"a"', '"b"', '""', 'true', 'false', 'nil', '.', '.n', '.f', '.s', '.l', '.m', '.e', '.z',
    '.miss', '.m.a', '.m.b', '.l.x', '.z.q', '$', '$x', "'a'", '.m.miss.deeper'];
  const fns: [string, number, number][] = [['eq', 1, 3], ['ne', 2, 2], ['lt', 2, 2], ['le', 2, 2], ['gt', 2, 2], ['ge', 2, 2], ['and', 1, 3],
    ['or', 1, 3], ['not', 1, 1], ['index', 1, 3], ['slice', 1, 3], ['len', 1, 1], ['print', 0, 3], ['println', 0, 2], ['html', 0, 2],
    ['js', 0, 2], ['urlquery', 0, 2], ['call', 1, 2], ['printf', 1, 3]];
  const expr = (depth: number): string => {
    if (depth > 2 || pick([0, 1, 2, 3, 4]) < 2) return pick(atoms);
    const [f, lo, hi] = pick(fns);
    const n = Math.max(0, pick([lo - 1, lo, lo, lo + 1, hi, hi, hi + 1]));
    return `(${[f, ...Array.from({ length: n }, () => expr(depth + 1))].join(' ')})`;
  };
  const shapes = ['{{$x := 1}}{{X}}', '{{$x := 2}}{{if X}}T{{else}}F{{end}}', '{{$x := "s"}}{{with X}}<{{.}}>{{else}}E{{end}}',
    '{{$x := .l}}{{range X}}[{{.}}]{{else}}E{{end}}', '{{$x := 0}}{{X | print}}', '{{$x := X}}{{$x}}'];
  for (let i = 0; i < 300; i++) {
    const template = pick(shapes).replace('X', expr(0));
    const missingKey = pick([undefined, undefined, 'zero', 'error'] as const);
    ENGINE_CASES.push({ title: `generated builtins ${i}${missingKey ? ` (missingkey=${missingKey})` : ''}: ${template}`, template, data: GEN_DATA, missingKey });
  }
}

// --- generated templates (fixed seeds): random token soup inside actions (parse errors and their
// lines, trim markers, comments) and well-formed templates built from the grammar (nested
// if/else if/range/with/else with, break/continue, variables, template calls) ---
{
  const pick = generator(11);
  const inAction = ['if', 'else', 'end', 'range', 'with', '$x :=', '$x =', '$i, $v :=', '.a', '.l', '.m', '.a.b', '|', '(', ')', '"s"', '`r`', '1',
    '2.5', ' ', ' ', '\n', 'define "d"', 'template "d"', 'template "d" .', 'block "b" .', 'break', 'continue', 'print', 'len', 'eq', 'not', '$x', '$',
    '.', 'nil', 'true', ',', "'c'", 'index', '-', '=', ':='];
  const text = ['text', ' ', '\n', '  \n ', 'é', ''];
  for (let i = 0; i < 200; i++) {
    let template = '';
    const n = pick([1, 2, 3, 4, 5]);
    for (let j = 0; j < n; j++) {
      template += pick(text);
      let body = '';
      const m = pick([1, 2, 3, 4]);
      for (let k = 0; k < m; k++) body += (k ? pick([' ', ' ', '']) : '') + pick(inAction);
      if (pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) === 0) body = pick(['/* c */', ' /* c */ ', '/* c ']);
      template += pick(['{{', '{{', '{{- ', '{{-']) + body + pick(['}}', '}}', ' -}}', '-}}', '']);
    }
    template += pick(text);
    ENGINE_CASES.push({ title: `generated tokens ${i}: ${JSON.stringify(template).slice(1, 80)}`, template, data: '{"a":"A","l":[1,2],"m":{"k":"v"}}' });
  }
}

{
  const pick = generator(5);
  const operands = ['.', '.a', '.n', '.l', '.m', '.m.k', '.m.z', '.m.e', '.t', '.f', '.e', '.nil', '.missing', '$', '$.a', '$x', '1', '0', '"s"', '""',
    'true', 'nil', '(len .l)', '(index .l 1)', '(index .m "k")', '(print .n)', '(eq .a "A")', '(not .t)', '(and .t .n)', '(or .f .e)', '(slice .l 1)'];
  const pipeline = (): string => {
    let p = pick(operands);
    if (pick([0, 1, 2, 3]) === 0) p = `${pick(['print', 'len', 'printf "%v"', 'not', 'html', 'urlquery'])} ${p}`;
    if (pick([0, 1, 2, 3, 4]) === 0) p += ` | ${pick(['print', 'len', 'printf "<%v>"', 'not', 'js'])}`;
    return p;
  };
  const block = (depth: number): string => {
    let out = '';
    const n = pick([1, 2, 3]);
    for (let i = 0; i < n; i++) {
      out += pick(['', 'x', ' ', '\n', 'é ', '\n  ']);
      const kind = depth > 2 ? pick(['act', 'act', 'var']) : pick(['act', 'act', 'var', 'assign', 'if', 'range', 'with', 'tmpl']);
      switch (kind) {
        case 'act': out += `${pick(['{{', '{{', '{{- '])} ${pipeline()} ${pick(['}}', '}}', ' -}}'])}`; break;
        case 'var': out += `{{$y := ${pipeline()}}}{{$y}}`; break;
        case 'assign': out += `{{$x = ${pipeline()}}}`; break;
        case 'if': out += `{{if ${pipeline()}}}${block(depth + 1)}${pick(['', `{{else}}${block(depth + 1)}`, `{{else if ${pipeline()}}}${block(depth + 1)}`])}{{end}}`; break;
        case 'range': {
          const decl = pick(['', '$i, $v := ', '$v := ', '$x = ']);
          let body = block(depth + 1) + pick(['', '{{$v}}', '{{$i}}', '{{if .}}{{break}}{{end}}', '{{continue}}']);
          if (!decl.includes('$v')) body = body.replaceAll('{{$v}}', '');
          if (!decl.includes('$i')) body = body.replaceAll('{{$i}}', '');
          out += `{{range ${decl}${pipeline()}}}${body}${pick(['', `{{else}}${block(depth + 1)}`])}{{end}}`;
          break;
        }
        case 'with': out += `{{with ${pipeline()}}}${block(depth + 1)}${pick(['', `{{else}}${block(depth + 1)}`, `{{else with ${pipeline()}}}${block(depth + 1)}`])}{{end}}`; break;
        case 'tmpl': out += `{{template "d" ${pipeline()}}}`; break;
      }
    }
    return out;
  };
  const data = '{"a":"A","n":3,"l":[1,"two",null,{"k":"v"}],"m":{"k":"v","z":[1,2],"e":{}},"t":true,"f":false,"e":[],"nil":null}';
  for (let i = 0; i < 200; i++) {
    const template = `{{$x := 0}}${block(0)}{{define "d"}}[{{.}}]${pick(['', '{{.k}}', '{{len .}}'])}{{end}}`;
    const missingKey = pick([undefined, undefined, 'zero', 'error'] as const);
    ENGINE_CASES.push({ title: `generated template ${i}${missingKey ? ` (missingkey=${missingKey})` : ''}: ${JSON.stringify(template).slice(1, 80)}`, template, data, missingKey });
  }
}
