import type { HeaderValue, HttpHeaders } from './envoy-types.js';

/** Envoy's headers as a lower-case map; repeated headers are joined with ", " as HTTP allows. */
export function headerMap(headers: HttpHeaders | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const h of headers?.headers?.headers ?? []) {
    const value = headerValue(h);
    const key = h.key.toLowerCase();
    const prior = map.get(key);
    map.set(key, prior === undefined ? value : `${prior}, ${value}`);
  }
  return map;
}

/** Envoy ≥1.32 sends only raw_value; `value` is read only for very old Envoys. */
export function headerValue(h: HeaderValue): string {
  if (h.raw_value && h.raw_value.length > 0) return h.raw_value.toString('latin1');
  return h.value ?? '';
}

/** Envoy's headers as Vault will receive them: lower-case names, one value per header line, in order. */
export function headerLines(headers: HttpHeaders | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const h of headers?.headers?.headers ?? []) {
    const key = h.key.toLowerCase();
    const list = map.get(key);
    if (list) list.push(headerValue(h));
    else map.set(key, [headerValue(h)]);
  }
  return map;
}
