import { randomBytes } from 'node:crypto';
import { chmod, chown, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FileTarget {
  path: string;
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * Writes `content` the way Vault Agent's file sink does: into a temp file in the target's
 * directory, created with the mode, owned by uid/gid (set before the rename, so the file never
 * appears with the wrong owner), then renamed over the target in one step.
 */
export async function writeFileAtomically(target: FileTarget, content: string): Promise<void> {
  const tmp = join(dirname(target.path), `.${basename(target.path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', target.mode);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await chmod(tmp, target.mode); // the umask may have narrowed the mode at creation
    if (target.uid !== undefined || target.gid !== undefined) await chown(tmp, target.uid ?? -1, target.gid ?? -1);
    await rename(tmp, target.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
