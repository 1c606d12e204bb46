import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TestPki {
  dir: string;
  caCert: string;
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  /** A server certificate naming only vault.test (no IP): needs tls_server_name. */
  namedCert: string;
  namedKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throwaway CA, server and client certificates made with openssl for the TLS tests. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-pki-'));
  const ca = (name: string): void => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], dir);
  };
  const leaf = (name: string, san: string, usage: string): void => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'IP:127.0.0.1,DNS:localhost', 'serverAuth');
  leaf('named', 'DNS:vault.test', 'serverAuth');
  leaf('client', 'DNS:vault-extproc', 'clientAuth');
  const p = (f: string): string => join(dir, f);
  return {
    dir, caCert: p('ca.pem'), otherCaCert: p('other-ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'),
    namedCert: p('named.pem'), namedKey: p('named.key'), clientCert: p('client.pem'), clientKey: p('client.key'),
  };
}

export interface TlsFront {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The simulator behind TLS: terminates TLS on a free port and pipes bytes to the simulator's
 * plain port, so clients see Vault served over https with the test CA's certificate.
 */
export async function startTlsFront(targetPort: number, opts: { cert: string; key: string; requireClientCertFrom?: string }): Promise<TlsFront> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    cert: readFileSync(opts.cert),
    key: readFileSync(opts.key),
    ...(opts.requireClientCertFrom ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(opts.requireClientCertFrom) } : {}),
  }, (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
