import { readFile } from 'node:fs/promises';
import { AppError, errorMessage } from '../../errors.js';

/** Reads a credential file, trimmed. Missing files give `undefined`; other failures throw. */
export async function readCredentialFile(path: string, what: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('AUTH_FILE_UNREADABLE', `cannot read ${what} file ${path}: ${errorMessage(err)}`, { cause: err });
  }
}
