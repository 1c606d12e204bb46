/**
 * Go's regexp (RE2 syntax) on JavaScript's engine: the pattern is translated (ASCII \s, \A, \z,
 * (?P<name>), POSIX classes, literal braces, leading flags), RE2's refusals become Go's errors, and
 * ReplaceAllString is Go's (empty matches next to a match are skipped; $1, ${1}, $name, $$).
 * Not translated (refused with a clear error): flag groups inside the pattern ((?i:…), (?-s)),
 * negated POSIX classes ([[:^alpha:]]).
 */
import { GoFuncError } from './go.js';

export interface GoRegexp {
  js: RegExp;
  /** Names of the capture groups by index (1-based; index 0 unused). */
  names: (string | undefined)[];
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`\\{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};
const GENERAL_CATEGORIES = new Set(['L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'Mn', 'Mc', 'Me', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po', 'S', 'Sm', 'Sc', 'Sk', 'So', 'Z', 'Zs', 'Zl', 'Zp',
  'C', 'Cc', 'Cf', 'Cs', 'Co', 'Cn']);
const JS_SYNTAX = new Set(Array.from('^$\\.*+?()[]{}|/'));

function parseError(code: string, expr: string): GoFuncError {
  return new GoFuncError(`error parsing regexp: ${code}: \`${expr}\``);
}

