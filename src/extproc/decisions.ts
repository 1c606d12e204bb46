/**
 * What a phase handler decides, independent of Envoy's message shapes. messages.ts is the one
 * place that turns decisions into ext_proc replies.
 */
export type RequestDecision =
  | {
      kind: 'respond';
      status: number;
      headers: Record<string, string>;
      body: string;
      /** Envoy's %RESPONSE_CODE_DETAILS%, e.g. vault_extproc_missing_request_header. */
      details: string;
    }
  | {
      kind: 'continue';
      setHeaders: Record<string, string>;
      removeHeaders: string[];
      /** Ask Envoy for the response headers of this request (skip them otherwise). */
      watchResponse: boolean;
      /** Ask for the buffered response body too: it may echo the auto-auth token. */
      sanitizeResponse: boolean;
    };

/** A Vault-style JSON error reply: `{"errors":[...]}` with the given status. */
export function vaultError(status: number, message: string, details: string): RequestDecision {
  return {
    kind: 'respond',
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: `${JSON.stringify({ errors: [message] })}\n`,
    details,
  };
}
