/**
 * The error text consul-template's Template.Execute gives (template/template.go): "parse: …" for a
 * parse error; "execute: …" for an execution error after its redactinator — every top-level value
 * of every secret the render read (printed with %v) replaced by "[redacted]" (strings.NewReplacer),
 * then the text passed through fmt.Errorf as a format with no arguments (so a `%q` in it becomes
 * `%!q(MISSING)`). Vault Agent logs these texts.
 */
import { GoStruct, JsonNumber } from '../types.js';
import { formatFloat, GoFloat, goErrorfNoArgs, goFieldNames, isPlainObject } from './go.js';
import type { RenderContext } from './index.js';
import { secretsReadWith } from './vault.js';

/** fmt's %v of a value inside a secret's Data (Vault's JSON: maps, slices, json.Number, strings, bools, nil). */
function sprintV(v: unknown, nested = false): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloat(v);
  if (v instanceof GoFloat) return formatFloat(v.value);
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => sprintV(x, true)).join(' ')}]`;
  if (v instanceof GoStruct) return `{${goFieldNames(v).map((k) => sprintV((v as unknown as Record<string, unknown>)[k], true)).join(' ')}}`;
  if (isPlainObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${sprintV(v[k], true)}`).join(' ')}]`;
  void nested;
  return String(v);
}

/** strings.NewReplacer(old1, new1, …).Replace(s): at each position the earliest pair that matches wins. */
export function goReplace(s: string, pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return s;
  let out = '';
  let last = 0;
  let prevMatchEmpty = false;
  for (let i = 0; i <= s.length;) {
    let found: readonly [string, string] | undefined;
    for (const p of pairs) {
      if (p[0] === '' && prevMatchEmpty) continue;
      if (s.startsWith(p[0], i)) { found = p; break; }
    }
    prevMatchEmpty = found !== undefined && found[0] === '';
    if (found) {
      out += s.slice(last, i) + found[1];
      i += found[0].length;
      last = i;
      continue;
    }
    i++;
  }
  return out + s.slice(last);
}

/**
 * consul-template's redactinator: every top-level value (%v) of every secret the render with `ctx`
 * read, replaced by "[redacted]". One addition (an intended difference, only where Vault Agent would
 * log a secret value): a KV v2 secret's values sit one level down, in `.Data.data`, which
 * consul-template prints whole as `map[…]` only; each of them (but an empty one) is redacted too.
 * `keepEmpty: false` (errors that are not consul-template's: a write, a source file) skips empty values.
 */
export function redactSecretValues(ctx: RenderContext, message: string, opts: { keepEmpty?: boolean } = {}): string {
  const pairs: [string, string][] = [];
  const kv2Values: [string, string][] = [];
  for (const secret of secretsReadWith(ctx)) {
    const data = secret.Data ?? {};
    for (const k of Object.keys(data).sort()) {
      const text = sprintV(data[k]);
      // consul-template's replacer with "" inserts [redacted] between every character; kept for its own error texts.
      if (text !== '' || opts.keepEmpty !== false) pairs.push([text, '[redacted]']);
    }
    const inner = data['data'];
    if (isPlainObject(inner) && data['metadata'] !== undefined) {
      for (const k of Object.keys(inner).sort()) {
        const text = sprintV(inner[k]);
        if (text !== '') kv2Values.push([text, '[redacted]']);
      }
    }
  }
  return goReplace(message, [...pairs, ...kv2Values]);
}

/** consul-template's "execute: …" text for an execution error of a render with `ctx`. */
export function consulTemplateExecuteError(ctx: RenderContext, message: string): string {
  return `execute: ${goErrorfNoArgs(redactSecretValues(ctx, message))}`;
}

/** consul-template's "parse: …" text for a parse error. */
export function consulTemplateParseError(message: string): string {
  return `parse: ${message}`;
}
