/**
 * toYAML and parseYAML as consul-template runs them with gopkg.in/yaml.v2 v2.4.0.
 *
 * toYAML is our own block-style emitter following yaml.v2's: map keys in yaml.v2's "natural" order,
 * sequences in a mapping not indented, empty collections as {} / [], a string plain when it would
 * read back as a string and the emitter allows it, else single- or double-quoted, multi-line strings
 * as literal blocks (|, |-, |+), plain and quoted scalars folded past column 80, struct fields under
 * lower-cased names, the result trimmed of surrounding white space.
 * parseYAML decodes with the `yaml` package (YAML 1.1 rules, as yaml.v2 reads: yes/no/on/off are
 * booleans; timestamps stay strings); mappings are map[interface{}]interface{} as in yaml.v2.
 */
import { parse as parseYamlDoc } from 'yaml';
import { GoStruct, JsonNumber, type TemplateFunc } from '../types.js';
import { anyKeyMap, GoFloat, goFieldNames, argString, formatFloat, GoFuncError, isPlainObject } from './go.js';

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

// ---------- scalar analysis (yaml_emitter_analyze_scalar) ----------

const isBreakCp = (c: number) => c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
const isPrintableCp = (c: number) =>
  c === 0x0a || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

function analyze(value: string): Analysis {
  if (value.length === 0) return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  const cps = Array.from(value).map((c) => c.codePointAt(0)!);
  let blockInd = false;
  let flowInd = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let prevSpace = false;
  let prevBreak = false;
  if (value.startsWith('---') || value.startsWith('...')) { blockInd = true; flowInd = true; }
  let precededByWs = true;
  const isBlankZ = (k: number) => k >= cps.length || cps[k] === 0x20 || cps[k] === 0x09 || isBreakCp(cps[k]!) || cps[k] === 0;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    const ch = String.fromCodePoint(c);
    const followedByWs = i + 1 >= cps.length || cps[i + 1] === 0x20 || cps[i + 1] === 0x09 || isBreakCp(cps[i + 1]!);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) { flowInd = true; blockInd = true; }
      else if (ch === '?' || ch === ':') { flowInd = true; if (followedByWs) blockInd = true; }
      else if (ch === '-' && followedByWs) { flowInd = true; blockInd = true; }
    } else {
      if (',?[]{}'.includes(ch)) flowInd = true;
      else if (ch === ':') { flowInd = true; if (followedByWs) blockInd = true; }
      else if (ch === '#' && precededByWs) { flowInd = true; blockInd = true; }
    }
    if (!isPrintableCp(c)) special = true;
    if (c === 0x20) {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreakCp(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = isBlankZ(i);
  }
  const a: Analysis = { multiline: lineBreaks, flowPlain: true, blockPlain: true, singleQuoted: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) { a.flowPlain = false; a.blockPlain = false; }
  if (trailingSpace) a.block = false;
  if (breakSpace) { a.flowPlain = false; a.blockPlain = false; a.singleQuoted = false; }
  if (spaceBreak || special) { a.flowPlain = false; a.blockPlain = false; a.singleQuoted = false; a.block = false; }
  if (lineBreaks) { a.flowPlain = false; a.blockPlain = false; }
  if (flowInd) a.flowPlain = false;
  if (blockInd) a.blockPlain = false;
  return a;
}

// ---------- resolve (would a plain scalar read back as something other than a string?) ----------

const RESOLVE_MAP = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL', '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF',
  '-.inf', '-.Inf', '-.INF', '<<']);
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_INT_BASE0 = /^[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function looksLikeTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})| (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?)?$/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return false;
  const h = Number(m[5] ?? m[8] ?? 0);
  const mi = Number(m[6] ?? m[9] ?? 0);
  const se = Number(m[7] ?? m[10] ?? 0);
  return h < 24 && mi < 60 && se < 60;
}

/** True when yaml.v2's resolve("", s) gives a tag other than !!str. */
function resolvesToNonString(s: string): boolean {
  if (RESOLVE_MAP.has(s)) return true;
  const c = s[0]!;
  if (c === '.') return YAML_STYLE_FLOAT.test(s) || /^\.(inf|Inf|INF|nan|NaN|NAN)$/.test(s);
  if (!(c === '+' || c === '-' || (c >= '0' && c <= '9'))) return false;
  if (looksLikeTimestamp(s)) return true;
  const plain = s.replace(/_/g, '');
  if (GO_INT_BASE0.test(plain)) return true;
  if (YAML_STYLE_FLOAT.test(plain)) return true;
  if (/^-?0b[01]+$/.test(plain)) return true;
  return false;
}

// ---------- the emitter ----------

type Style = 'plain' | 'single' | 'double' | 'literal';

class Emitter {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;
  openEnded = false;

