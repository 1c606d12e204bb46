/**
 * The canonical request: one client request read once, exactly as Vault 1.15 reads it (Go's
 * net/http, then Vault's http/ handlers). Every rule — cache keys, revocations, renewals, token
 * clean-up, local endpoints — reads this object and never the raw `:path` again. Where Vault would
 * answer by itself (a redirect, a malformed URL) or where we cannot be sure we read the request as
 * Vault does, `exact` is false and nothing is cached or matched for it.
 */

/** Headers as they reach Vault: lower-case names, one entry per header line, in order. */
export type HeaderLines = ReadonlyMap<string, readonly string[]>;

export interface VaultRequest {
  /** As sent: Go's server and Vault's handlers are case-sensitive (`get` is not a read). */
  method: string;
  /** The raw request target's path, for logs and forwarding only. */
  rawPath: string;
  /** The path percent-decoded as Go's `URL.Path` (`%2F` is `/`), e.g. `/v1/secret/data/app`. */
  path: string;
  /** The path below `/v1/` (decoded), or undefined outside the API. */
  rel: string | undefined;
  /** The raw query string without `?` ('' when none). */
  rawQuery: string;
  /** The query as Go's `URL.Query()` decodes it (pairs with bad escapes or `;` are dropped, as Go does). */
  query: Array<[string, string]>;
  /**
   * Vault itself reads this request the way we do: a clean path (Go's ServeMux would answer 301
   * otherwise), valid escapes (400 otherwise), valid UTF-8, a well-formed query.
   */
  exact: boolean;
  /** The token Vault will use (getTokenFromReq) and where it came from. */
  token: string | undefined;
  tokenSource: 'x-vault-token' | 'bearer' | undefined;
  /** More than one header line could carry a token (repeated X-Vault-Token, or several Authorization lines). */
  tokenRepeated: boolean;
  /** X-Vault-Namespace as sent (first line), if any. */
  namespace: string | undefined;
  /**
   * X-Vault-Request's value when the request has exactly one such line (Vault Proxy's
   * verifyRequestHeader asks for exactly one line, "true"); undefined when absent or repeated.
   */
  vaultRequest: string | undefined;
  /** Content-Type's first value, if any. */
  contentType: string | undefined;
  /**
   * Headers present that change what Vault answers (wrapping, MFA, policy override, consistency,
   * forwarding …): every `x-vault-*` header except the token, X-Vault-Request and the namespace.
   */
  answerHeaders: string[];
  /**
   * OpenBao's token-less inline authentication (`X-Vault-Inline-Auth-Path`, `-Operation`,
   * `-Namespace`, `-Parameter-*`): the names of those headers present. With the path header the
   * request bears its own credentials, and OpenBao refuses it when a token is added too.
   */
  inlineAuthHeaders: string[];
}

const NOT_ANSWER_CHANGING = new Set(['x-vault-token', 'x-vault-request', 'x-vault-namespace']);
const INLINE_AUTH_PREFIX = 'x-vault-inline-auth-';
/** The header that makes OpenBao authenticate a request inline (openbao/openbao vault/request_handling.go). */
export const INLINE_AUTH_PATH = 'x-vault-inline-auth-path';

