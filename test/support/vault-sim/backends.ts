// Which backend serves which engine type.
import { approleBackend } from './approle.js';
import { awsAuthBackend } from './auth-aws.js';
import { azureAuthBackend } from './auth-azure.js';
import { certAuthBackend } from './auth-cert.js';
import { gcpAuthBackend } from './auth-gcp.js';
import { jwtAuthBackend } from './auth-jwt.js';
import { kubernetesAuthBackend } from './auth-kubernetes.js';
import { ldapAuthBackend } from './auth-ldap.js';
import { databaseBackend } from './database.js';
import { identityBackend } from './identity.js';
import { kvV1Backend } from './kv1.js';
import { kvV2Backend } from './kv2.js';
import type { BackendFactory } from './mount-table.js';
import type { SimProfile } from './profile.js';
import { backendOf } from './router.js';
import { systemBackend } from './sys.js';
import { tokenBackend } from './token-routes.js';
import { userpassBackend } from './userpass.js';

/** Auth methods the simulator can enable through sys/auth. */
export const AUTH_TYPES = new Set(['approle', 'userpass', 'kubernetes', 'jwt', 'cert', 'ldap', 'aws', 'gcp', 'azure']);

export function backendFactory(now: () => number, profile: SimProfile): BackendFactory {
  return (spec, builtin) => {
    switch (spec.type) {
      case 'kv':
        return spec.options?.['version'] === '2' ? kvV2Backend(now) : kvV1Backend();
      case 'approle':
        return approleBackend(now);
      case 'database':
        // The `mountDatabase` mount is the connectionless shortcut; one enabled through the API is not.
        return databaseBackend(builtin);
      case 'token':
        return tokenBackend();
      case 'system':
        return systemBackend(profile);
      case 'identity':
        return identityBackend();
      case 'userpass':
        return userpassBackend();
      case 'kubernetes': return kubernetesAuthBackend(now);
      case 'jwt': return jwtAuthBackend(now);
      case 'cert': return certAuthBackend(now);
      case 'ldap': return ldapAuthBackend(now);
      case 'aws': return awsAuthBackend(now);
      case 'gcp': return gcpAuthBackend(now);
      case 'azure': return azureAuthBackend(now);
      case 'cubbyhole':
        // Mounted like in a dev server, but not simulated: every path is an unsupported path.
        return backendOf([]);
      default:
        return undefined;
    }
  };
}
