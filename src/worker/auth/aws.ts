import { AppError } from '../../errors.js';
import type { AwsMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class AwsAuth implements AuthMethod {
  readonly name = 'aws';
  constructor(private readonly config: AwsMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
