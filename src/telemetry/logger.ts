import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear. The code never hands a token, secret or body to
 * the logger; this list is the second line of defence, and test/unit/telemetry covers it.
 */
export const REDACT_PATHS = [
  'token', '*.token', 'client_token', '*.client_token', 'secret_id', '*.secret_id', 'role_id', '*.role_id',
  'body', '*.body', 'data', '*.data', 'auth', '*.auth', 'wrap_info', '*.wrap_info',
  'headers["x-vault-token"]', '*.headers["x-vault-token"]', 'headers.authorization', '*.headers.authorization',
  'x-vault-token', 'authorization',
];

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  /** Bound on every line, e.g. { role: 'worker' }. */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env['VAULT_EXTPROC_LOG_LEVEL'] ?? 'info',
      base: { service: 'vault-extproc', ...opts.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
