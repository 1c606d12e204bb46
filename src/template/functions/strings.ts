/**
 * consul-template's string functions (template/funcs.go): trim*, toLower/Upper/Title, replaceAll,
 * regexReplaceAll, regexMatch, indent. Argument order is consul-template's (the subject last, so it
 * can be piped).
 */
import { argInt, argString, GoFuncError } from './go.js';
import { compileGo, goReplaceAllString } from './regexp.js';
import type { TemplateFunc } from '../types.js';

const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_SPACE_EDGES = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

/** Go's strings.TrimSpace (Unicode White_Space). */
export function goTrimSpace(s: string): string {
  return s.replace(GO_SPACE_EDGES, '');
}

/** Go's strings.Trim(s, cutset): strip leading and trailing code points found in cutset. */
function goTrim(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const set = new Set(Array.from(cutset));
  const chars = Array.from(s);
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a]!)) a++;
  while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join('');
}

/** unicode.ToLower / ToUpper per code point (simple mappings: one code point in, one out). */
function mapRunes(s: string, upper: boolean): string {
  let out = '';
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    if (Array.from(m).length === 1) out += m;
    else if (!upper && ch === '\u0130') out += 'i';
    else out += ch; // no simple mapping (e.g. ß upper-cases to itself in Go)
  }
  return out;
}

const MID = new Set([':', '\u00b7', '\u0387', '\u055f', '\u05f4', '\u2027', '\ufe13', '\ufe55', '\uff1a',
  '.', '\u2018', '\u2019', '\u2024', '\ufe52', '\uff07', '\uff0e', "'"]);
const WORDISH = /^[\p{L}\p{N}\p{M}\p{Pc}\p{Cf}]$/u;
const CASED = /^\p{Cased}$/u;
const TITLE_DIGRAPHS: Record<string, string> = {
  '\u01c4': '\u01c5', '\u01c5': '\u01c5', '\u01c6': '\u01c5',
  '\u01c7': '\u01c8', '\u01c8': '\u01c8', '\u01c9': '\u01c8',
  '\u01ca': '\u01cb', '\u01cb': '\u01cb', '\u01cc': '\u01cb',
  '\u01f1': '\u01f2', '\u01f2': '\u01f2', '\u01f3': '\u01f2',
};

function titleRune(ch: string): string {
  const d = TITLE_DIGRAPHS[ch];
  if (d) return d;
  const up = ch.toUpperCase();
  const cps = Array.from(up);
  if (cps.length === 1) return up;
  return cps[0]! + cps.slice(1).join('').toLowerCase();
}

/** cases.Title(language.Und, cases.NoLower): the first cased letter of each word title-cased, the rest kept. */
export function goTitle(s: string): string {
  let out = '';
  let midWord = false;
  let prevMid = false;
  for (const ch of s) {
    const mid = MID.has(ch);
    if (prevMid && mid) midWord = false;
    if (CASED.test(ch)) {
      if (!midWord) {
        out += titleRune(ch);
        midWord = true;
      } else out += ch;
    } else {
      out += ch;
      if (!mid && !WORDISH.test(ch)) midWord = false;
    }
    prevMid = mid;
  }
  return out;
}

function indent(spaces: unknown, s: unknown): string {
  const n = argInt(spaces);
  const text = argString(s);
  if (n < 0) throw new GoFuncError('indent value must be a positive integer');
  const prefix = ' '.repeat(n);
  let out = '';
  let atLineStart = true;
  for (const ch of text) {
    if (atLineStart && ch !== '\n') out += prefix;
    out += ch;
    atLineStart = ch === '\n';
  }
  return out;
}

export const stringFuncs: Record<string, TemplateFunc> = {
  trim: (cutset, s) => goTrim(argString(s), argString(cutset)),
  trimPrefix: (prefix, s) => {
    const p = argString(prefix);
    const str = argString(s);
    return p !== '' && str.startsWith(p) ? str.slice(p.length) : str;
  },
  trimSuffix: (suffix, s) => {
    const p = argString(suffix);
    const str = argString(s);
    return p !== '' && str.endsWith(p) ? str.slice(0, str.length - p.length) : str;
  },
  trimSpace: (s) => goTrimSpace(argString(s)),
  toLower: (s) => mapRunes(argString(s), false),
  toUpper: (s) => mapRunes(argString(s), true),
  toTitle: (s) => goTitle(argString(s)),
  replaceAll: (from, to, s) => goReplaceAll(argString(s), argString(from), argString(to)),
  regexReplaceAll: (re, repl, s) => {
    const rx = compileGo(argString(re), true);
    return goReplaceAllString(rx, argString(s), argString(repl));
  },
  regexMatch: (re, s) => compileGo(argString(re), false).js.test(argString(s)),
  indent,
};

/** strings.Replace(s, old, new, -1): an empty `old` matches before every code point and at the end. */
function goReplaceAll(s: string, from: string, to: string): string {
  if (from === '') {
    const cps = Array.from(s);
    return to + cps.map((c) => c + to).join('');
  }
  return s.split(from).join(to);
}
