import { ChunkedDecoder } from './chunked';
import { ConnectionClosed, type Conn, type ConnPool, type ReadSink } from './conn-pool';
import { HeadError, HeadUnsupported, parseHead, type ResponseHead } from './http-head';

/** This response is for node:http (a 1xx, a transfer coding other than chunked); no body byte was consumed or written. */
export class RawFallback extends Error {
  override name = 'RawFallback';
}

/** The connection ended before the framing said the body was complete. */
export class BodyEndedEarly extends Error {
  override name = 'BodyEndedEarly';
}

/** Process-wide counters, for tests and diagnostics: which path the downloads actually took. */
export const rawStats = { requests: 0, fallbacks: 0, staleRetries: 0, stashedReads: 0 };

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

export interface RawRequestArgs {
  conns: ConnPool;
  method?: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** size of each of the two read buffers (clamped to 64 KB..8 MB) */
  bufferBytes: number;
  pool: BufferPool;
  /**
   * Inspects the head: 'body' delivers the body to onBody/write; 'skip' reads it to its end and
   * drops it (a redirect's body), so the connection stays reusable. Throw to refuse the response
   * (the connection is dropped).
   */
  onHead(head: ResponseHead): 'body' | 'skip';
  /** accounts for `n` body bytes as they arrive, before they are queued; throw to abort */
  onBody(n: number): void;
  /** persists body bytes, in order, one call at a time; `parts` view a reused buffer and are only valid until it settles */
  write(parts: Uint8Array[], len: number): Promise<void>;
}

// A read is never offered less than this; a buffer with less room left is handed to the writer.
const MIN_READ = 64 << 10;

/**
 * One HTTP/1.1 request over a kept-alive connection from `conns` (plain http:// or https:// via
 * TLS), reading with `onread` straight into two reused buffers. node:http allocates a new Buffer
 * per socket read, and on a 200 MB download the GC that external memory drives cost about as much
 * CPU as the sha256; here the kernel (or OpenSSL) writes into our buffers and the body bytes reach
 * `write` (disk) as views of them, never copied. While one buffer is being written the socket reads
 * into the other; when both are busy the socket is paused, which is also TCP backpressure. A buffer
 * that is being written is never handed out for reading: TLS may still decrypt records it already
 * received after the pause (one TCP read's worth), so while paused reads go to the connection's
 * scratch buffer and are kept (copied) until a ring buffer is free again.
 *
 * Resolves with the head once the whole body arrived and every write finished; the connection then
 * goes back to the pool when the response allows it. A kept-alive connection the server had closed
 * in the meantime (failure before any response byte) is retried once on a fresh one. On failure it
 * still writes the bytes that did arrive (they are the resume point), then rejects: a write error
 * first, else the network error (an abort of `signal` rejects with its reason).
 */
export async function rawRequest(a: RawRequestArgs): Promise<ResponseHead> {
  const request = requestText(a.method ?? 'GET', a.url, a.headers);
  const conn = await a.conns.acquire(a.url, a.signal);
  try {
    return await attempt(a, conn, request);
  } catch (err) {
    if (!(err instanceof StaleConnection)) throw err;
    rawStats.staleRetries++;
    return attempt(a, await a.conns.acquire(a.url, a.signal, true), request);
  }
}

/** A reused connection failed before a single response byte: the server had closed it while idle. */
class StaleConnection extends Error {}

