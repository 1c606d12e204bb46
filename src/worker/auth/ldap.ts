import { AppError } from '../../errors.js';
import type { LdapMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class LdapAuth implements AuthMethod {
  readonly name = 'ldap';
  constructor(private readonly config: LdapMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
