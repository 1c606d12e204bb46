// The golden corpus: one template per concern (test/fixtures/templates/<file>), with the options of
// its `template { … }` block, what it must do (render, or fail with the same error class in both),
// and what it covers of issue 20's items 2 (the language) and 3 (the functions).

export interface GoldenCase {
  /** Also the destination file name and the test title. */
  name: string;
  /** The .ctmpl under test/fixtures/templates/. */
  file: string;
  /** `source = …` (default), or the file's text given as `contents = "…"` / `contents = <<EOT`. */
  given?: 'source' | 'contents-quoted' | 'contents-heredoc';
  errorOnMissingKey?: boolean;
  leftDelimiter?: string;
  rightDelimiter?: string;
  perms?: string;
  /** The destination, relative to the run's directory (default `out/<name>`). */
  destination?: string;
  /** `render`: both write the same bytes; `fail`: both refuse, with the same error class, no file. */
  expect: 'render' | 'fail';
  /**
   * Freshly issued values cannot be byte-compared: `pem` replaces every PEM body and PKI serial
   * number with a marker before comparing, and then compares what the certificates say (subject,
   * issuer, names, key type) instead; `lease` replaces the random id at the end of a lease id and the lease_duration of a 1 h lease (Vault answers 3600 or 3599).
   * Every other case is compared byte for byte.
   */
  normalise?: 'pem' | 'lease';
  /** Needs the pki secrets engine (the simulator has none). */
  pki?: boolean;
  /** fail cases: the error Vault Agent prints (checked, so the oracle itself is pinned). */
  error?: { line: number; col?: number; at?: string; message: string };
  covers: string[];
}

