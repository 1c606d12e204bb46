import type { VaultClient } from '../../vault/client.js';

/** What a successful login gives the auto-auth loop. */
export interface LoginResult {
  token: string;
  leaseDurationSeconds: number;
  renewable: boolean;
}

/** One auto-auth method: turns local credentials into a Vault token. */
export interface AuthMethod {
  readonly name: string;
  login(vault: VaultClient): Promise<LoginResult>;
}
