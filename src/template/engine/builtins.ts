/**
 * text/template's builtin functions (and or not eq ne lt le gt ge index slice len call print printf
 * println html js urlquery) over the engine's values, with Go's parameter shapes (so the executor
 * reports "wrong number of args for …" as Go does) and Go's error texts.
 */
import { GoStruct, JsonNumber, type TemplateFunc } from '../types.js';
import { sprint, sprintf, sprintln } from './gofmt.js';
import { isPrint } from './strconv.js';
import {
  bigOf, compareStrings, concrete, derefTypeString, elem, fieldValue, GoComplex, GoFloat, Iface, kindOf, NilPtr, numberOf, structFields, typeString, zeroElem,
} from './values.js';

/** A parameter's Go type, as far as argument evaluation cares. */
/** A slice or map parameter type, as Go spells it ('[]string', 'map[string]interface {}'). */
export type CompositeType = `[]${string}` | `map[${string}`;
export type ParamType = 'value' | 'any' | 'string' | 'int' | 'bool' | CompositeType;

export function isCompositeType(t: ParamType | null): t is CompositeType {
  return t !== null && (t.startsWith('[]') || t.startsWith('map['));
}

/** A Go parameter type as a caller's function declares it (goSignature): what the engine can check. */
export function paramType(goType: string): ParamType {
  switch (goType) {
    case 'string': return 'string';
    case 'int': return 'int';
    case 'bool': return 'bool';
    default: return goType.startsWith('[]') || goType.startsWith('map[') ? goType as CompositeType : 'any';
  }
}

export interface FuncDef {
  params: ParamType[];
  /** The element type of a final ...parameter, or null. */
  variadic: ParamType | null;
  builtin: boolean;
  fn: (...args: unknown[]) => unknown;
}

/**
 * A caller's function may carry its Go signature as a `goSignature` property ({ params, variadic }:
 * the fixed parameters' Go types and the element type of a final ...parameter, or null), so the
 * engine checks each call as Go's text/template does before the function runs ("wrong number of
 * args for NAME: want 2 got 1", "wrong type for value; expected string; got json.Number",
 * "expected string; found 3", "invalid value; expected string"). The engine checks string, int and
 * bool parameters, and slice and map parameters ([]string, map[string]interface {} …) by reflect's
 * assignability: only a value of that very type (a []interface {} is not a []string), or nil; any
 * other type (interface {}, 'any') counts for the number of arguments only. Without a signature a function takes any number of arguments of any type.
 */
export interface GoSignature {
  params: readonly string[];
  variadic: string | null;
}

export function signatureOf(fn: TemplateFunc): FuncDef {
  const sig = (fn as { goSignature?: GoSignature }).goSignature;
  if (!sig || !Array.isArray(sig.params)) return { params: [], variadic: 'any', builtin: false, fn };
  return {
    params: sig.params.map(paramType),
    variadic: sig.variadic === null || sig.variadic === undefined ? null : paramType(sig.variadic),
    builtin: false,
    fn,
  };
}

/** An error a function returned (the executor reports "error calling NAME: …"). */
export class CallError extends Error {}

/** Go's truth of a value: the second element is false when the value has no truth (never here). */
export function isTrue(v: unknown): boolean {
  const c = concrete(v);
  switch (kindOf(c)) {
    case 'invalid': return false;
    case 'bool': return c as boolean;
    case 'int': case 'float64': return numberOf(c) !== 0;
    case 'complex128': return (c as GoComplex).re !== 0 || (c as GoComplex).im !== 0;
    case 'string': return (c instanceof JsonNumber ? c.text : (c as string)).length > 0;
    case 'slice': return (c as unknown[]).length > 0;
    case 'map': return Object.keys(c as object).length > 0;
    case 'ptr': return !(c instanceof NilPtr);
    default: return true; // structs, functions
  }
}

/** indirect(): through interfaces (our pointers are never nil); isNil for a nil interface. */
export function indirect(v: unknown): { v: unknown; isNil: boolean } {
  if (v instanceof NilPtr) return { v, isNil: true };
  let x = v;
  while (x instanceof Iface) {
    if (x.v === null || x.v === undefined) return { v: x, isNil: true };
    x = x.v;
  }
  return { v: x, isNil: false };
}

type BasicKind = 'invalid' | 'bool' | 'int' | 'float' | 'complex' | 'string';

function basicKind(v: unknown): BasicKind {
  switch (kindOf(v)) {
    case 'bool': return 'bool';
    case 'int': return 'int';
    case 'float64': return 'float';
    case 'complex128': return 'complex';
    case 'string': return 'string';
    default: return 'invalid';
  }
}

function str(v: unknown): string {
  return v instanceof JsonNumber ? v.text : (v as string);
}

function isNilValue(v: unknown): boolean {
  return v === undefined || v === null || v instanceof NilPtr || (v instanceof Iface && (v.v === null || v.v === undefined));
}

