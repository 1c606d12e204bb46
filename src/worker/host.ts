import { Worker } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import { decodeWorkerMessage, encodeMessage, type ExtprocMessage } from './protocol.js';
import type { ThreadFactory, WorkerThread } from './supervisor.js';

export interface WorkerHandle {
  send(msg: ExtprocMessage): void;
  stop(): Promise<void>;
}

/**
 * The auto-auth token a restarted worker takes over instead of logging in again: leases and
 * child tokens hang off it (a new login would retire them), and Vault still honours it.
 */
export interface AdoptedToken {
  token: string;
  leaseDurationSeconds: number;
  renewable: boolean;
  obtainedAtMs: number;
}

/** What the worker thread gets at start (worker/thread.ts reads it). */
export interface WorkerThreadData {
  config: Config;
  logLevel?: string;
  adopt?: AdoptedToken;
  /** VAULT_EXTPROC_TEST_HOOKS=1 in the process: the thread obeys HANG_BYTES. */
  testHooks?: boolean;
}

/**
 * Bytes no message decodes from (a msgpack array header with nothing after it): the thread's
 * message handler throws on them, uncaught, as it would on a bug. Only the test hook sends them.
 */
const CRASH_BYTES = new Uint8Array([0x92]);
/** The byte msgpack never uses: worker/thread.ts spins forever on it, when started with the test hooks. */
export const HANG_BYTES = new Uint8Array([0xc1]);

/**
 * Starts worker threads of this process (the worker role): one per call, for the supervisor. Each
 * takes over the auto-auth token `adopt()` gives (the last one a worker handed on, or one restored
 * from the persistent store); none before the first worker logged in.
 */
export function workerThreadFactory(config: Config, log: Logger, logLevel?: string, adopt: () => AdoptedToken | undefined = () => undefined): ThreadFactory {
  return (events) => {
    const adopted = adopt();
    const workerData: WorkerThreadData = {
      config, ...(logLevel ? { logLevel } : {}), ...(adopted ? { adopt: adopted } : {}),
      ...(process.env['VAULT_EXTPROC_TEST_HOOKS'] === '1' ? { testHooks: true } : {}),
    };
    return startWorkerThread(workerData, log, events);
  };
}

function startWorkerThread(workerData: WorkerThreadData, log: Logger, events: Parameters<ThreadFactory>[0]): WorkerThread {
  // Compiled, the sibling thread.js runs as it is. Under tsx (tests, dev) this module is .ts, and a
  // worker does not inherit tsx's loader hooks: register them in the worker before importing thread.ts.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./thread.ts', import.meta.url).href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(new URL('./thread.js', import.meta.url), { workerData });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => worker.once('exit', (exitCode: number) => {
    exited = true;
    resolve();
    events.exit(exitCode);
  }));
  worker.on('message', (bytes: Uint8Array) => events.message(decodeWorkerMessage(bytes)));
  worker.once('online', () => events.online());
  worker.on('error', (err) => {
    log.error({ component: 'worker-host', errorClass: err.name }, 'the worker thread failed with an uncaught error');
    events.error(err);
  });
  return {
    send(msg) {
      if (!exited) worker.postMessage(encodeMessage(msg));
    },
    crash() {
      if (!exited) worker.postMessage(CRASH_BYTES);
    },
    hang() {
      if (!exited) worker.postMessage(HANG_BYTES);
    },
    terminate() {
      if (!exited) void worker.terminate();
    },
    async stop() {
      if (exited) return;
      worker.postMessage(encodeMessage({ type: 'stop' }));
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
      await Promise.race([exitedPromise, timeout]);
      if (!exited) await worker.terminate();
    },
  };
}
