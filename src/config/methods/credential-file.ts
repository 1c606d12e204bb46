import { readFileSync, statSync } from 'node:fs';

export const MISSING = 'no such file';

/** 'ok', or why a credential file cannot be used (missing, a directory, empty, unreadable). */
export function credentialFile(path: string): string {
  try {
    if (statSync(path).isDirectory()) return 'is a directory';
    return readFileSync(path, 'utf8').trim() === '' ? 'is empty' : 'ok';
  } catch (err) {
    return fileError(err);
  }
}

/** A file error in words a user reads: "no such file", "permission denied", ... */
export function fileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return MISSING;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}
