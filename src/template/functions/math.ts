/**
 * consul-template's maths: add/subtract/multiply/divide/modulo/minimum/maximum take (b, a) and
 * compute `a op b` (so `{{ 10 | subtract 3 }}` is 7). ints stay ints (division truncates, a zero
 * divisor is Go's runtime panic), a float on either side makes a float; anything else (strings,
 * json.Number from Vault) is "unknown type".
 */
import type { TemplateFunc } from '../types.js';
import { float64, goInt, GoFuncError, goKind, goQ, goTypeName, numberValue } from './go.js';

type Op = (a: number, b: number, ints: boolean) => number;
type BigOp = (a: bigint, b: bigint) => bigint;

function numeric(name: string, op: Op, allowFloat = true, bigOp?: BigOp) {
  return (b: unknown, a: unknown): unknown => {
    const ak = goKind(a);
    const bk = goKind(b);
    const ok = (k: string) => k === 'int' || (allowFloat && k === 'float64');
    if (!ok(ak)) throw new GoFuncError(`${name}: unknown type for ${goQ(a)} (${goTypeName(a)})`);
    if (!ok(bk)) throw new GoFuncError(`${name}: unknown type for ${goQ(b)} (${goTypeName(b)})`);
    const ints = ak === 'int' && bk === 'int';
    if (ints && bigOp) return goInt(bigOp(BigInt(a as number | bigint), BigInt(b as number | bigint)));
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
  add: numeric('add', (a, b) => a + b, true, (a, b) => a + b),
  subtract: numeric('subtract', (a, b) => a - b, true, (a, b) => a - b),
  multiply: numeric('multiply', (a, b) => a * b, true, (a, b) => a * b),
  divide: numeric('divide', (a, b) => a / b, true, (a, b) => {
    if (b === 0n) throw divZero();
    return a / b;
  }),
  modulo: numeric('modulo', (a, b) => a % b, false, (a, b) => {
    if (b === 0n) throw divZero();
    return a % b;
  }),
  minimum: choose('minimum', (a, b) => a < b),
  maximum: choose('maximum', (a, b) => a > b),
};
