/**
 * JSON as Vault's Go client decodes it (json.Decoder with UseNumber into interface{}): numbers stay
 * `JsonNumber` (their text, Go's json.Number), objects become plain objects (map[string]interface{};
 * a repeated key keeps its last value, as Go's decoder does), arrays []interface{}.
 * `parseGoJson` is encoding/json without UseNumber (consul-template's parseJSON): numbers float64.
 */
import { JsonNumber } from './types.js';

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WS = /[ \t\n\r]*/y;

function describe(ch: string | undefined): string {
  if (ch === undefined) return 'end of JSON input';
  const q = ch === "'" ? "'\\''" : `'${ch}'`;
  return `invalid character ${q}`;
}

class Parser {
  private i = 0;
  constructor(private readonly text: string, private readonly numbers: (text: string) => unknown) {}

  parse(): unknown {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i < this.text.length) throw this.fail('after top-level value');
    return v;
  }

  private ws(): void {
    WS.lastIndex = this.i;
    WS.exec(this.text);
    this.i = WS.lastIndex;
  }

  private fail(context: string): JsonSyntaxError {
    const ch = this.text[this.i];
    if (ch === undefined) return new JsonSyntaxError('unexpected end of JSON input', this.i);
    return new JsonSyntaxError(`${describe(ch)} ${context}`, this.i);
  }

  private value(): unknown {
    const ch = this.text[this.i];
    switch (ch) {
      case '{': return this.object();
      case '[': return this.array();
      case '"': return this.string();
      case 't': return this.literal('true', true);
      case 'f': return this.literal('false', false);
      case 'n': return this.literal('null', null);
    }
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      NUMBER.lastIndex = this.i;
      const m = NUMBER.exec(this.text);
      if (!m) throw this.fail('in numeric literal');
      this.i = NUMBER.lastIndex;
      return this.numbers(m[0]);
    }
    throw this.fail('looking for beginning of value');
  }

  private literal(word: string, v: unknown): unknown {
    if (this.text.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    for (let k = 0; k < word.length; k++) {
      if (this.text[this.i + k] !== word[k]) {
        this.i += k;
        throw this.fail(`in literal ${word} (expecting '${word[k]}')`);
      }
    }
    throw this.fail('');
  }

  private string(): string {
    STRING.lastIndex = this.i;
    const m = STRING.exec(this.text);
    if (!m) {
      // Find the offending character for the message.
      let j = this.i + 1;
      while (j < this.text.length) {
        const c = this.text[j]!;
        if (c === '"') break;
        if (c < ' ') { this.i = j; throw this.fail('in string literal'); }
        if (c === '\\') {
          const e = this.text[j + 1];
          if (e === undefined) break;
          if (!'"\\/bfnrtu'.includes(e)) { this.i = j + 1; throw this.fail('in string escape code'); }
          if (e === 'u' && !/^[0-9a-fA-F]{4}/.test(this.text.slice(j + 2, j + 6))) {
            this.i = j + 2 + (/^[0-9a-fA-F]*/.exec(this.text.slice(j + 2, j + 6))![0].length);
            throw this.fail('in \\u hexadecimal character escape');
          }
          j += 2;
          continue;
        }
        j++;
      }
      this.i = this.text.length;
      throw this.fail('');
    }
    this.i = STRING.lastIndex;
    // Lone surrogates become U+FFFD, as Go's decoder writes them.
    return (JSON.parse(m[0]) as string).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  }

  private array(): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.i] === ']') { this.i++; return out; }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const ch = this.text[this.i];
      if (ch === ',') { this.i++; continue; }
      if (ch === ']') { this.i++; return out; }
      throw this.fail('after array element');
    }
  }

  private object(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.text[this.i] === '}') { this.i++; return out; }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') throw this.fail('looking for beginning of object key string');
      const key = this.string();
      this.ws();
      if (this.text[this.i] !== ':') throw this.fail('after object key');
      this.i++;
      this.ws();
      const v = this.value();
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      const ch = this.text[this.i];
      if (ch === ',') { this.i++; continue; }
      if (ch === '}') { this.i++; return out; }
      throw this.fail('after object key:value pair');
    }
  }
}

/** Vault's JSON with numbers as JsonNumber. Throws JsonSyntaxError with encoding/json's wording. */
export function parseVaultJson(text: string): unknown {
  return new Parser(text, (t) => new JsonNumber(t)).parse();
}

/** encoding/json.Unmarshal into interface{}: numbers are float64 (`float64` wraps integral ones). */
export function parseGoJson(text: string, float64: (n: number) => unknown = Number): unknown {
  return new Parser(text, (t) => float64(Number(t))).parse();
}
