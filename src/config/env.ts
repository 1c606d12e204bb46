import { parseBool } from './reader.js';
import type { Problems } from './problems.js';
import type { Config } from './types.js';

/** Vault's environment variables override the file, as Vault documents. */
export function applyVaultEnv(config: Config, env: NodeJS.ProcessEnv, problems: Problems): void {
  const v = config.vault;
  const str = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const addr = str('VAULT_ADDR');
  if (addr !== undefined) {
    if (/^https?:\/\/[^/]+/.test(addr)) v.address = addr.replace(/\/+$/, '');
    else problems.error('env VAULT_ADDR', `must be a URL such as https://127.0.0.1:8200, got "${addr}"`);
  }
  const caCert = str('VAULT_CACERT');
  if (caCert) v.caCert = caCert;
  const caPath = str('VAULT_CAPATH');
  if (caPath) v.caPath = caPath;
  const clientCert = str('VAULT_CLIENT_CERT');
  if (clientCert) v.clientCert = clientCert;
  const clientKey = str('VAULT_CLIENT_KEY');
  if (clientKey) v.clientKey = clientKey;
  const serverName = str('VAULT_TLS_SERVER_NAME');
  if (serverName) v.tlsServerName = serverName;
  const skip = str('VAULT_SKIP_VERIFY');
  if (skip !== undefined) {
    const parsed = parseBool(skip);
    if (parsed === undefined) problems.error('env VAULT_SKIP_VERIFY', `must be true or false, got "${skip}"`);
    else v.tlsSkipVerify = parsed;
  }
  const retries = str('VAULT_MAX_RETRIES');
  if (retries !== undefined) {
    const n = Number(retries);
    if (!Number.isInteger(n) || n < -1) problems.error('env VAULT_MAX_RETRIES', `must be a whole number ≥ -1, got "${retries}"`);
    else v.numRetries = n;
  }
}
