/**
 * Go's view of the engine's values (types.ts) for consul-template's functions: the type names Go
 * prints (%T, "wrong type for value"), `%q`, and marks for the typed containers Go keeps apart
 * ([]string from split/secrets, map[string]string from splitToMap, nil slices, yaml.v2's
 * map[interface{}]interface{}). Arrays and objects without a mark are []interface{} and
 * map[string]interface{}, as Vault's JSON decodes them.
 */
import { GoStruct, JsonNumber } from '../types.js';
import { GoFloat } from '../engine/values.js';

export { GoFloat };

/** A float64 result: integral values are wrapped so the engine prints and compares them as floats. */
export function float64(n: number): number | GoFloat {
  return Number.isInteger(n) ? new GoFloat(n) : n;
}

/** An int result: a JavaScript number while exact, else a bigint (the engine prints both as Go's int). */
export function goInt(n: bigint): number | bigint {
  const wrapped = BigInt.asIntN(64, n); // Go's int64 wraps around
  return wrapped >= BigInt(Number.MIN_SAFE_INTEGER) && wrapped <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(wrapped) : wrapped;
}

/** The number inside an int or float64 value. */
export function numberValue(v: unknown): number {
  if (v instanceof GoFloat) return v.value;
  return Number(v);
}

/**
 * The Go type a slice or map declares (the engine reads the same symbol: %T, element types, zero
 * values); without it a slice is []interface {} and a map map[string]interface {}.
 */
export const GO_TYPE = Symbol.for('vault-extproc.goType');
const nilSlices = new WeakSet<object>();

function declare<T extends object>(v: T, goType: string): T {
  Object.defineProperty(v, GO_TYPE, { value: goType, enumerable: false, configurable: true });
  return v;
}

export function declaredType(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const t = (v as { [GO_TYPE]?: unknown })[GO_TYPE];
  return typeof t === 'string' ? t : undefined;
}

/** A Go []string (split, secrets …). */
export function stringSlice(items: string[]): string[] {
  return declare(items, '[]string');
}

/** A nil []string: prints as [] and ranges as empty, but toJSON writes null (as Go does). */
export function nilStringSlice(): string[] {
  const items = stringSlice([]);
  nilSlices.add(items);
  return items;
}

/** A nil []interface {}: prints as [] and ranges as empty; toJSON writes null. */
export function nilSlice(): unknown[] {
  const items: unknown[] = [];
  nilSlices.add(items);
  return items;
}

/** A Go map[string]string (splitToMap). */
export function stringMap(m: Record<string, string>): Record<string, string> {
  return declare(m, 'map[string]string');
}

/** A Go map[interface{}]interface{} (what gopkg.in/yaml.v2 decodes a mapping into). */
export function anyKeyMap(m: Record<string, unknown>): Record<string, unknown> {
  return declare(m, 'map[interface {}]interface {}');
}

export const isStringSlice = (v: unknown): boolean => Array.isArray(v) && declaredType(v) === '[]string';
export const isNilSlice = (v: unknown): boolean => Array.isArray(v) && nilSlices.has(v);
export const isAnyKeyMap = (v: unknown): boolean => isPlainObject(v) && declaredType(v) === 'map[interface {}]interface {}';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export type GoKind = 'invalid' | 'bool' | 'int' | 'float64' | 'string' | 'slice' | 'map' | 'struct' | 'func';

/** reflect.Kind of a value (JsonNumber is a string kind, as json.Number is). */
export function goKind(v: unknown): GoKind {
  if (v === null || v === undefined) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'bigint') return 'int';
  if (v instanceof GoFloat) return 'float64';
  if (typeof v === 'string' || v instanceof JsonNumber) return 'string';
  if (Array.isArray(v)) return 'slice';
  if (v instanceof GoStruct) return 'struct';
  if (typeof v === 'function') return 'func';
  return 'map';
}