export function parseVaultRequest(headers: HeaderLines): VaultRequest {
  const method = headers.get(':method')?.[0] ?? 'GET';
  const rawTarget = headers.get(':path')?.[0] ?? '/';
  const q = rawTarget.indexOf('?');
  const rawPath = q === -1 ? rawTarget : rawTarget.slice(0, q);
  const rawQuery = q === -1 ? '' : rawTarget.slice(q + 1);
  const decoded = goPathUnescape(rawPath);
  const path = decoded ?? rawPath;
  const query = goParseQuery(rawQuery);
  const exact = decoded !== undefined && query.ok && path.startsWith('/') && cleanPath(path) === path;

  const vaultTokens = headers.get('x-vault-token') ?? [];
  const authorizations = headers.get('authorization') ?? [];
  let token: string | undefined;
  let tokenSource: VaultRequest['tokenSource'];
  // Vault: `r.Header.Get("X-Vault-Token")` (the first line), else the first `Authorization`
  // line starting with "Bearer " (case-sensitive), trimmed.
  if (vaultTokens[0]) {
    token = vaultTokens[0];
    tokenSource = 'x-vault-token';
  } else {
    const bearer = authorizations.find((v) => v.startsWith('Bearer '));
    const t = bearer?.slice(7).trim();
    if (t) {
      token = t;
      tokenSource = 'bearer';
    }
  }
  const answerHeaders: string[] = [];
  const inlineAuthHeaders: string[] = [];
  for (const name of headers.keys()) {
    if (name.startsWith('x-vault-') && !NOT_ANSWER_CHANGING.has(name)) answerHeaders.push(name);
    if (name.startsWith(INLINE_AUTH_PREFIX)) inlineAuthHeaders.push(name);
  }
  return {
    method, rawPath, path, rel: path.startsWith('/v1/') ? path.slice(4) : undefined, rawQuery, query: query.pairs, exact,
    token, tokenSource,
    tokenRepeated: vaultTokens.length > 1 || authorizations.length > 1,
    namespace: headers.get('x-vault-namespace')?.[0],
    vaultRequest: singleValue(headers.get('x-vault-request')),
    contentType: headers.get('content-type')?.[0],
    answerHeaders,
    inlineAuthHeaders,
  };
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * Go's `url.PathUnescape` as `URL.Path` gets it: every `%XX` decoded (`%2F` too), `+` kept.
 * Undefined for a bad escape (Go answers 400) or bytes that are not UTF-8 (we would not read them as Vault does).
 */
export function goPathUnescape(s: string): string | undefined {
  if (!s.includes('%')) return s;
  return unescape(s, false);
}

function unescape(s: string, plusIsSpace: boolean): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      if (i + 2 >= s.length || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return undefined;
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (plusIsSpace && c === 43 /* + */) {
      bytes.push(32);
    } else if (c < 128) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
    }
  }
  const buf = Buffer.from(bytes);
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : undefined;
}

/** Go's `url.ParseQuery` as `URL.Query()` uses it: `&`-separated, `+` is a space, bad pairs dropped. */
export function goParseQuery(raw: string): { pairs: Array<[string, string]>; ok: boolean } {
  const pairs: Array<[string, string]> = [];
  let ok = true;
  if (raw === '') return { pairs, ok };
  for (const part of raw.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) {
      ok = false; // Go ≥ 1.17 refuses the pair
      continue;
    }
    const eq = part.indexOf('=');
    const k = unescape(eq === -1 ? part : part.slice(0, eq), true);
    const v = unescape(eq === -1 ? '' : part.slice(eq + 1), true);
    if (k === undefined || v === undefined) {
      ok = false;
      continue;
    }
    pairs.push([k, v]);
  }
  return { pairs, ok };
}

/** Go's net/http cleanPath: what ServeMux redirects a request to when the path differs from it. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  // Already clean: rooted, no empty segment (`//`), no `.` or `..` segment (each starts `/.`).
  if (p.charCodeAt(0) === 47 /* / */ && !p.includes('//') && !p.includes('/.')) return p;
  if (p[0] !== '/') p = `/${p}`;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let np = `/${out.join('/')}`;
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

/**
 * The fields of a POST/PUT body as Vault reads them: JSON (its first value), or a form when the
 * content type says so and the body does not start like JSON. Undefined when we cannot be sure.
 */
export function bodyFields(body: Buffer | undefined, contentType: string | undefined): Record<string, unknown> | undefined {
  if (!body || body.length === 0) return {};
  const text = body.toString('utf8');
  const media = contentType === undefined ? '' : contentType.split(';')[0]!.trim().toLowerCase();
  // How the body starts matters only for a form content type (a JSON body is read as JSON whatever it says).
  const head = media === 'application/x-www-form-urlencoded' ? text.trimStart() : '';
  if (media === 'application/x-www-form-urlencoded' && !head.startsWith('{') && !head.startsWith('[')) {
    const { pairs, ok } = goParseQuery(text);
    if (!ok) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of pairs) {
      if (k in out) return undefined; // Vault joins repeated fields: not a value we would match
      out[k] = v;
    }
    return out;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // trailing bytes Go's decoder would ignore, or not JSON: we cannot tell
  }
}

function singleValue(values: readonly string[] | undefined): string | undefined {
  return values?.length === 1 ? values[0] : undefined;
}
