import { HEADERS } from '../vault/paths.js';

/** What ext_proc needs to know of a client request, read from Envoy's request headers. */
export interface ClientRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/secret/data/app`. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  /** The client's Vault token: `X-Vault-Token`, else `Authorization: Bearer`. */
  clientToken?: string;
  tokenSource?: 'x-vault-token' | 'bearer';
  /** The `X-Vault-Request` header's value, if present. */
  vaultRequest?: string;
}

export function parseClientRequest(headers: Map<string, string>): ClientRequest {
  const rawPath = headers.get(':path') ?? '/';
  const q = rawPath.indexOf('?');
  const req: ClientRequest = {
    method: (headers.get(':method') ?? 'GET').toUpperCase(),
    path: q === -1 ? rawPath : rawPath.slice(0, q),
    query: q === -1 ? '' : rawPath.slice(q + 1),
  };
  const vaultToken = headers.get(HEADERS.vaultToken)?.trim();
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get(HEADERS.authorization) ?? '')?.[1];
  // Vault reads X-Vault-Token first and falls back to a Bearer Authorization header.
  if (vaultToken) {
    req.clientToken = vaultToken;
    req.tokenSource = 'x-vault-token';
  } else if (bearer) {
    req.clientToken = bearer;
    req.tokenSource = 'bearer';
  }
  const vaultRequest = headers.get(HEADERS.vaultRequest);
  if (vaultRequest !== undefined) req.vaultRequest = vaultRequest;
  return req;
}
