import { Worker } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import { decodeWorkerMessage, encodeMessage, type ExtprocMessage, type WorkerMessage } from './protocol.js';

export interface WorkerHandle {
  send(msg: ExtprocMessage): void;
  stop(): Promise<void>;
}

/** Starts the worker role in a worker thread of this process. */
export function startWorkerThread(
  config: Config, log: Logger, onMessage: (msg: WorkerMessage) => void, logLevel?: string,
  /** The thread ended without being asked to (a crash): the service cannot keep its promises. */
  onUnexpectedExit: (exitCode: number) => void = () => undefined,
): WorkerHandle {
  const workerData = { config, logLevel };
  // Compiled, the sibling thread.js runs as it is. Under tsx (tests, dev) this module is .ts, and a
  // worker does not inherit tsx's loader hooks: register them in the worker before importing thread.ts.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./thread.ts', import.meta.url).href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(new URL('./thread.js', import.meta.url), { workerData });
  let exited = false;
  let stopping = false;
  const exitedPromise = new Promise<void>((resolve) => worker.once('exit', (exitCode: number) => {
    exited = true;
    resolve();
    if (!stopping) onUnexpectedExit(exitCode);
  }));
  worker.on('message', (bytes: Uint8Array) => onMessage(decodeWorkerMessage(bytes)));
  worker.on('error', (err) => log.error({ component: 'worker-host', err: err.message }, 'the worker thread failed'));
  return {
    send(msg) {
      if (!exited) worker.postMessage(encodeMessage(msg));
    },
    async stop() {
      stopping = true;
      if (exited) return;
      worker.postMessage(encodeMessage({ type: 'stop' }));
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
      await Promise.race([exitedPromise, timeout]);
      if (!exited) await worker.terminate();
    },
  };
}
