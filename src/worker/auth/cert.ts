import { AppError } from '../../errors.js';
import type { CertMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class CertAuth implements AuthMethod {
  readonly name = 'cert';
  constructor(private readonly config: CertMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
