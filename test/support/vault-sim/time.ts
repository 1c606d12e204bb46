// Durations and timestamps the way Vault parses and prints them.
import { randomInt } from 'node:crypto';

/** Vault's system default and maximum lease TTL in dev mode: 768h. */
export const SYSTEM_DEFAULT_TTL_SECONDS = 768 * 3600;
export const SYSTEM_MAX_TTL_SECONDS = 768 * 3600;

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600,
};

/** Go's time.ParseDuration, returning seconds. */
function parseGoDuration(text: string): number {
  const invalid = (): DurationError => new DurationError(`time: invalid duration "${text}"`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  const part = /^(\d*(?:\.\d*)?)([^\d.]*)/;
  while (rest !== '') {
    const m = part.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') throw invalid();
    const unitText = m[2] ?? '';
    if (unitText === '') throw new DurationError(`time: missing unit in duration "${text}"`);
    const unit = UNIT_SECONDS[unitText];
    if (unit === undefined) throw new DurationError(`time: unknown unit "${unitText}" in duration "${text}"`);
    total += Number(m[1]) * unit;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/**
 * parseutil.ParseDurationSecond: a number of seconds, an integer string, `<n>d`, or a Go
 * duration string ("90s", "1h30m"). Empty or absent means 0. Returns seconds.
 */
export function parseDurationSeconds(input: unknown): number {
  if (input === undefined || input === null) return 0;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new DurationError(`could not parse duration from input`);
    return input;
  }
  if (typeof input !== 'string') throw new DurationError(`could not parse duration from input`);
  if (input === '') return 0;
  if (/^[-+]?\d+$/.test(input)) return Number(input);
  if (input.endsWith('d')) {
    const days = input.slice(0, -1);
    if (!/^[-+]?\d+$/.test(days)) throw new DurationError(`strconv.ParseInt: parsing "${days}": invalid syntax`);
    return Number(days) * 86400;
  }
  return parseGoDuration(input);
}

/** Go's time.Duration.String() for a whole number of seconds: "768h0m0s", "1m30s", "3s". */
export function goDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s === 0) return '0s';
  const sign = s < 0 ? '-' : '';
  const abs = Math.abs(s);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const sec = abs % 60;
  if (h > 0) return `${sign}${h}h${m}m${sec}s`;
  if (m > 0) return `${sign}${m}m${sec}s`;
  return `${sign}${sec}s`;
}

/** sdk/framework humanDuration: Go's String() without zero elements ("768h", "2m", "1h30s"). */
export function humanDuration(seconds: number): string {
  let s = goDuration(seconds);
  if (s === '0s') return s;
  if (s.endsWith('m0s')) s = s.slice(0, -2);
  const idx = s.indexOf('h0m');
  if (idx > 0) s = s.slice(0, idx + 1) + s.slice(idx + 3);
  return s;
}

/** A moment stored once, so every later read prints exactly the same text. */
export interface Stamp {
  readonly ms: number;
  readonly text: string;
}

/** RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano). */
export function stampAt(ms: number): Stamp {
  const iso = new Date(ms).toISOString(); // 2024-05-01T10:00:00.123Z
  const base = iso.slice(0, 19);
  const millis = iso.slice(20, 23);
  const nanos = `${millis}${String(randomInt(1_000_000)).padStart(6, '0')}`.replace(/0+$/, '');
  return { ms, text: nanos === '' ? `${base}Z` : `${base}.${nanos}Z` };
}

/** RFC 3339 in UTC at millisecond precision, trailing zeros trimmed (for derived times). */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const millis = iso.slice(20, 23).replace(/0+$/, '');
  return millis === '' ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${millis}Z`;
}

/** Go's time.Now() marshalled as JSON: RFC 3339 with nanoseconds and the local offset ("Z" at UTC). */
export function localStampText(ms: number): string {
  const offsetMinutes = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offsetMinutes * 60_000).toISOString();
  const nanos = `${local.slice(20, 23)}${String(randomInt(1_000_000)).padStart(6, '0')}`.replace(/0+$/, '');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone = offsetMinutes === 0
    ? 'Z'
    : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}${nanos === '' ? '' : `.${nanos}`}${zone}`;
}