/** Go's %T of a value. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'string') return 'string';
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof JsonNumber) return 'json.Number';
  if (Array.isArray(v)) return declaredType(v) ?? '[]interface {}';
  if (v instanceof GoStruct) return v.goTypeName;
  if (typeof v === 'function') return 'func()';
  return declaredType(v) ?? 'map[string]interface {}';
}

/** An error whose text is Go's (the engine adds "error calling NAME: "). */
export class GoFuncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoFuncError';
  }
}

/** text/template's message when an argument cannot be assigned to a parameter. */
function wrongType(expected: string, v: unknown): GoFuncError {
  if (v === null || v === undefined) return new GoFuncError(`invalid value; expected ${expected}`);
  return new GoFuncError(`wrong type for value; expected ${expected}; got ${goTypeName(v)}`);
}

/** A `string` parameter. */
export function argString(v: unknown): string {
  if (typeof v === 'string') return v;
  throw wrongType('string', v);
}

/** An `int` parameter (integer constants and int results only). */
export function argInt(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw wrongType('int', v);
}

/** A `[]string` parameter (nil is an empty slice, as text/template passes it). */
export function argStringSlice(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (isStringSlice(v)) return v as string[];
  throw wrongType('[]string', v);
}

/** A `[]interface {}` parameter. */
export function argAnySlice(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v) && declaredType(v) === undefined) return v;
  throw wrongType('[]interface {}', v);
}

/** A `map[string]interface {}` parameter. */
export function argAnyMap(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (isPlainObject(v) && (declaredType(v) === undefined || declaredType(v) === 'map[string]interface {}')) return v;
  throw wrongType('map[string]interface {}', v);
}

/** Variadic `...string` parameters. */
export function argStrings(args: unknown[]): string[] {
  return args.map(argString);
}

/** Go's strconv.Quote. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) { out += '\\ufffd'; continue; } // lone surrogate: invalid UTF-8 to Go
    if (cp < 0x20 || cp === 0x7f) { out += `\\x${cp.toString(16).padStart(2, '0')}`; continue; }
    if (cp === 0x20 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) { out += ch; continue; }
    out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  }
  return out + '"';
}

/** Go's %q of one value as fmt prints it (strings and json.Number quoted; others as fmt's bad-verb form). */
export function goQ(v: unknown): string {
  if (v === null || v === undefined) return '<invalid reflect.Value>';
  if (typeof v === 'string') return goQuote(v);
  if (v instanceof JsonNumber) return goQuote(v.text);
  if (typeof v === 'boolean') return `%!q(bool=${v})`;
  if (v instanceof GoFloat) return `%!q(float64=${formatFloat(v.value)})`;
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return goQuoteRune(v);
    return `%!q(float64=${formatFloat(v)})`;
  }
  if (Array.isArray(v)) return `[${v.map(goQ).join(' ')}]`;
  if (isPlainObject(v)) return `map[${Object.keys(v).sort().map((k) => `${goQuote(k)}:${goQ(v[k])}`).join(' ')}]`;
  return `%!q(${goTypeName(v)})`;
}

function goQuoteRune(n: number): string {
  if (n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return "'�'";
  const q = goQuote(String.fromCodePoint(n));
  const inner = q.slice(1, -1).replace(/\\"/g, '"');
  return `'${inner === "'" ? "\\'" : inner}'`;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), as fmt's %v prints a float64. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const shortest = f.toExponential(); // d.ddde±x, shortest round-trip digits
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(shortest)!;
  const e = Number(m[4]);
  if (e < -4 || e >= 6) { // %g with the shortest digits switches to an exponent at 1e+06
    const mant = m[3] ? `${m[2]}.${m[3]}` : m[2]!;
    const es = Math.abs(e) < 10 ? `0${Math.abs(e)}` : String(Math.abs(e));
    return `${m[1]}${mant}e${e < 0 ? '-' : '+'}${es}`;
  }
  const digits = (m[2]! + (m[3] ?? '')).replace(/0+$/, '') || '0';
  if (e >= 0) {
    const int = digits.slice(0, e + 1).padEnd(e + 1, '0');
    const frac = digits.slice(e + 1);
    return `${m[1]}${int}${frac ? '.' + frac : ''}`;
  }
  return `${m[1]}0.${'0'.repeat(-e - 1)}${digits}`;
}

/**
 * Go strings are bytes; ours are UTF-16. A byte that is not part of valid UTF-8 (base64Decode of a
 * binary secret, a binary file) is kept as the lone surrogate U+DC80+byte−0x80 ("surrogateescape"),
 * so `goStringToBytes` gives back exactly the bytes Go would write.
 */
export function goStringFromBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) { out += String.fromCharCode(b); i++; continue; }
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0x0f; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 0x07; min = 0x10000; }
    let ok = need > 0 && i + need <= n - 1;
    if (ok) {
      for (let k = 1; k <= need; k++) {
        const c = bytes[i + k]!;
        if ((c & 0xc0) !== 0x80) { ok = false; break; }
        cp = (cp << 6) | (c & 0x3f);
      }
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) { out += String.fromCharCode(0xdc00 + b); i++; continue; }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

