/**
 * consul-template's maths: add/subtract/multiply/divide/modulo/minimum/maximum take (b, a) and
 * compute `a op b` (so `{{ 10 | subtract 3 }}` is 7). ints stay ints (division truncates, a zero
 * divisor is Go's runtime panic), a float on either side makes a float; anything else (strings,
 * json.Number from Vault) is "unknown type".
 */
import type { TemplateFunc } from '../types.js';
import { GoFuncError, goKind, goQ, goTypeName } from './go.js';

type Op = (a: number, b: number, ints: boolean) => number;

function numeric(name: string, op: Op, allowFloat = true) {
  return (b: unknown, a: unknown): number => {
    const ak = goKind(a);
    const bk = goKind(b);
    const ok = (k: string) => k === 'int' || (allowFloat && k === 'float64');
    if (!ok(ak)) throw new GoFuncError(`${name}: unknown type for ${goQ(a)} (${goTypeName(a)})`);
    if (!ok(bk)) throw new GoFuncError(`${name}: unknown type for ${goQ(b)} (${goTypeName(b)})`);
    return op(Number(a), Number(b), ak === 'int' && bk === 'int');
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
  minimum: numeric('minimum', (a, b) => (a < b ? a : b)),
  maximum: numeric('maximum', (a, b) => (a > b ? a : b)),
};
