/**
 * A template's `command`, run after the file changed, as consul-template runs it (child.CommandPrep):
 * one element with spaces runs with `sh -c` in its own process group, a list runs as is. Past its
 * timeout the process (group) is killed. Never throws: the outcome is returned.
 */
import { spawn } from 'node:child_process';

export type CommandOutcome =
  | { ok: true }
  | { ok: false; reason: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { ok: false; reason: 'timeout' }
  | { ok: false; reason: 'spawn'; message: string };

export function commandArgv(command: readonly string[]): string[] | undefined {
  if (command.length === 1 && command[0]!.trim().split(/\s+/).length > 1) return ['sh', '-c', command[0]!];
  if (command.length >= 1 && command[0]!.trim() !== '') return [...command];
  return undefined;
}

export function runCommand(command: readonly string[], timeoutMs: number): Promise<CommandOutcome> {
  const argv = commandArgv(command);
  if (!argv) return Promise.resolve({ ok: false, reason: 'spawn', message: 'empty command' });
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: CommandOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    let child: ReturnType<typeof spawn>;
    try {
      // Its own process group, so a timeout kills what `sh -c` started too.
      child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
    } catch (err) {
      resolve({ ok: false, reason: 'spawn', message: err instanceof Error ? err.message : String(err) });
      return;
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      done({ ok: false, reason: 'timeout' });
    }, timeoutMs);
    child.once('error', (err) => done({ ok: false, reason: 'spawn', message: err.message }));
    child.once('exit', (code, signal) => done(code === 0 ? { ok: true } : { ok: false, reason: 'exit', code, signal }));
  });
}
