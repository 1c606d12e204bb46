// SKELETON (being implemented): the kubernetes auth method's config and login, as Vault's plugin answers them.
import { backendOf } from './router.js';
import type { Backend } from './types.js';

export function kubernetesAuthBackend(_now: () => number): Backend {
  return backendOf([]);
}
