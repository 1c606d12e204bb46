import { readFileSync } from 'node:fs';
import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * Vault Agent's "azure" method (command/agentproxyshared/auth/azure in Vault 1.15): the VM's
 * name, scale set, resource group and subscription from the Instance Metadata Service, an access
 * token for `resource` from the IMDS managed-identity endpoint (optionally for `object_id` or
 * `client_id`), or, with `authenticate_from_environment`, from the Azure SDK's default credential
 * chain for `scope`; login body `{role, vm_name, vmss_name, resource_group_name, subscription_id, jwt}`.
 */
export interface AzureMethod extends MethodCommon {
  type: 'azure';
  role: string;
  resource: string;
  objectId?: string;
  clientId?: string;
  /** Agent's default: `<resource>/.default`. */
  scope: string;
  authenticateFromEnvironment: boolean;
}

export function readAzure(config: BlockReader, common: MethodCommon): AzureMethod | undefined {
  const role = config.string('role');
  const resource = config.string('resource');
  const objectId = config.string('object_id') || undefined;
  const clientId = config.string('client_id') || undefined;
  const scope = config.string('scope') || undefined;
  const authenticateFromEnvironment = config.bool('authenticate_from_environment') ?? false;
  let ok = true;
  if (!role) { config.error('role', 'is required'); ok = false; }
  if (!resource) { config.error('resource', 'is required (the audience of the token, the resource of the azure auth config)'); ok = false; }
  if (objectId && clientId) { config.error('client_id', "only one of 'object_id' or 'client_id' may be provided"); ok = false; }
  if (!ok) return undefined;
  return {
    type: 'azure', ...common,
    role: role!, resource: resource!,
    ...(objectId ? { objectId } : {}),
    ...(clientId ? { clientId } : {}),
    scope: scope ?? `${resource}/.default`,
    authenticateFromEnvironment,
  };
}

/** Azure reads no files of its own (the IMDS, or the environment's credentials, give the token). */
export function checkAzureFiles(method: AzureMethod, at: ConfigKeyLocation, problems: Problems): void {
  if (!method.authenticateFromEnvironment) return;
  const file = process.env['AZURE_FEDERATED_TOKEN_FILE'];
  if (file && process.env['AZURE_CLIENT_ID'] && process.env['AZURE_TENANT_ID']) {
    // Workload identity: the token file must be readable when serve starts.
    try {
      if (readFileSync(file, 'utf8').trim() === '') problems.warn(at('authenticate_from_environment'), `AZURE_FEDERATED_TOKEN_FILE ${file} is empty`);
    } catch {
      problems.warn(at('authenticate_from_environment'), `AZURE_FEDERATED_TOKEN_FILE ${file} cannot be read (yet)`);
    }
  }
}
