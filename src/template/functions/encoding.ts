/**
 * consul-template's encoding functions: base64 (Go's encoding/base64, strict padding, \r and \n
 * ignored), JSON (Go's encoding/json: sorted map keys, HTML escaping, struct fields in order),
 * parseJSON, hashes.
 */
import { createHash, createHmac } from 'node:crypto';
import { GoStruct, JsonNumber, type TemplateFunc } from '../types.js';
import { JsonSyntaxError, parseGoJson } from '../vault-json.js';
import { argString, float64, GoFloat, goFieldNames, GoFuncError, goQuote, goStringFromBytes, goStringToBytes, goTypeName, isAnyKeyMap, isNilSlice, isPlainObject } from './go.js';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Go's Encoding.DecodeString (padded alphabet, non-strict); throws "illegal base64 data at input byte N". */
function goBase64Decode(src: Uint8Array, alphabet: string): Uint8Array {
  const map = new Map<number, number>();
  for (let k = 0; k < 64; k++) map.set(alphabet.charCodeAt(k), k);
  const out: number[] = [];
  const corrupt = (at: number) => new GoFuncError(`illegal base64 data at input byte ${at}`);
  let si = 0;
  const n = src.length;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let done = false;
    for (; j < 4; j++) {
      while (si < n && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si === n) {
        if (j === 0) return Uint8Array.from(out);
        throw corrupt(si - j);
      }
      const c = src[si]!;
      si++;
      const v = map.get(c);
      if (v !== undefined) { dbuf[j] = v; continue; }
      if (c !== 0x3d) throw corrupt(si - 1);
      // Padding.
      if (j === 0 || j === 1) throw corrupt(si - 1);
      if (j === 2) {
        while (si < n && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === n) throw corrupt(n);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < n && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < n) throw corrupt(si);
      dlen = j;
      done = true;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    if (dlen === 4) out.push(...bytes);
    else if (dlen === 3) out.push(bytes[0]!, bytes[1]!);
    else if (dlen === 2) out.push(bytes[0]!);
    if (done) return Uint8Array.from(out);
  }
}

function base64Decode(name: string, alphabet: string) {
  return (s: unknown): string => {
    try {
      return goStringFromBytes(goBase64Decode(goStringToBytes(argString(s)), alphabet));
    } catch (e) {
      throw new GoFuncError(`${name}: ${(e as Error).message}`);
    }
  };
}

function base64Encode(url: boolean) {
  return (s: unknown): string => {
    const b64 = goStringToBytes(argString(s)).toString('base64');
    return url ? b64.replace(/\+/g, '-').replace(/\//g, '_') : b64;
  };
}

// --- JSON (encoding/json) ---

class JsonUnsupported extends Error {}

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20) {
      if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch === '\b') out += '\\b';
      else if (ch === '\f') out += '\\f';
      else out += `\\u00${c.toString(16).padStart(2, '0')}`;
    } else if (escapeHTML && (ch === '<' || ch === '>' || ch === '&')) out += `\\u00${c.toString(16)}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd'; // an invalid byte: Go writes the escape
    else out += ch;
  }
  return out + '"';
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function jsonEncode(v: unknown, escapeHTML: boolean, indent: string, level: number): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new JsonUnsupported(`json: unsupported value: ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}`);
    return Object.is(v, -0) ? '-0' : String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof GoFloat) return jsonEncode(v.value, escapeHTML, indent, level);
  if (typeof v === 'string') return jsonString(v, escapeHTML);
  if (v instanceof JsonNumber) {
    const t = v.text === '' ? '0' : v.text;
    if (!JSON_NUMBER.test(t)) throw new JsonUnsupported(`json: invalid number literal ${goQuote(t)}`);
    return t;
  }
  const nl = indent ? '\n' + indent.repeat(level + 1) : '';
  const close = indent ? '\n' + indent.repeat(level) : '';
  const sep = indent ? ': ' : ':';
  if (Array.isArray(v)) {
    if (isNilSlice(v)) return 'null';
    if (v.length === 0) return '[]';
    return '[' + v.map((x) => nl + jsonEncode(x, escapeHTML, indent, level + 1)).join(',') + close + ']';
  }
  if (v instanceof GoStruct) {
    const keys = goFieldNames(v);
    if (keys.length === 0) return '{}';
    const rec = v as unknown as Record<string, unknown>;
    return '{' + keys.map((k) => nl + jsonString(k, escapeHTML) + sep + jsonEncode(rec[k], escapeHTML, indent, level + 1)).join(',') + close + '}';
  }
  if (isPlainObject(v)) {
    if (isAnyKeyMap(v)) throw new JsonUnsupported('json: unsupported type: map[interface {}]interface {}');
    const keys = Object.keys(v).sort(compareBytes);
    if (keys.length === 0) return '{}';
    return '{' + keys.map((k) => nl + jsonString(k, escapeHTML) + sep + jsonEncode(v[k], escapeHTML, indent, level + 1)).join(',') + close + '}';
  }
  throw new JsonUnsupported(`json: unsupported type: ${goTypeName(v)}`);
}

/** Go sorts map keys by their UTF-8 bytes. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const ba = goStringToBytes(a);
  const bb = goStringToBytes(b);
  return Buffer.compare(ba, bb);
}

function toJsonFunc(name: string, escapeHTML: boolean, pretty: boolean) {
  return (v: unknown): string => {
    try {
      return jsonEncode(v, escapeHTML, pretty ? '  ' : '', 0);
    } catch (e) {
      if (e instanceof JsonUnsupported) throw new GoFuncError(`${name}: ${e.message}`);
      throw e;
    }
  };
}

/** consul-template's parseJSON: "" is an empty map; numbers are float64; errors are encoding/json's. */
function parseJSON(s: unknown): unknown {
  const text = argString(s);
  if (text === '') return {};
  try {
    return parseGoJson(text, float64);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new GoFuncError(e.message);
    throw e;
  }
}

const hex = (algo: string) => (s: unknown): string => createHash(algo).update(goStringToBytes(argString(s))).digest('hex');

export const encodingFuncs: Record<string, TemplateFunc> = {
  base64Decode: base64Decode('base64Decode', STD),
  base64Encode: base64Encode(false),
  base64URLDecode: base64Decode('base64URLDecode', URL),
  base64URLEncode: base64Encode(true),
  toJSON: toJsonFunc('toJSON', true, false),
  toJSONPretty: toJsonFunc('toJSONPretty', true, true),
  toUnescapedJSON: toJsonFunc('toUnescapedJSON', false, false),
  toUnescapedJSONPretty: toJsonFunc('toUnescapedJSONPretty', false, true),
  parseJSON,
  sha256Hex: hex('sha256'),
  md5sum: hex('md5'),
  hmacSHA256Hex: (message, key) => createHmac('sha256', goStringToBytes(argString(key))).update(goStringToBytes(argString(message))).digest('hex'),
};
