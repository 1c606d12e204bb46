import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI, exactly as users run it. */
export const CLI = join(REPO_ROOT, 'bin', 'vault-extproc.js');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
