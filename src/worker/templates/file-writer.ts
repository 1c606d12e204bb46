/**
 * Writes a rendered template as consul-template's renderer does (renderer.Render / AtomicWrite):
 * nothing when the file already holds these bytes (and its owner is right); otherwise a temp file
 * in the destination's directory, synced, given `perms` (else the existing file's mode, else
 * 0644), the old file hard-linked to DEST.bak when `backup`, then renamed over the destination.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chown, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../errors.js';
import { TEMPLATE_DEFAULTS } from '../../config/template.js';
import { goStringToBytes } from '../../template/functions/index.js';

export interface WriteTarget {
  destination: string;
  createDestDirs: boolean;
  perms?: number;
  user?: string;
  group?: string;
  backup: boolean;
}

/**
 * True when the file was written (its content or owner changed), false when it already was so.
 * `contents` is a Go string as the engine renders it: the bytes of a binary value (base64Decode,
 * file) survive through goStringToBytes (the same bytes as UTF-8 for ordinary text).
 */
export async function writeRendered(t: WriteTarget, contents: string): Promise<boolean> {
  const bytes = goStringToBytes(contents);
  const uid = t.user !== undefined ? lookupId(t.user, '/etc/passwd', 'user') : undefined;
  const gid = t.group !== undefined ? lookupId(t.group, '/etc/group', 'group') : undefined;
  let existing: Buffer | undefined;
  try {
    existing = await readFile(t.destination);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined && existing.equals(bytes) && !(await ownerDiffers(t.destination, uid, gid))) return false;

  const dir = dirname(t.destination);
  try {
    await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!t.createDestDirs) throw new AppError('TEMPLATE_WRITE_FAILED', `failed writing file: parent directory ${dir} does not exist (create_dest_dirs is false)`);
    await mkdir(dir, { recursive: true, mode: 0o755 });
  }
  const tmp = join(dir, `.${basename(t.destination)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    let mode: number = TEMPLATE_DEFAULTS.filePerms;
    let current: { mode: number; uid: number; gid: number } | undefined;
    try {
      current = await stat(t.destination);
      mode = current.mode & 0o7777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
      await fh.chmod(t.perms ?? mode);
      // Keep the existing file's owner (consul-template's preserveFilePermissions), best effort.
      if (current) await fh.chown(current.uid, current.gid).catch(() => undefined);
    } finally {
      await fh.close();
    }
    if (t.backup && existing !== undefined) {
      const bak = `${t.destination}.bak`;
      const old = `${t.destination}.old.bak`;
      await rename(bak, old).catch(() => undefined);
      try {
        await link(t.destination, bak);
        await rm(old, { force: true });
      } catch {
        // consul-template logs and goes on without a backup
      }
    }
    await rename(tmp, t.destination);
  } finally {
    await rm(tmp, { force: true });
  }
  if (uid !== undefined || gid !== undefined) await chown(t.destination, uid ?? -1, gid ?? -1);
  return true;
}

async function ownerDiffers(path: string, uid: number | undefined, gid: number | undefined): Promise<boolean> {
  if (uid === undefined && gid === undefined) return false;
  try {
    const st = await stat(path);
    return (uid !== undefined && st.uid !== uid) || (gid !== undefined && st.gid !== gid);
  } catch {
    return true;
  }
}

/** A numeric id, or a name looked up in /etc/passwd or /etc/group (consul-template's lookupUser/lookupGroup). */
function lookupId(nameOrId: string, file: string, what: string): number {
  if (/^\d+$/.test(nameOrId)) return Number(nameOrId);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no such database: the name cannot be found
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === nameOrId && fields[2] !== undefined && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  throw new AppError('TEMPLATE_WRITE_FAILED', `failed looking up ${what}: ${what} ${nameOrId} not found`);
}
