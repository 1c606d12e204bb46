/**
 * Go's fmt for the engine's values: Sprint, Sprintln and Sprintf (verbs, flags, width, precision,
 * argument indexes, and the %!verb(type=value), %!v(MISSING), %!(EXTRA …) forms), printing maps
 * as map[k:v] in sorted key order, slices as [a b], nil as <nil>, structs as {a b} / {A:a B:b}.
 * Written from the behaviour of Go's fmt/print.go and fmt/format.go.
 */
import { GoStruct, JsonNumber } from '../types.js';
import { canBackquote, formatFloat, formatFloatBits, quote, quoteRune } from './strconv.js';
import { elem, fieldValue, GoComplex, GoFloat, Iface, kindOf, NilPtr, sortedKeys, structFields, typeString } from './values.js';

const LDIGITS = '0123456789abcdefx';
const UDIGITS = '0123456789ABCDEFX';

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return 0n;
}

class Printer {
  buf = '';
  // flags
  widPresent = false;
  precPresent = false;
  minus = false;
  plus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  prec = 0;
  // state
  arg: unknown = undefined;
  argSet = false;
  value: unknown = undefined;
  erroring = false;
  reordered = false;
  goodArgNum = true;

  clearflags(): void {
    this.widPresent = this.precPresent = this.minus = this.plus = this.sharp = this.space = this.zero = false;
    this.plusV = this.sharpV = false;
    this.wid = 0;
    this.prec = 0;
  }

  // --- fmt.go ---

  writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.zero && !this.minus ? '0' : ' ').repeat(n);
  }

  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  fmtBoolean(v: boolean): void {
    this.pad(v ? 'true' : 'false');
  }

  fmtUnicode(u: bigint): void {
    let prec = 4;
    if (this.precPresent && this.prec > 4) prec = this.prec;
    let s = u.toString(16).toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    s = `U+${s}`;
    if (this.sharp && u <= 0x10ffffn && isPrintRune(Number(u))) s += ` '${String.fromCodePoint(Number(u))}'`;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  fmtInteger(v: bigint, base: number, isSigned: boolean, verb: string, digits: string): void {
    const negative = isSigned && v < 0n;
    let u = negative ? -v : v;
    if (!isSigned && u < 0n) u = BigInt.asUintN(64, u);
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = oldZero;
        return;
      }
    } else if (this.zero && !this.minus && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }
    let s = u.toString(base);
    if (digits === UDIGITS) s = s.toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    if (this.sharp) {
      if (base === 2) s = `0b${s}`;
      else if (base === 8) { if (s[0] !== '0') s = `0${s}`; }
      else if (base === 16) s = `0${digits[16]}${s}`;
    }
    if (verb === 'O') s = `0o${s}`;
    if (negative) s = `-${s}`;
    else if (this.plus) s = `+${s}`;
    else if (this.space) s = ` ${s}`;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  truncateString(s: string): string {
    if (this.precPresent) {
      const runes = Array.from(s);
      if (runes.length > this.prec) return runes.slice(0, Math.max(this.prec, 0)).join('');
    }
    return s;
  }

  fmtS(s: string): void {
    this.pad(this.truncateString(s));
  }

  fmtSx(s: string, digits: string): void {
    const b = Buffer.from(s, 'utf8');
    let length = b.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) {
        width += 2;
      }
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    let out = '';
    if (this.sharp) out += `0${digits[16]}`;
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += `0${digits[16]}`;
      }
      const c = b[i]!;
      out += digits[c >> 4]! + digits[c & 0xf]!;
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  fmtQ(s: string): void {
    s = this.truncateString(s);
    if (this.sharp && canBackquote(s)) {
      this.pad(`\`${s}\``);
      return;
    }
    this.pad(quote(s, this.plus));
  }

  fmtC(c: bigint): void {
    let r = c > 0x10ffffn ? 0xfffd : Number(c);
    if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
    this.pad(String.fromCodePoint(r));
  }

  fmtQc(c: bigint): void {
    const r = c > 0x10ffffn ? 0xfffd : Number(c);
    this.pad(quoteRune(r, this.plus));
  }

  fmtFloatStr(v: number, verb: 'e' | 'E' | 'f' | 'g' | 'G' | 'b' | 'x' | 'X', precIn: number): void {
    const prec = this.precPresent ? this.prec : precIn;
    let num = verb === 'b' || verb === 'x' || verb === 'X' ? formatFloatBits(v, verb, prec) : formatFloat(v, verb, prec);
    if (num[0] !== '-' && num[0] !== '+') num = `+${num}`;
    if (this.space && num[0] === '+' && !this.plus) num = ` ${num.slice(1)}`;
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = this.zero;
      this.zero = false;
      if (num[1] === 'N' && !this.space && !this.plus) num = num.slice(1);
      this.pad(num);
      this.zero = oldZero;
      return;
    }
    if (this.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'g' || verb === 'G' || verb === 'x') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      let body = num;
      for (let i = 1; i < body.length; i++) {
        const c = body[i]!;
        if (c === '.') {
          hasDecimalPoint = true;
        } else if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X')) {
          tail = body.slice(i);
          body = body.slice(0, i);
          break;
        } else {
          if (c !== '0') sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (body.length === 2 && body[1] === '0') digits--;
        body += '.';
      }
      while (digits > 0) {
        body += '0';
        digits--;
      }
      num = body + tail;
    }
    if (this.plus || num[0] !== '+') {
      if (this.zero && !this.minus && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  // --- print.go ---

  badVerb(verb: string): void {
    this.erroring = true;
    this.buf += `%!${verb}(`;
    if (this.argSet && this.arg !== undefined && this.arg !== null) {
      this.buf += `${typeString(this.arg)}=`;
      this.printArg(this.arg, 'v');
    } else if (this.value !== undefined) {
      this.buf += `${typeString(this.value)}=`;
      this.printValue(this.value, 'v', 0);
    } else {
      this.buf += '<nil>';
    }
    this.buf += ')';
    this.erroring = false;
  }

  fmtBool(v: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.fmtBoolean(v);
    else this.badVerb(verb);
  }

  fmtIntegerVerb(v: bigint, isSigned: boolean, verb: string): void {
    switch (verb) {
      case 'v': case 'd': this.fmtInteger(v, 10, isSigned, verb, LDIGITS); return;
      case 'b': this.fmtInteger(v, 2, isSigned, verb, LDIGITS); return;
      case 'o': case 'O': this.fmtInteger(v, 8, isSigned, verb, LDIGITS); return;
      case 'x': this.fmtInteger(v, 16, isSigned, verb, LDIGITS); return;
      case 'X': this.fmtInteger(v, 16, isSigned, verb, UDIGITS); return;
      case 'c': this.fmtC(BigInt.asUintN(64, v)); return;
      case 'q': this.fmtQc(BigInt.asUintN(64, v)); return;
      case 'U': this.fmtUnicode(BigInt.asUintN(64, v)); return;
      default: this.badVerb(verb);
    }
  }

  fmtFloatVerb(v: number, verb: string): void {
    switch (verb) {
      case 'v': this.fmtFloatStr(v, 'g', -1); return;
      case 'g': case 'G': this.fmtFloatStr(v, verb, -1); return;
      case 'b': case 'x': case 'X': this.fmtFloatStr(v, verb, -1); return;
      case 'f': case 'e': case 'E': this.fmtFloatStr(v, verb, 6); return;
      case 'F': this.fmtFloatStr(v, 'f', 6); return;
      default: this.badVerb(verb);
    }
  }

  fmtComplex(v: GoComplex, verb: string): void {
    if (!'vbgGxXfFeE'.includes(verb)) {
      this.badVerb(verb);
      return;
    }
    const oldPlus = this.plus;
    this.buf += '(';
    this.fmtFloatVerb(v.re, verb);
    this.plus = true;
    this.fmtFloatVerb(v.im, verb);
    this.buf += 'i)';
    this.plus = oldPlus;
  }

  fmtString(v: string, verb: string): void {
    switch (verb) {
      case 'v': if (this.sharpV) this.fmtQ(v); else this.fmtS(v); return;
      case 's': this.fmtS(v); return;
      case 'x': this.fmtSx(v, LDIGITS); return;
      case 'X': this.fmtSx(v, UDIGITS); return;
      case 'q': this.fmtQ(v); return;
      default: this.badVerb(verb);
    }
  }

  fmtPointer(v: unknown, verb: string): void {
    const k = kindOf(v);
    if (k !== 'map' && k !== 'slice' && k !== 'ptr' && k !== 'func') {
      this.badVerb(verb);
      return;
    }
    // Addresses are not reproducible; print a fixed one.
    const addr = v instanceof NilPtr ? 0n : 0xc000010000n;
    switch (verb) {
      case 'v':
        if (this.sharpV) this.buf += `(${typeString(v)})(${addr === 0n ? 'nil' : `0x${addr.toString(16)}`})`;
        else if (addr === 0n) this.pad('<nil>');
        else this.fmtHexAddr(addr, !this.sharp);
        return;
      case 'p': this.fmtHexAddr(addr, !this.sharp); return;
      case 'b': case 'o': case 'd': case 'x': case 'X': this.fmtIntegerVerb(addr, false, verb); return;
      default: this.badVerb(verb);
    }
  }

  private fmtHexAddr(addr: bigint, leading0x: boolean): void {
    const sharp = this.sharp;
    this.sharp = leading0x;
    this.fmtInteger(addr, 16, false, 'v', LDIGITS);
    this.sharp = sharp;
  }

  handleMethods(verb: string): boolean {
    if (this.erroring) return false;
    const arg = this.arg;
    if (arg instanceof JsonNumber) {
      if (this.sharpV) return false;
      if ('vsxXq'.includes(verb)) {
        this.fmtString(arg.text, verb);
        return true;
      }
    }
    return false;
  }

  printArg(arg: unknown, verb: string): void {
    this.arg = arg;
    this.argSet = true;
    this.value = undefined;
    if (arg === null || arg === undefined) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb);
      return;
    }
    if (verb === 'T') {
      this.fmtS(typeString(arg));
      return;
    }
    if (verb === 'p') {
      this.fmtPointer(arg, 'p');
      return;
    }
    switch (typeof arg) {
      case 'boolean': this.fmtBool(arg, verb); return;
      case 'number':
        if (Number.isInteger(arg)) this.fmtIntegerVerb(BigInt(arg), true, verb);
        else this.fmtFloatVerb(arg, verb);
        return;
      case 'bigint': this.fmtIntegerVerb(arg, true, verb); return;
      case 'string': this.fmtString(arg, verb); return;
    }
    if (arg instanceof GoFloat) {
      this.fmtFloatVerb(arg.value, verb);
      return;
    }
    if (arg instanceof GoComplex) {
      this.fmtComplex(arg, verb);
      return;
    }
    if (!this.handleMethods(verb)) this.printValue(arg, verb, 0);
  }

  printValue(value: unknown, verb: string, depth: number): void {
    if (depth > 0 && value !== undefined && !(value instanceof Iface)) {
      this.arg = value;
      this.argSet = true;
      if (this.handleMethods(verb)) return;
    }
    this.arg = undefined;
    this.argSet = false;
    this.value = value;
    const k = kindOf(value);
    switch (k) {
      case 'invalid':
        if (depth === 0) this.buf += '<invalid reflect.Value>';
        else if (verb === 'v') this.buf += '<nil>';
        else this.badVerb(verb);
        return;
      case 'bool': this.fmtBool(value as boolean, verb); return;
      case 'int': this.fmtIntegerVerb(toBig(value), true, verb); return;
      case 'float64': this.fmtFloatVerb(value instanceof GoFloat ? value.value : (value as number), verb); return;
      case 'string': this.fmtString(value instanceof JsonNumber ? value.text : (value as string), verb); return;
      case 'complex128': this.fmtComplex(value as GoComplex, verb); return;
      case 'map': {
        const m = value as Record<string, unknown>;
        if (this.sharpV) this.buf += `${typeString(m)}{`;
        else this.buf += 'map[';
        sortedKeys(m).forEach((key, i) => {
          if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
          this.printValue(key, verb, depth + 1);
          this.buf += ':';
          this.printValue(elem(m, m[key]), verb, depth + 1);
        });
        this.buf += this.sharpV ? '}' : ']';
        return;
      }
      case 'struct': {
        const s = value as GoStruct;
        if (this.sharpV) this.buf += typeString(s).replace(/^\*/, '');
        this.buf += '{';
        structFields(s).forEach(([name, v], i) => {
          if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
          if (this.plusV || this.sharpV) this.buf += `${name}:`;
          this.printValue(fieldValue(s, name, v), verb, depth + 1);
        });
        this.buf += '}';
        return;
      }
      case 'interface': {
        const inner = (value as Iface).v;
        if (inner === null || inner === undefined) {
          this.buf += this.sharpV ? 'interface {}(nil)' : '<nil>';
        } else {
          this.printValue(inner, verb, depth + 1);
        }
        return;
      }
      case 'slice': {
        const a = value as unknown[];
        if (this.sharpV) {
          this.buf += `${typeString(a)}{`;
          a.forEach((x, i) => {
            if (i > 0) this.buf += ', ';
            this.printValue(elem(a, x), verb, depth + 1);
          });
          this.buf += '}';
        } else {
          this.buf += '[';
          a.forEach((x, i) => {
            if (i > 0) this.buf += ' ';
            this.printValue(elem(a, x), verb, depth + 1);
          });
          this.buf += ']';
        }
        return;
      }
      case 'ptr':
        if (depth === 0 && !(value instanceof NilPtr)) {
          this.buf += '&';
          this.printStructBody(value as GoStruct, verb, depth + 1);
          return;
        }
        this.fmtPointer(value, verb);
        return;
      case 'func':
        this.fmtPointer(value, verb);
        return;
    }
  }

  printStructBody(s: GoStruct, verb: string, depth: number): void {
    if (this.sharpV) this.buf += typeString(s).replace(/^\*/, '');
    this.buf += '{';
    structFields(s).forEach(([name, v], i) => {
      if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
      if (this.plusV || this.sharpV) this.buf += `${name}:`;
      this.printValue(fieldValue(s, name, v), verb, depth + 1);
    });
    this.buf += '}';
  }

  // --- Sprintf ---

  private parsenum(s: string, start: number, end: number): { num: number; isnum: boolean; newi: number } {
    if (start >= end) return { num: 0, isnum: false, newi: end };
    let num = 0;
    let isnum = false;
    let newi = start;
    for (; newi < end && s[newi]! >= '0' && s[newi]! <= '9'; newi++) {
      if (num > 1e6 || num < -1e6) return { num: 0, isnum: false, newi: end };
      num = num * 10 + (s.charCodeAt(newi) - 48);
      isnum = true;
    }
    return { num, isnum, newi };
  }

  private argNumber(argNum: number, format: string, i: number, numArgs: number): { argNum: number; i: number; found: boolean } {
    if (format.length <= i || format[i] !== '[') return { argNum, i, found: false };
    this.reordered = true;
    // parseArgNumber
    const f = format.slice(i);
    let index = 0;
    let wid = 1;
    let ok = false;
    if (f.length >= 3) {
      for (let j = 1; j < f.length; j++) {
        if (f[j] === ']') {
          const { num, isnum, newi } = this.parsenum(f, 1, j);
          if (!isnum || newi !== j) {
            index = 0; wid = j + 1; ok = false;
          } else {
            index = num - 1; wid = j + 1; ok = true;
          }
          break;
        }
      }
    }
    if (ok && index >= 0 && index < numArgs) return { argNum: index, i: i + wid, found: true };
    this.goodArgNum = false;
    return { argNum, i: i + wid, found: ok };
  }

  private intFromArg(a: unknown[], argNum: number): { num: number; isInt: boolean; newArgNum: number } {
    let num = 0;
    let isInt = false;
    let newArgNum = argNum;
    if (argNum < a.length) {
      const v = a[argNum];
      if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') {
        num = Number(v);
        isInt = true;
      }
      newArgNum = argNum + 1;
      if (num > 1e6 || num < -1e6) {
        num = 0;
        isInt = false;
      }
    }
    return { num, isInt, newArgNum };
  }

  doPrintf(format: string, a: unknown[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    this.reordered = false;
    let i = 0;
    formatLoop: while (i < end) {
      this.goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== '%') i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++;
      this.clearflags();
      simple: for (; i < end; i++) {
        const c = format[i]!;
        switch (c) {
          case '#': this.sharp = true; break;
          case '0': this.zero = true; break;
          case '+': this.plus = true; break;
          case '-': this.minus = true; break;
          case ' ': this.space = true; break;
          default:
            if (c >= 'a' && c <= 'z' && argNum < a.length) {
              if (c === 'v') {
                this.sharpV = this.sharp;
                this.sharp = false;
                this.plusV = this.plus;
                this.plus = false;
              }
              this.printArg(a[argNum], c);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simple;
        }
      }
      let r = this.argNumber(argNum, format, i, a.length);
      argNum = r.argNum; i = r.i; afterIndex = r.found;
      if (i < end && format[i] === '*') {
        i++;
        const w = this.intFromArg(a, argNum);
        this.wid = w.num; this.widPresent = w.isInt; argNum = w.newArgNum;
        if (!this.widPresent) this.buf += '%!(BADWIDTH)';
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        const p = this.parsenum(format, i, end);
        this.wid = p.num; this.widPresent = p.isnum; i = p.newi;
        if (afterIndex && this.widPresent) this.goodArgNum = false;
      }
      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) this.goodArgNum = false;
        r = this.argNumber(argNum, format, i, a.length);
        argNum = r.argNum; i = r.i; afterIndex = r.found;
        if (i < end && format[i] === '*') {
          i++;
          const pr = this.intFromArg(a, argNum);
          this.prec = pr.num; this.precPresent = pr.isInt; argNum = pr.newArgNum;
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          const p = this.parsenum(format, i, end);
          this.prec = p.num; this.precPresent = p.isnum; i = p.newi;
          if (!this.precPresent) {
            this.prec = 0;
            this.precPresent = true;
          }
        }
      }
      if (!afterIndex) {
        r = this.argNumber(argNum, format, i, a.length);
        argNum = r.argNum; i = r.i; afterIndex = r.found;
      }
      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }
      const cp = format.codePointAt(i)!;
      const verb = String.fromCodePoint(cp);
      i += verb.length;
      if (verb === '%') {
        this.buf += '%';
      } else if (!this.goodArgNum) {
        this.buf += `%!${verb}(BADINDEX)`;
      } else if (argNum >= a.length) {
        this.buf += `%!${verb}(MISSING)`;
      } else {
        if (verb === 'v') {
          this.sharpV = this.sharp;
          this.sharp = false;
          this.plusV = this.plus;
          this.plus = false;
        }
        this.printArg(a[argNum], verb);
        argNum++;
      }
    }
    if (!this.reordered && argNum < a.length) {
      this.clearflags();
      this.buf += '%!(EXTRA ';
      a.slice(argNum).forEach((arg, j) => {
        if (j > 0) this.buf += ', ';
        if (arg === null || arg === undefined) {
          this.buf += '<nil>';
        } else {
          this.buf += `${typeString(arg)}=`;
          this.printArg(arg, 'v');
        }
      });
      this.buf += ')';
    }
  }
}

