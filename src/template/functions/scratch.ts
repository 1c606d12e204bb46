/**
 * consul-template's scratch (template/scratch.go): a store that lives for one render, reached as
 * `{{ scratch.Set "k" v }}`, `{{ scratch.Get "k" }}` and the rest of its methods (Key, Set, SetX,
 * Get, MapSet, MapSetX, MapValues), which the engine calls as Go methods (goMethodFields).
 */
import { GoStruct } from '../types.js';
import { argString, GoFuncError, goQuote, isPlainObject, nilSlice, withSignature } from './go.js';
import { compareBytes } from './encoding.js';
import type { TemplateFunc } from '../types.js';

export class Scratch extends GoStruct {
  static readonly goMethodFields: readonly string[] = ['Key', 'Get', 'Set', 'SetX', 'MapSet', 'MapSetX', 'MapValues'];
  readonly goTypeName = '*template.Scratch';
  declare Key: TemplateFunc;
  declare Get: TemplateFunc;
  declare Set: TemplateFunc;
  declare SetX: TemplateFunc;
  declare MapSet: TemplateFunc;
  declare MapSetX: TemplateFunc;
  declare MapValues: TemplateFunc;

  constructor() {
    super();
    const values = new Map<string, unknown>();
    const method = (name: string, fn: TemplateFunc, params: ('string' | 'any')[]) =>
      Object.defineProperty(this, name, { value: withSignature(fn, params), enumerable: true });
    const mapSet = (k: string, mk: string, v: unknown, overwrite: boolean): string => {
      if (!values.has(k)) values.set(k, {});
      const typed = values.get(k);
      if (!isPlainObject(typed)) throw new GoFuncError(`${goQuote(k)} is not a map`);
      if (overwrite || !Object.prototype.hasOwnProperty.call(typed, mk)) {
        Object.defineProperty(typed, mk, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return '';
    };
    method('Key', (k) => values.has(argString(k)), ['string']);
    method('Get', (k) => values.get(argString(k)) ?? null, ['string']);
    method('Set', (k, v) => { values.set(argString(k), v); return ''; }, ['string', 'any']);
    method('SetX', (k, v) => { const key = argString(k); if (!values.has(key)) values.set(key, v); return ''; }, ['string', 'any']);
    method('MapSet', (k, mk, v) => mapSet(argString(k), argString(mk), v, true), ['string', 'string', 'any']);
    method('MapSetX', (k, mk, v) => mapSet(argString(k), argString(mk), v, false), ['string', 'string', 'any']);
    method('MapValues', (k) => {
      const typed = values.get(argString(k));
      if (!isPlainObject(typed)) return nilSlice();
      return Object.keys(typed).sort(compareBytes).map((key) => typed[key]);
    }, ['string']);
  }
}

export function scratchFuncs(): Record<string, TemplateFunc> {
  const scratch = new Scratch();
  return { scratch: withSignature(() => scratch, []) };
}
