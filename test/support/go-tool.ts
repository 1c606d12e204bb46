// Builds a Go test tool (a main package under test/<dir>/, with its own go.mod and go.sum) once into
// .tools/<name>/<name>, and again only when its sources change: the binary sits next to a hash of the
// tool's Go sources, go.mod, go.sum and the Go version. Shared by every Go tool the tests run
// (k8s-strict, sink-reader, template-oracle).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './paths.js';

const pexec = promisify(execFile);

export interface GoToolSpec {
  /** The binary's name and its folder under .tools/. */
  name: string;
  /** The tool's source folder (its main package, go.mod and go.sum). */
  sourceDir: string;
  /** Extra environment for `go build` (e.g. GOPROXY=off for tools built from the local Vault tree). */
  env?: Record<string, string>;
}

const builds = new Map<string, Promise<string>>();

async function sourceHash(spec: GoToolSpec): Promise<string> {
  const hash = createHash('sha256');
  const files = readdirSync(spec.sourceDir)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort();
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(join(spec.sourceDir, f)));
    hash.update('\0');
  }
  const { stdout } = await pexec('go', ['env', 'GOVERSION'], { env: { ...process.env, GOTOOLCHAIN: 'local' } });
  hash.update(stdout.trim());
  hash.update(JSON.stringify(spec.env ?? {}));
  return hash.digest('hex');
}

/** The path of the tool's binary, built first when missing or built from other sources. */
export function buildGoTool(spec: GoToolSpec): Promise<string> {
  let built = builds.get(spec.name);
  if (!built) {
    built = (async () => {
      const dir = join(REPO_ROOT, '.tools', spec.name);
      const binary = join(dir, spec.name);
      const stamp = join(dir, '.source-hash');
      const want = await sourceHash(spec);
      const have = existsSync(stamp) && existsSync(binary) ? readFileSync(stamp, 'utf8').trim() : '';
      if (have !== want) {
        mkdirSync(dir, { recursive: true });
        // Build beside the binary and rename: another test process may be building the same tool.
        const tmp = `${binary}.${process.pid}.tmp`;
        try {
          await pexec('go', ['build', '-o', tmp, '.'], {
            cwd: spec.sourceDir,
            env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false', ...spec.env },
            timeout: 600_000,
            maxBuffer: 16 * 1024 * 1024,
          });
        } catch (err) {
          rmSync(tmp, { force: true });
          const stderr = (err as { stderr?: string }).stderr?.trim();
          throw new Error(`go build of ${spec.name} failed${stderr ? `: ${stderr}` : ''}`);
        }
        renameSync(tmp, binary);
        writeFileSync(stamp, `${want}\n`);
      }
      return binary;
    })();
    builds.set(spec.name, built);
    built.catch(() => builds.delete(spec.name));
  }
  return built;
}
