/**
 * An HCL v1 parser (the syntax of Vault's config files), written from HCL v1's grammar: comments
 * (`#`, `//`, `/* *\/`), identifiers, strings with escapes and `${…}` kept as written, heredocs
 * (`<<EOF`, `<<-EOF`), numbers (decimal, 0x hex, 0 octal as `mode = 0644`, floats), booleans, lists,
 * objects and blocks with labels. It decodes into HCL v1's generic shape (every block and object
 * value is a list of objects; `listener "tcp" { }` → `{ listener: [ { tcp: [ { … } ] } ] }`), and
 * unlike a decode into a generic map it keeps labelled and unlabelled blocks of one name side by
 * side (`listener "tcp" {}` next to `listener { type = "tcp" }`, which Vault reads). Every error
 * names its line and column; every decoded key keeps its position (`positionOf`).
 */

export interface Position {
  line: number;
  column: number;
}

export class HclSyntaxError extends Error {
  constructor(readonly position: Position, readonly detail: string) {
    super(`line ${position.line}, column ${position.column}: ${detail}`);
  }
}

type Obj = Record<string, unknown>;

/** Objects created for a block's label (`tcp` in `listener "tcp" {}`): not a body. */
const LABEL_WRAPPERS = new WeakSet<object>();
/** Where each key of a decoded object was written. */
const KEY_POSITIONS = new WeakMap<object, Map<string, Position>>();
/** Where a decoded object (a block body or an object value) begins. */
const OBJECT_POSITIONS = new WeakMap<object, Position>();

export function isLabelWrapper(o: object): boolean {
  return LABEL_WRAPPERS.has(o);
}

/** Where `key` was written in a decoded object (the last time, when repeated). */
export function positionOf(o: object, key?: string): Position | undefined {
  return key === undefined ? OBJECT_POSITIONS.get(o) : KEY_POSITIONS.get(o)?.get(key);
}

type TokenType = 'ident' | 'bool' | 'number' | 'float' | 'string' | 'heredoc' | '{' | '}' | '[' | ']' | ',' | '=' | 'eof';

interface Token {
  type: TokenType;
  /** The decoded value for literals; the text for identifiers. */
  value: unknown;
  text: string;
  pos: Position;
}

class Scanner {
  private i = 0;
  private line = 1;
  private col = 1;

  constructor(private readonly src: string) {}

  private peek(n = 0): string {
    return this.src[this.i + n] ?? '';
  }

  private next(): string {
    const ch = this.src[this.i++] ?? '';
    if (ch === '\n') { this.line++; this.col = 1; } else if (ch !== '') this.col++;
    return ch;
  }

  private here(): Position {
    return { line: this.line, column: this.col };
  }

  private fail(pos: Position, detail: string): never {
    throw new HclSyntaxError(pos, detail);
  }

