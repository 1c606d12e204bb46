import { unlink } from 'node:fs/promises';
import { AppError } from '../../errors.js';
import type { AppRoleMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import { VAULT_PATHS } from '../../vault/paths.js';
import type { VaultWrapInfo } from '../../vault/types.js';
import { readCredentialFile } from './files.js';
import type { AuthMethod, LoginResult } from './method.js';

/**
 * AppRole auto-auth as Vault Agent does it: role_id and secret_id from files, the secret_id
 * file optionally removed after reading and optionally holding a response-wrapping token.
 * The last secret_id read is kept in memory, so a removed file does not stop re-authentication.
 */
export class AppRoleAuth implements AuthMethod {
  readonly name = 'approle';
  private roleId: string | undefined;
  private secretId: string | undefined;

  constructor(private readonly config: AppRoleMethod) {}

  /** enable_reauth_on_new_credentials: a new secret_id (or role_id) file means a new login. */
  credentialFiles(): string[] {
    return [this.config.roleIdFilePath, ...(this.config.secretIdFilePath ? [this.config.secretIdFilePath] : [])];
  }

  async login(vault: VaultClient): Promise<LoginResult> {
    this.roleId = (await readCredentialFile(this.config.roleIdFilePath, 'role_id')) ?? this.roleId;
    if (!this.roleId) throw new AppError('AUTH_FAILED', `role_id file ${this.config.roleIdFilePath} is missing or empty`);
    await this.readSecretId(vault);
    const body: Record<string, string> = { role_id: this.roleId };
    if (this.secretId) body['secret_id'] = this.secretId;
    const reply = await vault.request({ method: 'POST', path: `${this.config.mountPath}/login`, body, retry: false });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  private async readSecretId(vault: VaultClient): Promise<void> {
    const file = this.config.secretIdFilePath;
    if (!file) return;
    const content = await readCredentialFile(file, 'secret_id');
    if (content === undefined) {
      if (!this.secretId) throw new AppError('AUTH_FAILED', `secret_id file ${file} is missing or empty`);
      return; // keep using the secret_id read before
    }
    this.secretId = this.config.secretIdResponseWrappingPath ? await this.unwrap(vault, content) : content;
    if (this.config.removeSecretIdFileAfterReading) await unlink(file).catch(() => undefined);
  }

  /** Checks the wrapping token was made by the expected path before unwrapping it (as Vault Agent does). */
  private async unwrap(vault: VaultClient, wrappingToken: string): Promise<string> {
    const expected = this.config.secretIdResponseWrappingPath!;
    const lookup = await vault.request<{ creation_path?: string }>({
      method: 'POST', path: VAULT_PATHS.wrappingLookup, body: { token: wrappingToken }, retry: false,
    });
    const creationPath = lookup.body?.data?.creation_path ?? (lookup.body?.wrap_info as VaultWrapInfo | null)?.creation_path;
    if (creationPath?.replace(/^\/+|\/+$/g, '') !== expected) {
      throw new AppError('AUTH_FAILED', `the secret_id wrapping token was created by "${creationPath ?? '?'}", not the configured secret_id_response_wrapping_path "${expected}"`);
    }
    const reply = await vault.request<{ secret_id?: string }>({ method: 'POST', path: VAULT_PATHS.unwrap, token: wrappingToken, retry: false });
    const secretId = reply.body?.data?.secret_id;
    if (!secretId) throw new AppError('AUTH_FAILED', 'the unwrapped response holds no secret_id');
    return secretId;
  }
}