  private put(s: string): void {
    for (const ch of s) {
      if (ch === '\n') { this.out += '\n'; this.column = 0; } else { this.out += ch; this.column++; }
    }
  }

  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  writeIndent(indent: number): void {
    const ind = Math.max(indent, 0);
    if (!this.indention || this.column > ind || (this.column === ind && !this.whitespace)) this.putBreak();
    while (this.column < ind) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  writeIndicator(ind: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(ind);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  /** A scalar at `indent` (the continuation indentation), in a simple-key context or not. */
  scalar(value: string, requested: Style, indent: number, simpleKey: boolean, root: boolean): void {
    const a = analyze(value);
    let style: Style = requested;
    if (simpleKey && a.multiline) style = 'double';
    if (style === 'plain') {
      if (!a.blockPlain) style = 'single';
      if (value.length === 0 && simpleKey) style = 'single';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style === 'literal' && (!a.block || simpleKey)) style = 'double';
    const allowBreaks = !simpleKey;
    switch (style) {
      case 'plain': this.plain(value, indent, allowBreaks, root); break;
      case 'single': this.single(value, indent, allowBreaks); break;
      case 'double': this.double(value, indent, allowBreaks); break;
      case 'literal': this.literal(value, indent); break;
    }
  }

  private plain(value: string, indent: number, allowBreaks: boolean, root: boolean): void {
    if (!this.whitespace) this.put(' ');
    const cps = Array.from(value);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!;
      const c = ch.codePointAt(0)!;
      if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && cps[i + 1] !== ' ') this.writeIndent(indent);
        else this.put(ch);
        spaces = true;
      } else if (isBreakCp(c)) {
        if (!breaks && ch === '\n') this.putBreak();
        this.writeBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent(indent);
        this.put(ch);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
    if (root) this.openEnded = true;
  }

  private writeBreak(ch: string): void {
    if (ch === '\n' || ch === '\r' || ch === '\u0085') this.putBreak();
    else { this.out += ch; this.column = 0; }
  }

  private single(value: string, indent: number, allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    const cps = Array.from(value);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!;
      const c = ch.codePointAt(0)!;
      if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < cps.length - 1 && cps[i + 1] !== ' ') this.writeIndent(indent);
        else this.put(ch);
        spaces = true;
      } else if (isBreakCp(c)) {
        if (!breaks && ch === '\n') this.putBreak();
        this.writeBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent(indent);
        if (ch === "'") this.put("'");
        this.put(ch);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private double(value: string, indent: number, allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    const cps = Array.from(value);
    let spaces = false;
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!;
      const v = ch.codePointAt(0)!;
      if (!isPrintableCp(v) || v === 0xfeff || isBreakCp(v) || ch === '"' || ch === '\\') {
        this.put('\\');
        const short: Record<number, string> = { 0: '0', 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 0x1b: 'e', 0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P' };
        if (short[v] !== undefined) this.put(short[v]!);
        else if (v <= 0xff) this.put('x' + v.toString(16).toUpperCase().padStart(2, '0'));
        else if (v <= 0xffff) this.put('u' + v.toString(16).toUpperCase().padStart(4, '0'));
        else this.put('U' + v.toString(16).toUpperCase().padStart(8, '0'));
        spaces = false;
      } else if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < cps.length - 1) {
          this.writeIndent(indent);
          if (cps[i + 1] === ' ') this.put('\\');
        } else this.put(ch);
        spaces = true;
      } else {
        this.put(ch);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private literal(value: string, indent: number): void {
    this.writeIndicator('|', true, false, false);
    const cps = Array.from(value);
    if (cps[0] === ' ' || isBreakCp(cps[0]!.codePointAt(0)!)) this.writeIndicator(String(BEST_INDENT), false, false, false);
    this.openEnded = false;
    let chomp = '';
    const last = cps[cps.length - 1]!;
    if (!isBreakCp(last.codePointAt(0)!)) chomp = '-';
    else if (cps.length === 1) { chomp = '+'; this.openEnded = true; }
    else if (isBreakCp(cps[cps.length - 2]!.codePointAt(0)!)) { chomp = '+'; this.openEnded = true; }
    if (chomp) this.writeIndicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const ch of cps) {
      if (isBreakCp(ch.codePointAt(0)!)) {
        this.writeBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent(indent);
        this.put(ch);
        this.indention = false;
        breaks = false;
      }
    }
  }
}

/** yaml.v2's keyList.Less for string keys ("natural" order: digit runs compared as numbers). */
function naturalLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  const isLetter = (c: string) => /^\p{L}$/u.test(c);
  const isDigit = (c: string | undefined) => c !== undefined && /^\p{Nd}$/u.test(c);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') { an = 1; bn = 1; break; }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + (ar[ai]!.codePointAt(0)! - 48);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + (br[bi]!.codePointAt(0)! - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

/** The entries of a value yaml.v2 writes as a mapping, in its order; null when not a mapping. */
function mappingEntries(v: unknown): [string, unknown][] | null {
  if (v instanceof GoStruct) {
    const rec = v as unknown as Record<string, unknown>;
    return goFieldNames(v).map((k) => [k.toLowerCase(), rec[k]]);
  }
  if (isPlainObject(v)) {
    return Object.keys(v).sort((x, y) => (naturalLess(x, y) ? -1 : naturalLess(y, x) ? 1 : 0)).map((k) => [k, v[k]]);
  }
  return null;
}

/** A scalar's text and the style yaml.v2's encoder asks for. */
function scalarOf(v: unknown): [string, Style] {
  if (v === null || v === undefined) return ['null', 'plain'];
  if (typeof v === 'boolean') return [v ? 'true' : 'false', 'plain'];
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 63) return [String(v), 'plain'];
    const s = formatFloat(v);
    return [s === '+Inf' ? '.inf' : s === '-Inf' ? '-.inf' : s === 'NaN' ? '.nan' : s, 'plain'];
  }
  if (typeof v === 'bigint') return [v.toString(), 'plain'];
  if (v instanceof GoFloat) {
    const s = formatFloat(v.value);
    return [s === '+Inf' ? '.inf' : s === '-Inf' ? '-.inf' : s === 'NaN' ? '.nan' : s, 'plain'];
  }
  if (v instanceof JsonNumber) {
    if (/^[+-]?\d+$/.test(v.text)) {
      const n = BigInt(v.text);
      if (n >= -(2n ** 63n) && n < 2n ** 63n) return [n.toString(), 'plain'];
    }
    const f = Number(v.text);
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity)$|^nan$/i.test(v.text)) {
      const t = formatFloat(f);
      return [t === '+Inf' ? '.inf' : t === '-Inf' ? '-.inf' : t === 'NaN' ? '.nan' : t, 'plain'];
    }
    return stringScalar(v.text);
  }
  if (typeof v === 'string') return stringScalar(v);
  throw new GoFuncError(`cannot marshal type: ${typeof v}`);
}

