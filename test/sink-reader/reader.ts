// Runs the sink-reader Go tool (main.go here): Vault's own dhutil and api packages read a sink
// the way a consumer of Vault Agent's sink does. Built on first use into .tools/sink-reader/.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildGoTool } from '../support/go-tool.js';
import { REPO_ROOT } from '../support/paths.js';

const pexec = promisify(execFile);
const SOURCE = join(REPO_ROOT, 'test', 'sink-reader');

/** Builds the tool when missing or built from other sources (offline, from the Go module cache). */
export function buildSinkReader(): Promise<string> {
  return buildGoTool({ name: 'sink-reader', sourceDir: SOURCE, env: { GOFLAGS: '-mod=mod', GOPROXY: 'off' } });
}

/** `keygen`: the consumer's key pair; dh.json (the public key for dh_path) and dh.key in `dir`. */
export async function consumerKeys(dir: string): Promise<{ publicKeyPath: string; privateKeyPath: string }> {
  await pexec(await buildSinkReader(), ['keygen', dir]);
  return { publicKeyPath: join(dir, 'dh.json'), privateKeyPath: join(dir, 'dh.key') };
}

export interface SinkReading {
  /** What the sink holds, decrypted when a key was given. */
  value: string;
  /** Go's encoder gives back exactly the envelope's bytes. */
  envelope_reencoded?: boolean;
  wrap_info?: { token: string; accessor: string; ttl: number; creation_time: string; creation_path: string; wrapped_accessor: string };
  /** Go's encoder gives back exactly the wrap info's bytes. */
  wrap_reencoded?: boolean;
  unwrapped_token?: string;
  unwrapped_from?: 'auth.client_token' | 'data.token';
}

/** Reads a sink file; rejects with the tool's message when Vault's code cannot read it. */
export async function readSink(file: string, opts: { key?: string; aad?: string; derive?: boolean; wrapped?: boolean; unwrapAt?: string } = {}): Promise<SinkReading> {
  const args = ['read'];
  if (opts.key) args.push('-key', opts.key);
  if (opts.aad !== undefined) args.push('-aad', opts.aad);
  if (opts.derive) args.push('-derive');
  if (opts.wrapped) args.push('-wrapped');
  if (opts.unwrapAt) args.push('-unwrap', opts.unwrapAt);
  args.push(file);
  try {
    const { stdout } = await pexec(await buildSinkReader(), args, { env: { ...process.env, VAULT_TOKEN: '' } });
    return JSON.parse(stdout) as SinkReading;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || (err as Error).message);
  }
}
