import { AppError } from '../../errors.js';
import type { AzureMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class AzureAuth implements AuthMethod {
  readonly name = 'azure';
  constructor(private readonly config: AzureMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
