// Runs the k8s-strict Go tool (main.go here): Kubernetes manifests decoded strictly into
// k8s.io/api's types, as the API server's strict field validation reads them. Built on first use
// into .tools/k8s-strict/ (offline, from the Go module cache test/real-vault fills).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/paths.js';

const pexec = promisify(execFile);
const SOURCE = join(REPO_ROOT, 'test', 'k8s-strict');
const BINARY = join(REPO_ROOT, '.tools', 'k8s-strict', 'k8s-strict');

let built: Promise<string> | undefined;

function buildK8sStrict(): Promise<string> {
  built ??= (async () => {
    const stale = !existsSync(BINARY) || statSync(BINARY).mtimeMs < Math.max(...['main.go', 'go.mod'].map((f) => statSync(join(SOURCE, f)).mtimeMs));
    if (stale) {
      mkdirSync(join(REPO_ROOT, '.tools', 'k8s-strict'), { recursive: true });
      await pexec('go', ['build', '-o', BINARY, '.'], {
        cwd: SOURCE,
        env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' },
        timeout: 600_000,
      });
    }
    return BINARY;
  })();
  return built;
}

export interface StrictResult { file: string; kind: string; name: string; checked: boolean; error?: string }

/** One result per document of the files; `checked` false for kinds k8s.io/api has no type for here. */
export async function strictDecode(files: string[]): Promise<StrictResult[]> {
  const binary = await buildK8sStrict();
  const { stdout } = await pexec(binary, files).catch((err: { stdout?: string; code?: number }) => {
    if (err.code === 1 && err.stdout) return { stdout: err.stdout };
    throw err;
  });
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as StrictResult);
}
