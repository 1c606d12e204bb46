/**
 * toTOML as consul-template runs it with BurntSushi/toml v1.3.2's Encoder (indent "  "): a map's
 * plain keys first (sorted), then its tables ([a.b], indented by depth) and arrays of tables
 * ([[a]]); nil values left out; strings double-quoted with TOML escapes; floats always with a
 * decimal point; json.Number as an int or a float; the result trimmed of surrounding white space.
 */
import { GoStruct, JsonNumber, type TemplateFunc } from '../types.js';
import { GoFloat, goFieldNames, GoFuncError, isAnyKeyMap, isPlainObject } from './go.js';
import { compareBytes } from './encoding.js';

class TomlError extends Error {}

const INDENT = '  ';

type Entries = [string, unknown][];

function entriesOf(v: unknown): Entries | null {
  if (v instanceof GoStruct) {
    const rec = v as unknown as Record<string, unknown>;
    return goFieldNames(v).map((k) => [k, rec[k]]);
  }
  if (isPlainObject(v)) {
    if (isAnyKeyMap(v)) throw new TomlError('toml: cannot encode a map with non-string key type');
    return Object.keys(v).map((k) => [k, v[k]]);
  }
  return null;
}

const isNil = (v: unknown) => v === null || v === undefined;

/** tomlTypeOfGo as far as the encoder branches on it. */
function tomlType(v: unknown): 'hash' | 'arrayHash' | 'array' | 'scalar' | null {
  if (isNil(v)) return null;
  if (v instanceof GoStruct || isPlainObject(v)) return 'hash';
  if (Array.isArray(v)) {
    if (v.length === 0) return 'array';
    let all = true;
    for (const x of v) {
      const t = tomlType(x);
      if (t === null) throw new TomlError('toml: cannot encode array with nil element');
      if (t !== 'hash') all = false;
    }
    return all ? 'arrayHash' : 'array';
  }
  return 'scalar';
}

const DBL_QUOTED: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

function quoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (DBL_QUOTED[ch] !== undefined) out += DBL_QUOTED[ch];
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function maybeQuoted(k: string): string {
  if (k === '') return '""';
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : quoted(k);
}

const keyString = (key: string[]) => key.map(maybeQuoted).join('.');

/** strconv.FormatFloat(f, 'f', -1, 64) with ".0" added when there is no decimal point. */
function formatTomlFloat(f: number): string {
  if (Number.isNaN(f)) return 'nan';
  if (!Number.isFinite(f)) return f < 0 ? '-inf' : '+inf';
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(f.toExponential())!;
  const digits = m[2]! + (m[3] ?? '');
  const e = Number(m[4]);
  let s: string;
  if (e >= digits.length - 1) s = digits + '0'.repeat(e - digits.length + 1);
  else if (e >= 0) s = `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  else s = `0.${'0'.repeat(-e - 1)}${digits}`;
  s = (m[1] ?? '') + s;
  return s.includes('.') ? s : s + '.0';
}

class Encoder {
  out = '';

  private wf(s: string): void { this.out += s; }
  private newline(): void { if (this.out.length > 0) this.out += '\n'; }
  private indentStr(key: string[]): string { return INDENT.repeat(Math.max(0, key.length - 1)); }

  encode(key: string[], v: unknown): void {
    if (isNil(v)) return;
    const t = tomlType(v);
    if (t === 'hash') return this.eTable(key, v);
    if (t === 'arrayHash') return this.eArrayOfTables(key, v as unknown[]);
    this.writeKeyValue(key, v, false);
  }

  private eElement(v: unknown): void {
    if (v instanceof JsonNumber) {
      if (v.text === '') return this.wf('0');
      if (/^[+-]?\d+$/.test(v.text)) {
        const n = BigInt(v.text);
        if (n >= -(2n ** 63n) && n < 2n ** 63n) return this.wf(n.toString());
      }
      const f = Number(v.text);
      if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.text) && Number.isFinite(f)) return this.wf(formatTomlFloat(f));
      throw new TomlError(`unable to convert "${v.text}" to int64 or float64`);
    }
    if (v instanceof GoFloat) return this.wf(formatTomlFloat(v.value));
    if (typeof v === 'string') return this.wf(quoted(v));
    if (typeof v === 'boolean') return this.wf(String(v));
    if (typeof v === 'bigint') return this.wf(v.toString());
    if (typeof v === 'number') return this.wf(Number.isInteger(v) ? String(v) : formatTomlFloat(v));
    if (Array.isArray(v)) {
      tomlType(v); // a nil element is an error
      this.wf('[');
      v.forEach((x, i) => {
        this.eElement(x);
        if (i !== v.length - 1) this.wf(', ');
      });
      return this.wf(']');
    }
    if (entriesOf(v) !== null) return this.eMap([], v, true);
    throw new TomlError(`unexpected type: ${typeof v}`);
  }

  private writeKeyValue(key: string[], v: unknown, inline: boolean): void {
    if (key.length === 0) return this.eElement(v);
    this.wf(`${this.indentStr(key)}${maybeQuoted(key[key.length - 1]!)} = `);
    this.eElement(v);
    if (!inline) this.newline();
  }

  private eArrayOfTables(key: string[], items: unknown[]): void {
    if (key.length === 0) throw new TomlError('toml: top-level values must be Go maps or structs');
    for (const item of items) {
      if (isNil(item)) continue;
      this.newline();
      this.wf(`${this.indentStr(key)}[[${keyString(key)}]]`);
      this.newline();
      this.eMap(key, item, false);
    }
  }

  private eTable(key: string[], v: unknown): void {
    if (key.length === 1) this.newline();
    if (key.length > 0) {
      this.wf(`${this.indentStr(key)}[${keyString(key)}]`);
      this.newline();
    }
    this.eMap(key, v, false);
  }

  private eMap(key: string[], v: unknown, inline: boolean): void {
    const entries = entriesOf(v)!;
    const struct = v instanceof GoStruct;
    const direct: Entries = [];
    const sub: Entries = [];
    for (const e of entries) {
      const t = tomlType(e[1]);
      (t === 'hash' || t === 'arrayHash' ? sub : direct).push(e);
    }
    const write = (list: Entries, trailComma: boolean) => {
      if (!struct) list.sort(([a], [b]) => compareBytes(a, b));
      list.forEach(([k, val], i) => {
        if (isNil(val)) return;
        if (inline) {
          this.writeKeyValue([k], val, true);
          if (trailComma || i !== list.length - 1) this.wf(', ');
        } else this.encode([...key, k], val);
      });
    };
    if (inline) this.wf('{');
    write(direct, sub.length > 0);
    write(sub, false);
    if (inline) this.wf('}');
  }
}

function toTOML(v: unknown): string {
  const enc = new Encoder();
  try {
    enc.encode([], v);
  } catch (e) {
    if (e instanceof TomlError) throw new GoFuncError(`toTOML: ${e.message}`);
    throw e;
  }
  return enc.out.replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, '');
}

export const tomlFuncs: Record<string, TemplateFunc> = { toTOML };
