import { AppError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400,
};

/**
 * Parses a duration the way Vault does (go-secure-stdlib ParseDurationSecond): a bare number
 * (or numeric string) is seconds; otherwise Go duration syntax (`1h30m`, `300ms`, `-5m`) plus `d` for days.
 * Returns seconds (possibly fractional).
 */
export function parseDurationSeconds(input: unknown): number {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input !== 'string') throw new AppError('CONFIG_INVALID', `not a duration: ${JSON.stringify(input)}`);
  const text = input.trim();
  if (text === '') return 0;
  if (/^[-+]?\d+$/.test(text)) return Number(text);
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d))+$/.exec(text);
  if (!m) throw new AppError('CONFIG_INVALID', `not a duration: "${text}" (use seconds or a form like "5m", "1h30m")`);
  const sign = m[1] === '-' ? -1 : 1;
  let total = 0;
  for (const part of text.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]!]!;
  }
  return sign * total;
}
