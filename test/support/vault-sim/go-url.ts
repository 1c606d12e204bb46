// How Go's net/http reads a request URI and how its (Go 1.21) ServeMux treats a non-canonical
// path, as Vault 1.15.6 sees them: the path is percent-decoded once (an invalid escape is a 400
// before any handler runs), the query is parsed with url.ParseQuery (pairs that fail to decode
// are dropped, repeated keys kept in order), and a decoded path that path.Clean changes is
// redirected with 301 to the cleaned path, re-encoded, with the raw query.

export interface GoRequestUri {
  /** The path exactly as sent (still encoded), without the query. */
  readonly rawPath: string;
  /** r.URL.Path: percent-decoded; invalid UTF-8 becomes U+FFFD. */
  readonly path: string;
  /** r.URL.RawQuery: everything after the first `?` ('' without one). */
  readonly rawQuery: string;
  /** r.URL.Query(): every value per key, in order. */
  readonly query: ReadonlyMap<string, readonly string[]>;
}

/** url.unescape in path mode ('+' stays '+'); undefined for an invalid escape. */
function unescape(s: string, plusIsSpace: boolean): string | undefined {
  if (!s.includes('%') && !(plusIsSpace && s.includes('+'))) return s;
  const bytes: number[] = [];
  const src = Buffer.from(s, 'utf8');
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25) {
      const hex = src.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (c === 0x2b && plusIsSpace) {
      bytes.push(0x20);
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** url.ParseQuery, errors ignored as r.URL.Query() does: a pair with `;` or a bad escape is dropped. */
export function parseGoQuery(rawQuery: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = unescape(eq < 0 ? pair : pair.slice(0, eq), true);
    const value = unescape(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (key === undefined || value === undefined) continue;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/** url.ParseRequestURI for an origin-form target; undefined when Go would answer 400. */
export function parseRequestUri(target: string): GoRequestUri | undefined {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const path = unescape(rawPath, false);
  if (path === undefined) return undefined;
  return { rawPath, path, rawQuery, query: parseGoQuery(rawQuery) };
}

/** Go's path.Clean. */
function pathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** net/http cleanPath: path.Clean, keeping a trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  if (!p.startsWith('/')) p = `/${p}`;
  let np = pathClean(p);
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

/** url.URL{Path: p}.EscapedPath() (encodePath mode: unreserved and `$&+,/:;=@` stay). */
export function escapePath(p: string): string {
  let out = '';
  for (const byte of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** html.EscapeString as net/http's htmlEscape does it. */
function htmlEscape(s: string): string {
  return s.replace(/[&'<>"]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' })[c]!);
}

export interface GoRedirect {
  readonly location: string;
  /** Set for GET and HEAD only (http.Redirect). */
  readonly contentType: string | undefined;
  /** Written for GET only. */
  readonly body: string;
}

/**
 * The ServeMux redirect for a non-canonical path (Go 1.21 mux), or undefined when the path is
 * canonical. `method` decides the body, as http.Redirect does.
 */
export function canonicalRedirect(uri: Pick<GoRequestUri, 'path' | 'rawQuery'>, method: string): GoRedirect | undefined {
  if (method === 'CONNECT') return undefined;
  const cleaned = cleanPath(uri.path);
  if (cleaned === uri.path) return undefined;
  const location = escapePath(cleaned) + (uri.rawQuery !== '' ? `?${uri.rawQuery}` : '');
  return {
    location,
    contentType: method === 'GET' || method === 'HEAD' ? 'text/html; charset=utf-8' : undefined,
    body: method === 'GET' ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : '',
  };
}

/** unicode.IsPrint over the decoded path (cleanhttp.PrintablePathCheckHandler). */
export function hasNonPrintable(path: string): boolean {
  // IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
  return /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.test(path);
}
