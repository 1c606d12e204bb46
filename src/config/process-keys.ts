import { copyPositions } from './hcl-parse.js';
import type { EnvOverride } from './env.js';
import { BlockReader } from './reader.js';
import type { Problems } from './problems.js';

/** Log levels as Vault's logging.ParseLogLevel names them, as pino names them. */
const LEVELS: Record<string, string> = { trace: 'trace', debug: 'debug', info: 'info', notice: 'info', warn: 'warn', warning: 'warn', err: 'error', error: 'error' };

/** Top-level keys about the process itself (Vault's logging flags and connection switches). */
export interface ProcessSettings {
  /** `log_level` as pino names it; undefined: not set. */
  logLevel?: string;
  logFormat?: 'standard' | 'json';
  disableIdleConnections: string[];
  disableKeepAlives: string[];
  /** VAULT_AGENT_/VAULT_PROXY_DISABLE_IDLE_CONNECTIONS and _KEEP_ALIVES, which replace the file's lists. */
  envOverrides: EnvOverride[];
}

/** The top-level keys read here (and left out of the rest of the config's reading). */
export const PROCESS_KEYS = [
  'log_level', 'log_format', 'log_file', 'log_rotate_bytes', 'log_rotate_duration', 'log_rotate_max_files',
  'disable_idle_connections', 'disable_keep_alives',
  // Vault's shared server config, which Vault Agent and Proxy parse along with their own keys.
  'disable_mlock', 'cluster_name', 'administrative_namespace_path', 'default_max_request_duration',
  'seal', 'entropy', 'kms_library', 'cloud', 'hcp_link',
] as const;

/** Keys of Vault's shared server config: Vault Agent and Proxy accept them and make no use of them. */
const SERVER_KEYS: Record<string, string> = {
  disable_mlock: 'Vault Agent/Proxy accept it and do not lock memory either; vault-extproc keeps tokens in a Node.js process, whose memory is not locked (run it without swap)',
  cluster_name: 'a Vault server key (cluster name); Vault Agent and Proxy do not use it',
  administrative_namespace_path: 'a Vault server key (Enterprise administrative namespace); Vault Agent and Proxy do not use it',
  default_max_request_duration: 'a Vault server key; Vault Agent and Proxy do not use it (Envoy\'s route timeout bounds a request here)',
  seal: 'a Vault server stanza (auto-unseal); Vault Agent and Proxy do not use it',
  entropy: 'a Vault server stanza (Enterprise entropy augmentation); Vault Agent and Proxy do not use it',
  kms_library: 'a Vault server stanza (HSM library); Vault Agent and Proxy do not use it',
  cloud: 'a Vault server stanza (HCP); Vault Agent and Proxy do not use it',
  hcp_link: 'a Vault server stanza (HCP link); Vault Agent and Proxy do not use it',
};

const SUBSYSTEMS = ['auto-auth', 'caching', 'proxying', 'templating'];

export function readProcessKeys(raw: Record<string, unknown>, problems: Problems, env: NodeJS.ProcessEnv): ProcessSettings {
  const r = new BlockReader(raw, '', problems);
  const settings: ProcessSettings = { disableIdleConnections: [], disableKeepAlives: [], envOverrides: [] };
  const level = r.string('log_level');
  if (level !== undefined) {
    const mapped = LEVELS[level.trim().toLowerCase()];
    // Vault: `unknown log level: …` (logging.ParseLogLevel), refused at start.
    if (!mapped) r.error('log_level', `unknown log level: ${level} (trace, debug, info, warn, error)`);
    else settings.logLevel = mapped;
  }
  const format = r.string('log_format');
  if (format !== undefined) {
    const f = format.trim().toLowerCase();
    if (f !== '' && f !== 'standard' && f !== 'json') r.error('log_format', `unknown log format: ${format} ("standard" or "json")`);
    else if (f === 'standard') {
      settings.logFormat = 'standard';
      r.warn('log_format', 'differs: vault-extproc always writes JSON lines (one object per line, pino); "standard" is read as "json"');
    } else if (f === 'json') settings.logFormat = 'json';
  }
  if (r.has('log_file')) {
    r.string('log_file');
    r.warn('log_file', 'not implemented: vault-extproc logs to standard output only (a container runtime or systemd keeps and rotates it); the file is not written');
  }
  for (const key of ['log_rotate_bytes', 'log_rotate_duration', 'log_rotate_max_files']) {
    if (!r.has(key)) continue;
    r.accept(key);
    r.warn(key, 'not implemented: there is no log file to rotate (logs go to standard output)');
  }
  for (const [key, why] of Object.entries(SERVER_KEYS)) {
    if (!r.has(key)) continue;
    r.accept(key);
    r.warn(key, `not applicable: ${why}; it is ignored`);
  }
  const fromEnv = (key: string, names: string[]): string | undefined => {
    const variable = names.find((n) => env[n] !== undefined && env[n] !== '');
    if (!variable) return undefined;
    const value = env[variable]!;
    const replaced = r.has(key) ? JSON.stringify(r.raw[key]) : undefined;
    settings.envOverrides.push({ variable, setting: key, value, ...(replaced !== undefined ? { replaced } : {}) });
    return value;
  };
  settings.disableIdleConnections = readSubsystems(r, 'disable_idle_connections', fromEnv('disable_idle_connections', ['VAULT_AGENT_DISABLE_IDLE_CONNECTIONS', 'VAULT_PROXY_DISABLE_IDLE_CONNECTIONS']));
  settings.disableKeepAlives = readSubsystems(r, 'disable_keep_alives', fromEnv('disable_keep_alives', ['VAULT_AGENT_DISABLE_KEEP_ALIVES', 'VAULT_PROXY_DISABLE_KEEP_ALIVES']));
  return settings;
}

/** `["auto-auth", "caching", "proxying", "templating"]`, or the comma list of Vault's env variable (which wins). */
function readSubsystems(r: BlockReader, key: 'disable_idle_connections' | 'disable_keep_alives', fromEnv: string | undefined): string[] {
  let list: string[] = [];
  if (r.has(key)) {
    r.accept(key);
    const v = r.raw[key];
    const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
    if (!items || !items.every((x) => typeof x === 'string')) {
      r.error(key, `must be a list of strings such as ["auto-auth", "proxying"], got ${JSON.stringify(v)}`);
      return [];
    }
    list = (items as string[]).map((s) => s.trim().toLowerCase());
  }
  if (fromEnv !== undefined && fromEnv !== '') list = fromEnv.split(',').map((s) => s.trim().toLowerCase());
  list = list.filter((s) => s !== '');
  for (const s of list) {
    if (!SUBSYSTEMS.includes(s)) r.error(key, `unknown ${key} value: ${s} (auto-auth, caching, proxying, templating)`);
  }
  const known = list.filter((s) => SUBSYSTEMS.includes(s));
  if (known.length > 0) {
    const what = key === 'disable_idle_connections' ? 'idle connections are kept' : 'keep-alives are used';
    r.warn(key, `differs: accepted as Vault reads it, but ${what}: Envoy's cluster pools the connections to Vault for proxying and caching, and the worker's client (auto-auth) keeps one connection alive; ${known.join(', ')} not applied`);
  }
  return known;
}

/** A copy of a decoded file without the process keys, so the rest of the reading does not see them. */
export function withoutProcessKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!(PROCESS_KEYS as readonly string[]).includes(k)) rest[k] = v;
  copyPositions(raw, rest);
  return rest;
}
