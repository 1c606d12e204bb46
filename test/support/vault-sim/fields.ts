// Reading request fields the way Vault's framework.FieldData converts them.
import { parseDurationSeconds } from './time.js';

/** A field that could not be converted; the pipeline answers 400 with this message. */
export class FieldError extends Error {
  override readonly name = 'FieldError';
}

function convertError(field: string, value: unknown, why: string): FieldError {
  return new FieldError(`Field validation failed: error converting input ${String(value)} for field "${field}": ${why}`);
}

export function stringField(data: Record<string, unknown>, field: string, fallback = ''): string {
  const v = data[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw convertError(field, JSON.stringify(v), 'expected a string');
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
  throw convertError(field, v, 'cannot parse as a boolean');
}

export function intField(data: Record<string, unknown>, field: string, fallback: number): number {
  const v = data[field];
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[-+]?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw convertError(field, v, 'cannot parse as an integer');
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

/** TypeCommaStringSlice: a list, or a comma-separated string. Trimmed, empties dropped. */
export function stringListField(data: Record<string, unknown>, field: string): string[] {
  const v = data[field];
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [v];
  return items.map((i) => String(i).trim()).filter((i) => i !== '');
}

/** TypeKVPairs / map fields: an object of strings. */
export function stringMapField(data: Record<string, unknown>, field: string): Record<string, string> | null {
  const v = data[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw convertError(field, JSON.stringify(v), 'expected a map');
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
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
