import { AppError } from '../errors.js';
import { HclSyntaxError, parseHcl } from './hcl-parse.js';

/**
 * Decodes HCL v1 or JSON config text into HCL v1's generic shape: every block and object
 * value is a list of objects (`vault { }` → `{ vault: [ { ... } ] }`). As HCL v1 does, text whose
 * first non-blank character is `{` is the JSON form. Errors name the line and column.
 */
export function decodeConfigText(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  if (!text.trimStart().startsWith('{')) {
    try {
      return parseHcl(text);
    } catch (e) {
      if (e instanceof HclSyntaxError) throw new AppError('CONFIG_INVALID', `${file}: ${e.message}`);
      throw e;
    }
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `${file}: ${jsonError(text, e)}`);
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new AppError('CONFIG_INVALID', `${file}: the config must be an object of blocks`);
  }
  return fromJsonObject(decoded as Record<string, unknown>);
}

/** HCL v1's JSON form: an object value is a one-object list (a block); lists keep their items. */
function fromJsonObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = fromJsonValue(v);
  return out;
}

function fromJsonValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (isPlainObject(x) ? fromJsonObject(x) : fromJsonValue(x)));
  if (isPlainObject(v)) return [fromJsonObject(v)];
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Node's JSON errors give an offset ("… at position 42"): as a line and column. */
function jsonError(text: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const m = /at position (\d+)/.exec(message);
  const offset = m ? Number(m[1]) : firstBadOffset(text);
  const before = text.slice(0, offset).split('\n');
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  const detail = message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/ \(line \d+ column \d+\)$/, '');
  return `line ${line}, column ${column}: ${detail}`;
}

/** Newer Node messages name no offset: the shortest prefix failing with the same complaint. */
function firstBadOffset(text: string): number {
  const complaint = (k: number): string | undefined => {
    try {
      JSON.parse(text.slice(0, k));
      return undefined;
    } catch (e) {
      // "Unexpected token '}', "…" is not valid JSON": the part before the quoted text.
      return (e instanceof Error ? e.message : '').split(/, (?:"|\.\.\.)|\s+in JSON/)[0];
    }
  };
  const whole = complaint(text.length);
  if (whole === undefined) return text.length;
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (complaint(mid) === whole) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}
