import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseBool } from './reader.js';
import type { Problems } from './problems.js';
import type { Config } from './types.js';

/** A setting the environment gave, shown by `check` and logged by `serve`. */
export interface EnvOverride {
  variable: string;
  /** The config key it sets, e.g. `vault > address`. */
  setting: string;
  value: string;
  /** The file's value it replaced (undefined: the file did not set it). */
  replaced?: string;
}

/**
 * Vault's environment variables override the file, as Vault documents (an empty variable is
 * ignored). Returns what was overridden, so that nobody is surprised by it.
 */
export function applyVaultEnv(config: Config, env: NodeJS.ProcessEnv, problems: Problems, fileSet: (key: string) => boolean = () => true): EnvOverride[] {
  const v = config.vault;
  const overrides: EnvOverride[] = [];
  const str = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const note = (variable: string, setting: string, value: string, before: unknown): void => {
    const replaced = before !== undefined && fileSet(setting) ? String(before) : undefined;
    overrides.push({ variable, setting: `vault > ${setting}`, value, ...(replaced !== undefined ? { replaced } : {}) });
  };
  const addr = str('VAULT_ADDR');
  if (addr !== undefined) {
    note('VAULT_ADDR', 'address', addr, v.address);
    if (/^https?:\/\/[^/]+/.test(addr)) v.address = addr.replace(/\/+$/, '');
    else problems.error('env VAULT_ADDR', `must be a URL such as https://127.0.0.1:8200, got "${addr}"`);
  }
  const files: Array<[string, 'caCert' | 'caPath' | 'clientCert' | 'clientKey' | 'tlsServerName', string]> = [
    ['VAULT_CACERT', 'caCert', 'ca_cert'],
    ['VAULT_CAPATH', 'caPath', 'ca_path'],
    ['VAULT_CLIENT_CERT', 'clientCert', 'client_cert'],
    ['VAULT_CLIENT_KEY', 'clientKey', 'client_key'],
    ['VAULT_TLS_SERVER_NAME', 'tlsServerName', 'tls_server_name'],
  ];
  for (const [variable, field, key] of files) {
    const value = str(variable);
    if (!value) continue;
    note(variable, key, value, v[field]);
    v[field] = value;
  }
  const skip = str('VAULT_SKIP_VERIFY');
  if (skip !== undefined) {
    const parsed = parseBool(skip);
    if (parsed === undefined) problems.error('env VAULT_SKIP_VERIFY', `must be true or false, got "${skip}"`);
    else {
      note('VAULT_SKIP_VERIFY', 'tls_skip_verify', skip, fileSet('tls_skip_verify') ? v.tlsSkipVerify : undefined);
      v.tlsSkipVerify = parsed;
    }
  }
  const retries = str('VAULT_MAX_RETRIES');
  if (retries !== undefined) {
    const n = Number(retries);
    if (!Number.isInteger(n) || n < -1) problems.error('env VAULT_MAX_RETRIES', `must be a whole number ≥ -1, got "${retries}"`);
    else {
      note('VAULT_MAX_RETRIES', 'retry > num_retries', retries, fileSet('retry > num_retries') ? v.numRetries : undefined);
      v.numRetries = n;
    }
  }
  return overrides;
}

/**
 * The Vault address as Vault's client reads it (Go's net/url): a host name only of the characters
 * Go allows (`{{.Task.Slot}}` is refused: `invalid character "{" in host name`), a numeric port.
 * Returns Vault's complaint, or undefined when Vault would take it.
 */
export function vaultAddressProblem(address: string): string | undefined {
  const m = /^(https?):\/\/([^/?#]*)/i.exec(address);
  if (!m) return undefined; // not a URL at all: reported where it is read
  let authority = m[2]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  let host = authority;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return `parse "${address}": missing ']' in host`;
    host = authority.slice(1, end);
    const rest = authority.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return `parse "${address}": invalid port "${rest}" after host`;
    port = rest === '' ? undefined : rest.slice(1);
    if (isIP(host.replace(/%.*$/, '')) !== 6) return `parse "${address}": invalid IPv6 address "[${host}]"`;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
    for (const ch of host) {
      // Go's url.shouldEscape for a host: these pass, everything else is refused.
      if (!/[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"%]/.test(ch)) return `parse "${address}": invalid character ${JSON.stringify(ch)} in host name`;
    }
  }
  if (port !== undefined && !/^\d*$/.test(port)) return `parse "${address}": invalid port ":${port}" after host`;
  if (host === '') return `the address has no host: "${address}"`;
  return undefined;
}

/** `host:port` of an http(s) URL, default ports filled in; undefined when it has none. */
function hostPort(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { host: u.hostname.replace(/^\[|\]$/g, '').toLowerCase(), port };
  } catch {
    return undefined;
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * Envoy sends upstream requests to the Vault address. When that is one of Envoy's own listeners
 * (often VAULT_ADDR exported for the `vault` CLI, pointing at the proxy), every request would loop
 * through Envoy until it gives up: refused, naming where the address came from.
 */
export function checkUpstreamLoop(config: Config, problems: Problems, from: string): void {
  const upstream = hostPort(config.vault.address);
  if (!upstream) return;
  config.listeners.forEach((l, i) => {
    if (l.type !== 'tcp') return;
    const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(l.address);
    if (!m || Number(m[2]) !== upstream.port || Number(m[2]) === 0) return;
    const host = m[1]!.toLowerCase();
    // A wildcard listener is every address of this machine: a loop when the upstream is one of them.
    const same = host === upstream.host || (LOOPBACK.has(host) && LOOPBACK.has(upstream.host)) || (WILDCARD.has(host) && isLocalAddress(upstream.host));
    if (!same) return;
    const where = config.listeners.length > 1 ? `listener #${i + 1}` : 'listener';
    const hint = from.startsWith('env ') ? ` (${from.slice(4)} is set in the environment, perhaps for the vault CLI; unset it for vault-extproc)` : '';
    problems.error(from, `${config.vault.address} is Envoy's own ${where} (${l.address}): every request would loop back into Envoy; set the Vault server's address${hint}`);
  });
}

function isLocalAddress(host: string): boolean {
  if (LOOPBACK.has(host) || WILDCARD.has(host)) return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address.toLowerCase() === host));
}
