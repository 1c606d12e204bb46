import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AppError, errorMessage } from '../../errors.js';
import type { GcpMethod } from '../../config/types.js';
import { isInlineCredentials } from '../../config/methods/gcp.js';
import type { VaultClient } from '../../vault/client.js';
import { cloudCall, cloudJson, signRs256 } from './cloud-http.js';
import type { AuthMethod, LoginResult } from './method.js';

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** The token URL go-gcp-common uses for a key given to Agent (when the key names no token_uri). */
const DEFAULT_TOKEN_URL = 'https://accounts.google.com/o/oauth2/token';
const ADC_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const IAM_CREDENTIALS_BASE = 'https://iamcredentials.googleapis.com/';

/**
 * Where the GCE metadata server is: GCE_METADATA_HOST (host[:port], as Google's client libraries
 * honour it), else `metadata`, the host Vault Agent's gce login calls.
 */
export function gceMetadataBase(): string {
  return `http://${process.env['GCE_METADATA_HOST'] || 'metadata'}/computeMetadata/v1`;
}

/** The IAM Credentials API's base URL: gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS, else Google's. */
export function iamCredentialsBase(): string {
  const base = process.env['CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS'] || IAM_CREDENTIALS_BASE;
  return base.endsWith('/') ? base : `${base}/`;
}

interface GoogleKey {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
  token_uri?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
}

interface Credentials {
  /** The service account the credentials are (undefined for ADC without a key). */
  clientEmail?: string;
  accessToken(): Promise<string>;
}

/**
 * GCP auto-auth as Vault Agent 1.15 does it; see GcpMethod for the two types. The login body is
 * `{role, jwt}` to `<mount>/login`.
 */
export class GcpAuth implements AuthMethod {
  readonly name = 'gcp';
  constructor(private readonly config: GcpMethod) {}

  credentialFiles(): string[] {
    const c = this.config.credentials;
    return this.config.authType === 'iam' && c && !isInlineCredentials(c) ? [c] : [];
  }