  scan(): Token {
    this.skipSpaceAndComments();
    const pos = this.here();
    const start = this.i;
    const ch = this.peek();
    const tok = (type: TokenType, value: unknown = undefined): Token => ({ type, value, text: this.src.slice(start, this.i), pos });
    if (ch === '') return tok('eof');
    if (isLetter(ch)) {
      while (isLetter(this.peek()) || isDigit(this.peek()) || this.peek() === '-' || this.peek() === '.') this.next();
      const text = this.src.slice(start, this.i);
      return text === 'true' || text === 'false' ? tok('bool', text === 'true') : tok('ident', text);
    }
    if (isDigit(ch) || (ch === '-' && isDigit(this.peek(1))) || (ch === '.' && isDigit(this.peek(1)))) return this.number(pos, start);
    if (ch === '"') return this.string(pos, start);
    if (ch === '<') return this.heredoc(pos, start);
    if ('{}[],='.includes(ch)) {
      this.next();
      return tok(ch as TokenType);
    }
    this.fail(pos, `illegal character ${JSON.stringify(ch)}`);
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const ch = this.peek();
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') { this.next(); continue; }
      if (ch === '#' || (ch === '/' && this.peek(1) === '/')) {
        while (this.peek() !== '\n' && this.peek() !== '') this.next();
        continue;
      }
      if (ch === '/' && this.peek(1) === '*') {
        const pos = this.here();
        this.next(); this.next();
        while (!(this.peek() === '*' && this.peek(1) === '/')) {
          if (this.peek() === '') this.fail(pos, 'comment not terminated');
          this.next();
        }
        this.next(); this.next();
        continue;
      }
      if (ch === '/') this.fail(this.here(), 'illegal character "/" (a comment starts with // or /*)');
      return;
    }
  }

  private number(pos: Position, start: number): Token {
    if (this.peek() === '-') this.next();
    if (this.peek() === '0' && /[xX]/.test(this.peek(1))) {
      this.next(); this.next();
      while (/[0-9a-fA-F]/.test(this.peek())) this.next();
    } else {
      while (isDigit(this.peek())) this.next();
    }
    let float = false;
    if (this.peek() === '.' && isDigit(this.peek(1))) {
      float = true;
      this.next();
      while (isDigit(this.peek())) this.next();
    }
    if (/[eE]/.test(this.peek())) {
      float = true;
      this.next();
      if (this.peek() === '-' || this.peek() === '+') this.next();
      if (!isDigit(this.peek())) this.fail(this.here(), 'illegal floating-point exponent');
      while (isDigit(this.peek())) this.next();
    }
    const text = this.src.slice(start, this.i);
    if (float) return { type: 'float', value: Number(text), text, pos };
    const negative = text.startsWith('-');
    const digits = negative ? text.slice(1) : text;
    let value: number;
    if (/^0[xX]/.test(digits)) value = parseInt(digits.slice(2), 16);
    else if (/^0\d/.test(digits)) {
      // As Go's strconv.ParseInt(s, 0, 0): a leading 0 is octal (mode = 0644 is 420).
      if (!/^0[0-7]+$/.test(digits)) this.fail(pos, `invalid octal number ${text}`);
      value = parseInt(digits, 8);
    } else value = Number(digits);
    if (Number.isNaN(value)) this.fail(pos, `invalid number ${text}`);
    return { type: 'number', value: negative ? -value : value, text, pos };
  }

  private string(pos: Position, start: number): Token {
    this.next();
    let out = '';
    let braces = 0;
    for (;;) {
      const ch = this.peek();
      if (ch === '' || (ch === '\n' && braces === 0)) this.fail(pos, 'literal not terminated');
      if (ch === '"' && braces === 0) { this.next(); break; }
      if (ch === '$' && this.peek(1) === '{') {
        // An interpolation `${…}` is kept as written; quotes inside it do not end the string.
        braces++;
        out += this.next() + this.next();
        continue;
      }
      if (braces > 0) {
        if (ch === '{') braces++;
        if (ch === '}') braces--;
        out += this.next();
        continue;
      }
      if (ch === '\\') {
        const escPos = this.here();
        this.next();
        out += this.escape(escPos);
        continue;
      }
      out += this.next();
    }
    return { type: 'string', value: out, text: this.src.slice(start, this.i), pos };
  }

  private escape(pos: Position): string {
    const c = this.next();
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (c in simple) return simple[c]!;
    const hexLen = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (hexLen > 0) {
      let hex = '';
      for (let k = 0; k < hexLen; k++) hex += this.next();
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) this.fail(pos, 'illegal char escape');
      return c === 'x' ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
    }
    if (/[0-7]/.test(c)) {
      const oct = c + this.next() + this.next();
      if (!/^[0-7]{3}$/.test(oct)) this.fail(pos, 'illegal char escape');
      return String.fromCharCode(parseInt(oct, 8));
    }
    this.fail(pos, 'illegal char escape');
  }

  private heredoc(pos: Position, start: number): Token {
    this.next();
    if (this.next() !== '<') this.fail(pos, "heredoc expected second '<', didn't see it");
    let indented = false;
    if (this.peek() === '-') { indented = true; this.next(); }
    const anchorStart = this.i;
    while (isLetter(this.peek()) || isDigit(this.peek())) this.next();
    const anchor = this.src.slice(anchorStart, this.i);
    if (this.peek() === '\r' && this.peek(1) === '\n') this.next();
    if (this.peek() === '') this.fail(pos, 'heredoc not terminated');
    if (this.peek() !== '\n') this.fail(pos, 'invalid characters in heredoc anchor');
    if (anchor === '') this.fail(pos, 'zero-length heredoc anchor');
    this.next();
    const lines: string[] = [];
    for (;;) {
      if (this.peek() === '') this.fail(pos, 'heredoc not terminated');
      const lineStart = this.i;
      while (this.peek() !== '\n' && this.peek() !== '') this.next();
      const line = this.src.slice(lineStart, this.i);
      if (line.trim().replace(/\r$/, '') === anchor) break;
      lines.push(line);
      if (this.peek() === '') this.fail(pos, 'heredoc not terminated');
      this.next();
    }
    let body = lines;
    if (indented) {
      // `<<-`: the smallest indentation of the lines is removed from each.
      const widths = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)![0].length);
      const cut = widths.length > 0 ? Math.min(...widths) : 0;
      body = lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length)));
    }
    const value = body.length === 0 ? '' : `${body.join('\n')}\n`;
    return { type: 'heredoc', value, text: this.src.slice(start, this.i), pos };
  }
}

