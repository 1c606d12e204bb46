import { AppError } from '../../errors.js';
import type { TokenFileMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import { VAULT_PATHS } from '../../vault/paths.js';
import type { TokenLookupData } from '../../vault/types.js';
import { readCredentialFile } from './files.js';
import type { AuthMethod, LoginResult } from './method.js';

/** token_file auto-auth: the token in the file is the auto-auth token, checked with lookup-self. */
export class TokenFileAuth implements AuthMethod {
  readonly name = 'token_file';
  private token: string | undefined;

  constructor(private readonly config: TokenFileMethod) {}

  async login(vault: VaultClient): Promise<LoginResult> {
    this.token = (await readCredentialFile(this.config.tokenFilePath, 'token')) ?? this.token;
    if (!this.token) throw new AppError('AUTH_FAILED', `token file ${this.config.tokenFilePath} is missing or empty`);
    const reply = await vault.request<TokenLookupData>({ path: VAULT_PATHS.lookupSelf, token: this.token, retry: false });
    const data = reply.body?.data;
    if (!data) throw new AppError('AUTH_FAILED', 'lookup-self answered without data');
    return { token: this.token, leaseDurationSeconds: data.ttl, renewable: data.renewable === true };
  }
}