function attempt(a: RawRequestArgs, conn: Conn, request: string): Promise<ResponseHead> {
  const method = a.method ?? 'GET';
  rawStats.requests++;
  const size = Math.min(8 << 20, Math.max(MIN_READ, a.bufferBytes));
  const ring = [a.pool.take(size), a.pool.take(size)];
  const busy = [false, false];
  let cur = 0;
  let fill = 0; // where the next read lands in ring[cur]
  let gotAny = false;
  let parts: Uint8Array[] = [];
  let partsLen = 0;
  let head: ResponseHead | null = null;
  let mode: 'body' | 'skip' = 'body';
  let remaining = 0;
  const chunked = new ChunkedDecoder();
  let netDone = false;
  let paused = false;
  /** Bytes that arrived while paused (TLS), fed in order once a buffer is free. */
  const stash: Buffer[] = [];
  let failure: unknown = null;
  let writeError: unknown = null;
  let pendingWrites = 0;
  let writes = Promise.resolve();
  let settle!: () => void;
  const sock = conn.sock;

  const result = new Promise<ResponseHead>((resolve, reject) => {
    settle = () => {
      if (!netDone || pendingWrites > 0) return;
      settle = () => {};
      a.signal.removeEventListener('abort', onAbort);
      for (const b of ring) a.pool.give(b);
      if (failure instanceof RawFallback) rawStats.fallbacks++;
      if (writeError !== null || failure !== null) {
        a.conns.discard(conn);
        reject(writeError ?? failure);
        return;
      }
      // A response can end while the socket is paused (its last bytes came from the stash): the
      // next request on this connection must find it reading.
      sock.resume();
      if (head?.keepAlive && head.framing.kind !== 'close') a.conns.release(conn);
      else a.conns.discard(conn);
      resolve(head!);
    };
  });

  const take = (at: number, len: number) => {
    if (mode === 'skip') return;
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
        if (paused && !netDone) unpause(idx);
        settle();
      });
  };

  // Ends this response; with `err`, it failed. Queued and current bytes are still written.
  const end = (err?: unknown) => {
    if (netDone) return;
    netDone = true;
    if (err !== undefined) failure = conn.reused && !gotAny && !a.signal.aborted && isConnectionError(err) ? new StaleConnection() : err;
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

  const afterHead = (): boolean => {
    const h = head as ResponseHead;
    // A HEAD response has no body whatever its Content-Length says (RFC 9110 §9.3.2).
    if (method === 'HEAD') h.framing = { kind: 'length', length: 0 };
    mode = a.onHead(h);
    if (h.framing.kind === 'length') remaining = h.framing.length;
    return body(h.headBytes, fill);
  };

  /** `n` new bytes sit at ring[cur][fill…]: parse, take, rotate; false when the socket must pause. */
  const consume = (n: number): boolean => {
    try {
      const from = fill;
      fill += n;
      let done: boolean;
      if (head === null) {
        head = parseHead(ring[cur], 0, fill);
        if (head === null) return true; // head incomplete: read more into the same buffer
        done = afterHead();
      } else done = body(from, fill);
      if (done) {
        end();
        return true;
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

  /** The write of ring[idx] finished while paused: feed what arrived meanwhile, then read again. */
  const unpause = (idx: number) => {
    if (idx !== cur) return;
    paused = false;
    while (stash.length > 0 && !paused && !netDone) {
      const chunk = stash.shift()!;
      ring[cur].set(chunk, fill);
      consume(chunk.length);
    }
    if (!paused && !netDone) sock.resume();
  };

  const sink: ReadSink = {
    // Once this response is over its buffers go back to the pool (another request may take them),
    // and while paused the current one is still being written: reads must not land in them.
    buffer: () => (netDone || paused ? conn.scratch : ring[cur].subarray(fill)),
    onRead: (n: number, landed: Uint8Array): boolean => {
      if (netDone) return false;
      gotAny = true;
      if (paused) {
        rawStats.stashedReads++;
        stash.push(Buffer.from(landed.subarray(0, n)));
        return false;
      }
      const into = ring[cur];
      // The first read on a kept connection lands in the buffer its previous owner gave (a few KB): move it into ours.
      if (landed.buffer !== into.buffer || landed.byteOffset !== into.byteOffset + fill) into.set(landed.subarray(0, n), fill);
      return consume(n);
    },
    onEnd: (err: Error) => {
      if (netDone) return;
      // Without Content-Length or chunking the body is everything until the origin closes.
      if (head?.framing.kind === 'close' && err instanceof ConnectionClosed) return end();
      end(err instanceof ConnectionClosed ? new BodyEndedEarly('connection closed before the body ended') : err);
    },
  };
  const onAbort = () => end(a.signal.reason ?? new Error('aborted'));
  conn.sink = sink;
  if (a.signal.aborted) onAbort();
  else {
    a.signal.addEventListener('abort', onAbort, { once: true });
    sock.write(request);
  }
  return result;
}

function isConnectionError(err: unknown): boolean {
  if (err instanceof ConnectionClosed || err instanceof BodyEndedEarly) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED';
}

/** Refuses what node:http would refuse: a CR or LF in a value would let it inject headers. */
function requestText(method: string, url: URL, headers: Record<string, string>): string {
  let text = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept-Encoding: identity\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || /[\r\n\0]/.test(v)) throw new Error(`invalid request header ${JSON.stringify(k)}`);
    const lower = k.toLowerCase();
    if (lower === 'host' || lower === 'connection' || lower === 'accept-encoding') continue;
    text += `${k}: ${v}\r\n`;
  }
  return `${text}\r\n`;
}
