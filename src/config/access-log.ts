import type { ExtprocConfig } from './types.js';
import type { BlockReader } from './reader.js';

/**
 * `extproc { envoy_access_log = "/dev/stdout" }` (ours): the file `envoy-config` makes Envoy write
 * its HTTP access log to (src/envoy/access-log.ts says what a line holds: never a token header,
 * the query string or a body). Absent: no access log, as before.
 */
export interface EnvoyAccessLogConfig {
  /** An absolute path as Envoy sees it (`/dev/stdout`, `/dev/stderr`, or a file Envoy may append to). */
  envoyAccessLog?: string;
}

/** Reads `envoy_access_log` of the extproc block into the extproc config. */
export function readEnvoyAccessLog(b: BlockReader, config: ExtprocConfig): void {
  if (!b.has('envoy_access_log')) return;
  const path = b.string('envoy_access_log');
  if (path === undefined) return;
  if (!path.startsWith('/') || /[\0\n]/.test(path)) {
    b.error('envoy_access_log', `must be an absolute path as Envoy sees it, such as /dev/stdout or /var/log/envoy/vault-access.log; got "${path}"`);
    return;
  }
  (config as ExtprocConfig & EnvoyAccessLogConfig).envoyAccessLog = path;
}

/** The access log path of an extproc config, if one was configured. */
export function envoyAccessLogOf(config: ExtprocConfig): string | undefined {
  return (config as ExtprocConfig & EnvoyAccessLogConfig).envoyAccessLog;
}
