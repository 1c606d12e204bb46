import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { AutoAuthMethod } from '../types.js';
import { checkAppRoleFiles, readAppRole } from './approle.js';
import { checkAwsFiles, readAws } from './aws.js';
import { checkAzureFiles, readAzure } from './azure.js';
import { checkCertFiles, readCert } from './cert.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';
import { checkGcpFiles, readGcp } from './gcp.js';
import { checkJwtFiles, readJwt } from './jwt.js';
import { checkKubernetesFiles, readKubernetes } from './kubernetes.js';
import { checkLdapFiles, readLdap } from './ldap.js';
import { checkTokenFileFiles, readTokenFile } from './token-file.js';

/** Auth methods vault-extproc logs in with; each has its own file here and in src/worker/auth/. */
export const IMPLEMENTED_METHODS = ['approle', 'token_file', 'kubernetes', 'jwt', 'cert', 'ldap', 'aws', 'gcp', 'azure'] as const;
export type ImplementedMethod = (typeof IMPLEMENTED_METHODS)[number];

/** Auth methods Vault Agent knows; those not implemented are reported and refused by serve. */
export const KNOWN_METHODS = new Set<string>([...IMPLEMENTED_METHODS, 'alicloud', 'cf', 'kerberos', 'oci']);

export function isImplemented(type: string): type is ImplementedMethod {
  return (IMPLEMENTED_METHODS as readonly string[]).includes(type);
}

/** Reads the method's own `config` block. */
export function readMethodConfig(type: ImplementedMethod, config: BlockReader, common: MethodCommon): AutoAuthMethod | undefined {
  switch (type) {
    case 'approle': return readAppRole(config, common);
    case 'token_file': return readTokenFile(config, common);
    case 'kubernetes': return readKubernetes(config, common);
    case 'jwt': return readJwt(config, common);
    case 'cert': return readCert(config, common);
    case 'ldap': return readLdap(config, common);
    case 'aws': return readAws(config, common);
    case 'gcp': return readGcp(config, common);
    case 'azure': return readAzure(config, common);
  }
}

/** Checks the files the method reads at login, as `serve` needs them. */
export function checkMethodFiles(method: AutoAuthMethod, at: ConfigKeyLocation, problems: Problems): void {
  switch (method.type) {
    case 'approle': return checkAppRoleFiles(method, at, problems);
    case 'token_file': return checkTokenFileFiles(method, at, problems);
    case 'kubernetes': return checkKubernetesFiles(method, at, problems);
    case 'jwt': return checkJwtFiles(method, at, problems);
    case 'cert': return checkCertFiles(method, at, problems);
    case 'ldap': return checkLdapFiles(method, at, problems);
    case 'aws': return checkAwsFiles(method, at, problems);
    case 'gcp': return checkGcpFiles(method, at, problems);
    case 'azure': return checkAzureFiles(method, at, problems);
    case 'unsupported': return;
  }
}
