import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../telemetry/logger.js';
import { HANG_BYTES, type WorkerThreadData } from './host.js';
import { decodeExtprocMessage, encodeMessage } from './protocol.js';
import { runWorker } from './run.js';

/** Entry of the worker thread: the worker role, speaking the msgpackr protocol to the main thread. */
const port = parentPort;
if (!port) throw new Error('worker/thread must run in a worker thread');
const { config, logLevel, adopt, testHooks } = workerData as WorkerThreadData;
const log = createLogger({ base: { role: 'worker' }, ...(logLevel ? { level: logLevel } : {}) });
const worker = runWorker(config, log, (msg) => port.postMessage(encodeMessage(msg)), {
  ...(adopt ? { adopt } : {}),
  // After `stop` (routed in run.ts), once the worker is done: the logs are flushed, then the port closes.
  afterStop: () => log.flush(() => port.close()),
});
port.on('message', (bytes: Uint8Array) => {
  // Test hook (VAULT_EXTPROC_TEST_HOOKS=1 only): a hung worker, its event loop spinning forever.
  if (testHooks && bytes.length === 1 && bytes[0] === HANG_BYTES[0]) for (;;) { /* hung */ }
  worker.handle(decodeExtprocMessage(bytes));
});
