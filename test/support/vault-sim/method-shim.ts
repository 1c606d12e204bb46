// Node's HTTP parser refuses request methods it does not know, and Vault's `LIST` is one of them.
// This shim sits between each TCP socket and node:http. It follows HTTP/1.1 message framing just
// enough to find every request line, rewrites unknown methods to GET, and queues the original
// method per connection so the request handler can put it back.
import http from 'node:http';
import type net from 'node:net';
import { Duplex } from 'node:stream';

const KNOWN_METHODS = new Set(http.METHODS);
const MAX_HEAD_BYTES = 64 * 1024;
const ORIGINAL_METHODS = Symbol('vault-sim original methods');

type Mode =
  | { kind: 'head' }
  | { kind: 'body'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'trailer' }
  | { kind: 'raw' };

/** Rewrites request heads in a byte stream; everything else passes through unchanged. */
class HeadRewriter {
  private mode: Mode = { kind: 'head' };
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onMethod: (original: string) => void) {}

  transform(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let input: Buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (input.length > 0) {
      const consumed = this.step(input, out);
      if (consumed < 0) {
        this.pending = input;
        break;
      }
      input = input.subarray(consumed);
    }
    return Buffer.concat(out);
  }

  /** Handles the start of `input`; returns bytes consumed, or -1 when more bytes are needed. */
  private step(input: Buffer, out: Buffer[]): number {
    const mode = this.mode;
    switch (mode.kind) {
      case 'raw':
        out.push(input);
        return input.length;
      case 'body':
      case 'chunk-data': {
        const n = Math.min(mode.remaining, input.length);
        out.push(input.subarray(0, n));
        mode.remaining -= n;
        if (mode.remaining === 0) this.mode = mode.kind === 'body' ? { kind: 'head' } : { kind: 'chunk-size' };
        return n;
      }
      case 'chunk-size': {
        const end = input.indexOf('\r\n');
        if (end < 0) return this.needMore(input, out);
        const line = input.subarray(0, end).toString('latin1');
        const size = Number.parseInt(line.split(';')[0]?.trim() ?? '', 16);
        out.push(input.subarray(0, end + 2));
        if (!Number.isFinite(size)) this.mode = { kind: 'raw' };
        else this.mode = size === 0 ? { kind: 'trailer' } : { kind: 'chunk-data', remaining: size + 2 };
        return end + 2;
      }
      case 'trailer': {
        const end = input.indexOf('\r\n');
        if (end < 0) return this.needMore(input, out);
        out.push(input.subarray(0, end + 2));
        if (end === 0) this.mode = { kind: 'head' };
        return end + 2;
      }
      case 'head': {
        if (input[0] === 0x0d || input[0] === 0x0a) {
          out.push(input.subarray(0, 1)); // stray CRLF between requests
          return 1;
        }
        const end = input.indexOf('\r\n\r\n');
        if (end < 0) return this.needMore(input, out);
        out.push(this.rewriteHead(input.subarray(0, end + 4).toString('latin1')));
        return end + 4;
      }
    }
  }

  private needMore(input: Buffer, out: Buffer[]): number {
    if (input.length <= MAX_HEAD_BYTES) return -1;
    this.mode = { kind: 'raw' };
    out.push(input);
    return input.length;
  }

  private rewriteHead(head: string): Buffer {
    const space = head.indexOf(' ');
    const method = space > 0 ? head.slice(0, space) : '';
    this.onMethod(method);
    const lines = head.split('\r\n').map((l) => l.toLowerCase());
    const header = (name: string): string | undefined =>
      lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
    if ((header('connection') ?? '').includes('upgrade') || method === 'CONNECT') this.mode = { kind: 'raw' };
    else if ((header('transfer-encoding') ?? '').includes('chunked')) this.mode = { kind: 'chunk-size' };
    else {
      const length = Number(header('content-length') ?? '0');
      this.mode = Number.isInteger(length) && length > 0 ? { kind: 'body', remaining: length } : { kind: 'head' };
    }
    let rewritten = method !== '' && !KNOWN_METHODS.has(method) ? `GET${head.slice(space)}` : head;
    // Go accepts raw non-ASCII bytes in the request target, node's parser does not: send them on
    // percent-encoded, which decodes to the same path.
    const lineEnd = rewritten.indexOf('\r\n');
    const line = rewritten.slice(0, lineEnd);
    if (/[\x80-\xff]/.test(line)) {
      const encoded = line.replace(/[\x80-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
      rewritten = encoded + rewritten.slice(lineEnd);
    }
    return Buffer.from(rewritten, 'latin1');
  }
}

/** Hands a TCP (or TLS) socket to `server` through the shim; returns what node:http sees as the socket. */
export function attachConnection(server: http.Server, socket: net.Socket): Duplex {
  const methods: string[] = [];
  const rewriter = new HeadRewriter((m) => methods.push(m));
  const wrapper = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  Object.assign(wrapper, {
    [ORIGINAL_METHODS]: methods,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    setTimeout: (ms: number, cb?: () => void) => {
      socket.setTimeout(ms, cb);
      return wrapper;
    },
    setNoDelay: (noDelay?: boolean) => {
      socket.setNoDelay(noDelay);
      return wrapper;
    },
    setKeepAlive: (enable?: boolean, delay?: number) => {
      socket.setKeepAlive(enable, delay);
      return wrapper;
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const out = rewriter.transform(chunk);
    if (out.length > 0 && !wrapper.push(out)) socket.pause();
  });
  socket.on('timeout', () => wrapper.emit('timeout'));
  socket.on('end', () => wrapper.push(null));
  socket.on('error', (err) => wrapper.destroy(err));
  socket.on('close', () => wrapper.destroy());
  server.emit('connection', wrapper);
  return wrapper;
}

/** The method the client really sent for `req` (e.g. LIST), in arrival order per connection. */
export function originalMethod(req: http.IncomingMessage): string {
  const queue = (req.socket as unknown as { [ORIGINAL_METHODS]?: string[] })[ORIGINAL_METHODS];
  return queue?.shift() ?? req.method ?? 'GET';
}