function stringScalar(s: string): [string, Style] {
  const canPlain = !resolvesToNonString(s) && !BASE60_FLOAT.test(s);
  if (s.includes('\n')) return [s, 'literal'];
  return [s, canPlain ? 'plain' : 'double'];
}

function emitNode(e: Emitter, v: unknown, indent: number, ctx: { root: boolean; mapping: boolean; simpleKey: boolean }): void {
  const entries = mappingEntries(v);
  if (entries !== null) {
    if (entries.length === 0) { e.writeIndicator('{', true, true, false); e.writeIndicator('}', false, false, false); return; }
    const ind = indent < 0 ? 0 : indent + BEST_INDENT;
    for (const [k, val] of entries) {
      e.writeIndent(ind);
      const [kt, ks] = scalarOf(k);
      e.scalar(kt, ks, ind + BEST_INDENT, true, false);
      e.writeIndicator(':', false, false, false);
      emitNode(e, val, ind, { root: false, mapping: true, simpleKey: false });
    }
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) { e.writeIndicator('[', true, true, false); e.writeIndicator(']', false, false, false); return; }
    const indentless = ctx.mapping && !e.indention;
    const ind = indent < 0 ? 0 : indentless ? indent : indent + BEST_INDENT;
    for (const item of v) {
      e.writeIndent(ind);
      e.writeIndicator('-', true, false, true);
      emitNode(e, item, ind, { root: false, mapping: false, simpleKey: false });
    }
    return;
  }
  const [text, style] = scalarOf(v);
  e.scalar(text, style, indent < 0 ? BEST_INDENT : indent + BEST_INDENT, false, ctx.root);
}

/** yaml.v2's Marshal. */
export function yamlV2Marshal(v: unknown): string {
  const e = new Emitter();
  emitNode(e, v, -1, { root: true, mapping: false, simpleKey: false });
  e.writeIndent(-1); // document end
  return e.out;
}

/** Go's bytes.TrimSpace over the output (ASCII and Unicode white space). */
const trimSpace = (s: string) => s.replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, '');

function toYAML(v: unknown): string {
  try {
    return trimSpace(yamlV2Marshal(v));
  } catch (e) {
    throw new GoFuncError(`toYAML: ${(e as Error).message}`);
  }
}

/** A YAML 1.1 document as yaml.v2 decodes it into interface{}. */
function parseYAML(s: unknown): unknown {
  const text = argString(s);
  if (text === '') return {};
  let doc: unknown;
  try {
    doc = parseYamlDoc(text, { version: '1.1', schema: 'yaml-1.1', customTags: (tags) => tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp'), intAsBigInt: false, uniqueKeys: false, merge: true });
  } catch (e) {
    throw new GoFuncError(`yaml: ${(e as Error).message.split('\n')[0]}`);
  }
  return toGo(doc);
}

function toGo(v: unknown): unknown {
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of v) Object.defineProperty(out, String(k), { value: toGo(val), enumerable: true, writable: true, configurable: true });
    return anyKeyMap(out);
  }
  if (Array.isArray(v)) return v.map(toGo);
  if (v instanceof Set) return anyKeyMap(Object.fromEntries([...v].map((k) => [String(k), null])));
  if (v !== null && typeof v === 'object') {
    if (v instanceof Date) return v.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) Object.defineProperty(out, k, { value: toGo(val), enumerable: true, writable: true, configurable: true });
    return anyKeyMap(out);
  }
  return v;
}

export const yamlFuncs: Record<string, TemplateFunc> = { toYAML, parseYAML };