/** Whether Go's == applies to the value's type (a struct value only when all its fields do). */
function comparable(v: unknown): boolean {
  const k = kindOf(v);
  if (k === 'struct') return structFields(v as GoStruct).every(([name, f]) => comparable(fieldValue(v as GoStruct, name, f)));
  return k !== 'map' && k !== 'slice' && k !== 'func';
}

/** Go's == on comparable values: struct values field by field, interfaces by their dynamic value. */
function goEqual(a: unknown, b: unknown): boolean {
  const x = a instanceof Iface ? a.v ?? undefined : a;
  const y = b instanceof Iface ? b.v ?? undefined : b;
  if (x === y) return true;
  if (x === undefined || y === undefined) return false;
  if (typeString(x) !== typeString(y)) return false;
  if (x instanceof JsonNumber) return x.text === (y as JsonNumber).text;
  if (x instanceof GoFloat) return x.value === (y as GoFloat).value;
  if (x instanceof NilPtr) return y instanceof NilPtr;
  if (kindOf(x) === 'struct') {
    const fx = structFields(x as GoStruct);
    const fy = structFields(y as GoStruct);
    return fx.length === fy.length && fx.every(([name, f], i) => goEqual(fieldValue(x as GoStruct, name, f), fieldValue(y as GoStruct, fy[i]![0], fy[i]![1])));
  }
  if (typeof x === 'number' || typeof x === 'bigint') return bigOrNumberEqual(x, y);
  return false;
}

function bigOrNumberEqual(x: number | bigint, y: unknown): boolean {
  if (typeof y !== 'number' && typeof y !== 'bigint') return false;
  if (Number.isInteger(Number(x)) && Number.isInteger(Number(y))) return bigOf(x) === bigOf(y);
  return Number(x) === Number(y);
}

function eq(arg1In: unknown, ...arg2: unknown[]): boolean {
  const arg1 = concrete(arg1In);
  if (arg2.length === 0) throw new CallError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const argIn of arg2) {
    const arg = concrete(argIn);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (arg1 !== undefined && arg !== undefined) {
        throw new CallError(`incompatible types for comparison: ${typeString(arg1)} and ${typeString(arg)}`);
      }
    } else {
      switch (k1) {
        case 'bool': truth = arg1 === arg; break;
        case 'float': truth = numberOf(arg1) === numberOf(arg); break;
        case 'complex': truth = (arg1 as GoComplex).re === (arg as GoComplex).re && (arg1 as GoComplex).im === (arg as GoComplex).im; break;
        case 'int': truth = bigOf(arg1) === bigOf(arg); break;
        case 'string': truth = str(arg1) === str(arg); break;
        default: {
          const kind1 = kindOf(arg1);
          const kind2 = kindOf(arg);
          if (kind1 !== kind2 && kind1 !== 'invalid' && kind2 !== 'invalid') {
            throw new CallError(`non-comparable types ${sprintf('%s', arg1)}: ${typeString(arg1)}, ${typeString(arg)}: ${sprintf('%v', arg)}`);
          }
          if (isNilValue(arg1) || isNilValue(arg)) {
            truth = isNilValue(arg) === isNilValue(arg1);
          } else {
            if (!comparable(arg)) throw new CallError(`non-comparable type ${sprintf('%s', arg)}: ${typeString(arg)}`);
            truth = goEqual(arg1, arg);
          }
        }
      }
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const arg1 = concrete(a);
  const k1 = basicKind(arg1);
  if (k1 === 'invalid') throw new CallError('invalid type for comparison');
  const arg2 = concrete(b);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid') throw new CallError('invalid type for comparison');
  if (k1 !== k2) throw new CallError(`incompatible types for comparison: ${typeString(arg1)} and ${typeString(arg2)}`);
  switch (k1) {
    case 'bool': case 'complex': throw new CallError('invalid type for comparison');
    case 'float': return numberOf(arg1) < numberOf(arg2);
    case 'int': return bigOf(arg1) < bigOf(arg2);
    default: return compareStrings(str(arg1), str(arg2)) < 0;
  }
}

function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

function indexArg(index: unknown, cap: number): number {
  let x: number;
  switch (kindOf(index)) {
    case 'int': x = numberOf(index); break;
    case 'invalid': throw new CallError('cannot index slice/array with nil');
    default: throw new CallError(`cannot index slice/array with type ${typeString(index)}`);
  }
  if (x < 0 || x > cap) throw new CallError(`index out of range: ${x}`);
  return x;
}

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function index(itemIn: unknown, ...indexes: unknown[]): unknown {
  let item: unknown = concrete(itemIn);
  if (item === undefined) throw new CallError('index of untyped nil');
  for (const idxIn of indexes) {
    const idx = concrete(idxIn);
    const ind = indirect(item);
    if (ind.isNil) throw new CallError('index of nil pointer');
    item = ind.v;
    const k = kindOf(item);
    if (k === 'slice') {
      const a = item as unknown[];
      const x = indexArg(idx, a.length);
      if (x >= a.length) throw new CallError('reflect: slice index out of range');
      item = elem(a, a[x]);
    } else if (k === 'string') {
      const b = utf8(str(item));
      const x = indexArg(idx, b.length);
      if (x >= b.length) throw new CallError('reflect: string index out of range');
      item = b[x]!;
    } else if (k === 'map') {
      if (idx === undefined) throw new CallError('value is nil; should be of type string');
      if (typeof idx !== 'string') throw new CallError(`value has type ${typeString(idx)}; should be string`);
      const m = item as Record<string, unknown>;
      item = Object.prototype.hasOwnProperty.call(m, idx) ? elem(m, m[idx]) : zeroElem(m);
    } else {
      throw new CallError(`can't index item of type ${derefTypeString(item)}`);
    }
  }
  return item;
}

