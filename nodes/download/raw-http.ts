import net from 'node:net';
import { ChunkedDecoder } from './chunked';
import { HeadError, HeadUnsupported, parseHead, type ResponseHead } from './http-head';

/** This response is for node:http (a redirect, say); no body byte was consumed or written. */
export class RawFallback extends Error {
  override name = 'RawFallback';
}

/** The connection ended before the framing said the body was complete. */
export class BodyEndedEarly extends Error {
  override name = 'BodyEndedEarly';
}

/** Process-wide counters, for tests and diagnostics: which path the downloads actually took. */
export const rawStats = { requests: 0, fallbacks: 0 };

/** Reuses the multi-MB read buffers across the pieces of one transfer instead of reallocating them. */
export class BufferPool {
  private free: Buffer[] = [];
  constructor(private readonly keep = 8) {}
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length === size);
    return i >= 0 ? this.free.splice(i, 1)[0] : Buffer.allocUnsafe(size);
  }
  give(b: Buffer): void {
    if (this.free.length < this.keep) this.free.push(b);
  }
}

export interface RawGetArgs {
  url: URL;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** size of each of the two read buffers (clamped to 256 KB..8 MB) */
  bufferBytes: number;
  pool: BufferPool;
  /** inspects the head; throw to refuse the response (the connection is dropped) */
  onHead(head: ResponseHead): void;
  /** accounts for `n` body bytes as they arrive, before they are queued; throw to abort */
  onBody(n: number): void;
  /** persists body bytes, in order, one call at a time; `parts` view a reused buffer and are only valid until it settles */
  write(parts: Uint8Array[], len: number): Promise<void>;
}

// A read is never offered less than this; a buffer with less room left is handed to the writer.
const MIN_READ = 64 << 10;

/**
 * GET over plain http:// on a fresh connection, reading with `onread` straight into two reused
 * buffers. node:http allocates a new 64 KB Buffer per socket read, and on a 200 MB download the
 * GC that external memory drives (full collections every 50-100 ms) cost about as much CPU as
 * the sha256; here the kernel writes into our buffers and the body bytes reach `write` (disk +
 * hash) as views of them, never copied. While one buffer is being written the socket reads into
 * the other; when both are busy the socket is paused, which is also TCP backpressure.
 *
 * Resolves once the whole body arrived and every write finished. On failure it still writes the
 * bytes that did arrive (they are the resume point), then rejects: a write error first, else the
 * network error (an abort of `signal` rejects with its reason).
 */
