import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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
  cached = pkg.envoy.service.ext_proc.v3.ExternalProcessor.service;
  return cached;
}
