/**
 * The parts of Go's strconv the template engine needs, written for JavaScript strings: quoting
 * (Quote, QuoteToASCII, QuoteRune, CanBackquote), unquoting of template literals (Unquote,
 * UnquoteChar), integer and float parsing as the template parser does it (base 0, underscores), and
 * float formatting (%e %f %g, shortest and fixed precision, rounding half to even on the exact value).
 */

export class SyntaxError_ extends Error {}

const PRINT = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(cp: number): boolean {
  if (cp === 0x20) return true;
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINT.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeRune(cp: number, quote: number, asciiOnly: boolean): string {
  if (cp === quote || cp === 0x5c) return `\\${String.fromCodePoint(cp)}`;
  if (asciiOnly) {
    if (cp < 0x80 && isPrint(cp)) return String.fromCodePoint(cp);
  } else if (isPrint(cp)) {
    return String.fromCodePoint(cp);
  }
  switch (cp) {
    case 0x07: return '\\a';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    case 0x0b: return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

/** strconv.Quote (or QuoteToASCII). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, 0x22, asciiOnly);
  return `${out}"`;
}

/** strconv.QuoteRune (or QuoteRuneToASCII). */
export function quoteRune(cp: number, asciiOnly = false): string {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0) cp = 0xfffd;
  return `'${escapeRune(cp, 0x27, asciiOnly)}'`;
}

/** strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x60 || cp === 0xfeff) return false;
    if (cp < 0x20 && cp !== 0x09) return false;
    if (cp === 0x7f) return false;
  }
  return true;
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/**
 * strconv.UnquoteChar: decodes the first character or escape of `s` (inside a literal quoted with
 * `quote`); returns the code point and the rest. Throws SyntaxError_ ("invalid syntax").
 */
export function unquoteChar(s: string, quote: string): { value: number; tail: string } {
  const c = s[0];
  if (c === undefined) throw new SyntaxError_('invalid syntax');
  if (c === quote && (quote === "'" || quote === '"')) throw new SyntaxError_('invalid syntax');
  if (c !== '\\') {
    const cp = s.codePointAt(0)!;
    return { value: cp, tail: s.slice(cp > 0xffff ? 2 : 1) };
  }
  if (s.length <= 1) throw new SyntaxError_('invalid syntax');
  const e = s[1]!;
  let tail = s.slice(2);
  switch (e) {
    case 'a': return { value: 7, tail };
    case 'b': return { value: 8, tail };
    case 'f': return { value: 12, tail };
    case 'n': return { value: 10, tail };
    case 'r': return { value: 13, tail };
    case 't': return { value: 9, tail };
    case 'v': return { value: 11, tail };
    case 'x': case 'u': case 'U': {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      if (tail.length < n) throw new SyntaxError_('invalid syntax');
      let v = 0;
      for (let j = 0; j < n; j++) {
        if (!isHexDigit(tail[j])) throw new SyntaxError_('invalid syntax');
        v = v * 16 + parseInt(tail[j]!, 16);
      }
      tail = tail.slice(n);
      if (e === 'x') return { value: v, tail };
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SyntaxError_('invalid syntax');
      return { value: v, tail };
    }
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
      let v = parseInt(e, 8);
      if (tail.length < 2) throw new SyntaxError_('invalid syntax');
      for (let j = 0; j < 2; j++) {
        const d = tail[j]!;
        if (d < '0' || d > '7') throw new SyntaxError_('invalid syntax');
        v = v * 8 + parseInt(d, 8);
      }
      if (v > 255) throw new SyntaxError_('invalid syntax');
      return { value: v, tail: tail.slice(2) };
    }
    case '\\': return { value: 0x5c, tail };
    case "'": case '"':
      if (e !== quote) throw new SyntaxError_('invalid syntax');
      return { value: e.charCodeAt(0), tail };
    default:
      throw new SyntaxError_('invalid syntax');
  }
}

/** strconv.Unquote of a "…" or `…` literal (the lexer has already checked its shape). */
export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) throw new SyntaxError_('invalid syntax');
  const body = lit.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new SyntaxError_('invalid syntax');
    return body.replaceAll('\r', '');
  }
  if (q !== '"') throw new SyntaxError_('invalid syntax');
  if (body.includes('\n')) throw new SyntaxError_('invalid syntax');
  let out = '';
  let rest = body;
  while (rest.length > 0) {
    const { value, tail } = unquoteChar(rest, '"');
    out += String.fromCodePoint(value);
    rest = tail;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Number parsing (strconv.ParseInt/ParseUint with base 0, ParseFloat), as the template parser
// uses them for number literals.

function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hexa = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hexa = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hexa && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
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

/** strconv.ParseUint(s, 0, 64); undefined on any error. */
export function parseUint0(s: string): bigint | undefined {
  if (s === '') return undefined;
  let base = 10;
  let body = s;
  if (s[0] === '0') {
    if (s.length >= 3 && (s[1] === 'x' || s[1] === 'X')) { base = 16; body = s.slice(2); }
    else if (s.length >= 3 && (s[1] === 'o' || s[1] === 'O')) { base = 8; body = s.slice(2); }
    else if (s.length >= 3 && (s[1] === 'b' || s[1] === 'B')) { base = 2; body = s.slice(2); }
    else { base = 8; body = s.slice(1); }
  }
  let n = 0n;
  let underscores = false;
  for (const c of body) {
    if (c === '_') { underscores = true; continue; }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return undefined;
    n = n * BigInt(base) + BigInt(d);
  }
  if (underscores && !underscoreOK(s)) return undefined;
  if (n > 0xffffffffffffffffn) return undefined;
  return n;
}

/** strconv.ParseInt(s, 0, 64); undefined on any error. */
export function parseInt0(s: string): bigint | undefined {
  if (s === '') return undefined;
  let neg = false;
  let body = s;
  if (s[0] === '+' || s[0] === '-') { neg = s[0] === '-'; body = s.slice(1); }
  const u = parseUint0(body);
  if (u === undefined) return undefined;
  if (!neg && u > 0x7fffffffffffffffn) return undefined;
  if (neg && u > 0x8000000000000000n) return undefined;
  return neg ? -u : u;
}

const DEC_FLOAT = /^[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?\d[\d_]*)$/;

/** strconv.ParseFloat(s, 64) for the forms the template lexer produces; undefined on error. */
export function parseFloat64(s: string): number | undefined {
  if (s.includes('_') && !underscoreOK(s)) return undefined;
  const clean = s.replaceAll('_', '');
  let v: number;
  const hx = HEX_FLOAT.exec(s);
  if (hx) {
    const intPart = hx[2]!.replaceAll('_', '');
    const frac = (hx[3] ?? '').replaceAll('_', '');
    if (intPart === '' && frac === '') return undefined;
    let m = 0;
    for (const c of intPart + frac) m = m * 16 + parseInt(c, 16);
    const exp = parseInt(hx[4]!.replaceAll('_', ''), 10) - 4 * frac.length;
    v = m * 2 ** exp;
    if (hx[1] === '-') v = -v;
  } else {
    if (!DEC_FLOAT.test(s)) return undefined;
    v = Number(clean);
  }
  if (!Number.isFinite(v)) return undefined;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Float formatting (strconv.FormatFloat with 'e', 'E', 'f', 'g', 'G').

interface Decimal {
  /** Significant digits, no leading or trailing zeros ("" for zero). */
  d: string;
  /** Decimal point position: value = 0.d × 10^dp. */
  dp: number;
}

/** The exact decimal value of a finite, non-negative double. */
function exactDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let exp: number;
  if (expBits === 0) exp = -1074;
  else { mant |= 1n << 52n; exp = expBits - 1075; }
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  return trim({ d: digits, dp });
}

function trim(dec: Decimal): Decimal {
  let d = dec.d;
  let dp = dec.dp;
  let lead = 0;
  while (lead < d.length && d[lead] === '0') lead++;
  d = d.slice(lead);
  dp -= lead;
  d = d.replace(/0+$/, '');
  if (d === '') dp = 0;
  return { d, dp };
}

/** Rounds to `nd` significant digits, half to even on the exact value. */
function roundTo(dec: Decimal, nd: number): Decimal {
  if (nd < 0) return { d: '', dp: 0 };
  if (nd >= dec.d.length) return dec;
  const keep = dec.d.slice(0, nd);
  const next = dec.d[nd]!;
  const restNonZero = /[1-9]/.test(dec.d.slice(nd + 1));
  let up: boolean;
  if (next > '5') up = true;
  else if (next < '5') up = false;
  else if (restNonZero) up = true;
  else up = nd > 0 && (Number(keep[nd - 1]) % 2 === 1);
  if (!up) return trim({ d: keep, dp: dec.dp });
  // Add one at the last kept digit.
  const arr = keep.split('').map(Number);
  let i = arr.length - 1;
  while (i >= 0) {
    if (arr[i]! < 9) { arr[i]! += 1; break; }
    arr[i] = 0;
    i--;
  }
  if (i < 0) return trim({ d: `1${arr.join('')}`, dp: dec.dp + 1 });
  return trim({ d: arr.join(''), dp: dec.dp });
}

/** Shortest digits that read back as x (JavaScript's and Go's shortest agree). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const s = x.toExponential();
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const digits = m[1]! + (m[2] ?? '');
  return trim({ d: digits, dp: Number(m[3]) + 1 });
}

function fmtE(neg: boolean, d: Decimal, prec: number, e: string): string {
  let out = neg ? '-' : '';
  out += d.d.length > 0 ? d.d[0] : '0';
  if (prec > 0) {
    out += '.';
    let frac = d.d.slice(1, prec + 1);
    frac += '0'.repeat(prec - frac.length);
    out += frac;
  }
  let exp = d.dp - 1;
  if (d.d.length === 0) exp = 0;
  out += e + (exp < 0 ? '-' : '+');
  const a = Math.abs(exp);
  out += a < 10 ? `0${a}` : String(a);
  return out;
}

function fmtF(neg: boolean, d: Decimal, prec: number): string {
  let out = neg ? '-' : '';
  if (d.dp > 0) {
    const m = Math.min(d.d.length, d.dp);
    out += d.d.slice(0, m) + '0'.repeat(d.dp - m);
  } else {
    out += '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      const j = d.dp + i;
      out += j >= 0 && j < d.d.length ? d.d[j] : '0';
    }
  }
  return out;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in e E f g G; prec < 0 means shortest. */
export function formatFloat(x: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  const shortest = prec < 0;
  let digs: Decimal;
  if (shortest) {
    digs = shortestDecimal(abs);
    if (fmt === 'e' || fmt === 'E') prec = Math.max(digs.d.length - 1, 0);
    else if (fmt === 'f') prec = Math.max(digs.d.length - digs.dp, 0);
    else prec = digs.d.length;
  } else {
    const exact = exactDecimal(abs);
    if (fmt === 'f') {
      digs = roundTo(exact, exact.dp + prec);
    } else if (fmt === 'e' || fmt === 'E') {
      digs = roundTo(exact, prec + 1);
    } else {
      if (prec === 0) prec = 1;
      digs = roundTo(exact, prec);
    }
  }
  switch (fmt) {
    case 'e': case 'E':
      return fmtE(neg, digs, prec, fmt);
    case 'f':
      return fmtF(neg, digs, prec);
    default: {
      let eprec = prec;
      const nd = digs.d.length;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(neg, digs, prec - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (prec > digs.dp) prec = nd;
      return fmtF(neg, digs, Math.max(prec - digs.dp, 0));
    }
  }
}

const MASK64 = (1n << 64n) - 1n;

/** strconv.FormatFloat(x, 'b' | 'x' | 'X', prec, 64). */
export function formatFloatBits(x: number, fmt: 'b' | 'x' | 'X', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const neg = bits >> 63n !== 0n;
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) exp++;
  else mant |= 1n << 52n;
  exp += -1023;
  if (fmt === 'b') {
    const e = exp - 52;
    return `${neg ? '-' : ''}${mant}p${e >= 0 ? '+' : ''}${e}`;
  }
  if (mant === 0n) exp = 0;
  mant = (mant << 8n) & MASK64; // leading 1 at bit 60
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant = (mant << 1n) & MASK64;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & ((1n << 60n) - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant = (mant << (60n - shift)) & MASK64;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const digits = fmt === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = `${neg ? '-' : ''}0${fmt}${(mant >> 60n) & 1n}`;
  mant = (mant << 4n) & MASK64;
  if (prec < 0 && mant !== 0n) {
    out += '.';
    while (mant !== 0n) {
      out += digits[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & MASK64;
    }
  } else if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      out += digits[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & MASK64;
    }
  }
  out += fmt === 'X' ? 'P' : 'p';
  out += exp < 0 ? '-' : '+';
  const a = Math.abs(exp);
  out += a < 10 ? `0${a}` : String(a);
  return out;
}
