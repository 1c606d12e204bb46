/**
 * `tsx bench/lease-hit-micro.ts`: the CPU of what vault-extproc itself does for one lease-cache hit
 * and one static-cache hit, without gRPC transport, Envoy or a network: decode each message Envoy
 * sends (the service's own deserializer), step it, encode the reply (the service's serializer).
 * A lease hit is two messages (the request headers, then the buffered body: the key needs it); a
 * static hit one. Prints µs of CPU per hit (process.cpuUsage over N hits, median of 5 runs).
 * CPU time, not wall time: a busy machine slows it less than the throughput rows.
 */
import { Inflight } from '../src/cache/inflight.js';
import { LeaseCache } from '../src/cache/lease-cache.js';
import { leaseKey } from '../src/cache/lease-key.js';
import { hashToken } from '../src/cache/token-hash.js';
import type { ListenerConfig } from '../src/config/types.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/extproc/envoy-types.js';
import { externalProcessorService } from '../src/extproc/protos.js';
import { initialState, step, type StreamContext } from '../src/extproc/stream.js';

const LISTENER: ListenerConfig = { type: 'tcp', address: '127.0.0.1:8200', requireRequestHeader: false, enableQuit: false, role: 'default' };
const AUTO = 'hvs.CAESIauto-auth-token-of-the-service-xxxxxxxxxxxxxxxxxxxx';
const method = externalProcessorService()['Process']!;
const encodeRequest = method.requestSerialize as (m: unknown) => Buffer;
const decodeRequest = method.requestDeserialize as (b: Buffer) => ProcessingRequest;
const encodeReply = method.responseSerialize as (m: ProcessingResponse) => Buffer;

const header = (key: string, value: string): { key: string; raw_value: Buffer } => ({ key, raw_value: Buffer.from(value) });
/** The request headers Envoy sends for a client request (autocannon-like). */
function headersMessage(m: string, path: string, extra: Array<[string, string]>, endOfStream: boolean): Buffer {
  return encodeRequest({
    request_headers: {
      headers: {
        headers: [
          header(':authority', '127.0.0.1:8200'), header(':path', path), header(':method', m), header(':scheme', 'http'),
          ...extra.map(([k, v]) => header(k, v)),
          header('x-forwarded-proto', 'http'), header('x-request-id', '9a3a1f8e-6a8b-4c43-9d0c-6f3f0b5f9e11'),
        ],
      },
      end_of_stream: endOfStream,
    },
  });
}

const loginBody = Buffer.from(JSON.stringify({ role_id: '1c7d5a3e-6a2b-4bde-9e0a-2b51f2a4c3d1', secret_id: '5f0b3c2e-8d7a-4e1f-b6c9-0a2d4e6f8a1b' }));
const loginAnswer = Buffer.from(JSON.stringify({
  request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data: null, wrap_info: null, warnings: null,
  auth: { client_token: 'hvs.CAESIclient', accessor: 'acc', policies: ['bench', 'default'], token_policies: ['bench', 'default'], metadata: { role_name: 'bench-client' }, lease_duration: 2764800, renewable: true, entity_id: 'e', token_type: 'service', orphan: true, mfa_requirement: null, num_uses: 0 },
}));

const lease = new LeaseCache();
const key = leaseKey({ method: 'POST', rel: 'auth/approle/login', query: [], body: loginBody, contentType: 'application/json', namespace: '', tokenHash: hashToken(AUTO) })!;
lease.record({
  key, kind: 'token', requestPath: 'auth/approle/login', namespace: '', ownerHash: undefined, tokenHash: hashToken('hvs.CAESIclient'), accessor: 'acc',
  response: { status: 200, headers: [['content-type', 'application/json'], ['cache-control', 'no-store']], body: loginAnswer, storedAtMs: Date.now() },
});
const ctx: StreamContext = {
  useAutoAuthToken: true, autoAuthToken: () => AUTO,
  leaseCache: { cache: lease, inflight: new Inflight(), managed: () => true, namespaces: () => false, cacheLogins: true },
};

const leaseHeaders = headersMessage('POST', '/v1/auth/approle/login', [['content-type', 'application/json'], ['content-length', String(loginBody.length)], ['user-agent', 'autocannon']], false);
const leaseBodyMsg = encodeRequest({ request_body: { body: loginBody, end_of_stream: true } });

let sink = 0;
function leaseHit(): void {
  const a = step(initialState(LISTENER), decodeRequest(leaseHeaders), ctx);
  if (a.kind !== 'reply') throw new Error('headers: no reply');
  sink += encodeReply(a.reply).length;
  const b = step(a.state, decodeRequest(leaseBodyMsg), ctx);
  if (b.kind !== 'reply' || !('immediate_response' in b.reply)) throw new Error('body: not a hit');
  sink += encodeReply(b.reply).length;
}

function cpuMicros(fn: () => void, n: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

const N = Number(process.env['MICRO_N'] ?? 20_000);
for (let i = 0; i < 5_000; i++) leaseHit(); // warm up (JIT)
const runs = Array.from({ length: 5 }, () => cpuMicros(leaseHit, N)).sort((x, y) => x - y);
process.stdout.write(`lease hit (2 messages: decode, step, encode each): ${runs[2]!.toFixed(1)} µs CPU per hit (runs ${runs.map((r) => r.toFixed(1)).join(', ')}) [${sink > 0 ? 'ok' : ''}]\n`);
