import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { fileError } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * The "cert" method (TLS certificate auth), with Vault Agent's keys: `name` (the role, optional),
 * `ca_cert`, `client_cert`, `client_key`, `reload`. As in Vault Agent, the login goes through a
 * client of its own only when `ca_cert` or both `client_cert` and `client_key` are set (that
 * client has exactly those TLS settings); otherwise through the vault block's client, whose
 * client_cert is then the certificate presented.
 */
export interface CertMethod extends MethodCommon {
  type: 'cert';
  /** The role (`auth/cert/certs/<name>`) to log in against; unset: Vault tries every role. */
  name?: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  /** Re-read ca_cert, client_cert and client_key on every login (Vault Agent: `reload`, default false). */
  reload: boolean;
}

export function readCert(config: BlockReader, common: MethodCommon): CertMethod | undefined {
  const name = config.string('name') || undefined;
  const caCert = config.string('ca_cert') || undefined;
  const clientCert = config.string('client_cert') || undefined;
  const clientKey = config.string('client_key') || undefined;
  const reload = config.bool('reload') ?? false;
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    // Vault Agent ignores a lone client_cert or client_key without a word; say what happens instead.
    config.warn(clientCert ? 'client_cert' : 'client_key', `client_cert and client_key only count together (as in Vault Agent): this one is ignored, and the login presents ${caCert ? 'no client certificate (ca_cert makes a client of its own)' : "the vault block's client certificate, if any"}`);
  }
  if (caCert && clientCert === undefined && clientKey === undefined) {
    config.warn('ca_cert', "with ca_cert and no client_cert/client_key the login connection presents no client certificate (as in Vault Agent, whose login client then has only ca_cert; the vault block's client_cert is not used)");
  }
  if (reload && !caCert && (clientCert === undefined || clientKey === undefined)) {
    config.warn('reload', "has no effect without the method's own client_cert and client_key (or ca_cert): the login uses the vault block's client, whose files are read once at start");
  }
  return {
    type: 'cert',
    ...common,
    ...(name ? { name } : {}),
    ...(caCert ? { caCert } : {}),
    ...(clientCert ? { clientCert } : {}),
    ...(clientKey ? { clientKey } : {}),
    reload,
  };
}

/** Whether the login needs a client of its own (Vault Agent's certMethod.AuthClient). */
export function certOwnClient(method: CertMethod): boolean {
  return method.caCert !== undefined || (method.clientCert !== undefined && method.clientKey !== undefined);
}

const CERT = /-----BEGIN CERTIFICATE-----/;
const KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The method's TLS files, read and parsed as its login client needs them; a key must match its certificate. */
export function checkCertFiles(method: CertMethod, at: ConfigKeyLocation, problems: Problems): void {
  const pem = (key: string, path: string, what: RegExp): Buffer | undefined => {
    try {
      if (statSync(path).isDirectory()) {
        problems.error(at(key), `${path} is a directory, not a file`);
        return undefined;
      }
      const bytes = readFileSync(path);
      if (!what.test(bytes.toString('latin1'))) {
        problems.error(at(key), `${path} holds no PEM ${what === CERT ? 'certificate' : 'private key'}`);
        return undefined;
      }
      return bytes;
    } catch (err) {
      problems.error(at(key), `cannot read ${path}: ${fileError(err)}`);
      return undefined;
    }
  };
  if (method.caCert) pem('ca_cert', method.caCert, CERT);
  if (method.clientCert && method.clientKey) {
    const cert = pem('client_cert', method.clientCert, CERT);
    const key = pem('client_key', method.clientKey, KEY);
    if (cert && key) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        problems.error(at('client_key'), `${method.clientKey} is not the key of ${method.clientCert}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
