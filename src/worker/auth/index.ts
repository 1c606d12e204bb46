import { AppError } from '../../errors.js';
import type { AutoAuthMethod } from '../../config/types.js';
import { AppRoleAuth } from './approle.js';
import { AwsAuth } from './aws.js';
import { AzureAuth } from './azure.js';
import { CertAuth } from './cert.js';
import { GcpAuth } from './gcp.js';
import { JwtAuth } from './jwt.js';
import { KubernetesAuth } from './kubernetes.js';
import { LdapAuth } from './ldap.js';
import type { AuthMethod } from './method.js';
import { TokenFileAuth } from './token-file.js';

export type { AuthMethod, LoginResult } from './method.js';

export function createAuthMethod(config: AutoAuthMethod): AuthMethod {
  switch (config.type) {
    case 'approle': return new AppRoleAuth(config);
    case 'token_file': return new TokenFileAuth(config);
    case 'kubernetes': return new KubernetesAuth(config);
    case 'jwt': return new JwtAuth(config);
    case 'cert': return new CertAuth(config);
    case 'ldap': return new LdapAuth(config);
    case 'aws': return new AwsAuth(config);
    case 'gcp': return new GcpAuth(config);
    case 'azure': return new AzureAuth(config);
    case 'unsupported':
      throw new AppError('AUTH_METHOD_UNSUPPORTED', `auto_auth method "${config.name}" is not implemented by vault-extproc`);
  }
}
