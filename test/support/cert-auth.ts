// Vault with a TLS listener for the cert auth method, on either backend: the simulator's
// listenTls, or a real dev Vault started with an extra TLS listener (tls_require_and_verify_client_cert
// left false, so a client certificate is requested and handed to the auth method).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend, type BackendKind, isSim } from './backend.js';
import { freePort } from './ports.js';
import type { TestPki } from './tls.js';
import { vaultApi, writePolicy, type VaultTarget } from './vault-setup.js';

export interface CertBackend {
  backend: Backend;
  /** Vault's TLS listener (the test CA's server certificate for 127.0.0.1). */
  tlsUrl: string;
}

export async function startCertBackend(kind: BackendKind, pki: TestPki): Promise<CertBackend> {
  if (isSim(kind)) {
    const backend = await startBackend(kind);
    const { url } = await backend.sim!.listenTls({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
    return { backend, tlsUrl: url };
  }
  const [port, clusterPort] = [await freePort(), await freePort()];
  const file = join(pki.dir, `listener-${port}.hcl`);
  writeFileSync(file, `listener "tcp" {
  address = "127.0.0.1:${port}"
  cluster_address = "127.0.0.1:${clusterPort}"
  tls_cert_file = "${pki.serverCert}"
  tls_key_file = "${pki.serverKey}"
}
`);
  const backend = await startBackend(kind, { realArgs: [`-config=${file}`] });
  return { backend, tlsUrl: `https://127.0.0.1:${port}` };
}

/** Another client certificate: signed by the test CA (`ca`) or by the other CA (`other-ca`), CN = `name`. */
export function makeClientCert(pki: TestPki, name: string, signer: 'ca' | 'other-ca'): { cert: string; key: string } {
  const run = (args: string[]): void => { execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] }); };
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(pki.dir, `${name}.ext`), `subjectAltName=DNS:${name}\nextendedKeyUsage=clientAuth\n`);
  run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  return { cert: join(pki.dir, `${name}.pem`), key: join(pki.dir, `${name}.key`) };
}

/** The cert auth method at auth/cert with role `web` trusting the test CA, giving the `cert-app` policy. */
export async function setupCertAuth(v: VaultTarget, pki: TestPki, opts: { tokenTtl?: string; allowedCommonNames?: string } = {}): Promise<void> {
  await vaultApi(v, 'POST', 'sys/auth/cert', { type: 'cert' });
  await writePolicy(v, 'cert-app', 'path "secret/data/cert-app" { capabilities = ["read"] }');
  await vaultApi(v, 'POST', 'auth/cert/certs/web', {
    certificate: readFileSync(pki.caCert, 'utf8'), token_policies: 'cert-app',
    ...(opts.allowedCommonNames ? { allowed_common_names: opts.allowedCommonNames } : {}),
    ...(opts.tokenTtl ? { token_ttl: opts.tokenTtl, token_max_ttl: '1h' } : {}),
  });
  await vaultApi(v, 'POST', 'secret/data/cert-app', { data: { who: 'cert' } });
}
