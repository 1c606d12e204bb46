import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import type * as Protobuf from 'protobufjs';
import type { ProcessingMode, ProcessingResponse } from './envoy-types.js';

const require = createRequire(import.meta.url);

/** Envoy's API protos, loaded from @grpc/grpc-js-xds's deps/ (never copied into this repo). */
export function envoyProtoDirs(): string[] {
  const root = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(root, 'deps', d));
}

let cached: grpc.ServiceDefinition | undefined;

/** The ext_proc service definition; loaded once (it takes ~100 ms). */
export function externalProcessorService(): grpc.ServiceDefinition {
  if (cached) return cached;
  const def = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: envoyProtoDirs(),
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } };
  };
  const service = pkg.envoy.service.ext_proc.v3.ExternalProcessor.service;
  service['Process']!.responseSerialize = processingResponseSerializer();
  cached = service;
  return cached;
}

/**
 * The replies' serializer. proto-loader's converts every reply with `fromObject` before encoding
 * it, a copy of the whole message per reply (about 4 % of the service's CPU on a cache hit).
 * protobufjs encodes our plain objects as they are — their fields have the wire types already
 * (Buffers for bytes, numbers for status codes) — except the processing modes, which are enum
 * names here: those alone are turned into numbers. Same bytes as proto-loader's (test/unit/extproc/protos.test.ts).
 */
function processingResponseSerializer(): (reply: ProcessingResponse) => Buffer {
  // The protobufjs proto-loader itself uses (its dependency, not ours): the same encoder, and the
  // well-known types proto-loader registered in it.
  const protobuf = createRequire(require.resolve('@grpc/proto-loader'))('protobufjs') as typeof Protobuf;
  const root = new protobuf.Root();
  const dirs = envoyProtoDirs();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of dirs) {
      try {
        accessSync(join(dir, target), constants.R_OK);
        return join(dir, target);
      } catch {
        // not in this directory
      }
    }
    return target;
  };
  root.loadSync('envoy/service/ext_proc/v3/external_processor.proto', { keepCase: true });
  root.resolveAll();
  const type = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const headerModes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.HeaderSendMode').values;
  const bodyModes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode').values;
  const modeNumber = (values: Record<string, number>, name: string): number => {
    const n = values[name];
    if (n === undefined) throw new Error(`unknown processing mode ${name}`);
    return n;
  };
  const numericModes = (mode: ProcessingMode): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [field, name] of Object.entries(mode)) {
      if (name !== undefined) out[field] = modeNumber(field.endsWith('_body_mode') ? bodyModes : headerModes, name);
    }
    return out;
  };
  return (reply) => {
    const mode = 'mode_override' in reply ? reply.mode_override : undefined;
    const message = mode ? { ...reply, mode_override: numericModes(mode) } : reply;
    return type.encode(message as unknown as Protobuf.Message).finish() as Buffer;
  };
}
