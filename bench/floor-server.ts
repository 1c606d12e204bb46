/**
 * Bench-only ext_proc servers: the floor any Node (grpc-js) ext_proc server pays.
 *   hit:      every request_headers gets a fixed immediate response: the status, headers and body
 *             of a cached secret's hit, read from REPLY_JSON (B1)
 *   continue: every message gets an empty "continue" of the matching kind (B2)
 * Usage: tsx bench/floor-server.ts hit|continue PORT [REPLY_JSON]
 *   REPLY_JSON: {"status": 200, "headers": [["content-type", "application/json"], …], "body": "…"}
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { externalProcessorService } from '../src/extproc/protos.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/extproc/envoy-types.js';
import { continueReply } from '../src/extproc/messages.js';

const [mode, portArg, replyFile] = process.argv.slice(2);
let hit: ProcessingResponse | undefined;
if (mode === 'hit') {
  const reply = JSON.parse(readFileSync(replyFile!, 'utf8')) as { status: number; headers: Array<[string, string]>; body: string };
  hit = {
    immediate_response: {
      status: { code: reply.status },
      headers: { set_headers: reply.headers.map(([key, value]) => ({ header: { key, raw_value: Buffer.from(value, 'latin1') } })) },
      body: Buffer.from(reply.body),
      details: 'bench_floor',
    },
  };
}
const server = new grpc.Server();
server.addService(externalProcessorService(), {
  Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
    call.on('data', (msg: ProcessingRequest) => {
      if (!msg.request) return;
      call.write(hit && msg.request === 'request_headers' ? hit : continueReply(msg.request));
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
