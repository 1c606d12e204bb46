import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile, MISSING } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

export interface AppRoleMethod extends MethodCommon {
  type: 'approle';
  roleIdFilePath: string;
  secretIdFilePath?: string;
  removeSecretIdFileAfterReading: boolean;
  secretIdResponseWrappingPath?: string;
}

export function readAppRole(config: BlockReader, common: MethodCommon): AppRoleMethod | undefined {
  const roleIdFilePath = config.string('role_id_file_path');
  if (!roleIdFilePath) config.error('role_id_file_path', 'is required');
  const secretIdFilePath = config.string('secret_id_file_path') || undefined;
  const secretIdResponseWrappingPath = config.string('secret_id_response_wrapping_path') || undefined;
  if (secretIdResponseWrappingPath && !secretIdFilePath) {
    config.error('secret_id_response_wrapping_path', 'needs secret_id_file_path');
  }
  return roleIdFilePath === undefined ? undefined : {
    type: 'approle',
    ...common,
    roleIdFilePath,
    ...(secretIdFilePath ? { secretIdFilePath } : {}),
    removeSecretIdFileAfterReading: config.bool('remove_secret_id_file_after_reading') ?? true,
    ...(secretIdResponseWrappingPath ? { secretIdResponseWrappingPath: secretIdResponseWrappingPath.replace(/^\/+|\/+$/g, '') } : {}),
  };
}

/**
 * A missing secret_id file is a warning, not an error, when remove_secret_id_file_after_reading is
 * true (the default): vault-extproc, like Vault Agent, removes it after the first read, so it is
 * normally absent after a restart until the next one is delivered; meanwhile the worker retries
 * its login without calling Vault (no known secret_id). With remove_secret_id_file_after_reading =
 * false the file is meant to stay, and its absence is an error.
 */
export function checkAppRoleFiles(method: AppRoleMethod, at: ConfigKeyLocation, problems: Problems): void {
  const roleId = credentialFile(method.roleIdFilePath);
  if (roleId !== 'ok') problems.error(at('role_id_file_path'), `role_id file ${method.roleIdFilePath}: ${roleId}`);
  if (!method.secretIdFilePath) return;
  const secretId = credentialFile(method.secretIdFilePath);
  if (secretId === MISSING && method.removeSecretIdFileAfterReading) {
    problems.warn(at('secret_id_file_path'), `secret_id file ${method.secretIdFilePath} does not exist (yet): the worker logs in once it appears. It is removed after reading (remove_secret_id_file_after_reading = true, as in Vault Agent), so each start needs a new one`);
  } else if (secretId === MISSING) {
    problems.error(at('secret_id_file_path'), `secret_id file ${method.secretIdFilePath}: ${MISSING} (remove_secret_id_file_after_reading = false: the file is meant to stay)`);
  } else if (secretId !== 'ok') {
    problems.error(at('secret_id_file_path'), `secret_id file ${method.secretIdFilePath}: ${secretId}`);
  }
}
