// A small hand parser for the HCL subset that ACL policies use:
//   path "secret/data/*" { capabilities = ["read", "list"] }
// plus comments (#, //, /* */), nested objects, lists, strings, numbers and booleans.

export type HclValue = string | number | boolean | HclValue[] | HclBody;

export interface HclBlock {
  readonly key: string;
  readonly labels: readonly string[];
  readonly body: HclBody;
}

export interface HclBody {
  readonly kind: 'body';
  readonly attributes: Map<string, HclValue>;
  readonly blocks: HclBlock[];
}

export class HclParseError extends Error {
  override readonly name = 'HclParseError';
}

type Token =
  | { t: 'str'; v: string; line: number }
  | { t: 'ident'; v: string; line: number }
  | { t: 'num'; v: number; line: number }
  | { t: 'punct'; v: string; line: number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new HclParseError(`At ${line}: unterminated comment`);
      line += src.slice(i, end).split('\n').length - 1;
      i = end + 2;
      continue;
    }
    if ('{}[]=,:'.includes(c)) { out.push({ t: 'punct', v: c, line }); i++; continue; }
    if (c === '"') {
      let v = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\n') throw new HclParseError(`At ${line}: unterminated string`);
        if (src[i] === '\\') {
          const e = src[i + 1];
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : (e ?? '');
          i += 2;
        } else {
          v += src[i];
          i++;
        }
      }
      if (i >= src.length) throw new HclParseError(`At ${line}: unterminated string`);
      i++;
      out.push({ t: 'str', v, line });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num) { out.push({ t: 'num', v: Number(num[0]), line }); i += num[0].length; continue; }
    const ident = /^[A-Za-z_][A-Za-z0-9_.\-]*/.exec(src.slice(i));
    if (ident) { out.push({ t: 'ident', v: ident[0], line }); i += ident[0].length; continue; }
    throw new HclParseError(`At ${line}: illegal char '${c}'`);
  }
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  parseDocument(): HclBody {
    const body = this.parseBody(false);
    if (this.pos < this.tokens.length) throw this.unexpected();
    return body;
  }

  private peek(): Token | undefined { return this.tokens[this.pos]; }

  private isPunct(v: string): boolean {
    const tok = this.peek();
    return tok !== undefined && tok.t === 'punct' && tok.v === v;
  }

  private expectPunct(v: string): void {
    if (!this.isPunct(v)) throw this.unexpected(`expected '${v}'`);
    this.pos++;
  }

  private unexpected(what = 'unexpected token'): HclParseError {
    const tok = this.peek();
    if (!tok) return new HclParseError(`${what} at end of input`);
    return new HclParseError(`At ${tok.line}: ${what}, got ${JSON.stringify(tok.v)}`);
  }

  private parseBody(inBraces: boolean): HclBody {
    const body: HclBody = { kind: 'body', attributes: new Map(), blocks: [] };
    for (;;) {
      const tok = this.peek();
      if (!tok) {
        if (inBraces) throw this.unexpected("expected '}'");
        return body;
      }
      if (tok.t === 'punct' && tok.v === '}' && inBraces) return body;
      if (tok.t === 'punct' && tok.v === ',') { this.pos++; continue; }
      if (tok.t !== 'ident' && tok.t !== 'str') throw this.unexpected('expected a key');
      this.pos++;
      const labels: string[] = [];
      for (let next = this.peek(); next && (next.t === 'str' || next.t === 'ident'); next = this.peek()) {
        labels.push(next.v);
        this.pos++;
      }
      if (this.isPunct('=') || this.isPunct(':')) {
        this.pos++;
        const value = this.parseValue();
        if (labels.length === 0) body.attributes.set(tok.v, value);
        else if (typeof value === 'object' && !Array.isArray(value)) body.blocks.push({ key: tok.v, labels, body: value });
        else throw this.unexpected('expected an object');
        continue;
      }
      this.expectPunct('{');
      const inner = this.parseBody(true);
      this.expectPunct('}');
      body.blocks.push({ key: tok.v, labels, body: inner });
    }
  }

  private parseValue(): HclValue {
    const tok = this.peek();
    if (!tok) throw this.unexpected('expected a value');
    if (tok.t === 'str' || tok.t === 'num') { this.pos++; return tok.v; }
    if (tok.t === 'ident' && (tok.v === 'true' || tok.v === 'false')) { this.pos++; return tok.v === 'true'; }
    if (tok.t === 'punct' && tok.v === '[') {
      this.pos++;
      const items: HclValue[] = [];
      while (!this.isPunct(']')) {
        items.push(this.parseValue());
        if (this.isPunct(',')) this.pos++;
        else if (!this.isPunct(']')) throw this.unexpected("expected ',' or ']'");
      }
      this.pos++;
      return items;
    }
    if (tok.t === 'punct' && tok.v === '{') {
      this.pos++;
      const body = this.parseBody(true);
      this.expectPunct('}');
      return body;
    }
    throw this.unexpected('expected a value');
  }
}

export function parseHcl(src: string): HclBody {
  return new Parser(tokenize(src)).parseDocument();
}
