import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile, MISSING } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * The "jwt" method as Vault Agent 1.15 reads it: the JWT in the file at `path`, logged in with
 * `role`. The file is removed after reading unless `remove_jwt_after_reading = false`; a symlink
 * is removed itself, or its target with `remove_jwt_follows_symlinks = true`. The last JWT read
 * is kept in memory, so a removed file does not stop re-login.
 */
export interface JwtMethod extends MethodCommon {
  type: 'jwt';
  path: string;
  role: string;
  removeJwtAfterReading: boolean;
  removeJwtFollowsSymlinks: boolean;
  /**
   * `jwt_read_period`: how often Vault Agent looks at the file for a new JWT. Default 0.5 s while
   * the file is removed after reading, else 1 min.
   */
  jwtReadPeriodSeconds: number;
}

export function readJwt(config: BlockReader, common: MethodCommon): JwtMethod | undefined {
  const path = config.string('path');
  if (!path) config.error('path', 'is required');
  const role = config.string('role');
  if (!role) config.error('role', 'is required');
  const removeJwtAfterReading = config.bool('remove_jwt_after_reading') ?? true;
  const removeJwtFollowsSymlinks = config.bool('remove_jwt_follows_symlinks') ?? false;
  const readPeriod = config.duration('jwt_read_period');
  if (!path || !role) return undefined;
  return {
    type: 'jwt', ...common, path, role, removeJwtAfterReading, removeJwtFollowsSymlinks,
    jwtReadPeriodSeconds: readPeriod ?? (removeJwtAfterReading ? 0.5 : 60),
  };
}

/**
 * As for AppRole's secret_id: with remove_jwt_after_reading = true (the default) the file is
 * gone after the first read, so a missing file is a warning (the worker logs in once a JWT is
 * written); with false it is meant to stay, and its absence is an error.
 */
export function checkJwtFiles(method: JwtMethod, at: ConfigKeyLocation, problems: Problems): void {
  const jwt = credentialFile(method.path);
  if (jwt === MISSING && method.removeJwtAfterReading) {
    problems.warn(at('path'), `JWT file ${method.path} does not exist (yet): the worker logs in once it appears. It is removed after reading (remove_jwt_after_reading = true, as in Vault Agent), so each start needs a new one`);
  } else if (jwt === MISSING) {
    problems.error(at('path'), `JWT file ${method.path}: ${MISSING} (remove_jwt_after_reading = false: the file is meant to stay)`);
  } else if (jwt !== 'ok') {
    problems.error(at('path'), `JWT file ${method.path}: ${jwt}`);
  }
}
