// Reading request fields the way Vault's framework.FieldData converts them.
import { parseDurationSeconds } from './time.js';

/**
 * A field that could not be converted. The pipeline answers 400 with `Field validation failed: `
 * and this message, or with the message alone when the request went through an existence check
 * (framework's existence check validates the fields first, and Vault returns its error as-is).
 */
export class FieldError extends Error {
  override readonly name = 'FieldError';
}

/** A handler's own parse error (logical.ErrorResponse(err.Error())): 400 with the message as-is. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
}

/** Go's `%v` of a decoded JSON value (numbers are json.Number, so printed as written). */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    return `map[${Object.keys(obj).sort().map((k) => `${k}:${goValue(obj[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** mapstructure's name for a decoded JSON value's kind (json.Number is a string). */
function goKind(v: unknown): string {
  return typeof v === 'boolean' ? 'bool' : Array.isArray(v) ? 'slice' : v !== null && typeof v === 'object' ? 'map' : 'string';
}

function convertError(field: string, value: unknown, why: string): FieldError {
  return new FieldError(`error converting input ${goValue(value)} for field "${field}": ${why}`);
}

/** TypeMap: a JSON object, else mapstructure's error. */
export function mapField(data: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const v = data[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const why = Array.isArray(v)
    ? `'[0]' expected a map, got '${goKind(v[0])}'`
    : `'' expected a map, got '${goKind(v)}'`;
  throw convertError(field, v, why);
}

export function stringField(data: Record<string, unknown>, field: string, fallback = ''): string {
  const v = data[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw convertError(field, v, 'expected a string');
}

export function boolField(data: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = data[field];
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  }
  throw convertError(field, v, `cannot parse '' as bool: strconv.ParseBool: parsing ${JSON.stringify(goValue(v))}: invalid syntax`);
}

export function intField(data: Record<string, unknown>, field: string, fallback: number): number {
  const v = data[field];
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[-+]?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) {
    throw convertError(field, v, `cannot parse '' as int: strconv.ParseInt: parsing ${JSON.stringify(goValue(v))}: invalid syntax`);
  }
  return n;
}

/** TypeDurationSecond: seconds as a number, or a duration string ("1h", "30s"). Whole seconds. */
export function durationField(data: Record<string, unknown>, field: string): number {
  try {
    return Math.floor(parseDurationSeconds(data[field]));
  } catch (err) {
    throw convertError(field, data[field], (err as Error).message);
  }
}

/**
 * A duration a handler parses itself from a string field (parseutil.ParseDurationSecond), as the
 * token store does for ttl, explicit_max_ttl and period: a bad value is a plain 400 message.
 */
export function parsedDurationField(data: Record<string, unknown>, field: string): number {
  try {
    return Math.floor(parseDurationSeconds(data[field]));
  } catch (err) {
    throw new RequestError((err as Error).message);
  }
}

/** TypeCommaStringSlice: a list, or a comma-separated string. Trimmed, empties dropped. */
export function stringListField(data: Record<string, unknown>, field: string): string[] {
  const v = data[field];
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [v];
  return items.map((i) => String(i).trim()).filter((i) => i !== '');
}

/** TypeKVPairs / map fields: an object of strings. */
export function stringMapField(data: Record<string, unknown>, field: string): Record<string, string> | null {
  const v = mapField(data, field);
  if (v === undefined) return null;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

export function hasField(data: Record<string, unknown>, field: string): boolean {
  return data[field] !== undefined;
}

/** policyutil.SanitizePolicies: trim, lower-case, drop empties, `root` swallows the rest, sort, dedupe. */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  let out: string[] = [];
  let hasDefault = false;
  for (const p of policies) {
    const name = p.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'root') {
      out = ['root'];
      hasDefault = true;
      break;
    }
    if (name === 'default') hasDefault = true;
    out.push(name);
  }
  if (addDefault && (out.length === 0 || !hasDefault)) out.push('default');
  return [...new Set(out)].sort();
}
