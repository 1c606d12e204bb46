// SKELETON (being implemented): the aws auth method's config and login, as Vault's plugin answers them.
import { backendOf } from './router.js';
import type { Backend } from './types.js';

export function awsAuthBackend(_now: () => number): Backend {
  return backendOf([]);
}
