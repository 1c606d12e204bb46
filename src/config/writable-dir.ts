// Whether files can be created in a directory, as `check` reports it.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileError } from './methods/credential-file.js';

/**
 * Why files cannot be created in `dir`, or undefined. With `create` (mkdir -p) the nearest existing
 * ancestor must be a writable directory; without, `dir` itself must be one (`missing` is added to
 * the message when it does not exist). Shared by the sinks, pid_file, sockets and templates.
 */
export function directoryProblem(dir: string, create: boolean, missing = ''): string | undefined {
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) return `${at} is not a directory`;
      accessSync(at, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `the directory ${at} is not writable (${fileError(err)})`;
      if (!create) return code === 'ENOENT' ? `the directory ${dir} does not exist${missing}` : `${dir} is not a directory`;
      const parent = dirname(at);
      if (parent === at) return `${dir} cannot be created`;
      at = parent;
    }
  }
}
