import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile, MISSING } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * The "ldap" method, with Vault Agent's keys: `username`, `password_file_path` (read before every
 * login), `remove_password_after_reading` (default true, as in Vault Agent),
 * `remove_password_follows_symlinks` (default false). The password is the file's bytes as they
 * are (Vault Agent does not trim them). Vault Agent's `password_read_period` (how often it looks
 * for a new password to log in again) is read; here a new password file leads to a new login
 * with `enable_reauth_on_new_credentials`.
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
    config.warn('password_read_period', 'vault-extproc does not poll the password file on a period: with enable_reauth_on_new_credentials = true a new password file leads to a new login (the file is checked every second); otherwise the file is read before each login');
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