export function goStringToBytes(s: string): Buffer {
  const parts: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) { parts.push(c); continue; }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        parts.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) { parts.push(c - 0xdc00); continue; }
    if (c >= 0xd800 && c <= 0xdfff) { parts.push(0xef, 0xbf, 0xbd); continue; }
    if (c < 0x800) { parts.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f)); continue; }
    parts.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Buffer.from(parts);
}

/**
 * fmt.Errorf(text) with no arguments, as consul-template's redactinator builds its error: every
 * `%verb` in the text becomes `%!verb(MISSING)`, `%%` becomes `%`, a final `%` is `%!(NOVERB)`.
 */
export function goErrorfNoArgs(text: string): string {
  let out = '';
  const cps = Array.from(text);
  for (let i = 0; i < cps.length; i++) {
    if (cps[i] !== '%') { out += cps[i]; continue; }
    i++;
    while (i < cps.length && '+-# 0'.includes(cps[i]!)) i++;
    let badWidth = false;
    if (cps[i] === '*') { badWidth = true; i++; } else while (i < cps.length && /\d/.test(cps[i]!)) i++;
    let badPrec = false;
    if (cps[i] === '.') {
      i++;
      if (cps[i] === '*') { badPrec = true; i++; } else while (i < cps.length && /\d/.test(cps[i]!)) i++;
    }
    if (badWidth) out += '%!(BADWIDTH)';
    if (badPrec) out += '%!(BADPREC)';
    if (i >= cps.length) { out += '%!(NOVERB)'; break; }
    const verb = cps[i]!;
    out += verb === '%' ? '%' : `%!${verb}(MISSING)`;
  }
  return out;
}

/** A struct's exported fields in order, without names its class marks as Go methods (goMethodFields). */
export function goFieldNames(s: GoStruct): string[] {
  const methods = (s.constructor as { goMethodFields?: readonly string[] }).goMethodFields ?? [];
  return Object.keys(s).filter((k) => /^\p{Lu}/u.test(k) && !methods.includes(k));
}

/** A parameter's Go type, for an engine that checks arguments as text/template does. */
export type GoParam = 'string' | 'int' | 'any' | '[]string' | '[]interface {}' | 'map[string]interface {}' | '[]*dependency.KeyPair';

/** A function's Go signature: fixed parameters and the element type of a final ...parameter. */
export interface GoSignature {
  params: readonly GoParam[];
  variadic: GoParam | null;
}

/**
 * Attaches `goSignature` (non-enumerable) to a function: what consul-template declares in Go, so an
 * engine can report "wrong number of args for X: want 1 got 2" and "wrong type for value; expected
 * []string; got []interface {}" at the argument, as text/template does. The functions check their
 * arguments themselves too (the message then comes as "error calling X: …").
 */
export function withSignature<T extends (...args: never[]) => unknown>(fn: T, params: readonly GoParam[], variadic: GoParam | null = null): T {
  Object.defineProperty(fn, 'goSignature', { value: { params, variadic } satisfies GoSignature, enumerable: false });
  return fn;
}
