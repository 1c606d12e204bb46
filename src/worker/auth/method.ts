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
   * For credentials that are not files (aws iam: the credential chain, which may end at instance
   * metadata): a digest of the credentials the method would use now, undefined when it has none.
   * With `enable_reauth_on_new_credentials`, polled every `credentialPollMs`; a new digest makes
   * auto-auth log in again (Vault Agent's credential poll).
   */
  credentialFingerprint?(): Promise<string | undefined>;
  readonly credentialPollMs?: number;
  /**
   * The client to log in, renew and look the token up with (Vault Agent's AuthMethodWithClient):
   * cert's own TLS client with its client certificate. Without it, the vault block's client.
   */
  authClient?(vault: VaultClient): VaultClient;
}