function hexEscape(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/** Translates a Go pattern; throws Go's parse error for what RE2 refuses. */
export function compileGoRegexp(pattern: string, global: boolean): RegExp {
  return compileGo(pattern, global).js;
}

export function compileGo(pattern: string, global: boolean): GoRegexp {
  let flags = 'u' + (global ? 'g' : '');
  let i = 0;
  const lead = /^\(\?([imsU]+)\)/.exec(pattern);
  let ungreedy = false;
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'U') ungreedy = true; // swaps x* and x*?
      else if (!flags.includes(f)) flags += f;
    }
    i = lead[0].length;
  }
  const names: (string | undefined)[] = [undefined];
  let out = '';
  let depth = 0;
  let lastAtom: 'none' | 'atom' | 'repeat' = 'none';
  const cps = Array.from(pattern);
  // Work on code points; `i` indexes cps from here on.
  i = lead ? Array.from(lead[0]).length : 0;
  const rest = (k: number) => cps.slice(k).join('');
  while (i < cps.length) {
    const ch = cps[i]!;
    if (ch === '\\') {
      const [js, len] = translateEscape(cps, i, false, pattern);
      out += js;
      i += len;
      lastAtom = 'atom';
      continue;
    }
    if (ch === '[') {
      const [js, len] = translateClass(cps, i, pattern);
      out += js;
      i += len;
      lastAtom = 'atom';
      continue;
    }
    if (ch === '(') {
      const r = rest(i);
      if (r.startsWith('(?P<') || r.startsWith('(?<')) {
        const m = /^\(\?P?<([^>]*)>/.exec(r);
        if (!m) throw parseError('invalid named capture', r);
        if (!/^[A-Za-z0-9_]+$/.test(m[1]!)) throw parseError('invalid named capture', m[0]);
        if (names.includes(m[1])) throw parseError('duplicate capture group name', m[0]);
        names.push(m[1]);
        out += `(?<${m[1]}>`;
        i += Array.from(m[0]).length;
      } else if (r.startsWith('(?:')) {
        out += '(?:';
        i += 3;
      } else if (r.startsWith('(?')) {
        const m = /^\(\?[imsU-]*[:)]/.exec(r);
        if (m) throw new GoFuncError(`regexp flag group \`${m[0]}\` is not supported by vault-extproc`);
        const seq = /^\(\?.?/.exec(r)![0];
        throw parseError('invalid or unsupported Perl syntax', seq);
      } else {
        names.push(undefined);
        out += '(';
        i += 1;
      }
      depth++;
      lastAtom = 'none';
      continue;
    }
    if (ch === ')') {
      if (depth === 0) throw parseError('unexpected )', pattern);
      depth--;
      out += ')';
      i++;
      lastAtom = 'atom';
      continue;
    }
    if (ch === '*' || ch === '+' || ch === '?' || ch === '{') {
      let op = ch;
      if (ch === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(rest(i));
        if (!m) { // a literal brace in RE2
          out += '\\{';
          i++;
          lastAtom = 'atom';
          continue;
        }
        const lo = Number(m[1]);
        const hi = m[3] ? Number(m[3]) : lo;
        if (lo > 1000 || hi > 1000 || (m[3] && hi < lo)) throw parseError('invalid repeat count', m[0]);
        op = m[0];
      }
      if (lastAtom === 'none') throw parseError('missing argument to repetition operator', op);
      if (lastAtom === 'repeat') throw parseError('invalid nested repetition operator', prevOp(out) + op);
      out += op;
      i += Array.from(op).length;
      const lazy = cps[i] === '?';
      if (lazy) i++;
      if (lazy !== ungreedy) out += '?';
      lastAtom = 'repeat';
      continue;
    }
    if (ch === '|') { out += '|'; i++; lastAtom = 'none'; continue; }
    if (ch === '}' || ch === ']') { out += '\\' + ch; i++; lastAtom = 'atom'; continue; }
    out += ch;
    i++;
    lastAtom = ch === '^' || ch === '$' ? 'none' : 'atom';
    if (ch === '^' || ch === '$') lastAtom = 'atom';
  }
  if (depth > 0) throw parseError('missing closing )', pattern);
  try {
    return { js: new RegExp(out, flags), names };
  } catch (e) {
    throw new GoFuncError(`error parsing regexp: ${(e as Error).message}`);
  }
}

function prevOp(out: string): string {
  const m = /(\{\d+(?:,\d*)?\}|[*+?])\??$/.exec(out);
  return m ? m[0] : '';
}

function translateEscape(cps: string[], i: number, inClass: boolean, pattern: string): [string, number] {
  const next = cps[i + 1];
  if (next === undefined) throw parseError('trailing backslash at end of expression', '');
  switch (next) {
    case 'A': return ['(?<![\\s\\S])', 2];
    case 'z': return ['(?![\\s\\S])', 2];
    case 's': return [inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]', 2];
    case 'S': return [inClass ? '\\S' : '[^\\t\\n\\f\\r ]', 2];
    case 'd': case 'D': case 'w': case 'W': case 'b': case 'B':
    case 'f': case 't': case 'n': case 'r': case 'v':
      return ['\\' + next, 2];
    case 'a': return ['\\x07', 2];
    case 'Q': {
      let j = i + 2;
      let lit = '';
      while (j < cps.length && !(cps[j] === '\\' && cps[j + 1] === 'E')) lit += cps[j++];
      const len = j - i + (j < cps.length ? 2 : 0);
      return [Array.from(lit).map((c) => (/[\p{L}\p{N}_ ]/u.test(c) ? c : hexEscape(c))).join(''), len];
    }
    case 'x': {
      const r = cps.slice(i).join('');
      const m = /^\\x(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(r);
      if (!m) throw parseError('invalid escape sequence', r.slice(0, 4));
      const cp = parseInt(m[1] ?? m[2]!, 16);
      if (cp > 0x10ffff) throw parseError('invalid escape sequence', m[0]);
      return [`\\u{${cp.toString(16)}}`, Array.from(m[0]).length];
    }
    case 'p': case 'P': {
      const r = cps.slice(i).join('');
      const m = /^\\[pP](?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(r);
      if (!m) throw parseError('invalid character class range', r.slice(0, 3));
      const neg = (next === 'P') !== (m[1] === '^');
      const name = m[2] ?? m[3]!;
      const prop = name === 'Any' ? null : GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
      const js = prop === null ? (neg ? '[^\\s\\S]' : '[\\s\\S]') : `\\${neg ? 'P' : 'p'}{${prop}}`;
      return [js, Array.from(m[0]).length];
    }
    default:
      if (/[0-7]/.test(next)) {
        if (next === '0' || inClass) { // octal \0, \012
          const m = /^\\([0-7]{1,3})/.exec(cps.slice(i).join(''))!;
          if (next !== '0' && m[1]!.length < 2) break;
          return [`\\u{${parseInt(m[1]!, 8).toString(16)}}`, m[0].length];
        }
        break;
      }
      if (/[!-/:-@[-`{-~]/.test(next)) { // any ASCII punctuation may be escaped in RE2
        return [JS_SYNTAX.has(next) || (inClass && next === '-') ? '\\' + next : hexEscape(next), 2];
      }
  }
  throw parseError('invalid escape sequence', `\\${next}`);
  void pattern;
}

function translateClass(cps: string[], i: number, pattern: string): [string, number] {
  let j = i + 1;
  let out = '[';
  if (cps[j] === '^') { out += '^'; j++; }
  let first = true;
  for (;;) {
    const ch = cps[j];
    if (ch === undefined) throw parseError('missing closing ]', cps.slice(i).join(''));
    if (ch === ']' && !first) { j++; break; }
    first = false;
    if (ch === '[' && cps[j + 1] === ':') {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(cps.slice(j).join(''));
      if (m && POSIX[m[2]!] !== undefined) {
        if (m[1]) throw new GoFuncError('negated POSIX classes ([:^name:]) are not supported by vault-extproc');
        out += POSIX[m[2]!];
        j += m[0].length;
        continue;
      }
    }
    if (ch === '\\') {
      const [js, len] = translateEscape(cps, j, true, pattern);
      out += js;
      j += len;
      continue;
    }
    if (ch === '[' || ch === '/' || ch === '{' || ch === '}' || ch === '(' || ch === ')' || ch === '|') {
      out += '\\' + ch;
      j++;
      continue;
    }
    if (ch === ']') { out += '\\]'; j++; continue; }
    // A literal range lo-hi: RE2 refuses hi < lo.
    if (cps[j + 1] === '-' && cps[j + 2] !== undefined && cps[j + 2] !== ']' && cps[j + 2] !== '\\' && cps[j + 2] !== '[') {
      const hi = cps[j + 2]!;
      if (hi.codePointAt(0)! < ch.codePointAt(0)!) throw parseError('invalid character class range', `${ch}-${hi}`);
    }
    out += ch;
    j++;
  }
  return [out + ']', j - i];
}

/** Go's Regexp.ReplaceAllString. */
export function goReplaceAllString(re: GoRegexp, src: string, template: string): string {
  const rx = new RegExp(re.js.source, re.js.flags.includes('g') ? re.js.flags : re.js.flags + 'g');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    rx.lastIndex = searchPos;
    const m = rx.exec(src);
    if (!m) break;
    const a0 = m.index;
    const a1 = a0 + m[0].length;
    out += src.slice(lastMatchEnd, a0);
    if (a1 > lastMatchEnd || a0 === 0) out += expand(template, m, re.names);
    lastMatchEnd = a1;
    const cp = src.codePointAt(searchPos);
    const width = cp === undefined ? 1 : cp > 0xffff ? 2 : 1;
    if (searchPos + width > a1) searchPos += width;
    else if (searchPos + 1 > a1) searchPos++;
    else searchPos = a1;
  }
  return out + src.slice(lastMatchEnd);
}

/** Go's Regexp.Expand: $name / ${name} (longest run of [A-Za-z0-9_]), $$; unknown names are empty. */
function expand(template: string, m: RegExpExecArray, names: (string | undefined)[]): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) { out += template.slice(i); break; }
    out += template.slice(i, d);
    const rest = template.slice(d + 1);
    if (rest.startsWith('$')) { out += '$'; i = d + 2; continue; }
    let name: string | undefined;
    let len = 0;
    const braced = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
    const bare = /^[A-Za-z0-9_]+/.exec(rest);
    if (braced) { name = braced[1]; len = braced[0].length; } else if (bare) { name = bare[0]; len = bare[0].length; }
    if (name === undefined) { out += '$'; i = d + 1; continue; } // a malformed $ is copied as is
    i = d + 1 + len;
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      if (n < m.length) out += m[n] ?? '';
      continue;
    }
    const idx = names.indexOf(name);
    if (idx > 0) out += m[idx] ?? '';
  }
  return out;
}
