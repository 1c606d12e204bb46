import { Packr } from 'msgpackr';

/**
 * The typed messages between the worker and the ext_proc side, msgpackr-encoded. Together
 * with the cache store interface, this is the only coupling between the two roles.
 */
export type WorkerMessage =
  /** A new auto-auth token (after login or re-login). Renewals do not change the token. */
  | { type: 'token'; token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }
  /** The worker is done (exit_after_auth, or exit_on_err); the process exits with `code`. */
  | { type: 'exit'; code: number; reason: string };

export type ExtprocMessage =
  /** A request carrying the auto-auth token got 403 from Vault: check the token now. */
  | { type: 'token-suspect' }
  | { type: 'stop' };

const packr = new Packr({ structuredClone: false, useRecords: false });

export function encodeMessage(msg: WorkerMessage | ExtprocMessage): Uint8Array {
  return packr.pack(msg);
}

export function decodeWorkerMessage(bytes: Uint8Array): WorkerMessage {
  return packr.unpack(bytes) as WorkerMessage;
}

export function decodeExtprocMessage(bytes: Uint8Array): ExtprocMessage {
  return packr.unpack(bytes) as ExtprocMessage;
}