export const CASES: GoldenCase[] = [
  { name: 'kv1-with-secret', file: 'kv1-with-secret.ctmpl', expect: 'render', covers: ['secret (KV v1)', 'with', '.Data'] },
  { name: 'kv2-secret-without-data-segment', file: 'kv2-secret-without-data-segment.ctmpl', expect: 'render', covers: ['secret (KV v2, /data/ inserted)', '.Data.data', '.Data.metadata'] },
  { name: 'kv2-secret-with-data-segment', file: 'kv2-secret-with-data-segment.ctmpl', expect: 'render', covers: ['secret (KV v2 with /data/)', 'nested field chain'] },
  { name: 'kv2-multi-version', file: 'kv2-multi-version.ctmpl', expect: 'render', covers: ['secret ?version=N', 'multi-version KV v2'] },
  { name: 'secret-struct-fields', file: 'secret-struct-fields.ctmpl', expect: 'render', covers: ['.LeaseDuration', '.Renewable', '.LeaseID', '.Warnings'] },
  { name: 'range-map-key-value', file: 'range-map-key-value.ctmpl', expect: 'render', covers: ['range $k, $v over .Data.data (sorted keys)', 'values of every JSON kind printed'] },
  { name: 'range-nested', file: 'range-nested.ctmpl', expect: 'render', covers: ['nested range', 'range over list with $i, $v', 'range … else', '$ (root) inside range', 'range $x :='] },
  { name: 'if-else-if-else', file: 'if-else-if-else.ctmpl', expect: 'render', covers: ['if / else if / else', 'truthiness of null, "", 0, empty map, json number'] },
  { name: 'compare-and-logic', file: 'compare-and-logic.ctmpl', expect: 'render', covers: ['eq (several args)', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'not', 'json.Number compared as a string'] },
  { name: 'trim-markers', file: 'trim-markers.ctmpl', expect: 'render', covers: ['{{- and -}} trim markers'] },
  { name: 'comments', file: 'comments.ctmpl', expect: 'render', covers: ['{{/* comments */}}', 'trimmed multi-line comment'] },
  { name: 'variables', file: 'variables.ctmpl', expect: 'render', covers: ['variables :=', 'assignment =', 'scope of variables', '$'] },
  { name: 'define-template-block', file: 'define-template-block.ctmpl', expect: 'render', covers: ['define', 'template', 'block', 'template with no data'] },
  { name: 'custom-delimiters', file: 'custom-delimiters.ctmpl', leftDelimiter: '[[', rightDelimiter: ']]', expect: 'render', covers: ['left_delimiter / right_delimiter', '{{ }} as literal text'] },
  { name: 'printf-verbs', file: 'printf-verbs.ctmpl', expect: 'render', covers: ['printf %s %q %v %10s %-10s %05d %x %X %o %.2f %e %g %t %% %+v %T', '%!s(MISSING)', '%!(EXTRA …)'] },
  { name: 'print-println', file: 'print-println.ctmpl', expect: 'render', covers: ['print (spaces between non-strings)', 'println'] },
  { name: 'index-dashed-dotted-keys', file: 'index-dashed-dotted-keys.ctmpl', expect: 'render', covers: ['index with dashed, dotted and slashed keys', 'index into lists', 'index with several keys'] },
  { name: 'len-and-slice', file: 'len-and-slice.ctmpl', expect: 'render', covers: ['len of list, map, string (bytes)', 'slice of string and list (2 and 3 indexes)'] },
  { name: 'tojson', file: 'tojson.ctmpl', expect: 'render', covers: ['toJSON (sorted keys, HTML escaping, numbers as written)'] },
  { name: 'tojson-pretty', file: 'tojson-pretty.ctmpl', expect: 'render', covers: ['toJSONPretty'] },
  { name: 'parsejson', file: 'parsejson.ctmpl', expect: 'render', covers: ['parseJSON (numbers as float64, null, lists, scalars)'] },
  { name: 'toyaml', file: 'toyaml.ctmpl', expect: 'render', covers: ['toYAML'] },
  { name: 'base64-encode-decode', file: 'base64-encode-decode.ctmpl', expect: 'render', covers: ['base64Decode', 'base64Encode'] },
  { name: 'split-join', file: 'split-join.ctmpl', expect: 'render', covers: ['split (empty parts kept)', 'join', 'piped split | join'] },
  { name: 'contains-in', file: 'contains-in.ctmpl', expect: 'render', covers: ['contains', 'in (list and substring)'] },
  { name: 'string-functions', file: 'string-functions.ctmpl', expect: 'render', covers: ['trimSpace', 'toLower', 'toUpper', 'replaceAll'] },
  { name: 'env-function', file: 'env-function.ctmpl', expect: 'render', covers: ['env (set, unset)'] },
  { name: 'file-function', file: 'file-function.ctmpl', expect: 'render', covers: ['file'] },
  { name: 'secrets-list', file: 'secrets-list.ctmpl', expect: 'render', covers: ['secrets (KV v1 and v2 lists, folders)', 'secret with a computed path'] },
  { name: 'pkicert', file: 'pkicert.ctmpl', expect: 'render', normalise: 'pem', pki: true, covers: ['pkiCert (.Cert .Key .CA)'] },
  { name: 'pki-issue-via-secret', file: 'pki-issue-via-secret.ctmpl', expect: 'render', normalise: 'pem', pki: true, covers: ['secret with write parameters (pki/issue)', 'dynamic secret fields'] },
  { name: 'dynamic-secret-lease', file: 'dynamic-secret-lease.ctmpl', expect: 'render', normalise: 'lease', pki: true, covers: ['dynamic secret (pki with generate_lease): .LeaseID, .LeaseDuration, .Renewable'] },
  { name: 'numbers-from-json', file: 'numbers-from-json.ctmpl', expect: 'render', covers: ['JSON numbers printed as written (1.0, 1e3, 12345678901234567890)', 'printf on json.Number', 'toJSON of numbers'] },
  { name: 'map-printed-with-dot', file: 'map-printed-with-dot.ctmpl', expect: 'render', covers: ['{{ . }} of maps and lists (Go fmt: map[k:v], [a b])'] },
  { name: 'pipelines', file: 'pipelines.ctmpl', expect: 'render', covers: ['pipelines of several stages', 'with $x :='] },
  { name: 'with-else', file: 'with-else.ctmpl', expect: 'render', covers: ['with … else', 'with $x :='] },
  { name: 'range-break-continue', file: 'range-break-continue.ctmpl', expect: 'render', covers: ['break', 'continue'] },
  { name: 'text-bytes-unicode-crlf', file: 'text-bytes-unicode-crlf.ctmpl', expect: 'render', covers: ['UTF-8 text and CRLF kept byte for byte', 'string literal escapes'] },
  { name: 'empty-output', file: 'empty-output.ctmpl', expect: 'render', covers: ['a template that renders nothing (empty file)'] },
  { name: 'inline-contents-quoted', file: 'inline-contents-no-trailing-newline.ctmpl', given: 'contents-quoted', expect: 'render', covers: ['contents = "…" (no trailing newline)'] },
  { name: 'inline-contents-heredoc', file: 'kv1-with-secret.ctmpl', given: 'contents-heredoc', expect: 'render', covers: ['contents = <<EOT heredoc'] },
  { name: 'perms-0600', file: 'perms-0600.ctmpl', perms: '0600', expect: 'render', covers: ['perms'] },
  { name: 'toyaml-quoting', file: 'toyaml-quoting.ctmpl', expect: 'render', covers: ['toYAML quoting of YAML-looking strings (yes, true, null, ~, 1.0, 0755, "a: b", "- x", "#", multi-line, long lines), toJSON and toJSONPretty of the same'] },
  { name: 'same-source-second-destination', file: 'kv1-with-secret.ctmpl', expect: 'render', covers: ['two template blocks with the same source (Vault Agent groups them)'] },
  { name: 'nested-destination', file: 'inline-contents-no-trailing-newline.ctmpl', destination: 'out/nested/deeper/nested-destination', expect: 'render', covers: ['create_dest_dirs (default true): missing directories created'] },
  { name: 'more-functions-on-vault-data', file: 'more-functions-on-vault-data.ctmpl', expect: 'render', covers: ['beyond the list: trimPrefix, trimSuffix, toTitle, sha256Hex, md5sum, hmacSHA256Hex, regexReplaceAll, regexMatch, base64URLEncode, envOrDefault, loop, parseInt, add, multiply, divide, modulo, subtract, maximum, indent'] },
  { name: 'missing-key-default', file: 'missing-key-default.ctmpl', errorOnMissingKey: false, expect: 'render', covers: ['missing key with error_on_missing_key = false: <no value>'] },
  { name: 'missing-key-error', file: 'missing-key-error.ctmpl', errorOnMissingKey: true, expect: 'fail', error: { line: 3, col: 16, at: '.Data.absent', message: 'map has no entry for key "absent"' }, covers: ['error_on_missing_key = true: map has no entry for key'] },
  { name: 'missing-key-error-redacted', file: 'missing-key-error-redacted.ctmpl', errorOnMissingKey: true, expect: 'fail', error: { line: 1, col: 55, at: '.Data.nokey', message: 'map has no [redacted] for key "nokey"' }, covers: ['secret values redacted from the error text'] },
  { name: 'error-text-hides-secret-value', file: 'error-text-hides-secret-value.ctmpl', expect: 'fail', error: { line: 1, col: 42, at: '.Data.present', message: 'range can\'t iterate over [redacted]' }, covers: ['an error that would print a secret value prints [redacted]'] },
  { name: 'error-text-kv2-value', file: 'error-text-kv2-value.ctmpl', expect: 'fail', error: { line: 1, col: 41, at: '.Data.data.endpoint', message: 'range can\'t iterate over https://api.example.com/v1' }, covers: ['an error printing a KV v2 value (consul-template redacts only the top-level .Data values: data and metadata as whole maps)'] },
  { name: 'missing-key-chained-nil', file: 'missing-key-chained-nil.ctmpl', expect: 'fail', error: { line: 1, col: 36, at: '.Data.absent.deeper', message: 'nil pointer evaluating interface {}.deeper' }, covers: ['field of a missing key: nil pointer evaluating interface {}'] },
  { name: 'struct-missing-field', file: 'struct-missing-field.ctmpl', expect: 'fail', error: { line: 1, col: 31, at: '.NoSuchField', message: 'can\'t evaluate field NoSuchField in type *dependency.Secret' }, covers: ['missing field of the Secret struct: can\'t evaluate field'] },
  { name: 'join-secret-list-wrong-type', file: 'join-secret-list-wrong-type.ctmpl', expect: 'fail', error: { line: 2, col: 44, at: '.Data.tags', message: 'wrong type for value; expected []string; got []interface {}' }, covers: ['join of a JSON list ([]interface {}): wrong type for value; expected []string'] },
  { name: 'math-on-json-number', file: 'math-on-json-number.ctmpl', expect: 'fail', error: { line: 1, col: 37, at: 'add 1 .Data.port', message: 'error calling add: add: unknown type for "[redacted]" (json.Number)' }, covers: ['add on a KV number (json.Number): unknown type'] },
  { name: 'parseint-on-json-number', file: 'parseint-on-json-number.ctmpl', expect: 'fail', error: { line: 1, col: 43, at: 'parseInt', message: 'wrong type for value; expected string; got json.Number' }, covers: ['parseInt of a KV number (json.Number): wrong type for value'] },
  { name: 'tojson-of-parseyaml', file: 'tojson-of-parseyaml.ctmpl', expect: 'fail', error: { line: 1, col: 44, at: 'toJSON $y', message: 'error calling toJSON: toJSON: json: unsupported type: map[interface {}]interface {}' }, covers: ['toJSON of parseYAML\'s map[interface {}]interface {}: unsupported type'] },
  { name: 'undefined-function', file: 'undefined-function.ctmpl', expect: 'fail', error: { line: 2, message: 'function "noSuchFunction" not defined' }, covers: ['undefined function: parse error'] },
  { name: 'parse-error-unclosed-action', file: 'parse-error-unclosed-action.ctmpl', expect: 'fail', error: { line: 4, message: 'unexpected EOF' }, covers: ['unclosed with: parse error, unexpected EOF'] },
];