function isLetter(ch: string): boolean {
  return /^[A-Za-z_]$/.test(ch) || (ch.length > 0 && ch.charCodeAt(0) >= 0x80 && /^\p{L}$/u.test(ch));
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9' && ch.length === 1;
}

const DESCRIBE: Record<TokenType, string> = {
  ident: 'IDENT', bool: 'BOOL', number: 'NUMBER', float: 'FLOAT', string: 'STRING', heredoc: 'HEREDOC',
  '{': 'LBRACE', '}': 'RBRACE', '[': 'LBRACK', ']': 'RBRACK', ',': 'COMMA', '=': 'ASSIGN', eof: 'EOF',
};

class Parser {
  private readonly scanner: Scanner;
  private buffered: Token | undefined;

  constructor(src: string) {
    this.scanner = new Scanner(src);
  }

  private scan(): Token {
    const t = this.buffered ?? this.scanner.scan();
    this.buffered = undefined;
    return t;
  }

  private unscan(t: Token): void {
    this.buffered = t;
  }

  file(): Obj {
    const root: Obj = {};
    OBJECT_POSITIONS.set(root, { line: 1, column: 1 });
    this.objectList(root, false);
    return root;
  }

  /** Items until `}` (inside an object) or the end of the file, optionally comma-separated. */
  private objectList(into: Obj, inObject: boolean): void {
    for (;;) {
      const t = this.scan();
      if (t.type === 'eof') {
        if (inObject) throw new HclSyntaxError(t.pos, 'object expected closing RBRACE got: EOF');
        return;
      }
      if (inObject && t.type === '}') { this.unscan(t); return; }
      this.unscan(t);
      this.objectItem(into);
      const sep = this.scan();
      if (sep.type !== ',') this.unscan(sep);
    }
  }

  private objectItem(into: Obj): void {
    const keys: Token[] = [];
    for (;;) {
      const t = this.scan();
      if (t.type === 'ident' || t.type === 'string') { keys.push(t); continue; }
      if (t.type === '=') {
        if (keys.length === 0) throw new HclSyntaxError(t.pos, 'no object keys found!');
        if (keys.length > 1) throw new HclSyntaxError(t.pos, 'nested object expected: LBRACE got: ASSIGN');
        const value = this.value();
        this.assign(into, keys[0]!, value);
        return;
      }
      if (t.type === '{') {
        if (keys.length === 0) throw new HclSyntaxError(t.pos, `expected: IDENT | STRING got: ${DESCRIBE[t.type]}`);
        const body = this.objectBody(t.pos);
        this.block(into, keys, body);
        return;
      }
      if (keys.length > 0) {
        if (t.type === 'eof' || t.type === '}') {
          throw new HclSyntaxError(t.pos, `key '${keys.map((k) => k.text).join(' ')}' expected start of object ('{') or assignment ('=')`);
        }
        throw new HclSyntaxError(t.pos, `key '${keys.map((k) => k.text).join(' ')}' expected start of object ('{') or assignment ('='), got: ${DESCRIBE[t.type]}`);
      }
      throw new HclSyntaxError(t.pos, `expected: IDENT | STRING | ASSIGN | LBRACE got: ${DESCRIBE[t.type]}`);
    }
  }

