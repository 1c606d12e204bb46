import { AppError } from '../../errors.js';
import type { AutoAuthMethod } from '../../config/types.js';
import { AppRoleAuth } from './approle.js';
import type { AuthMethod } from './method.js';
import { TokenFileAuth } from './token-file.js';

export type { AuthMethod, LoginResult } from './method.js';

export function createAuthMethod(config: AutoAuthMethod): AuthMethod {
  switch (config.type) {
    case 'approle':
      return new AppRoleAuth(config);
    case 'token_file':
      return new TokenFileAuth(config);
    case 'unsupported':
      throw new AppError('AUTH_METHOD_UNSUPPORTED', `auto_auth method "${config.name}" is not implemented by vault-extproc yet (implemented: approle, token_file)`);
  }
}
