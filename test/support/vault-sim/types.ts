// Shared shapes: the parsed request, handler outcomes, routes and backends.
import type { MountEntry } from './mount-table.js';
import type { SimState } from './state.js';
import type { TokenEntry } from './tokens.js';

/** Logical operations, as Vault derives them from the HTTP method (`scan`: OpenBao's SCAN, profile `openbao` only). */
export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch' | 'header' | 'scan';

export interface SimRequest {
  readonly id: string;
  readonly method: string;
  /** Logical path without `/v1/`; list operations always end in `/`. */
  readonly path: string;
  /** `update` may become `create` after the route's existence check. */
  operation: Operation;
  readonly data: Record<string, unknown>;
  readonly headers: Readonly<Record<string, string>>;
  readonly token: string | undefined;
  /** Requested wrap TTL in seconds; 0 when the response is not to be wrapped. */
  readonly wrapTtlSeconds: number;
  /** X-Vault-MFA credentials by method ID or name (parseMFAHeader). */
  readonly mfaCreds: ReadonlyMap<string, readonly string[]>;
  /**
   * The request came over the TLS listener (`listenTls`): the certificates the client presented,
   * leaf first (DER), empty when it presented none. Undefined over plain HTTP (the cert auth
   * method's "tls connection required").
   */
  readonly tlsPeerCertificates?: readonly Buffer[];
}

/** The `auth` block of a response (sdk/logical HTTPAuth). */
export interface AuthInfo {
  readonly clientToken: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  readonly tokenPolicies: readonly string[];
  readonly metadata: Readonly<Record<string, string>> | null;
  readonly leaseDurationSeconds: number;
  readonly renewable: boolean;
  readonly entityId: string;
  readonly tokenType: 'service' | 'batch';
  readonly orphan: boolean;
  readonly numUses: number;
  /** Set on the answer to a login that must pass MFA first (no token yet). */
  readonly mfaRequirement?: Record<string, unknown>;
}

/** What a backend returns on success (logical.Response). */
export interface LogicalResponse {
  readonly data?: Record<string, unknown> | null;
  readonly auth?: AuthInfo | null;
  readonly warnings?: readonly string[];
  readonly secret?: { readonly leaseId: string; readonly renewable: boolean; readonly ttlSeconds: number };
}

export type Outcome =
  /** A logical response; `null` is Vault's nil response (204, or 404 for read/list). */
  | { readonly kind: 'response'; readonly response: LogicalResponse | null }
  /** An error envelope; `message: null` gives `{"errors":[]}`. */
  | { readonly kind: 'error'; readonly status: number; readonly message: string | null }
  /** A raw reply written as-is (logical.RespondWithStatusCode and friends). */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType: string };

export function respond(response: LogicalResponse): Outcome {
  return { kind: 'response', response };
}

export function nothing(): Outcome {
  return { kind: 'response', response: null };
}

/** An error from logical.ErrorResponse: the message is sent as-is. */
export function fail(status: number, message: string | null): Outcome {
  return { kind: 'error', status, message };
}

/** go-multierror's text, used for errors raised inside request handling. */
export function multiError(messages: readonly string[]): string {
  const head = messages.length === 1 ? '1 error occurred:' : `${messages.length} errors occurred:`;
  return `${head}\n${messages.map((m) => `\t* ${m}`).join('\n')}\n\n`;
}

/** An error returned as a Go `error` (not an ErrorResponse): wrapped by go-multierror. */
export function failWrapped(status: number, message: string): Outcome {
  return fail(status, multiError([message]));
}

export function raw(status: number, body: string, contentType = 'application/json'): Outcome {
  return { kind: 'raw', status, body, contentType };
}

/** Everything a handler may look at. */
export interface Call {
  readonly state: SimState;
  readonly req: SimRequest;
  readonly mount: MountEntry;
  readonly params: Readonly<Record<string, string>>;
  /** The caller's valid token, if it sent one (also set on unauthenticated routes). */
  readonly token: TokenEntry | undefined;
}

/** A handler that calls out (the kubernetes login's TokenReview) returns a promise. */
export type Handler = (call: Call) => Outcome | Promise<Outcome>;

export interface Route {
  /**
   * Relative to the mount: literals, `:name` (one segment), `*name` (the rest, may be empty),
   * `~name` (the rest, not empty and not ending in `/`: kv's matchAllNoTrailingSlashRegex).
   */
  readonly pattern: string;
  readonly ops: Partial<Record<Operation, Handler>>;
  /** No token needed (logins, sys/wrapping/lookup, sys/internal/ui/mounts/…). */
  readonly unauthenticated?: boolean;
  /** A login: its `auth` answer goes through login MFA (identity/mfa/login-enforcement). */
  readonly login?: boolean;
  /** A "root path": needs `sudo` on top of the operation's capability. */
  readonly sudo?: boolean;
  /** Existence check: when present, a POST/PUT on a missing item needs `create`, not `update`. */
  readonly exists?: (call: Call) => boolean;
}

export interface CompiledRoute extends Route {
  readonly regex: RegExp;
}

export interface Backend {
  readonly routes: readonly CompiledRoute[];
}
