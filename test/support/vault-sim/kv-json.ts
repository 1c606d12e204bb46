// KV v1 data as Vault keeps it: the HTTP layer decodes request bodies with json.Decoder.UseNumber
// and KV v1 stores the json.Number, so a number comes back as written (`1.0`, `1e3`,
// `12345678901234567890`). (KV v2 does not: its data goes through float64, `1.0` reads back `1`,
// as the simulator's plain JS numbers already do.) The pipeline still hands every backend plain
// JSON (numbers as JS numbers, what the other backends' field parsing expects); beside it, it
// attaches the body parsed with number texts kept (`attachNumberTexts`), which KV v1 stores. The
// envelope writes such numbers as their text (`stringifyKeepingNumbers`).
import { randomBytes } from 'node:crypto';
import { JsonNumber } from '../../../src/template/types.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';

export { JsonNumber };

const KEPT = Symbol.for('vault-sim.jsonNumberTexts');

/** Attaches (non-enumerable) the body parsed with number texts kept to the plain parse of it. */
export function attachNumberTexts(parsed: object, body: string): void {
  try {
    const kept = parseVaultJson(body);
    if (kept !== null && typeof kept === 'object' && !Array.isArray(kept)) Object.defineProperty(parsed, KEPT, { value: kept, enumerable: false });
  } catch {
    // JSON.parse accepted it; keep the plain numbers
  }
}

/** The request data with number texts kept (a JSON body), else the data as parsed. */
export function dataKeepingNumbers(data: Record<string, unknown>): Record<string, unknown> {
  const kept = (data as { [KEPT]?: unknown })[KEPT];
  return kept !== undefined ? (kept as Record<string, unknown>) : data;
}

/** A deep copy of KV data (numbers stay JsonNumbers; structuredClone would turn them into maps). */
export function cloneKv<T>(v: T): T {
  if (v instanceof JsonNumber || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneKv) as T;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, cloneKv(x)])) as T;
}

/** A deep copy with every JsonNumber a JS number (KV v2's data: Vault hands it through float64). */
export function plainNumbers<T>(v: T): T {
  if (v instanceof JsonNumber) return Number(v.text) as T;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plainNumbers) as T;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plainNumbers(x)])) as T;
}

/** A JsonNumber as the JS number other code expects (a ttl field), anything else as it is. */
export function plainNumber(v: unknown): unknown {
  return v instanceof JsonNumber ? Number(v.text) : v;
}

/** JSON.stringify, but a JsonNumber is written as its text (Go's json.Number marshals so). */
export function stringifyKeepingNumbers(value: unknown): string {
  const texts: string[] = [];
  const nonce = randomBytes(6).toString('hex');
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    if (original instanceof JsonNumber) {
      texts.push(original.text);
      return `\uE000${nonce}:${texts.length - 1}\uE000`;
    }
    return v;
  });
  if (texts.length === 0 || text === undefined) return text;
  return text.replace(new RegExp(`"\\uE000${nonce}:(\\d+)\\uE000"`, 'g'), (_m, i: string) => texts[Number(i)]!);
}
