/**
 * Bench-only ext_proc servers: the floor any Node (grpc-js) ext_proc server pays.
 *   hit:      every request_headers gets a fixed immediate response the size of a cached secret (B1)
 *   continue: every message gets an empty "continue" of the matching kind (B2)
 * Usage: tsx bench/floor-server.ts hit|continue PORT BODY_BYTES
 */
import * as grpc from '@grpc/grpc-js';
import { externalProcessorService } from '../src/extproc/protos.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/extproc/envoy-types.js';
import { continueReply } from '../src/extproc/messages.js';

const [mode, portArg, bytesArg] = process.argv.slice(2);
const body = Buffer.alloc(Number(bytesArg ?? 1024), 'x');
const hit: ProcessingResponse = {
  immediate_response: {
    status: { code: 200 },
    headers: { set_headers: [
      { header: { key: 'content-type', raw_value: Buffer.from('application/json') } },
      { header: { key: 'x-cache', raw_value: Buffer.from('HIT') } },
      { header: { key: 'age', raw_value: Buffer.from('0') } },
    ] },
    body,
    details: 'bench_floor',
  },
};
const server = new grpc.Server();
server.addService(externalProcessorService(), {
  Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
    call.on('data', (msg: ProcessingRequest) => {
      if (!msg.request) return;
      call.write(mode === 'hit' && msg.request === 'request_headers' ? hit : continueReply(msg.request));
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
});
server.bindAsync(`127.0.0.1:${portArg}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`floor ${mode} listening on ${port}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
