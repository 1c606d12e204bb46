import { readFile } from 'node:fs/promises';
import { AppError, errorMessage } from '../../errors.js';
import type { AzureMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import { cloudJson } from './cloud-http.js';
import type { AuthMethod, LoginResult } from './method.js';

/** The IMDS api-version Vault Agent asks for (the first with identity metadata). */
const IMDS_API_VERSION = '2018-02-01';
/** The managed-identity api-version of the Azure SDK's IMDS credential. */
const SDK_IMDS_API_VERSION = '2018-02-01';

/**
 * Where the Instance Metadata Service is: AZURE_POD_IDENTITY_AUTHORITY_HOST (as the Azure
 * Identity libraries for JavaScript and Python honour it), else http://169.254.169.254, the
 * address Vault Agent calls.
 */
export function imdsBase(): string {
  return (process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] || 'http://169.254.169.254').replace(/\/+$/, '');
}

/** Microsoft Entra's authority host: AZURE_AUTHORITY_HOST (as the Azure SDKs honour it), else the public cloud's. */
function authorityHost(): string {
  const host = process.env['AZURE_AUTHORITY_HOST'] || 'https://login.microsoftonline.com/';
  return host.endsWith('/') ? host : `${host}/`;
}

interface InstanceMetadata {
  compute?: { name?: string; resourceGroupName?: string; subscriptionId?: string; vmScaleSetName?: string };
}

/**
 * Azure auto-auth as Vault Agent 1.15 does it (see AzureMethod): instance metadata, a token, then
 * `{role, vm_name, vmss_name, resource_group_name, subscription_id, jwt}` to `<mount>/login`.
 */
export class AzureAuth implements AuthMethod {
  readonly name = 'azure';
  constructor(private readonly config: AzureMethod) {}

  credentialFiles(): string[] {
    const file = process.env['AZURE_FEDERATED_TOKEN_FILE'];
    return this.config.authenticateFromEnvironment && file ? [file] : [];
  }

  async login(vault: VaultClient): Promise<LoginResult> {
    const instance = await imds<InstanceMetadata>('azure login: the instance metadata', '/metadata/instance', { 'api-version': IMDS_API_VERSION });
    const jwt = this.config.authenticateFromEnvironment ? await this.tokenFromEnvironment() : await this.tokenFromIdentityEndpoint();
    // Go decodes IMDS keys into Agent's struct case-insensitively; missing ones are sent empty.
    const compute = findCaseless(instance, 'compute') as Record<string, unknown> | undefined ?? {};
    const str = (key: string): string => { const v = findCaseless(compute, key); return typeof v === 'string' ? v : ''; };
    const body = {
      role: this.config.role,
      vm_name: str('name'),
      vmss_name: str('vmScaleSetName'),
      resource_group_name: str('resourceGroupName'),
      subscription_id: str('subscriptionId'),
      jwt,
    };
    const reply = await vault.request({ method: 'POST', path: `${this.config.mountPath}/login`, body, retry: false });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  /** Agent's default: the IMDS managed-identity token for `resource` (and object_id or client_id). */
  private async tokenFromIdentityEndpoint(): Promise<string> {
    const q: Record<string, string> = { 'api-version': IMDS_API_VERSION, resource: this.config.resource };
    if (this.config.objectId) q['object_id'] = this.config.objectId;
    if (this.config.clientId) q['client_id'] = this.config.clientId;
    const body = await imds<{ access_token?: string }>('azure login: the managed identity token', '/metadata/identity/oauth2/token', q);
    if (!body.access_token) throw new AppError('AUTH_FAILED', 'azure login: the managed identity endpoint gave no access_token');
    return body.access_token;
  }

  /**
   * authenticate_from_environment: the Azure SDK's DefaultAzureCredential for `scope`, in its order:
   * a client secret (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), workload identity
   * (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE), then managed identity (IMDS,
   * for AZURE_CLIENT_ID when set). Certificate, username/password and Azure CLI credentials are not
   * supported by vault-extproc.
   */
  private async tokenFromEnvironment(): Promise<string> {
    const env = process.env;
    const tenant = env['AZURE_TENANT_ID'];
    const clientId = env['AZURE_CLIENT_ID'];
    if (tenant && clientId && env['AZURE_CLIENT_SECRET']) {
      return this.entraToken(tenant, { client_id: clientId, client_secret: env['AZURE_CLIENT_SECRET'] });
    }
    if (tenant && clientId && env['AZURE_FEDERATED_TOKEN_FILE']) {
      const file = env['AZURE_FEDERATED_TOKEN_FILE'];
      let assertion: string;
      try {
        assertion = (await readFile(file, 'utf8')).trim();
      } catch (err) {
        throw new AppError('AUTH_FILE_UNREADABLE', `cannot read AZURE_FEDERATED_TOKEN_FILE ${file}: ${errorMessage(err)}`, { cause: err });
      }
      return this.entraToken(tenant, {
        client_id: clientId,
        client_assertion: assertion,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      });
    }
    const resource = this.config.scope.replace(/\/\.default$/, '');
    const q: Record<string, string> = { 'api-version': SDK_IMDS_API_VERSION, resource };
    if (clientId) q['client_id'] = clientId;
    const body = await imds<{ access_token?: string }>('azure login: the managed identity token (DefaultAzureCredential)', '/metadata/identity/oauth2/token', q);
    if (!body.access_token) throw new AppError('AUTH_FAILED', 'azure login: the managed identity endpoint gave no access_token');
    return body.access_token;
  }

  private async entraToken(tenant: string, form: Record<string, string>): Promise<string> {
    const url = `${authorityHost()}${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
    const body = await cloudJson<{ access_token?: string }>('azure login: the Microsoft Entra token', url, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, grant_type: 'client_credentials', scope: this.config.scope }).toString(),
    });
    if (!body.access_token) throw new AppError('AUTH_FAILED', 'azure login: Microsoft Entra gave no access_token');
    return body.access_token;
  }
}

/** A GET to the IMDS with the query sorted as Go's url.Values encodes it. */
async function imds<T>(what: string, path: string, query: Record<string, string>): Promise<T> {
  return cloudJson<T>(what, `${imdsBase()}${path}?${new URLSearchParams(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : 1)))}`, {
    headers: { Metadata: 'true', 'user-agent': 'vault-extproc' },
  });
}

function findCaseless(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const rec = obj as Record<string, unknown>;
  if (key in rec) return rec[key];
  const k = Object.keys(rec).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : rec[k];
}
