import { createHash } from 'node:crypto';

/** Recently hashed tokens: a hit path hashes the same few tokens over and over. */
const recent = new Map<string, string>();
const RECENT_MAX = 4096;

/** Entries remember which tokens proved access by hash; raw tokens are never stored in the cache. */
export function hashToken(token: string): string {
  const known = recent.get(token);
  if (known !== undefined) return known;
  const hash = createHash('sha256').update(token).digest('base64url');
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(token, hash);
  return hash;
}
