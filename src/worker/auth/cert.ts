import { AppError } from '../../errors.js';
import { certOwnClient } from '../../config/methods/cert.js';
import type { CertMethod } from '../../config/types.js';
import { VaultClient } from '../../vault/client.js';
import type { AuthMethod, LoginResult } from './method.js';

/**
 * TLS certificate auto-auth as Vault Agent does it: `POST <mount>/login` with `{name}` when a role
 * is named, over a TLS connection presenting the client certificate. With `ca_cert`, or with
 * both `client_cert` and `client_key`, the login (and the token's renewal, which Vault's cert
 * backend checks against the same certificate) goes through a client of its own that has exactly
 * those TLS settings, at the vault block's address; it is made once, or before every login with
 * `reload = true` (the files re-read). Otherwise the vault block's client logs in, presenting its
 * own client_cert.
 */
export class CertAuth implements AuthMethod {
  readonly name = 'cert';
  /** The login client made from the method's TLS files (cached unless reload). */
  private client: VaultClient | undefined;

  constructor(private readonly config: CertMethod) {}

  /**
   * The client to log in and renew with (Vault Agent's AuthMethodWithClient.AuthClient): the
   * method's own when it has TLS settings of its own, else `vault`. Throws when its files cannot
   * be read or the key does not match the certificate.
   */
  authClient(vault: VaultClient): VaultClient {
    if (!certOwnClient(this.config) || vault === this.client) return vault;
    if (this.client && !this.config.reload) return this.client;
    const fresh = new VaultClient({
      address: vault.address,
      ...(this.config.caCert ? { caCert: this.config.caCert } : {}),
      ...(this.config.clientCert && this.config.clientKey ? { clientCert: this.config.clientCert, clientKey: this.config.clientKey } : {}),
      tlsSkipVerify: false,
      numRetries: 0,
    });
    this.client?.close();
    // The auto-auth namespace (X-Vault-Namespace) goes with the method's own client too.
    this.client = vault.headersOnto(fresh);
    return this.client;
  }

  async login(vault: VaultClient): Promise<LoginResult> {
    const client = this.authClient(vault);
    const body: Record<string, string> = {};
    if (this.config.name) body['name'] = this.config.name;
    const reply = await client.request({ method: 'POST', path: `${this.config.mountPath}/login`, body, retry: false });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  /**
   * With `reload`, a renewed certificate on disk is new credentials (enable_reauth_on_new_credentials
   * logs in again, presenting it); without it the login keeps the certificate read first.
   */
  credentialFiles(): string[] {
    if (!this.config.reload || !certOwnClient(this.config)) return [];
    return [this.config.clientCert, this.config.clientKey].filter((f): f is string => f !== undefined);
  }
}