  async login(vault: VaultClient): Promise<LoginResult> {
    const jwt = this.config.authType === 'gce' ? await this.gceIdentityToken(vault) : await this.iamSignedJwt();
    const reply = await vault.request({
      method: 'POST', path: `${this.config.mountPath}/login`, body: { role: this.config.role, jwt }, retry: false,
    });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  /** The instance identity token for `<vault address>/vault/<role>`, in full format. */
  private async gceIdentityToken(vault: VaultClient): Promise<string> {
    const q = new URLSearchParams({ audience: `${vault.address}/vault/${this.config.role}`, format: 'full' });
    const url = `${gceMetadataBase()}/instance/service-accounts/${encodeURIComponent(this.config.serviceAccount)}/identity?${q}`;
    const reply = await cloudCall('gcp gce login: the instance identity token', url, { headers: { 'Metadata-Flavor': 'Google' } });
    if (reply.status !== 200) throw new AppError('AUTH_FAILED', `gcp gce login: the metadata server answered ${reply.status} for the identity token of service account "${this.config.serviceAccount}"`);
    const jwt = reply.text.trim();
    if (!jwt) throw new AppError('AUTH_FAILED', 'gcp gce login: the metadata server gave an empty identity token');
    return jwt;
  }

  /** A JWT for `http://vault/<role>` signed by IAM Credentials' signJwt as the service account. */
  private async iamSignedJwt(): Promise<string> {
    const creds = await this.findCredentials();
    const serviceAccount = this.config.serviceAccount === '' && creds.clientEmail ? creds.clientEmail : this.config.serviceAccount;
    if (!serviceAccount) {
      throw new AppError('AUTH_FAILED', 'could not obtain service account from credentials (possibly Application Default Credentials are being used); a service account to authenticate as must be provided');
    }
    const exp = Math.floor(Date.now() / 1000) + this.config.jwtExpMinutes * 60;
    // The payload as Agent marshals it (Go sorts map keys).
    const payload = JSON.stringify({ aud: `http://vault/${this.config.role}`, exp, sub: serviceAccount });
    const token = await creds.accessToken();
    const resource = `projects/-/serviceAccounts/${serviceAccount}`;
    const url = `${iamCredentialsBase()}v1/${encodeURI(resource)}:signJwt?alt=json&prettyPrint=false`;
    const signed = await cloudJson<{ signedJwt?: string }>(`gcp iam login: signJwt for ${resource}`, url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payload }),
    });
    if (!signed.signedJwt) throw new AppError('AUTH_FAILED', `gcp iam login: signJwt for ${resource} answered without signedJwt`);
    return signed.signedJwt;
  }

  /**
   * The credentials as go-gcp-common's FindCredentials finds them: the configured key, then
   * GOOGLE_CREDENTIALS, GOOGLE_CLOUD_KEYFILE_JSON, ~/.gcp/credentials, then Application Default
   * Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file, the metadata server).
   */
  private async findCredentials(): Promise<Credentials> {
    let json = this.config.credentials;
    if (json && !isInlineCredentials(json)) json = await readKeyFile(json, 'credentials');
    json ||= process.env['GOOGLE_CREDENTIALS'] || process.env['GOOGLE_CLOUD_KEYFILE_JSON'] || undefined;
    json ||= await readOptional(join(homedir(), '.gcp', 'credentials'));
    if (json) return keyCredentials(parseKey(json, 'the configured credentials'), DEFAULT_TOKEN_URL);
    const adcPath = process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    if (adcPath) return adcCredentials(parseKey(await readKeyFile(adcPath, 'GOOGLE_APPLICATION_CREDENTIALS'), adcPath));
    const wellKnown = await readOptional(join(process.env['CLOUDSDK_CONFIG'] || join(homedir(), '.config', 'gcloud'), 'application_default_credentials.json'));
    if (wellKnown) return adcCredentials(parseKey(wellKnown, "gcloud's application default credentials"));
    return metadataCredentials();
  }
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (!text) throw new AppError('AUTH_FAILED', `${what} file ${path} is empty`);
    return text;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('AUTH_FILE_UNREADABLE', `cannot read ${what} file ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then((t) => t.trim() || undefined, () => undefined);
}

function parseKey(json: string, what: string): GoogleKey {
  try {
    const key = JSON.parse(json) as unknown;
    if (typeof key === 'object' && key !== null) return key as GoogleKey;
  } catch { /* reported below */ }
  throw new AppError('AUTH_FAILED', `${what}: not a JSON credentials file`);
}

function adcCredentials(key: GoogleKey): Credentials {
  if (key.type === 'authorized_user') {
    return {
      accessToken: async () => {
        if (!key.client_id || !key.client_secret || !key.refresh_token) throw new AppError('AUTH_FAILED', 'gcp iam login: the authorized_user credentials lack client_id, client_secret or refresh_token');
        const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: key.client_id, client_secret: key.client_secret, refresh_token: key.refresh_token });
        return oauthToken(key.token_uri || ADC_TOKEN_URL, form);
      },
    };
  }
  if (key.type !== undefined && key.type !== 'service_account') {
    throw new AppError('AUTH_FAILED', `gcp iam login: application default credentials of type "${key.type}" are not supported by vault-extproc (use a service-account key or the metadata server)`);
  }
  return keyCredentials(key, ADC_TOKEN_URL);
}

/** A service-account key: an OAuth token by the JWT-bearer grant, at the key's token_uri. */
function keyCredentials(key: GoogleKey, defaultTokenUrl: string): Credentials {
  return {
    ...(key.client_email ? { clientEmail: key.client_email } : {}),
    accessToken: async () => {
      if (!key.client_email || !key.private_key) throw new AppError('AUTH_FAILED', 'gcp iam login: the service-account key has no client_email or private_key');
      const tokenUrl = key.token_uri || defaultTokenUrl;
      const now = Math.floor(Date.now() / 1000);
      let assertion: string;
      try {
        assertion = signRs256(key.private_key_id ? { kid: key.private_key_id } : {}, {
          iss: key.client_email, scope: CLOUD_PLATFORM_SCOPE, aud: tokenUrl, exp: now + 3600, iat: now,
        }, key.private_key);
      } catch (err) {
        throw new AppError('AUTH_FAILED', `gcp iam login: the service-account key's private_key cannot sign: ${errorMessage(err)}`, { cause: err });
      }
      return oauthToken(tokenUrl, new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }));
    },
  };
}

/** The default service account's token from the metadata server (ADC on GCE). */
function metadataCredentials(): Credentials {
  return {
    accessToken: async () => {
      const url = `${gceMetadataBase()}/instance/service-accounts/default/token`;
      const body = await cloudJson<{ access_token?: string }>('gcp iam login: no credentials configured; the metadata server token', url, { headers: { 'Metadata-Flavor': 'Google' } });
      if (!body.access_token) throw new AppError('AUTH_FAILED', 'gcp iam login: the metadata server gave no access_token');
      return body.access_token;
    },
  };
}

async function oauthToken(tokenUrl: string, form: URLSearchParams): Promise<string> {
  const body = await cloudJson<{ access_token?: string }>('gcp iam login: the OAuth token', tokenUrl, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
  });
  if (!body.access_token) throw new AppError('AUTH_FAILED', `gcp iam login: ${tokenUrl} gave no access_token`);
  return body.access_token;
}
