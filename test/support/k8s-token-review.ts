// A stand-in for the Kubernetes API server's TokenReview endpoint, served over TLS with the test
// PKI: Vault's kubernetes auth plugin (its `kubernetes_host`) posts the service-account JWT it
// is given to POST /apis/authentication.k8s.io/v1/tokenreviews, authenticated with the
// `token_reviewer_jwt`, and trusts the answer. Service-account JWTs are minted here (projected
// token claims, RS256) and known to the stand-in until deleted, as a cluster knows its tokens.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { makeSigningKey, nowSeconds, signJwt, type SigningKey } from './jwt-keys.js';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
/** The audience the kubelet gives projected tokens by default. */
export const DEFAULT_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export interface ServiceAccount {
  namespace: string;
  name: string;
  uid: string;
}

export interface TokenReviewCall {
  /** The bearer token the caller authenticated with. */
  bearer: string;
  /** The JWT under review. */
  token: string;
  audiences: string[];
}

export interface K8sApi {
  /** https://127.0.0.1:<port>, for `kubernetes_host`. */
  readonly url: string;
  /** The JWT Vault must authenticate its reviews with (`token_reviewer_jwt`). */
  readonly reviewerJwt: string;
  /** The key service-account JWTs are signed with (its public PEM for `pem_keys`). */
  readonly signingKey: SigningKey;
  /** Every review asked, oldest first. */
  readonly reviews: TokenReviewCall[];
  /** A projected service-account token for `sa`, known to the API until deleted. */
  mintToken(sa: Omit<ServiceAccount, 'uid'> & { uid?: string }, opts?: { audiences?: string[]; ttlSeconds?: number }): string;
  /** The API forgets the token (its service account deleted): reviews say it is not authenticated. */
  deleteToken(token: string): void;
  close(): Promise<void>;
}

interface Known {
  sa: ServiceAccount;
  audiences: string[];
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export async function startK8sTokenReview(tls: { cert: string; key: string }): Promise<K8sApi> {
  const signingKey = makeSigningKey('RS256');
  const known = new Map<string, Known>();
  const reviews: TokenReviewCall[] = [];
  const mint = (sa: Omit<ServiceAccount, 'uid'> & { uid?: string }, opts: { audiences?: string[]; ttlSeconds?: number } = {}): string => {
    const full: ServiceAccount = { ...sa, uid: sa.uid ?? randomUUID() };
    const audiences = opts.audiences ?? [DEFAULT_AUDIENCE];
    const iat = nowSeconds();
    const token = signJwt(signingKey, {
      aud: audiences, exp: iat + (opts.ttlSeconds ?? 3600), iat, nbf: iat, iss: 'https://kubernetes.default.svc.cluster.local',
      'kubernetes.io': { namespace: full.namespace, pod: { name: `${full.name}-pod`, uid: randomUUID() }, serviceaccount: { name: full.name, uid: full.uid } },
      sub: `system:serviceaccount:${full.namespace}:${full.name}`,
    }, { kid: 'test' });
    known.set(token, { sa: full, audiences });
    return token;
  };
  const reviewerJwt = mint({ namespace: 'kube-system', name: 'vault-token-reviewer' });

  const sockets = new Set<Socket>();
  const server = https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (code: number, body: string): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(body);
      };
      if (req.method !== 'POST' || req.url !== TOKEN_REVIEW_PATH) {
        reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
        return;
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      let review: { spec?: { token?: string; audiences?: string[] } };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reply(400, status(400, 'BadRequest', 'the request body is not JSON'));
        return;
      }
      const token = review.spec?.token ?? '';
      const wanted = review.spec?.audiences ?? [];
      reviews.push({ bearer, token, audiences: wanted });
      // The reviewer itself must be a live token (RBAC beyond that is not modelled).
      if (!known.has(bearer)) {
        reply(401, status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const entry = known.get(token);
      const audiences = entry ? (wanted.length === 0 ? entry.audiences : wanted.filter((a) => entry.audiences.includes(a))) : [];
      const authenticated = entry !== undefined && (wanted.length === 0 || audiences.length > 0);
      reply(201, JSON.stringify({
        kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null },
        spec: review.spec ?? {},
        status: authenticated
          ? { authenticated: true, user: { username: `system:serviceaccount:${entry.sa.namespace}:${entry.sa.name}`, uid: entry.sa.uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${entry.sa.namespace}`] }, audiences }
          : { user: {}, error: entry ? 'token audiences do not match' : 'invalid bearer token' },
      }));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    reviewerJwt,
    signingKey,
    reviews,
    mintToken: mint,
    deleteToken: (token) => { known.delete(token); },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
