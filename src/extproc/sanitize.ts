/**
 * Vault Proxy's sanitizeAutoAuthTokenResponse: a client that had the auto-auth token added must not
 * read it back. Token lookups and renewals answered for the auto-auth token lose the token and its
 * accessor (`data.id`/`data.accessor` removed, `auth.client_token`/`auth.accessor` emptied).
 */

/**
 * Paths whose answers can carry the calling token: lookup(-self), renew(-self), optionally
 * namespaced (matched broadly: every auth/token/lookup* and renew* path). `rel` is the canonical request's decoded path below /v1/ (`lookup-sel%66` and
 * `auth%2Ftoken%2Flookup-self` are lookup-self to Vault, and so to us).
 */
const TOKEN_ECHO_PATH = /(?:^|\/)auth\/token\/(?:lookup|renew)/;

export function mayEchoToken(rel: string | undefined): boolean {
  return rel !== undefined && TOKEN_ECHO_PATH.test(rel);
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
    // Emptied, not removed, as Vault Proxy does: a client reading auth.client_token finds "".
    parsed.auth['client_token'] = '';
    parsed.auth['accessor'] = '';
    changed = true;
  }
  return changed ? Buffer.from(`${JSON.stringify(parsed)}\n`) : undefined;
}
