import { BatchWriter, pumpBody, type WriteFn } from './batch-writer';
import { HttpClient, RedirectError, type Resolved } from './http-client';
import { httpGet } from './http-get';
import { BodyEndedEarly, RawFallback } from './raw-http';

/** Why one HTTP transfer stopped early. `retryable` says whether trying again can help. */
export class FetchFailure extends Error {
  constructor(
    readonly kind: 'range-ignored' | 'http' | 'short' | 'overrun' | 'stall' | 'network' | 'redirect',
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.name = 'FetchFailure';
    this.status = options?.status;
  }
  /** the HTTP status, for kind 'http' */
  readonly status: number | undefined;
}

export interface FetchRangeArgs {
  url: string;
  headers: Record<string, string>;
  start: number;
  /** exclusive; null = until the origin ends the body (size unknown) */
  end: number | null;
  /** send `Range`; false for origins that do not support it (then start must be 0) */
  ranged: boolean;
  bufferBytes: number;
  stallMs: number;
  signal: AbortSignal;
  /** persists `len` bytes at file offset `at`; called in order, never two at once */
  write: WriteFn;
  onReceived(bytes: number): void;
  /** false: always use node:http (default: the raw client, http:// and https://) */
  rawHttp?: boolean;
  /** connections and read buffers shared by the pieces of one download (a fresh one when absent) */
  client?: HttpClient;
  /** where the request ended up after redirects, so later pieces can go there directly */
  onResolved?(r: Resolved): void;
}

/**
 * Streams one byte range into `write`, gathering network chunks into `bufferBytes` batches and
 * overlapping each disk write with the next reads. Bytes that did arrive are always written before
 * it throws, so a retry resumes where this one stopped. Resolves only when the whole range arrived
 * (or, with `end: null`, when the body ended); a short body, a stall, a reset or an ignored Range
 * all throw FetchFailure. An abort of `signal` rethrows the abort as is.
 * http:// and https:// go through the copy-free raw client with kept-alive connections (it follows
 * redirects itself) unless `rawHttp` is false; responses it leaves alone (1xx, transfer codings
 * other than chunked) are redone through node:http.
 */
