import { AppError } from '../../errors.js';
import type { JwtMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class JwtAuth implements AuthMethod {
  readonly name = 'jwt';
  constructor(private readonly config: JwtMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
