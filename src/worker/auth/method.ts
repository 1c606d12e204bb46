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
  /**
   * The files the credentials come from (a JWT, a secret_id, a client certificate): with
   * `enable_reauth_on_new_credentials`, a change to one of them makes auto-auth log in again.
   */
  credentialFiles?(): string[];
  /**
   * The client to log in, renew and look the token up with (Vault Agent's AuthMethodWithClient):
   * cert's own TLS client with its client certificate. Without it, the vault block's client.
   */
  authClient?(vault: VaultClient): VaultClient;
}