export async function fetchRange(a: FetchRangeArgs): Promise<number> {
  const ctl = new AbortController();
  const onParentAbort = () => ctl.abort(a.signal.reason);
  a.signal.addEventListener('abort', onParentAbort, { once: true });
  if (a.signal.aborted) ctl.abort(a.signal.reason);
  let lastByteAt = Date.now();
  let stalled = false;
  // Polling a timestamp is far cheaper than re-arming a timer on every 64 KB chunk.
  const watchdog = setInterval(
    () => {
      if (Date.now() - lastByteAt > a.stallMs) {
        stalled = true;
        ctl.abort(new FetchFailure('stall', `no bytes for ${a.stallMs} ms`, true));
      }
    },
    Math.max(10, Math.floor(a.stallMs / 4)),
  );
  watchdog.unref?.();

  const expect = a.end === null ? Infinity : a.end - a.start;
  let got = 0;
  // A write error (disk full) outranks the network failure it caused; it is rethrown as is.
  let writeFailure: unknown = null;
  const write: WriteFn = (at, chunks, len) =>
    a.write(at, chunks, len).catch((err) => {
      writeFailure ??= err;
      throw err;
    });
  const onBody = (n: number) => {
    lastByteAt = Date.now();
    if (got + n > expect) throw new FetchFailure('overrun', `origin sent more than the ${expect} bytes requested`, true);
    got += n;
    a.onReceived(n);
  };

  let failure: unknown = null;
  try {
    const headers: Record<string, string> = { ...a.headers };
    if (a.ranged) headers.range = a.end === null ? `bytes=${a.start}-` : `bytes=${a.start}-${a.end - 1}`;
    let raw = a.rawHttp !== false;
    if (raw) {
      let at = a.start;
      const client = a.client ?? new HttpClient(1);
      try {
        const r = await client.follow({
          url: a.url,
          headers,
          signal: ctl.signal,
          bufferBytes: a.bufferBytes,
          onHead: (h) => {
            checkStatus(h.status, h.headers['content-range'], a);
            return 'body';
          },
          onBody,
          write: (parts, len) => write((at += len) - len, parts, len),
        });
        const { range: _range, ...plain } = r.headers;
        if (r.url !== a.url) a.onResolved?.({ url: r.url, headers: plain });
      } catch (err) {
        if (err instanceof RedirectError) throw new FetchFailure('redirect', err.message, false, { cause: err });
        if (!(err instanceof RawFallback)) throw err;
        raw = false; // something unusual: node:http handles it from scratch
      } finally {
        if (!a.client) client.close();
      }
    }
    if (!raw) await viaNodeHttp(a, headers, ctl.signal, write, onBody);
  } catch (err) {
    failure = err;
  } finally {
    clearInterval(watchdog);
    a.signal.removeEventListener('abort', onParentAbort);
  }
  if (failure) {
    if (writeFailure) throw writeFailure;
    if (a.signal.aborted) throw a.signal.reason ?? failure;
    if (failure instanceof FetchFailure) throw failure;
    if (stalled) throw new FetchFailure('stall', `no bytes for ${a.stallMs} ms`, true, { cause: failure });
    if (failure instanceof BodyEndedEarly && a.end !== null) {
      throw new FetchFailure('short', `body ended after ${got} of ${expect} bytes (connection closed)`, true, { cause: failure });
    }
    const cause = (failure as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? '';
    throw new FetchFailure('network', `${(failure as Error).message ?? failure}${detail ? ` (${detail})` : ''}`, true, { cause: failure });
  }
  if (got < expect && a.end !== null) {
    throw new FetchFailure('short', `body ended after ${got} of ${expect} bytes (truncated or wrong Content-Length)`, true);
  }
  return got;
}

/** The node:http path: 64 KB chunks gathered into batches. Rethrows a write error before the network one. */
async function viaNodeHttp(
  a: FetchRangeArgs,
  headers: Record<string, string>,
  signal: AbortSignal,
  write: WriteFn,
  onBody: (n: number) => void,
): Promise<void> {
  let resume = () => {};
  const writer = new BatchWriter(a.start, a.bufferBytes, write, () => resume());
  let failure: unknown = null;
  try {
    const res = await httpGet(a.url, headers, signal);
    try {
      checkStatus(res.statusCode ?? 0, res.headers['content-range'], a);
    } catch (err) {
      res.destroy();
      throw err;
    }
    const pump = pumpBody(res, signal, (value) => {
      onBody(value.byteLength);
      return writer.push(value);
    });
    resume = () => (writer.failed ? void res.destroy(new Error('write failed')) : pump.resume());
    // A body read to its end leaves the socket to the keep-alive pool for the next piece.
    await pump.done;
  } catch (err) {
    failure = err;
  }
  // Keep what arrived even when the transfer failed: it is the resume point. A write error
  // (disk full) outranks the network failure it caused.
  await writer.drain();
  if (failure) throw failure;
}

function checkStatus(status: number, contentRange: string | undefined, a: FetchRangeArgs): void {
  if (a.ranged && status === 200) {
    throw new FetchFailure('range-ignored', 'origin ignored Range (answered 200)', false);
  }
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '');
    if (!m || Number(m[1]) !== a.start) {
      throw new FetchFailure('http', `origin answered an unexpected Content-Range ${contentRange}`, true);
    }
    return;
  }
  if (status === 200 && !a.ranged) return;
  // 408/429/5xx are the origin's momentary trouble; other 4xx (404, 401, 416) will not fix themselves.
  const retryable = status === 408 || status === 429 || status >= 500;
  throw new FetchFailure('http', `origin answered HTTP ${status}`, retryable, { status });
}
