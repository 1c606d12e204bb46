/**
 * Loopback stand-ins for what a GCP or Azure login calls outside, for tests only:
 *
 * - GCP: the GCE metadata server (instance identity tokens, the default account's OAuth token),
 *   Google's OAuth token endpoint, IAM Credentials' signJwt, and what Vault's gcp plugin reads
 *   through its `custom_endpoint`s: Google's OAuth2 X.509 certificates and each service account's
 *   (api), service accounts (iam), instances (compute).
 * - Azure: the Instance Metadata Service (instance metadata, managed-identity tokens), Microsoft
 *   Entra's token endpoint, and its OpenID discovery document and keys (what Vault's azure plugin
 *   verifies a token with). Vault's azure plugin can only fetch the discovery document from
 *   https://login.microsoftonline.com/, so `proxy` also answers CONNECT for that host with a
 *   certificate from this stand-in's CA: a Vault started with HTTPS_PROXY and SSL_CERT_FILE
 *   reaches this stand-in instead (nothing leaves the machine).
 *
 * Every token is signed with keys made here (RS256); certificates come from openssl, as in tls.ts.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, createSign, createVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  kid: string;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** A self-signed X.509 certificate holding the public key (the form Google publishes). */
  certificate: string;
}

export interface GcpServiceAccount {
  email: string;
  uniqueId: string;
  projectId: string;
  key: KeyPair;
}

export interface GceInstance {
  projectId: string;
  projectNumber: number;
  zone: string;
  name: string;
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The service account the instance runs as ("default" on the metadata server). */
  serviceAccount: string;
  status: string;
}

export interface AzureVm {
  tenantId: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  vmScaleSetName: string;
  /** The managed identity's object (principal) id: the token's `oid`. */
  principalId: string;
  /** Its client (application) id: the token's `appid`. */
  clientId: string;
}

