import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile, MISSING } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * The "ldap" method, with Vault Agent's keys: `username`, `password_file_path` (read before every
 * login), `remove_password_after_reading` (default true, as in Vault Agent),
 * `remove_password_follows_symlinks` (default false). The password is the file's bytes as they
 * are (Vault Agent does not trim them). Vault Agent also reads (and removes) a new password file
 * in the background every `password_read_period` (500 ms with removal, else 1 m); here a new file
 * is read at the next login, and with `enable_reauth_on_new_credentials` its appearance starts
 * one (auto-auth checks the file every second). `password_read_period` is accepted with a warning.
 */
export interface LdapMethod extends MethodCommon {
  type: 'ldap';
  username: string;
  passwordFilePath: string;
  removePasswordAfterReading: boolean;
  removePasswordFollowsSymlinks: boolean;
}

export function readLdap(config: BlockReader, common: MethodCommon): LdapMethod | undefined {
  const username = config.string('username');
  if (!username) config.error('username', 'is required');
  const passwordFilePath = config.string('password_file_path');
  if (!passwordFilePath) config.error('password_file_path', 'is required');
  const removePasswordAfterReading = config.bool('remove_password_after_reading') ?? true;
  const removePasswordFollowsSymlinks = config.bool('remove_password_follows_symlinks') ?? false;
  if (config.has('password_read_period')) {
    config.duration('password_read_period');
    config.warn('password_read_period', 'vault-extproc does not read the password file on a period: it is read (and removed) at each login, and with enable_reauth_on_new_credentials = true a new password file starts a login (the file is checked every second)');
  }
  if (!username || !passwordFilePath) return undefined;
  return { type: 'ldap', ...common, username, passwordFilePath, removePasswordAfterReading, removePasswordFollowsSymlinks };
}

/**
 * As for AppRole's secret_id: with remove_password_after_reading = true (the default) the file is
 * gone after the first login, so a missing file is a warning; otherwise it is meant to stay, and
 * its absence is an error.
 */
export function checkLdapFiles(method: LdapMethod, at: ConfigKeyLocation, problems: Problems): void {
  const state = credentialFile(method.passwordFilePath);
  if (state === 'ok') return;
  if (state === MISSING && method.removePasswordAfterReading) {
    problems.warn(at('password_file_path'), `password file ${method.passwordFilePath} does not exist (yet): the worker logs in once it appears. It is removed after reading (remove_password_after_reading = true, as in Vault Agent), so each start needs a new one`);
  } else if (state === MISSING) {
    problems.error(at('password_file_path'), `password file ${method.passwordFilePath}: ${MISSING} (remove_password_after_reading = false: the file is meant to stay)`);
  } else {
    problems.error(at('password_file_path'), `password file ${method.passwordFilePath}: ${state}`);
  }
}
