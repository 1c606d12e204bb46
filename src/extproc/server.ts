import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { chmodSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { unixSocketPath } from '../config/build.js';
import type { ExtprocConfig, ListenerConfig } from '../config/types.js';
import { BUFFER_LIMIT_BYTES } from '../envoy/bootstrap.js';
import { AppError, errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { ProcessingRequest, ProcessingResponse } from './envoy-types.js';
import { externalProcessorService } from './protos.js';
import { StreamProcessor } from './stream-processor.js';
import type { StreamContext, StreamEffect, StreamState } from './stream-types.js';

/** gRPC metadata Envoy sends on each ext_proc stream (grpc_service.initial_metadata) to name its listener. */
export const LISTENER_METADATA_KEY = 'x-vault-extproc-listener';
export const EXT_PROC_SERVICE_NAME = 'envoy.service.ext_proc.v3.ExternalProcessor';

export interface ExtprocServerOptions {
  listeners: ListenerConfig[];
  context: StreamContext;
  onEffect(effect: StreamEffect): void;
  /** Every stream's end: how it was answered and how long it lived. */
  onStreamEnd?(state: StreamState, seconds: number): void;
  log: Logger;
}

export interface ExtprocServer {
  readonly port: number;
  /** Streams in flight (HTTP requests Envoy is processing with us). */
  readonly activeStreams: number;
  setServing(serving: boolean): void;
  /** Stops accepting streams, lets in-flight ones finish until the deadline, then forces. */
  shutdown(deadlineMs: number): Promise<void>;
}

export async function startExtprocServer(channel: ExtprocConfig, opts: ExtprocServerOptions): Promise<ExtprocServer> {
  const address = channel.address;
  const log = opts.log.child({ component: 'extproc' });
  // The largest message is a body Envoy buffered whole (BUFFER_LIMIT_BYTES, 32 MiB, a watermark
  // Envoy may pass by what arrived in one read) plus the framing, or our answer replacing one. Below
  // that (it was 8 MiB), a cache-clear, revocation or keyed body of 8–32 MiB was refused by the
  // channel and Envoy answered the client 500. A limit, not an allocation.
  const maxMessageBytes = 2 * BUFFER_LIMIT_BYTES;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  const health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  let active = 0;

  server.addService(externalProcessorService(), {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      active++;
      const listenerIndex = Number(call.metadata.get(LISTENER_METADATA_KEY)[0] ?? 0);
      const listener = opts.listeners[listenerIndex] ?? opts.listeners[0]!;
      const stream = new StreamProcessor(listener, {
        context: opts.context, onEffect: opts.onEffect, log,
        onEnd: (state, seconds) => {
          active--;
          opts.onStreamEnd?.(state, seconds);
        },
      }, (reply) => call.write(reply), () => call.end());
      call.on('data', (msg: ProcessingRequest) => stream.message(msg));
      call.on('end', () => stream.halfClosed());
      call.on('error', (err: grpc.ServiceError) => {
        // Envoy resets the side stream when it is done with it: CANCELLED is the normal ending.
        if (err.code !== grpc.status.CANCELLED) log.warn({ code: err.code, err: err.message }, 'ext_proc stream error');
        stream.finish();
      });
      call.on('cancelled', () => stream.finish());
      call.on('close', () => stream.finish());
    },
  });

  const port = await bindChannel(server, channel);
  log.info({ address, port, channel: unixSocketPath(address) !== undefined ? 'unix' : channel.tls ? 'mtls' : 'plain-tcp' }, 'ext_proc server listening');

  return {
    port,
    get activeStreams() {
      return active;
    },
    setServing(serving) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(EXT_PROC_SERVICE_NAME, status);
    },
    async shutdown(deadlineMs) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(EXT_PROC_SERVICE_NAME, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, deadlineMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/**
 * Binds the ext_proc server so that only Envoy can open streams: a unix socket with the configured
 * file mode (its directory created owner-only when missing, a stale socket from a crashed run
 * removed), or TCP with mutual TLS (a client certificate signed by tls_client_ca_file), or plain
 * TCP when the operator wrote tls_disable = true.
 */
async function bindChannel(server: grpc.Server, channel: ExtprocConfig): Promise<number> {
  const socketPath = unixSocketPath(channel.address);
  if (socketPath !== undefined) {
    prepareSocketPath(socketPath, channel.socketMode);
    await removeStaleSocket(socketPath);
    // No moment with a looser mode: the socket is created under this umask, then set exactly.
    const previous = process.umask(0o777 & ~channel.socketMode);
    try {
      const port = await bind(server, `unix:${socketPath}`, grpc.ServerCredentials.createInsecure());
      chmodSync(socketPath, channel.socketMode);
      return port;
    } finally {
      process.umask(previous);
    }
  }
  let credentials = grpc.ServerCredentials.createInsecure();
  if (channel.tls) {
    const t = channel.tls;
    credentials = grpc.ServerCredentials.createSsl(readTlsFile(t.clientCaFile, 'tls_client_ca_file'), [{
      cert_chain: readTlsFile(t.certFile, 'tls_cert_file'),
      private_key: readTlsFile(t.keyFile, 'tls_key_file'),
    }], true);
  } else if (!channel.tlsDisable) {
    throw new AppError('CONFIG_INVALID', `extproc address ${channel.address} is TCP without mutual TLS: configure tls_cert_file, tls_key_file and tls_client_ca_file, or write tls_disable = true`);
  }
  return bind(server, channel.address, credentials);
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, p) => (err ? reject(new AppError('LISTEN_FAILED', `cannot listen on ${address}: ${err.message}`, { cause: err })) : resolve(p)));
  });
}

function readTlsFile(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `extproc > ${key}: cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Creates the socket's directory when missing: owner only (group may enter for a 0660 socket). */
function prepareSocketPath(socketPath: string, socketMode: number): void {
  const dir = dirname(socketPath);
  try {
    mkdirSync(dir, { recursive: true, mode: socketMode & 0o060 ? 0o750 : 0o700 });
  } catch (err) {
    throw new AppError('LISTEN_FAILED', `cannot create the ext_proc socket directory ${dir}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * A socket file left by a process that is gone is removed; one that answers belongs to a running
 * server (refused), and a path that is not a socket is never deleted.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new AppError('LISTEN_FAILED', `cannot listen on ${socketPath}: it exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new AppError('LISTEN_FAILED', `cannot listen on ${socketPath}: another server is listening on it`);
  unlinkSync(socketPath);
}
