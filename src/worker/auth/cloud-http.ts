import { createSign } from 'node:crypto';
import { AppError, errorMessage } from '../../errors.js';

/** How long a call to a metadata server or a cloud API may take. */
const CLOUD_TIMEOUT_MS = 10_000;

export interface CloudReply {
  status: number;
  text: string;
}

/**
 * One HTTP call to a cloud's metadata server or API on behalf of a login. Failures become
 * AUTH_FAILED naming `what` and the URL without its query (queries may carry audiences or ids,
 * never secrets; bodies and tokens are never put in messages).
 */
export async function cloudCall(what: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<CloudReply> {
  const shown = url.split('?')[0];
  let res: Response;
  try {
    res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, redirect: 'manual', signal: AbortSignal.timeout(CLOUD_TIMEOUT_MS) });
  } catch (err) {
    throw new AppError('AUTH_FAILED', `${what}: cannot reach ${shown}: ${errorMessage((err as Error).cause ?? err)}`, { cause: err });
  }
  return { status: res.status, text: await res.text() };
}

/** cloudCall that insists on 200 and parses JSON. */
export async function cloudJson<T>(what: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<T> {
  const reply = await cloudCall(what, url, init);
  if (reply.status !== 200) throw new AppError('AUTH_FAILED', `${what}: ${url.split('?')[0]} answered ${reply.status}${shortError(reply.text)}`);
  try {
    return JSON.parse(reply.text) as T;
  } catch {
    throw new AppError('AUTH_FAILED', `${what}: ${url.split('?')[0]} answered something that is not JSON`);
  }
}

/** The error text of a cloud API's answer, short, for a message (OAuth/Google/Azure error fields only). */
function shortError(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const err = body['error'];
    const desc = body['error_description'];
    if (typeof err === 'object' && err && typeof (err as Record<string, unknown>)['message'] === 'string') return `: ${String((err as Record<string, unknown>)['message']).slice(0, 200)}`;
    if (typeof err === 'string') return `: ${err}${typeof desc === 'string' ? ` (${desc.slice(0, 200)})` : ''}`;
  } catch { /* not JSON */ }
  return '';
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** An RS256 JWT signed with a PEM private key (the service-account key's OAuth assertion). */
export function signRs256(header: Record<string, unknown>, claims: Record<string, unknown>, privateKeyPem: string): string {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header }))}.${b64url(JSON.stringify(claims))}`;
  const signer = createSign('RSA-SHA256');
  signer.update(input);
  return `${input}.${signer.sign(privateKeyPem).toString('base64url')}`;
}