export interface SeenCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface CloudStandIn {
  /** http://127.0.0.1:<port> */
  url: string;
  /** host:port, for GCE_METADATA_HOST. */
  host: string;
  /** A forward proxy (CONNECT) that answers https://login.microsoftonline.com itself. */
  proxyUrl: string;
  /** The CA that signed the proxy's login.microsoftonline.com certificate (for SSL_CERT_FILE). */
  caFile: string;
  dir: string;
  google: KeyPair;
  entra: KeyPair;
  /** A service account of project "proj-1" (the one the instance runs as, and the iam login's). */
  account: GcpServiceAccount;
  /** The service account Vault's gcp plugin itself uses (its Application Default Credentials). */
  vaultAccount: GcpServiceAccount;
  instance: GceInstance;
  vm: AzureVm;
  /** Writes a service-account key file (JSON) with token_uri pointing here. */
  keyFile(account: GcpServiceAccount, name: string): string;
  /** The IAM Credentials API base URL (for CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS). */
  iamCredentialsUrl: string;
  /** What each path was asked, oldest first. */
  calls: SeenCall[];
  callsTo(path: string): SeenCall[];
  /** Make a path answer `status` (with a small JSON error) until cleared with `fail(path)`. */
  fail(path: string, status?: number): void;
  close(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyPair(dir: string, kid: string): KeyPair {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${kid}.key`, '-out', `${kid}.pem`, '-days', '2', '-subj', `/CN=${kid}`], dir);
  return { kid, privateKey: readFileSync(join(dir, `${kid}.key`), 'utf8'), certificate: readFileSync(join(dir, `${kid}.pem`), 'utf8') };
}

export function signJwt(key: KeyPair, claims: Record<string, unknown>): string {
  const input = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: key.kid, typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signer = createSign('RSA-SHA256');
  signer.update(input);
  return `${input}.${signer.sign(key.privateKey).toString('base64url')}`;
}

/** The claims of a JWT whose signature `key` verifies, or undefined. */
export function verifyJwt(jwt: string, certificateOrKey: string): Record<string, unknown> | undefined {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return undefined;
  const v = createVerify('RSA-SHA256');
  v.update(`${h}.${p}`);
  try {
    if (!v.verify(createPublicKey(certificateOrKey), Buffer.from(s, 'base64url'))) return undefined;
    return JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function jwtParts(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** Starts the stand-in on free loopback ports. */
export async function startCloudStandIn(): Promise<CloudStandIn> {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-cloud-'));
  // A CA and a certificate for login.microsoftonline.com (the proxy's TLS answer).
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=cloud-standin-ca'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'entra-tls.key', '-out', 'entra-tls.csr', '-subj', '/CN=login.microsoftonline.com'], dir);
  writeFileSync(join(dir, 'entra-tls.ext'), 'subjectAltName=DNS:login.microsoftonline.com\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'entra-tls.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'entra-tls.pem', '-days', '2', '-extfile', 'entra-tls.ext'], dir);

  const google = keyPair(dir, 'google-oauth2-1');
  const entra = keyPair(dir, 'entra-1');
  const account: GcpServiceAccount = { email: 'app@proj-1.iam.gserviceaccount.com', uniqueId: '100000000000000000001', projectId: 'proj-1', key: keyPair(dir, 'app-key-1') };
  const vaultAccount: GcpServiceAccount = { email: 'vault@proj-1.iam.gserviceaccount.com', uniqueId: '100000000000000000002', projectId: 'proj-1', key: keyPair(dir, 'vault-key-1') };
  const accounts = [account, vaultAccount];
  const instance: GceInstance = {
    projectId: 'proj-1', projectNumber: 123456789012, zone: 'europe-west1-b', name: 'web-1', id: '4000000000000000001',
    createdAt: Math.floor(Date.now() / 1000) - 3600, serviceAccount: account.email, status: 'RUNNING',
  };
  const vm: AzureVm = {
    tenantId: '11111111-2222-3333-4444-555555555555', subscriptionId: 'aaaaaaaa-0000-0000-0000-000000000001',
    resourceGroupName: 'rg-web', name: 'vm-web-1', vmScaleSetName: '',
    principalId: 'bbbbbbbb-0000-0000-0000-000000000002', clientId: 'cccccccc-0000-0000-0000-000000000003',
  };

  const calls: SeenCall[] = [];
  const failing = new Map<string, number>();
  const accessTokens = new Map<string, string>(); // token -> the account email it is for
  let url = '';

  const findAccount = (emailOrId: string): GcpServiceAccount | undefined =>
    emailOrId === 'default' ? accounts.find((a) => a.email === instance.serviceAccount) : accounts.find((a) => a.email === emailOrId || a.uniqueId === emailOrId);
  const issueAccessToken = (email: string): string => {
    const token = `ya29.standin-${randomBytes(12).toString('hex')}`;
    accessTokens.set(token, email);
    return token;
  };
  const bearer = (req: http.IncomingMessage): string | undefined => {
    const m = /^Bearer (.+)$/.exec(String(req.headers['authorization'] ?? ''));
    return m && accessTokens.has(m[1]!) ? m[1] : undefined;
  };
  const azureIssuer = (tenant: string): string => `https://sts.windows.net/${tenant}/`;
  const azureToken = (resource: string, oid: string, appid: string): string => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(entra, { aud: resource, iss: azureIssuer(vm.tenantId), iat: now, nbf: now - 5, exp: now + 3600, oid, sub: oid, appid, tid: vm.tenantId, idtyp: 'app' });
  };

  type Answer = { status: number; json?: unknown; text?: string };
  const route = (req: http.IncomingMessage, u: URL, body: string): Answer => {
    const path = u.pathname;
    const q = Object.fromEntries(u.searchParams);
    const gceFlavor = req.headers['metadata-flavor'] === 'Google';
    let m: RegExpExecArray | null;

    // --- GCE metadata server ---
    if ((m = /^\/computeMetadata\/v1\/instance\/service-accounts\/([^/]+)\/identity$/.exec(path))) {
      if (!gceFlavor) return { status: 403, text: 'Missing Metadata-Flavor:Google header.' };
      const sa = findAccount(decodeURIComponent(m[1]!));
      if (!sa || sa.email !== instance.serviceAccount) return { status: 404, text: 'not found' };
      if (!q['audience']) return { status: 400, text: 'non-empty audience parameter required' };
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        aud: q['audience'], azp: sa.uniqueId, email: sa.email, email_verified: true, exp: now + 3600, iat: now,
        iss: 'https://accounts.google.com', sub: sa.uniqueId,
      };
      if (q['format'] === 'full') {
        claims['google'] = { compute_engine: {
          instance_creation_timestamp: instance.createdAt, instance_id: instance.id, instance_name: instance.name,
          project_id: instance.projectId, project_number: instance.projectNumber, zone: instance.zone,
        } };
      }
      return { status: 200, text: signJwt(google, claims) };
    }
    if ((m = /^\/computeMetadata\/v1\/instance\/service-accounts\/([^/]+)\/token$/.exec(path))) {
      if (!gceFlavor) return { status: 403, text: 'Missing Metadata-Flavor:Google header.' };
      const sa = findAccount(decodeURIComponent(m[1]!));
      if (!sa) return { status: 404, text: 'not found' };
      return { status: 200, json: { access_token: issueAccessToken(sa.email), expires_in: 3599, token_type: 'Bearer' } };
    }
    // --- Google OAuth token endpoint (token_uri of the key files made here) ---
    if (path === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { status: 400, json: { error: 'unsupported_grant_type' } };
      const assertion = form.get('assertion') ?? '';
      const { claims } = jwtParts(assertion);
      const sa = findAccount(String(claims['iss'] ?? ''));
      if (!sa || !verifyJwt(assertion, sa.key.certificate) || claims['aud'] !== `${url}/token`) return { status: 400, json: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
      return { status: 200, json: { access_token: issueAccessToken(sa.email), expires_in: 3599, token_type: 'Bearer' } };
    }
    // --- IAM Credentials signJwt ---
    if ((m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):signJwt$/.exec(path)) && req.method === 'POST') {
      const caller = bearer(req);
      if (!caller) return { status: 401, json: { error: { code: 401, message: 'Request had invalid authentication credentials.' } } };
      const sa = findAccount(decodeURIComponent(m[1]!));
      if (!sa) return { status: 404, json: { error: { code: 404, message: 'Not found; Gaia id not found for email' } } };
      // A caller may sign as itself (or hold Token Creator on the account: every account here does).
      const payload = (JSON.parse(body || '{}') as { payload?: string }).payload;
      if (!payload) return { status: 400, json: { error: { code: 400, message: 'payload is required' } } };
      return { status: 200, json: { keyId: sa.key.kid, signedJwt: signJwt(sa.key, JSON.parse(payload) as Record<string, unknown>) } };
    }
    // --- what Vault's gcp plugin reads (custom_endpoint api, iam, compute) ---
    if (path === '/oauth2/v1/certs') return { status: 200, json: { [google.kid]: google.certificate } };
    if ((m = /^\/service_accounts\/v1\/metadata\/x509\/([^/]+)$/.exec(path))) {
      const sa = findAccount(decodeURIComponent(m[1]!));
      if (!sa) return { status: 404, json: { error: { code: 404, message: 'Not found' } } };
      return { status: 200, json: { [sa.key.kid]: sa.key.certificate } };
    }
    if ((m = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+)$/.exec(path)) && req.method === 'GET') {
      if (!bearer(req)) return { status: 401, json: { error: { code: 401, message: 'Request had invalid authentication credentials.' } } };
      const sa = findAccount(decodeURIComponent(m[2]!));
      if (!sa) return { status: 404, json: { error: { code: 404, message: `Unknown service account` } } };
      return { status: 200, json: { name: `projects/${sa.projectId}/serviceAccounts/${sa.email}`, projectId: sa.projectId, uniqueId: sa.uniqueId, email: sa.email } };
    }
    if ((m = /\/projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      if (!bearer(req)) return { status: 401, json: { error: { code: 401, message: 'Request had invalid authentication credentials.' } } };
      if (m[1] !== instance.projectId || m[2] !== instance.zone || m[3] !== instance.name) return { status: 404, json: { error: { code: 404, message: 'The resource was not found' } } };
      return { status: 200, json: {
        kind: 'compute#instance', id: instance.id, name: instance.name, status: instance.status, labels: {},
        creationTimestamp: new Date(instance.createdAt * 1000).toISOString(),
        zone: `https://www.googleapis.com/compute/v1/projects/${instance.projectId}/zones/${instance.zone}`,
        selfLink: `https://www.googleapis.com/compute/v1/projects/${instance.projectId}/zones/${instance.zone}/instances/${instance.name}`,
        serviceAccounts: [{ email: instance.serviceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
      } };
    }
    // --- Azure IMDS ---
    if (path === '/metadata/instance' || path === '/metadata/identity/oauth2/token') {
      if (req.headers['metadata'] !== 'true') return { status: 400, json: { error: 'Bad request. Required metadata header not specified' } };
      if (!q['api-version']) return { status: 400, json: { error: 'Bad request. api-version was not specified' } };
      if (path === '/metadata/instance') {
        return { status: 200, json: { compute: {
          name: vm.name, resourceGroupName: vm.resourceGroupName, subscriptionId: vm.subscriptionId, vmScaleSetName: vm.vmScaleSetName,
          location: 'westeurope', resourceId: `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroupName}/providers/Microsoft.Compute/virtualMachines/${vm.name}`,
        }, network: { interface: [] } } };
      }
      if (!q['resource']) return { status: 400, json: { error: 'invalid_request', error_description: 'Required audience parameter not specified' } };
      if ((q['client_id'] && q['client_id'] !== vm.clientId) || (q['object_id'] && q['object_id'] !== vm.principalId)) {
        return { status: 400, json: { error: 'invalid_request', error_description: 'Identity not found' } };
      }
      return { status: 200, json: {
        access_token: azureToken(q['resource']!, vm.principalId, vm.clientId), expires_in: '3599', resource: q['resource'], token_type: 'Bearer',
      } };
    }
    // --- Microsoft Entra: token endpoint, discovery, keys ---
    if ((m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path)) && req.method === 'POST') {
      const form = new URLSearchParams(body);
      if (m[1] !== vm.tenantId || form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== vm.clientId) {
        return { status: 400, json: { error: 'invalid_client', error_description: 'AADSTS700016: application not found' } };
      }
      const ok = form.get('client_secret') === 'standin-secret'
        || (form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' && (form.get('client_assertion') ?? '').split('.').length === 3);
      if (!ok) return { status: 401, json: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } };
      const scope = form.get('scope') ?? '';
      return { status: 200, json: { token_type: 'Bearer', expires_in: 3599, access_token: azureToken(scope.replace(/\/\.default$/, ''), vm.principalId, vm.clientId) } };
    }
    if ((m = /^\/([^/]+)\/\.well-known\/openid-configuration$/.exec(path))) {
      if (m[1] !== vm.tenantId) return { status: 400, json: { error: 'invalid_tenant' } };
      return { status: 200, json: {
        issuer: azureIssuer(vm.tenantId), jwks_uri: `${url}/${vm.tenantId}/discovery/keys`,
        token_endpoint: `${url}/${vm.tenantId}/oauth2/token`, id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token'], subject_types_supported: ['pairwise'],
      } };
    }
    if ((m = /^\/([^/]+)\/discovery\/keys$/.exec(path))) {
      const jwk = createPublicKey(entra.certificate).export({ format: 'jwk' }) as { n: string; e: string };
      return { status: 200, json: { keys: [{ kty: 'RSA', use: 'sig', kid: entra.kid, n: jwk.n, e: jwk.e, alg: 'RS256' }] } };
    }
    return { status: 404, json: { error: `no such stand-in path ${path}` } };
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://standin');
      const body = Buffer.concat(chunks).toString('utf8');
      calls.push({ method: req.method ?? 'GET', path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, body });
      const failed = [...failing.entries()].find(([p]) => u.pathname === p || u.pathname.endsWith(p));
      const a: Answer = failed ? { status: failed[1], json: { error: 'failure injected by the test' } } : route(req, u, body);
      const text = a.text ?? JSON.stringify(a.json);
      res.writeHead(a.status, { 'content-type': a.text !== undefined ? 'application/text' : 'application/json', 'metadata-flavor': 'Google' });
      res.end(text);
    });
  };

  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => { sockets.add(s); s.on('close', () => sockets.delete(s)); };
  const server = http.createServer(handler);
  server.on('connection', track);
  // The proxy: CONNECT login.microsoftonline.com:443 is answered by a TLS server with the same routes.
  const tlsServer = https.createServer({ cert: readFileSync(join(dir, 'entra-tls.pem')), key: readFileSync(join(dir, 'entra-tls.key')) }, handler);
  const proxy = http.createServer((_req, res) => { res.writeHead(405); res.end(); });
  proxy.on('connection', track);
  proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    if (req.url !== 'login.microsoftonline.com:443') {
      calls.push({ method: 'CONNECT', path: req.url ?? '', query: {}, headers: req.headers, body: '' });
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    tlsServer.emit('connection', socket);
  });
  const listen = (s: http.Server): Promise<number> => new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port));
  });
  const port = await listen(server);
  const proxyPort = await listen(proxy);
  url = `http://127.0.0.1:${port}`;

  return {
    url, host: `127.0.0.1:${port}`, proxyUrl: `http://127.0.0.1:${proxyPort}`, caFile: join(dir, 'ca.pem'), dir,
    google, entra, account, vaultAccount, instance, vm,
    iamCredentialsUrl: `${url}/`,
    keyFile(sa, name) {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify({
        type: 'service_account', project_id: sa.projectId, private_key_id: sa.key.kid, private_key: sa.key.privateKey,
        client_email: sa.email, client_id: sa.uniqueId, token_uri: `${url}/token`,
      }), { mode: 0o600 });
      return path;
    },
    calls,
    callsTo: (p) => calls.filter((c) => c.path === p),
    fail(p, status) {
      if (status === undefined) failing.delete(p);
      else failing.set(p, status);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([server, proxy].map((s) => new Promise<void>((r) => s.close(() => r()))));
      tlsServer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
