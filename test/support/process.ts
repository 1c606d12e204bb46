import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Every child a test started and that still runs. When the test process exits (mocha's `exit`), they
 * are killed: a suite that forgot to stop one (the reporter names them) must not leave it running
 * after the run, where it would hold ports and CPU.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A child process whose combined output is kept for assertions and for failure reports. */
export class Proc {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(readonly name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer): void => {
      this.output.push(chunk.toString('utf8'));
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    running.add(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      running.delete(this.child);
      resolve(code);
    }));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get text(): string {
    return this.output.join('');
  }

  /** Output lines parsed as JSON where they are JSON (pino logs). */
  get jsonLines(): Array<Record<string, unknown>> {
    return this.text.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(sig);
  }

  async stop(timeoutMs = 5_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Runs a command to completion (as another user when `as` gives a uid and gid). */
export async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, as?: { uid: number; gid: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
