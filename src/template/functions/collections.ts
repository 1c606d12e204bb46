/**
 * consul-template's collection functions: contains/in (reflect kinds compared as consul-template
 * compares them), containsAll/Any/None/NotAll, split, join, splitToMap, explode, explodeMap, loop.
 */
import { JsonNumber, type TemplateFunc } from '../types.js';
import { argAnyMap, argAnySlice, numberValue, argString, argStringSlice, GoFuncError, goKind, goQ, goTypeName, isPlainObject, stringMap, stringSlice } from './go.js';
import { compareBytes } from './encoding.js';
import { goTrimSpace } from './strings.js';
import { goParseInt } from './parse.js';

const REFLECT_ZERO = 'reflect: call of reflect.Value.Type on zero Value';

const textOf = (v: unknown): string => (v instanceof JsonNumber ? v.text : (v as string));

/** consul-template's `in(l, v)`: is v an element of the slice l, or a substring of the string l. */
export function goIn(l: unknown, v: unknown): boolean {
  const lk = goKind(l);
  const vk = goKind(v);
  if (lk === 'slice') {
    for (const item of l as unknown[]) {
      switch (goKind(item)) {
        case 'int':
          if (vk === 'int' && Number(item) === Number(v)) return true;
          break;
        case 'float64':
          if (vk === 'float64' && numberValue(item) === numberValue(v)) return true;
          break;
        case 'string':
          if (vk === 'invalid') throw new GoFuncError(REFLECT_ZERO);
          if (goTypeName(v) === goTypeName(item) && textOf(v) === textOf(item)) return true;
          break;
        default:
      }
    }
    return false;
  }
  if (lk === 'string') {
    if (vk === 'invalid') throw new GoFuncError(REFLECT_ZERO);
    return goTypeName(v) === goTypeName(l) && textOf(l).includes(textOf(v));
  }
  return false;
}

function containsSome(retTrue: boolean, invert: boolean) {
  return (v: unknown, l: unknown): boolean => {
    const items = argAnySlice(v);
    for (const x of items) {
      if (goIn(l, x) !== invert) return !retTrue;
    }
    return retTrue;
  };
}

/** strings.Split: an empty separator splits into code points. */
function goSplit(s: string, sep: string): string[] {
  return sep === '' ? Array.from(s) : s.split(sep);
}

function explodeHelper(m: Record<string, unknown>, k: string, v: unknown, p: string): void {
  if (k.includes('/')) {
    const parts = k.split('/');
    const top = parts[0]!;
    const key = parts.slice(1).join('/');
    if (!Object.prototype.hasOwnProperty.call(m, top)) define(m, top, {});
    const nest = m[top];
    if (!isPlainObject(nest)) throw new GoFuncError(`not a map: ${goQ(p)}: ${goQ(top)} already has value ${goQ(nest)}`);
    explodeHelper(nest, key, v, k);
    return;
  }
  if (k !== '') define(m, k, v);
}

function define(m: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function toInt64(v: unknown): number {
  switch (goKind(v)) {
    case 'int': return Number(v);
    case 'string': return Number(goParseInt(textOf(v)));
    default: throw new GoFuncError(`loop: bad argument type: ${goTypeName(v)}`);
  }
}

/** mergo's isEmptyValue through an interface: "", 0, false, nil, an empty map or slice. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v === '';
  if (v instanceof JsonNumber) return v.text === '';
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v) === 0;
  if (goKind(v) === 'float64') return numberValue(v) === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return false;
}

/** mergo.Map(&dst, src[, WithOverride]) for map[string]interface{}: dst is changed in place, as in Go. */
function mergoMap(dst: Record<string, unknown>, src: Record<string, unknown>, overwrite: boolean): void {
  for (const key of Object.keys(src)) {
    const s = src[key];
    const has = Object.prototype.hasOwnProperty.call(dst, key);
    const d = has ? dst[key] : undefined;
    if (s === null || s === undefined) {
      if (overwrite) define(dst, key, null);
      continue;
    }
    if (isPlainObject(s) && has && isPlainObject(d)) mergoMap(d, s, overwrite);
    if (has && !isEmpty(d)) {
      if (Array.isArray(s)) { if (overwrite) define(dst, key, s); continue; }
      if (isPlainObject(s) && isPlainObject(d)) continue;
    }
    if (overwrite || !has || isEmpty(d)) define(dst, key, s);
  }
}

function mergeMapFunc(overwrite: boolean) {
  return (dstMap: unknown, srcMap: unknown): Record<string, unknown> => {
    const dst = argAnyMap(dstMap);
    mergoMap(dst, argAnyMap(srcMap), overwrite);
    return dst;
  };
}

export const collectionFuncs: Record<string, TemplateFunc> = {
  contains: (v, l) => goIn(l, v),
  containsAll: containsSome(true, true),
  containsAny: containsSome(false, false),
  containsNone: containsSome(true, false),
  containsNotAll: containsSome(false, true),
  in: (l, v) => goIn(l, v),
  split: (sep, s) => {
    const text = goTrimSpace(argString(s));
    const separator = argString(sep);
    return stringSlice(text === '' ? [] : goSplit(text, separator));
  },
  join: (sep, a) => argStringSlice(a).join(argString(sep)),
  splitToMap: (sep1, sep2, s) => {
    const text = goTrimSpace(argString(s));
    const s1 = argString(sep1);
    const s2 = argString(sep2);
    const m: Record<string, string> = {};
    if (text !== '') {
      for (const item of goSplit(text, s1)) {
        const at = item.indexOf(s2);
        if (at < 0) continue;
        define(m, item.slice(0, at), item.slice(at + s2.length));
      }
    }
    return stringMap(m);
  },
  mergeMap: mergeMapFunc(false),
  mergeMapWithOverride: mergeMapFunc(true),
  explode: (pairs) => {
    // Its argument is []*dependency.KeyPair, which only Consul's `ls`/`tree` return.
    if (pairs === null || pairs === undefined) return {};
    throw new GoFuncError(`wrong type for value; expected []*dependency.KeyPair; got ${goTypeName(pairs)}`);
  },
  explodeMap: (mapIn) => {
    const src = argAnyMap(mapIn);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(src).sort(compareBytes)) {
      try {
        explodeHelper(out, k, src[k], k);
      } catch (e) {
        throw new GoFuncError(`explodeMap: ${(e as Error).message}`);
      }
    }
    return out;
  },
  loop: (...args) => {
    let a: unknown;
    let b: unknown;
    if (args.length === 1) { a = 0; b = args[0]; } else if (args.length === 2) { [a, b] = args; } else {
      throw new GoFuncError(`loop: wrong number of arguments, expected 1 or 2, but got ${args.length}`);
    }
    const start = toInt64(a);
    const stop = toInt64(b);
    const out: number[] = [];
    for (let i = start; i < stop; i++) out.push(i);
    return out;
  },
};
