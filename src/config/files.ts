import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { readVaultConnection } from '../vault/client.js';
import { checkMethodFiles } from './methods/index.js';
import { fileError } from './methods/credential-file.js';
import { parsePublicKeyJson } from '../worker/sinks/dh.js';
import { checkTemplateFiles } from './template.js';
import { directoryProblem } from './writable-dir.js';
import type { Problems } from './problems.js';
import { checkPersistFiles } from './persist.js';
import type { Config } from './types.js';

/**
 * The files a config names, checked as `serve` needs them, so that `check` reports everything
 * `serve` would refuse: the vault block's TLS files (read and parsed, as Vault's client does at
 * start), the auto-auth credential files, the sink and pid_file directories (writable, as Vault's
 * file sink checks at start).
 */
export function checkReferencedFiles(config: Config, problems: Problems): void {
  for (const p of readVaultConnection(config.vault).problems) problems.error(`vault > ${p.key}`, p.message);

  const method = config.autoAuth?.method;
  if (method) checkMethodFiles(method, (key) => `auto_auth > method "${method.type}" > config > ${key}`, problems);

  // The ext_proc server's own TLS files (TCP with mutual TLS). Envoy's (envoy_client_*, tls_ca_file)
  // are paths as Envoy sees them, maybe on another machine: not checked here.
  const extprocTls = config.extproc.tls;
  if (extprocTls) {
    const pem = (key: string, path: string, what: RegExp): Buffer | undefined => {
      try {
        if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
        const bytes = readFileSync(path);
        if (!what.test(bytes.toString('latin1'))) {
          problems.error(`extproc > ${key}`, `${path} holds no PEM ${what === CERT ? 'certificate' : 'private key'}`);
          return undefined;
        }
        return bytes;
      } catch (err) {
        problems.error(`extproc > ${key}`, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'EISDIR' ? 'is a directory' : fileError(err)}`);
        return undefined;
      }
    };
    const cert = pem('tls_cert_file', extprocTls.certFile, CERT);
    const key = pem('tls_key_file', extprocTls.keyFile, KEY);
    pem('tls_client_ca_file', extprocTls.clientCaFile, CERT);
    if (cert && key) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        problems.error('extproc > tls_key_file', `${extprocTls.keyFile} is not the key of ${extprocTls.certFile}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  // A unix socket for ext_proc: its directory is created when missing, so the nearest existing
  // directory on the way must be writable.
  const socket = /^unix:(?:\/\/)?(\/.*)$/.exec(config.extproc.address)?.[1];
  if (socket) {
    const problem = directoryProblem(dirname(socket), true);
    if (problem) problems.error('extproc > address', `the ext_proc socket ${socket} cannot be created: ${problem}`);
  }

  checkListenerFiles(config, problems);
  if (config.cache?.persist) checkPersistFiles(config.cache.persist, problems);
  checkTemplateFiles(config.templates ?? [], problems);

  const sinks = config.autoAuth?.sinks ?? [];
  sinks.forEach((sink, i) => {
    const at = `auto_auth > sink "file"${sinks.length > 1 ? ` #${i + 1}` : ''}`;
    const problem = writableTarget(sink.path);
    if (problem) problems.error(`${at} > config > path`, `the token cannot be written to ${sink.path}: ${problem}`);
    if (sink.dh) {
      // Vault Agent reads dh_path at the first write and retries until it is there: absent is allowed.
      let text: string | undefined;
      try {
        text = readFileSync(sink.dh.path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          problems.warn(`${at} > dh_path`, `${sink.dh.path} does not exist yet: the sink is written once the consumer's public key is there`);
        } else {
          problems.error(`${at} > dh_path`, `cannot read ${sink.dh.path}: ${fileError(err)}`);
        }
      }
      if (text !== undefined) {
        try {
          parsePublicKeyJson(text, sink.dh.path);
        } catch (err) {
          problems.error(`${at} > dh_path`, `${(err as Error).message}; it must hold {"curve25519_public_key": "<base64 of 32 bytes>"}`);
        }
      }
    }
    const uid = process.getuid?.();
    if (uid !== undefined && uid !== 0) {
      // Giving a file away needs root (CAP_CHOWN); a group only one's own.
      if (sink.uid !== undefined && sink.uid !== uid) {
        problems.warn(`${at} > config > uid`, `only root can make ${sink.uid} the owner (this process runs as ${uid}): writing the sink will fail`);
      }
      if (sink.gid !== undefined && !(process.getgroups?.() ?? []).includes(sink.gid) && sink.gid !== process.getgid?.()) {
        problems.warn(`${at} > config > gid`, `group ${sink.gid} is not one of this user's groups: only root can give the sink to it, writing the sink will fail`);
      }
    }
  });
  if (config.pidFile) {
    const problem = writableTarget(config.pidFile);
    if (problem) problems.error('pid_file', `the PID cannot be written to ${config.pidFile}: ${problem}`);
  }
}

/**
 * Envoy's listeners: the TLS files read and the key matched to the certificate (Vault Proxy loads
 * them at start and refuses to start otherwise), and a unix socket's directory, which must exist
 * (neither Vault nor Envoy creates it).
 */
function checkListenerFiles(config: Config, problems: Problems): void {
  config.listeners.forEach((l, i) => {
    const at = (key: string): string => `listener "${l.type}"${config.listeners.length > 1 ? ` #${i + 1}` : ''} > ${key}`;
    if (l.type === 'unix' && !l.address.startsWith('@')) {
      const dir = dirname(l.address);
      try {
        if (!statSync(dir).isDirectory()) problems.error(at('address'), `the socket ${l.address} cannot be created: ${dir} is not a directory`);
        else accessSync(dir, constants.W_OK | constants.X_OK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        problems.error(at('address'), `the socket ${l.address} cannot be created: ${code === 'ENOENT' ? `the directory ${dir} does not exist` : code === 'ENOTDIR' ? `${dir} is not a directory` : `the directory ${dir} is not writable (${fileError(err)})`}`);
      }
    }
    const tls = l.tls;
    if (!tls) return;
    const cert = readPem(at('tls_cert_file'), tls.certFile, CERT, problems);
    const key = readPem(at('tls_key_file'), tls.keyFile, KEY, problems);
    if (tls.clientCaFile) readPem(at('tls_client_ca_file'), tls.clientCaFile, CERT, problems);
    if (cert && key) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        problems.error(at('tls_key_file'), `${tls.keyFile} is not the key of ${tls.certFile} (or is encrypted, which Envoy cannot read): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  });
}

/** A file's bytes if it holds the PEM block `what`, else undefined after reporting why not. */
export function readPem(location: string, path: string, what: RegExp, problems: Problems): Buffer | undefined {
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const bytes = readFileSync(path);
    if (!what.test(bytes.toString('latin1'))) {
      problems.error(location, `${path} holds no PEM ${what === CERT ? 'certificate' : 'private key'}`);
      return undefined;
    }
    return bytes;
  } catch (err) {
    problems.error(location, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'EISDIR' ? 'is a directory' : fileError(err)}`);
    return undefined;
  }
}

export const CERT = /-----BEGIN CERTIFICATE-----/;
export const KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Why a file cannot be created or replaced at `path` (temp file + rename in its directory), or undefined. */
function writableTarget(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return 'it is a directory';
  } catch {
    // absent: it is created
  }
  return directoryProblem(dirname(path), false);
}
