import { AppError } from '../../errors.js';
import type { GcpMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class GcpAuth implements AuthMethod {
  readonly name = 'gcp';
  constructor(private readonly config: GcpMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
