/**
 * `POST /agent/v1/cache-clear` (and `/proxy/v1/cache-clear`) bodies, as Vault Agent reads them:
 * `{"type": "request_path"|"token"|"token_accessor"|"lease"|"all", "value", "namespace"}`.
 * Where Vault answers 500 for a missing value we answer 400: it is the client's mistake.
 */
export type CacheClearCommand =
  | { type: 'request_path'; value: string; namespace: string }
  | { type: 'token' | 'token_accessor' | 'lease'; value: string }
  | { type: 'all' };

export type CacheClearParse = { ok: true; command: CacheClearCommand } | { ok: false; error: string };

const VALUE_NAMES: Record<string, string> = {
  request_path: 'request path', token: 'token', token_accessor: 'token accessor', lease: 'lease',
};

export function parseCacheClear(body: Buffer | undefined): CacheClearParse {
  const text = body?.toString('utf8').trim() ?? '';
  if (text === '') return { ok: false, error: 'failed to parse JSON input: empty JSON provided' };
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `failed to parse JSON input: ${(err as Error).message}` };
  }
  // JSON null decodes to no fields at all, as in Vault Proxy (Go's decoder leaves the struct empty).
  if (input === null) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: 'failed to parse JSON input: expected a JSON object' };
  }
  const { type, value, namespace } = input as { type?: unknown; value?: unknown; namespace?: unknown };
  if (type === undefined || type === '') return { ok: false, error: 'failed to parse clear input: no type provided' };
  if (type === 'all') return { ok: true, command: { type: 'all' } };
  if (typeof type !== 'string' || !(type in VALUE_NAMES)) return { ok: false, error: 'failed to clear cache: invalid type provided' };
  if (typeof value !== 'string' || value === '') return { ok: false, error: `failed to clear cache: ${VALUE_NAMES[type]} not provided` };
  if (type === 'request_path') {
    return { ok: true, command: { type, value, namespace: typeof namespace === 'string' ? namespace : '' } };
  }
  return { ok: true, command: { type: type as 'token' | 'token_accessor' | 'lease', value } };
}