function isPrintRune(cp: number): boolean {
  return cp === 0x20 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(cp));
}

/** Arguments as fmt receives them: interface values unwrapped (nil stays nil). */
function args(a: readonly unknown[]): unknown[] {
  return a.map((x) => (x instanceof Iface ? (x.v ?? null) : x));
}

export function sprint(...a: unknown[]): string {
  const p = new Printer();
  let prevString = false;
  args(a).forEach((arg, n) => {
    const isString = arg !== null && arg !== undefined && kindOf(arg) === 'string';
    if (n > 0 && !isString && !prevString) p.buf += ' ';
    p.printArg(arg, 'v');
    prevString = isString;
  });
  return p.buf;
}

export function sprintln(...a: unknown[]): string {
  const p = new Printer();
  args(a).forEach((arg, n) => {
    if (n > 0) p.buf += ' ';
    p.printArg(arg, 'v');
  });
  return `${p.buf}\n`;
}

export function sprintf(format: string, ...a: unknown[]): string {
  const p = new Printer();
  p.doPrintf(format, args(a));
  return p.buf;
}

/** fmt.Fprint of one value as the executor prints an action (a pointer to a struct is dereferenced). */
export function sprintValue(v: unknown): string {
  const p = new Printer();
  const c = v instanceof Iface ? (v.v ?? null) : v;
  if (c instanceof GoStruct && kindOf(c) === 'ptr') p.printStructBody(c, 'v', 1);
  else if (c instanceof NilPtr) p.pad('<nil>');
  else p.printArg(c, 'v');
  return p.buf;
}
