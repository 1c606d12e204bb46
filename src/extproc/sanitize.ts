/**
 * Vault Proxy's sanitizeAutoAuthTokenResponse: a client that had the auto-auth token added must not
 * read it back. Token lookups and renewals answered for the auto-auth token lose the token and its
 * accessor (`data.id`/`data.accessor`, `auth.client_token`/`auth.accessor`).
 */

/** Paths whose answers can carry the calling token: lookup(-self), renew(-self), optionally namespaced. */
const TOKEN_ECHO_PATH = /^\/v1\/(?:.+\/)?auth\/token\/(?:lookup|renew)(?:-self)?\/?$/;

export function mayEchoToken(path: string): boolean {
  return TOKEN_ECHO_PATH.test(path);
}

/** The body without the auto-auth token, or undefined when nothing had to change. */
export function sanitizeTokenEcho(body: Buffer, autoAuthToken: string): Buffer | undefined {
  let parsed: { data?: Record<string, unknown> | null; auth?: Record<string, unknown> | null };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  let changed = false;
  if (parsed.data && parsed.data['id'] === autoAuthToken) {
    delete parsed.data['id'];
    delete parsed.data['accessor'];
    changed = true;
  }
  if (parsed.auth && parsed.auth['client_token'] === autoAuthToken) {
    delete parsed.auth['client_token'];
    delete parsed.auth['accessor'];
    changed = true;
  }
  return changed ? Buffer.from(`${JSON.stringify(parsed)}\n`) : undefined;
}
