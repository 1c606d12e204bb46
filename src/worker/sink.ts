import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileSink } from '../config/types.js';
import type { VaultClient } from '../vault/client.js';

/** Writes the token atomically (temp file + rename) with the configured mode, as Vault's file sink does. */
export async function writeFileSink(sink: FileSink, token: string, _vault?: VaultClient): Promise<void> {
  const tmp = join(dirname(sink.path), `.${basename(sink.path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, token, { mode: sink.mode });
    await chmod(tmp, sink.mode); // the umask may have narrowed the mode at creation
    await rename(tmp, sink.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
