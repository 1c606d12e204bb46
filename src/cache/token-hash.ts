import { createHash } from 'node:crypto';

/** Entries remember which tokens proved access by hash; raw tokens are never stored in the cache. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
