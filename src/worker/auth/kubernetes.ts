import { AppError } from '../../errors.js';
import type { KubernetesMethod } from '../../config/types.js';
import type { AuthMethod, LoginResult } from './method.js';

// SKELETON (being implemented).
export class KubernetesAuth implements AuthMethod {
  readonly name = 'kubernetes';
  constructor(private readonly config: KubernetesMethod) {}

  async login(): Promise<LoginResult> {
    throw new AppError('AUTH_METHOD_UNSUPPORTED', `auth method "${this.config.type}" is not implemented yet`);
  }
}
