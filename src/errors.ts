/** Stable error codes. Branch on `code` or `instanceof`, never on message text. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'AUTH_METHOD_UNSUPPORTED'
  | 'AUTH_FAILED'
  | 'AUTH_FILE_UNREADABLE'
  | 'VAULT_UNREACHABLE'
  | 'VAULT_RESPONSE'
  | 'VAULT_BAD_RESPONSE'
  | 'USAGE'
  /** A server cannot listen: address in use, socket directory not creatable, a live socket at the path. */
  | 'LISTEN_FAILED'
  /** A template could not be rendered or written (Vault Agent's `template` stanza). */
  | 'TEMPLATE_FAILED'
  | 'TEMPLATE_WRITE_FAILED';

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}

/** Vault answered with a non-2xx status. `errors` is Vault's `errors` array (may be empty). */
export class VaultResponseError extends AppError {
  readonly status: number;
  readonly errors: string[];
  constructor(status: number, errors: string[], path: string) {
    // Vault's error strings name no secrets; the path is logged without query or body.
    super('VAULT_RESPONSE', `Vault answered ${status} for ${path}${errors.length ? `: ${errors.join('; ')}` : ''}`);
    this.name = 'VaultResponseError';
    this.status = status;
    this.errors = errors;
  }

  /** Vault answers 403 for a missing, expired or revoked token as well as for an ACL denial. */
  get isPermissionDenied(): boolean {
    return this.status === 403;
  }
}

/** Vault could not be reached at all (connection refused, reset, timeout, TLS failure). */
export class VaultUnreachableError extends AppError {
  constructor(path: string, cause: unknown) {
    super('VAULT_UNREACHABLE', `Vault unreachable for ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'VaultUnreachableError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The `default` of an exhaustive router (a `switch` over a message union's `type`): with every kind
 * handled, what reaches `default` is `never`, so a kind added to the union without a case is a
 * compile error at the call. At run time (a message from another build) it gives only the kind's
 * name, for the log.
 */
export function unrouted(msg: never): string {
  return String((msg as { type?: unknown }).type);
}
