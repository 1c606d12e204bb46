// SKELETON (being implemented): the jwt auth method's config and login, as Vault's plugin answers them.
import { backendOf } from './router.js';
import type { Backend } from './types.js';

export function jwtAuthBackend(_now: () => number): Backend {
  return backendOf([]);
}
