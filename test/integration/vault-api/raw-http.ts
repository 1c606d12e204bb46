// One HTTP/1.1 request written byte for byte: the method, request target and headers go out
// exactly as given (fetch would normalise `..`, upper-case methods and merge repeated headers).
import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header lines in order, names lower-cased. */
  readonly headerList: readonly (readonly [string, string])[];
  /** The first value of a header, by lower-case name. */
  header(name: string): string | undefined;
  readonly body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** Decodes a chunked body. */
function unchunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const end = data.indexOf('\r\n', pos);
    if (end < 0) break;
    const size = Number.parseInt(data.subarray(pos, end).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(end + 2, end + 2 + size));
    pos = end + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
 * `baseUrl` is http://host:port; `target` is the request target as sent, e.g. `/v1//x?help=1`.
 */
export async function rawRequest(
  baseUrl: string,
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[] = [],
  body?: string,
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const request = `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
  const data = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), hostname.replace(/^\[|\]$/g, ''), () => socket.write(request));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`incomplete answer to ${method} ${target}: ${JSON.stringify(data.toString('latin1'))}`);
  const [statusLine, ...headerLines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headerList = headerLines.map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()] as const;
  });
  const header = (name: string): string | undefined => headerList.find(([n]) => n === name)?.[1];
  let rawBody = data.subarray(headEnd + 4);
  if ((header('transfer-encoding') ?? '').includes('chunked')) rawBody = unchunk(rawBody);
  const text = rawBody.toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headerList, header, body: text, json };
}