export function rawGet(a: RawGetArgs): Promise<void> {
  const request = requestText(a.url, a.headers);
  rawStats.requests++;
  const size = Math.min(8 << 20, Math.max(256 << 10, a.bufferBytes));
  const ring = [a.pool.take(size), a.pool.take(size)];
  const busy = [false, false];
  let cur = 0;
  let fill = 0; // where the next read lands in ring[cur]
  let parts: Uint8Array[] = [];
  let partsLen = 0;
  let head: ResponseHead | null = null;
  let remaining = 0;
  const chunked = new ChunkedDecoder();
  let netDone = false;
  let paused = false;
  let failure: unknown = null;
  let writeError: unknown = null;
  let pendingWrites = 0;
  let writes = Promise.resolve();
  let settle!: () => void;
  const result = new Promise<void>((resolve, reject) => {
    settle = () => {
      if (!netDone || pendingWrites > 0) return;
      settle = () => {};
      a.signal.removeEventListener('abort', onAbort);
      for (const b of ring) a.pool.give(b);
      if (failure instanceof RawFallback) rawStats.fallbacks++;
      if (writeError !== null || failure !== null) reject(writeError ?? failure);
      else resolve();
    };
  });

  const take = (at: number, len: number) => {
    a.onBody(len);
    parts.push(ring[cur].subarray(at, at + len));
    partsLen += len;
  };

  const submit = () => {
    if (partsLen === 0) return;
    const idx = cur;
    const batch = parts;
    const len = partsLen;
    parts = [];
    partsLen = 0;
    busy[idx] = true;
    pendingWrites++;
    writes = writes
      .then(() => (writeError === null ? a.write(batch, len) : undefined))
      .catch((err) => {
        writeError ??= err;
        end(err); // nothing more can be kept: stop reading
      })
      .finally(() => {
        busy[idx] = false;
        pendingWrites--;
        if (paused && idx === cur && !netDone) {
          paused = false;
          sock.resume();
        }
        settle();
      });
  };

  // Ends the connection; with `err`, the response failed. Queued and current bytes are still written.
  const end = (err?: unknown) => {
    if (netDone) return;
    netDone = true;
    if (err !== undefined) failure = err;
    sock.destroy();
    submit();
    settle();
  };

  /** Feeds body bytes [from, to) of ring[cur] through the framing; true once the body is complete. */
  const body = (from: number, to: number): boolean => {
    const f = (head as ResponseHead).framing;
    if (f.kind === 'close') {
      if (to > from) take(from, to - from);
      return false;
    }
    if (f.kind === 'length') {
      const n = Math.min(remaining, to - from);
      if (n > 0) take(from, n);
      remaining -= n;
      if (from + n < to) throw new HeadError('origin sent bytes beyond the Content-Length');
      return remaining === 0;
    }
    const stop = chunked.push(ring[cur], from, to, take);
    if (stop < to) throw new HeadError('origin sent bytes after the chunked body');
    return chunked.done;
  };

  const onRead = (n: number): boolean => {
    if (netDone) return false;
    try {
      const from = fill;
      fill += n;
      let complete: boolean;
      if (head === null) {
        head = parseHead(ring[cur], 0, fill);
        if (head === null) return true; // head incomplete: read more into the same buffer
        if (head.status >= 300 && head.status < 400 && head.status !== 304) throw new RawFallback(`HTTP ${head.status}`); // node:http follows it
        a.onHead(head);
        if (head.framing.kind === 'length') remaining = head.framing.length;
        complete = body(head.headBytes, fill);
      } else complete = body(from, fill);
      if (complete) {
        end();
        return false;
      }
      if (ring[cur].length - fill >= MIN_READ) return true;
      submit();
      cur ^= 1;
      fill = 0;
      // Both buffers busy: pause until the older write (the one in ring[cur], writes are FIFO) ends.
      paused = busy[cur];
      return !paused;
    } catch (err) {
      // Only the head can be unsupported, so no body byte has been taken yet: node:http may redo it.
      end(err instanceof HeadUnsupported ? new RawFallback(err.message) : err);
      return false;
    }
  };

  const [host, port] = [a.url.hostname.replace(/^\[|\]$/g, ''), Number(a.url.port || 80)];
  // bufGen runs after every read: the next read lands right after the previous one in the same buffer.
  const sock = net.connect({ host, port, onread: { buffer: () => ring[cur].subarray(fill), callback: onRead } });
  const onAbort = () => end(a.signal.reason ?? new Error('aborted'));
  sock.on('error', (err) => end(err));
  sock.on('end', () => {
    // Without Content-Length or chunking the body is everything until the origin closes.
    if (head?.framing.kind === 'close') end();
    else end(new BodyEndedEarly('connection closed before the body ended'));
  });
  sock.on('close', () => end(new BodyEndedEarly('connection closed before the body ended')));
  sock.write(request);
  if (a.signal.aborted) onAbort();
  else a.signal.addEventListener('abort', onAbort, { once: true });
  return result;
}

/** One request per connection: `Connection: close` keeps framing simple and no idle sockets linger. */
function requestText(url: URL, headers: Record<string, string>): string {
  let text = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\nAccept-Encoding: identity\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    // Refuse what node:http would refuse: a CR or LF here would let a value inject headers.
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || /[\r\n\0]/.test(v)) throw new Error(`invalid request header ${JSON.stringify(k)}`);
    const lower = k.toLowerCase();
    if (lower === 'host' || lower === 'connection' || lower === 'accept-encoding') continue;
    text += `${k}: ${v}\r\n`;
  }
  return `${text}\r\n`;
}