  /** After `{`: the items, then `}`. */
  private objectBody(pos: Position): Obj {
    const body: Obj = {};
    OBJECT_POSITIONS.set(body, pos);
    this.objectList(body, true);
    const close = this.scan();
    if (close.type !== '}') throw new HclSyntaxError(close.pos, `object expected closing RBRACE got: ${DESCRIBE[close.type]}`);
    return body;
  }

  private value(): unknown {
    const t = this.scan();
    switch (t.type) {
      case 'number': case 'float': case 'bool': case 'string': case 'heredoc':
        return t.value;
      case '{':
        return [this.objectBody(t.pos)];
      case '[':
        return this.list(t.pos);
      case 'ident':
        throw new HclSyntaxError(t.pos, `Unknown token: ${t.text} (a string value needs quotes: "${t.text}")`);
      default:
        throw new HclSyntaxError(t.pos, `Unknown token: ${DESCRIBE[t.type]}`);
    }
  }

  private list(pos: Position): unknown[] {
    const items: unknown[] = [];
    let needComma = false;
    for (;;) {
      const t = this.scan();
      if (t.type === ']') return items;
      if (t.type === 'eof') throw new HclSyntaxError(pos, 'list not terminated: expected RBRACK got: EOF');
      if (t.type === ',') {
        if (!needComma) throw new HclSyntaxError(t.pos, 'error parsing list, expected value got: COMMA');
        needComma = false;
        continue;
      }
      if (needComma) throw new HclSyntaxError(t.pos, `error parsing list, expected comma or list end, got: ${DESCRIBE[t.type]}`);
      if (t.type === '{') items.push(this.objectBody(t.pos));
      else { this.unscan(t); items.push(this.value()); }
      needComma = true;
    }
  }

  private assign(into: Obj, key: Token, value: unknown): void {
    const name = key.value as string;
    const existing = into[name];
    // Objects of one key gather into a list (as blocks do); another value replaces the earlier one.
    if (isObjectList(existing) && isObjectList(value)) (existing as unknown[]).push(...(value as unknown[]));
    else into[name] = value;
    setKeyPosition(into, name, key.pos);
  }

  private block(into: Obj, keys: Token[], body: Obj): void {
    // `a "b" "c" { … }` is `a = [ { b = [ { c = [ body ] } ] } ]`.
    let value: Obj = body;
    for (let k = keys.length - 1; k >= 1; k--) {
      const wrapper: Obj = { [keys[k]!.value as string]: [value] };
      LABEL_WRAPPERS.add(wrapper);
      setKeyPosition(wrapper, keys[k]!.value as string, keys[k]!.pos);
      OBJECT_POSITIONS.set(wrapper, keys[k]!.pos);
      value = wrapper;
    }
    this.assign(into, keys[0]!, [value]);
  }
}

function isObjectList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
}

function setKeyPosition(o: object, key: string, pos: Position): void {
  let m = KEY_POSITIONS.get(o);
  if (!m) KEY_POSITIONS.set(o, (m = new Map()));
  m.set(key, pos);
}

/** Parses HCL v1 native syntax. Throws HclSyntaxError (with line and column) on bad syntax. */
export function parseHcl(src: string): Obj {
  return new Parser(src).file();
}

/** Gives `to` (a filtered copy of `from`) the positions of `from`'s keys. */
export function copyPositions(from: object, to: object): void {
  const keys = KEY_POSITIONS.get(from);
  if (keys) KEY_POSITIONS.set(to, new Map(keys));
  const at = OBJECT_POSITIONS.get(from);
  if (at) OBJECT_POSITIONS.set(to, at);
}
