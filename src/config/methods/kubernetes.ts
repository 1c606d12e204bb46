import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/** Where a pod's service-account token is mounted (Vault Agent's default `token_path`). */
export const DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The "kubernetes" method as Vault Agent reads it: a `role` and the service-account JWT at
 * `token_path`, read again on every login (the kubelet rotates projected tokens in place).
 */
export interface KubernetesMethod extends MethodCommon {
  type: 'kubernetes';
  role: string;
  tokenPath: string;
}

export function readKubernetes(config: BlockReader, common: MethodCommon): KubernetesMethod | undefined {
  const role = config.string('role');
  if (!role) config.error('role', 'is required');
  const tokenPath = config.string('token_path') || DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH;
  return role ? { type: 'kubernetes', ...common, role, tokenPath } : undefined;
}

/** The token file is read at every login: missing, empty or unreadable is an error. */
export function checkKubernetesFiles(method: KubernetesMethod, at: ConfigKeyLocation, problems: Problems): void {
  const token = credentialFile(method.tokenPath);
  if (token !== 'ok') problems.error(at('token_path'), `service account token file ${method.tokenPath}: ${token}`);
}
