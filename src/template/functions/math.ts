/**
 * consul-template's maths: add/subtract/multiply/divide/modulo/minimum/maximum take (b, a) and
 * compute `a op b` (so `{{ 10 | subtract 3 }}` is 7). ints stay ints (division truncates, a zero
 * divisor is Go's runtime panic), a float on either side makes a float; anything else (strings,
 * json.Number from Vault) is "unknown type".
 */
import type { TemplateFunc } from '../types.js';
import { float64, GoFuncError, goKind, goQ, goTypeName, numberValue } from './go.js';

type Op = (a: number, b: number, ints: boolean) => number;

function numeric(name: string, op: Op, allowFloat = true) {
  return (b: unknown, a: unknown): unknown => {
    const ak = goKind(a);
    const bk = goKind(b);
    const ok = (k: string) => k === 'int' || (allowFloat && k === 'float64');
    if (!ok(ak)) throw new GoFuncError(`${name}: unknown type for ${goQ(a)} (${goTypeName(a)})`);
    if (!ok(bk)) throw new GoFuncError(`${name}: unknown type for ${goQ(b)} (${goTypeName(b)})`);
    const ints = ak === 'int' && bk === 'int';
    const r = op(numberValue(a), numberValue(b), ints);
    return ints ? r : float64(r);
  };
}

/** minimum/maximum give back the chosen operand with its own type (an int stays an int). */
function choose(name: string, pickA: (a: number, b: number) => boolean) {
  return (b: unknown, a: unknown): unknown => {
    const ok = (k: string) => k === 'int' || k === 'float64';
    if (!ok(goKind(a))) throw new GoFuncError(`${name}: unknown type for ${goQ(a)} (${goTypeName(a)})`);
    if (!ok(goKind(b))) throw new GoFuncError(`${name}: unknown type for ${goQ(b)} (${goTypeName(b)})`);
    return pickA(numberValue(a), numberValue(b)) ? a : b;
  };
}

const divZero = () => new GoFuncError('runtime error: integer divide by zero');

export const mathFuncs: Record<string, TemplateFunc> = {
  add: numeric('add', (a, b) => a + b),
  subtract: numeric('subtract', (a, b) => a - b),
  multiply: numeric('multiply', (a, b) => a * b),
  divide: numeric('divide', (a, b, ints) => {
    if (!ints) return a / b;
    if (b === 0) throw divZero();
    return Math.trunc(a / b);
  }),
  modulo: numeric('modulo', (a, b) => {
    if (b === 0) throw divZero();
    return a % b;
  }, false),
  minimum: choose('minimum', (a, b) => a < b),
  maximum: choose('maximum', (a, b) => a > b),
};