function slice(itemIn: unknown, ...indexes: unknown[]): unknown {
  const item0 = concrete(itemIn);
  if (item0 === undefined) throw new CallError('slice of untyped nil');
  const ind = indirect(item0);
  if (ind.isNil) throw new CallError('slice of nil pointer');
  const item = ind.v;
  if (indexes.length > 3) throw new CallError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  let len: number;
  if (k === 'string') {
    if (indexes.length === 3) throw new CallError('cannot 3-index slice a string');
    len = utf8(str(item)).length;
  } else if (k === 'slice') {
    len = (item as unknown[]).length;
  } else {
    throw new CallError(`can't slice item of type ${derefTypeString(item)}`);
  }
  const idx = [0, len, len];
  // Unlike index, slice does not look inside interface values: a map value is "type interface {}".
  indexes.forEach((x, i) => { idx[i] = indexArg(x, len); });
  if (idx[0]! > idx[1]!) throw new CallError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new CallError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === 'string') {
    const s = utf8(str(item)).subarray(idx[0], idx[1]).toString('utf8');
    return item instanceof JsonNumber ? new JsonNumber(s) : s;
  }
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function length(itemIn: unknown): number {
  const { v, isNil } = indirect(itemIn);
  if (isNil) throw new CallError('len of nil pointer');
  switch (kindOf(v)) {
    case 'slice': return (v as unknown[]).length;
    case 'map': return Object.keys(v as object).length;
    case 'string': return utf8(str(v)).length;
    case 'invalid': throw new CallError('reflect: call of reflect.Value.Type on zero Value');
    default: throw new CallError(`len of type ${derefTypeString(v)}`);
  }
}

/** The textual form html/js/urlquery escape: fmt.Sprint with pointers dereferenced, nil as <no value>. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args.map((a) => (a === undefined || a === null ? '<no value>' : a)));
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (c < 0x20) out += `\\u00${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (c < 0x80 || isPrint(c)) out += ch;
    else out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

function urlQueryEscape(s: string): string {
  let out = '';
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const unreachable = (): never => { throw new Error('unreachable'); };

const V: ParamType = 'value';

export const BUILTINS: Readonly<Record<string, FuncDef>> = {
  and: { params: [V], variadic: V, builtin: true, fn: unreachable },
  or: { params: [V], variadic: V, builtin: true, fn: unreachable },
  call: { params: [V], variadic: V, builtin: true, fn: unreachable },
  not: { params: [V], variadic: null, builtin: true, fn: (a) => !isTrue(a) },
  eq: { params: [V], variadic: V, builtin: true, fn: (a, ...b) => eq(a, ...b) },
  ne: { params: [V, V], variadic: null, builtin: true, fn: (a, b) => !eq(a, b) },
  lt: { params: [V, V], variadic: null, builtin: true, fn: (a, b) => lt(a, b) },
  le: { params: [V, V], variadic: null, builtin: true, fn: (a, b) => le(a, b) },
  gt: { params: [V, V], variadic: null, builtin: true, fn: (a, b) => !le(a, b) },
  ge: { params: [V, V], variadic: null, builtin: true, fn: (a, b) => !lt(a, b) },
  index: { params: [V], variadic: V, builtin: true, fn: (a, ...i) => index(a, ...i) },
  slice: { params: [V], variadic: V, builtin: true, fn: (a, ...i) => slice(a, ...i) },
  len: { params: [V], variadic: null, builtin: true, fn: (a) => length(a) },
  print: { params: [], variadic: 'any', builtin: true, fn: (...a) => sprint(...a) },
  println: { params: [], variadic: 'any', builtin: true, fn: (...a) => sprintln(...a) },
  printf: { params: ['string'], variadic: 'any', builtin: true, fn: (f, ...a) => sprintf(f as string, ...a) },
  html: { params: [], variadic: 'any', builtin: true, fn: (...a) => htmlEscape(evalArgs(a)) },
  js: { params: [], variadic: 'any', builtin: true, fn: (...a) => jsEscape(evalArgs(a)) },
  urlquery: { params: [], variadic: 'any', builtin: true, fn: (...a) => urlQueryEscape(evalArgs(a)) },
};

