import { AppError } from '../../errors.js';
import type { KubernetesMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import { readCredentialFile } from './files.js';
import type { AuthMethod, LoginResult } from './method.js';

/**
 * Kubernetes auto-auth as Vault Agent does it: the service-account JWT at token_path is read
 * (trimmed) at every login, never kept, since the kubelet rotates projected tokens in place;
 * `POST <mount>/login {role, jwt}`.
 */
export class KubernetesAuth implements AuthMethod {
  readonly name = 'kubernetes';

  constructor(private readonly config: KubernetesMethod) {}

  async login(vault: VaultClient): Promise<LoginResult> {
    const jwt = await readCredentialFile(this.config.tokenPath, 'service account token');
    if (!jwt) throw new AppError('AUTH_FAILED', `service account token file ${this.config.tokenPath} is missing or empty`);
    const reply = await vault.request({
      method: 'POST', path: `${this.config.mountPath}/login`, body: { role: this.config.role, jwt }, retry: false,
    });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  credentialFiles(): string[] {
    return [this.config.tokenPath];
  }
}
