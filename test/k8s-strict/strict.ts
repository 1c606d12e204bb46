// Runs the k8s-strict Go tool (main.go here): Kubernetes manifests decoded strictly into
// k8s.io/api's types, as the API server's strict field validation reads them. Built on first use
// into .tools/k8s-strict/ (offline, from the Go module cache test/real-vault fills).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildGoTool } from '../support/go-tool.js';
import { REPO_ROOT } from '../support/paths.js';

const pexec = promisify(execFile);
const SOURCE = join(REPO_ROOT, 'test', 'k8s-strict');

function buildK8sStrict(): Promise<string> {
  return buildGoTool({ name: 'k8s-strict', sourceDir: SOURCE, env: { GOFLAGS: '-mod=mod', GOPROXY: 'off' } });
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
