/** What every auto-auth method block has, whatever its type (Vault Agent's method stanza). */
export interface MethodCommon {
  mountPath: string;
  namespace?: string;
  minBackoffSeconds: number;
  maxBackoffSeconds: number;
  exitOnError: boolean;
  /** The method's `wrap_ttl` (seconds): the login response is wrapped and only the wrapping token is written to the sink. */
  wrapTtlSeconds?: number;
}

/** Where a problem with one of the method's config keys is reported: `auto_auth > method "x" > config > key`. */
export type ConfigKeyLocation = (key: string) => string;
