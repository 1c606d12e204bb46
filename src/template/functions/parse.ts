/**
 * consul-template's parse functions: Go's strconv.ParseBool / ParseInt(s, 10, 64) /
 * ParseUint(s, 10, 64) / ParseFloat(s, 64) with strconv's error texts; "" parses as the zero value.
 * parseYAML (gopkg.in/yaml.v2 into interface{}) is in yaml.ts.
 */
import type { TemplateFunc } from '../types.js';
import { argString, float64, goInt, GoFuncError, goQuote } from './go.js';

const syntax = (fn: string, s: string) => new GoFuncError(`strconv.${fn}: parsing ${goQuote(s)}: invalid syntax`);
const range = (fn: string, s: string) => new GoFuncError(`strconv.${fn}: parsing ${goQuote(s)}: value out of range`);

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** strconv.ParseInt(s, 10, 64); beyond 2^53 the value is a bigint (exact). */
export function goParseInt(s: string): number | bigint {
  if (s === '') return 0;
  const m = /^([+-]?)(\d+)$/.exec(s);
  if (!m) throw wrap('parseInt', syntax('ParseInt', s));
  const n = BigInt(m[1] === '-' ? '-' + m[2] : m[2]!);
  if (n > INT64_MAX || n < -INT64_MAX - 1n) throw wrap('parseInt', range('ParseInt', s));
  return goInt(n);
}

function wrap(fn: string, e: GoFuncError): GoFuncError {
  return new GoFuncError(`${fn}: ${e.message}`);
}

function parseBool(s: unknown): boolean {
  const text = argString(s);
  if (text === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw wrap('parseBool', syntax('ParseBool', text));
}

function parseUint(s: unknown): number | bigint {
  const text = argString(s);
  if (text === '') return 0;
  if (!/^\d+$/.test(text)) throw wrap('parseUint', syntax('ParseUint', text));
  const n = BigInt(text);
  if (n > UINT64_MAX) throw wrap('parseUint', range('ParseUint', text));
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]((?:[0-9a-fA-F]_?)*[0-9a-fA-F]?)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;
const SPECIAL = /^(?:([+-]?)(inf|infinity)|(nan))$/i;

/** strconv's underscoreOK: underscores only between digits (or after a base prefix). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let t = s;
  if (t.startsWith('-') || t.startsWith('+')) t = t.slice(1);
  let i = 0;
  let hex = false;
  if (t.length >= 2 && t[0] === '0' && 'box'.includes(t[1]!.toLowerCase())) {
    i = 2;
    saw = '0';
    hex = t[1]!.toLowerCase() === 'x';
  }
  for (; i < t.length; i++) {
    const c = t[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-f]/i.test(c))) { saw = '0'; continue; }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseFloat(s, 64). */
export function goParseFloat(text: string): number {
  const special = SPECIAL.exec(text);
  if (special) {
    if (special[3]) return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  let v: number;
  const plain = text.includes('_') && underscoreOK(text) ? text.replace(/_/g, '') : text;
  if (DECIMAL.test(plain)) v = Number(plain);
  else {
    const h = HEX_FLOAT.exec(text);
    if (!h || (h[2]!.replace(/_/g, '') === '' && !h[3])) throw syntax('ParseFloat', text);
    const intPart = h[2]!.replace(/_/g, '');
    const frac = h[3] ?? '';
    const mant = parseInt((intPart + frac) || '0', 16);
    v = mant * 2 ** (Number(h[4]) - 4 * frac.length);
    if (h[1] === '-') v = -v;
  }
  if (!Number.isFinite(v)) throw range('ParseFloat', text);
  return v;
}

function parseFloat(s: unknown): unknown {
  const text = argString(s);
  if (text === '') return float64(0);
  try {
    return float64(goParseFloat(text));
  } catch (e) {
    throw wrap('parseFloat', e as GoFuncError);
  }
}

export const parseFuncs: Record<string, TemplateFunc> = {
  parseBool,
  parseInt: (s) => goParseInt(argString(s)),
  parseUint,
  parseFloat,
};
