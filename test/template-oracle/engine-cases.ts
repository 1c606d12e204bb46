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
