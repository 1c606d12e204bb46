// Shared setup for the gcp and azure auto-auth tests (integration and e2e): environment for a
// suite, the auth mounts pointed at the cloud stand-in, and method configs.
import type { AzureMethod, GcpMethod } from '../../src/config/types.js';
import type { Backend } from './backend.js';
import type { CloudStandIn } from './cloud-metadata.js';
import { vaultApi } from './vault-setup.js';

/** Sets env vars for the suite (the worker's overrides, and the simulator's Application Default Credentials). */
export function withEnv(vars: () => Record<string, string>): void {
  const saved = new Map<string, string | undefined>();
  before(() => {
    for (const [k, v] of Object.entries(vars())) {
      saved.set(k, process.env[k]);
      process.env[k] = v;
    }
  });
  after(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/** Mounts gcp at auth/gcp, pointed at the stand-in, with a gce role and an iam role. */
export async function setupGcp(v: Backend, cloud: CloudStandIn, opts: { ttl?: string; iamAccounts?: string[] } = {}): Promise<void> {
  await vaultApi(v, 'POST', 'sys/policy/gcp-app', { policy: 'path "secret/*" { capabilities = ["read"] }' });
  await vaultApi(v, 'POST', 'sys/auth/gcp', { type: 'gcp' });
  await vaultApi(v, 'POST', 'auth/gcp/config', { custom_endpoint: { api: cloud.url, iam: `${cloud.url}/`, compute: `${cloud.url}/compute/v1/` } });
  const token = { token_policies: ['gcp-app'], ...(opts.ttl ? { token_ttl: opts.ttl, token_max_ttl: '1h' } : {}) };
  await vaultApi(v, 'POST', 'auth/gcp/role/gce', { type: 'gce', bound_projects: [cloud.instance.projectId], bound_zones: [cloud.instance.zone], ...token });
  await vaultApi(v, 'POST', 'auth/gcp/role/iam', { type: 'iam', bound_service_accounts: opts.iamAccounts ?? [cloud.account.email], ...token });
}

export function gcpMethod(extra: Partial<GcpMethod>): GcpMethod {
  return {
    type: 'gcp', mountPath: 'auth/gcp', minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false,
    authType: 'gce', role: 'gce', serviceAccount: 'default', jwtExpMinutes: 15, ...extra,
  };
}


/** Mounts azure at auth/azure for the stand-in's tenant, with role "web" bound to the VM's managed identity. */
export async function setupAzure(v: Backend, cloud: CloudStandIn, opts: { ttl?: string; principals?: string[] } = {}): Promise<void> {
  await vaultApi(v, 'POST', 'sys/policy/azure-app', { policy: 'path "secret/*" { capabilities = ["read"] }' });
  await vaultApi(v, 'POST', 'sys/auth/azure', { type: 'azure' });
  await vaultApi(v, 'POST', 'auth/azure/config', { tenant_id: cloud.vm.tenantId, resource: AZURE_RESOURCE });
  await vaultApi(v, 'POST', 'auth/azure/role/web', {
    bound_service_principal_ids: opts.principals ?? [cloud.vm.principalId], token_policies: ['azure-app'],
    ...(opts.ttl ? { token_ttl: opts.ttl, token_max_ttl: '1h' } : {}),
  });
}

export const AZURE_RESOURCE = 'https://management.azure.com/';

export function azureMethod(extra: Partial<AzureMethod> = {}): AzureMethod {
  return {
    type: 'azure', mountPath: 'auth/azure', minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false,
    role: 'web', resource: AZURE_RESOURCE, scope: `${AZURE_RESOURCE}/.default`, authenticateFromEnvironment: false, ...extra,
  };
}

/** What a real Vault needs to reach the stand-in: its ADC key file (gcp) and the proxy and CA for login.microsoftonline.com (azure). */
export function realVaultEnv(cloud: CloudStandIn): Record<string, string> {
  return {
    GOOGLE_APPLICATION_CREDENTIALS: cloud.keyFile(cloud.vaultAccount, 'vault-adc.json'),
    HTTPS_PROXY: cloud.proxyUrl,
    SSL_CERT_FILE: cloud.caFile,
  };
}
