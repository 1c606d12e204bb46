/**
 * Go's view of JavaScript values inside the engine (see ../types.ts): kinds and type names as
 * reflect reports them, plus two engine-internal wrappers:
 * - `Iface`: a value whose static type is interface{} — what a map lookup, a slice element or a
 *   range element of Vault's JSON gives (Go keeps them apart from concrete values: a nil one is
 *   "nil pointer evaluating interface {}.X", a missing one is "<no value>");
 * - `GoFloat`: a float64 constant with an integral value (`1.0` in a template), which JavaScript
 *   numbers cannot tell from an int.
 * `undefined` is reflect's invalid Value (a missing key, nil data).
 */
import { GoStruct, JsonNumber } from '../types.js';

export class Iface {
  /** null: a nil interface. */
  constructor(readonly v: unknown) {}
}

/** A nil pointer of a known type (a GoStruct field declared as a pointer, holding null). */
export class NilPtr {
  constructor(readonly typeName: string) {}
}

/** A complex128 (from a complex constant such as 1+2i). */
export class GoComplex {
  constructor(readonly re: number, readonly im: number) {}
}

export class GoFloat {
  constructor(readonly value: number) {}
}

export type Kind =
  | 'invalid' | 'bool' | 'int' | 'float64' | 'complex128' | 'string' | 'slice' | 'map' | 'struct' | 'ptr' | 'func' | 'interface';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function kindOf(v: unknown): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (v instanceof Iface) return 'interface';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number': return Number.isInteger(v) ? 'int' : 'float64';
    case 'bigint': return 'int';
    case 'string': return 'string';
    case 'function': return 'func';
  }
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoComplex) return 'complex128';
  if (v instanceof JsonNumber) return 'string';
  if (v instanceof NilPtr) return 'ptr';
  if (Array.isArray(v)) return 'slice';
  if (v instanceof GoStruct) return v.goTypeName.startsWith('*') ? 'ptr' : 'struct';
  return 'map';
}

/** reflect.Type.String() of a value. */
export function typeString(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (v instanceof Iface) return 'interface {}';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number': return Number.isInteger(v) ? 'int' : 'float64';
    case 'bigint': return 'int';
    case 'string': return 'string';
    case 'function': return 'func(...interface {}) (interface {}, error)';
  }
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoComplex) return 'complex128';
  if (v instanceof JsonNumber) return 'json.Number';
  if (v instanceof NilPtr) return v.typeName;
  if (Array.isArray(v)) return declaredType(v) ?? '[]interface {}';
  if (v instanceof GoStruct) return v.goTypeName;
  return declaredType(v) ?? 'map[string]interface {}';
}

/** indirectInterface: the concrete value inside an interface (undefined for a nil one). */
export function concrete(v: unknown): unknown {
  if (v instanceof Iface) return v.v ?? undefined;
  return v ?? undefined;
}

/**
 * A slice or map may declare its Go type under this symbol (e.g. '[]string' for a function's
 * []string result, 'map[string]string'); without it a slice is []interface {} and a map
 * map[string]interface {}, as Vault's JSON decodes them.
 */
export const GO_TYPE = Symbol.for('vault-extproc.goType');

export function declaredType(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const t = (v as { [GO_TYPE]?: unknown })[GO_TYPE];
  return typeof t === 'string' ? t : undefined;
}

/** The element type of a slice or map type ('interface {}' when not declared). */
function elemTypeOf(container: unknown): string {
  const t = declaredType(container);
  if (t === undefined) return 'interface {}';
  if (t.startsWith('[]')) return t.slice(2);
  if (t.startsWith('map[')) {
    let depth = 0;
    for (let i = 3; i < t.length; i++) {
      if (t[i] === '[') depth++;
      else if (t[i] === ']' && --depth === 0) return t.slice(i + 1);
    }
  }
  return 'interface {}';
}

/** The zero value of a Go type. */
export function zeroOf(t: string): unknown {
  if (t === 'interface {}') return new Iface(null);
  if (t.startsWith('*')) return new NilPtr(t);
  if (t.startsWith('map[')) return {};
  if (t.startsWith('[]')) return [];
  if (t === 'string') return '';
  if (t === 'bool') return false;
  if (/^u?int(8|16|32|64)?$/.test(t)) return 0;
  if (t === 'float64' || t === 'float32') return new GoFloat(0);
  return new Iface(null);
}

/** A container element as reflect sees it: interface{} unless the container declares its type. */
export function elem(container: unknown, v: unknown): unknown {
  const et = elemTypeOf(container);
  if (et === 'interface {}') return new Iface(v ?? null);
  return v === null || v === undefined ? zeroOf(et) : v;
}

/** What a missing map key gives under missingkey=zero (and `index`): the element type's zero. */
export function zeroElem(container: unknown): unknown {
  return zeroOf(elemTypeOf(container));
}

/**
 * Names a GoStruct subclass marks as Go methods (static `goMethodFields`): not fields (not printed),
 * called by `.Name` (a function property is called with the arguments; another value is what a
 * method without parameters returns).
 */
export function methodNames(s: GoStruct): readonly string[] {
  return (s.constructor as { goMethodFields?: readonly string[] }).goMethodFields ?? [];
}

/** The exported fields of a struct (own enumerable properties with an upper-case first letter). */
export function structFields(s: GoStruct): [string, unknown][] {
  const methods = methodNames(s);
  return Object.entries(s).filter(([k]) => /^\p{Lu}/u.test(k) && !methods.includes(k));
}

/**
 * A struct field's value as the engine carries it. A GoStruct subclass may declare its fields' Go
 * types in a static `goFields` record (e.g. `{ Data: 'map[string]interface {}', Auth:
 * '*dependency.SecretAuth' }`); a null field is then that type's nil (an empty map or slice, a nil
 * pointer that prints <nil>, a zero string/int/bool). Without it a null field is a nil interface.
 */
export function fieldValue(s: GoStruct, name: string, v: unknown): unknown {
  if (v !== null && v !== undefined) return v;
  const types = (s.constructor as { goFields?: Record<string, string> }).goFields;
  const t = types?.[name];
  return t === undefined ? new Iface(null) : zeroOf(t);
}

/** Map keys in Go's order (fmtsort: strings by bytes, which is code point order). */
export function sortedKeys(m: Record<string, unknown>): string[] {
  return Object.keys(m).sort(compareStrings);
}

export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** An int kind's exact value. */
export function bigOf(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return 0n;
}

/** The numeric value of an int or float kind. */
export function numberOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof GoFloat) return v.value;
  return NaN;
}

/** Values handed to functions: engine wrappers removed (a GoFloat stays one: functions get Go's float64). */
export function toPublic(v: unknown): unknown {
  const c = concrete(v);
  if (c instanceof NilPtr) return null;
  return c === undefined ? null : c;
}

/** The type indirect() leaves: a pointer to a struct becomes the struct. */
export function derefTypeString(v: unknown): string {
  const t = typeString(v);
  return v instanceof GoStruct && t.startsWith('*') ? t.slice(1) : t;
}
