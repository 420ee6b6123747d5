import type { IncomingMessage } from 'node:http';
import { BatchWriter, pumpBody, type WriteFn } from './batch-writer';
import { httpGet } from './http-get';

/** Why one HTTP transfer stopped early. `retryable` says whether trying again can help. */
export class FetchFailure extends Error {
  constructor(
    readonly kind: 'range-ignored' | 'http' | 'short' | 'overrun' | 'stall' | 'network',
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FetchFailure';
  }
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
}

/**
 * Streams one byte range into `write`, gathering network chunks into `bufferBytes` batches and
 * overlapping each disk write with the next reads. Bytes that did arrive are always written before
 * it throws, so a retry resumes where this one stopped. Resolves only when the whole range arrived
 * (or, with `end: null`, when the body ended); a short body, a stall, a reset or an ignored Range
 * all throw FetchFailure. An abort of `signal` rethrows the abort as is.
 */
export async function fetchRange(a: FetchRangeArgs): Promise<number> {
  const ctl = new AbortController();
  const onParentAbort = () => ctl.abort(a.signal.reason);
  a.signal.addEventListener('abort', onParentAbort, { once: true });
  if (a.signal.aborted) ctl.abort(a.signal.reason);
  let lastByteAt = Date.now();
  let stalled = false;
  // Polling a timestamp is far cheaper than re-arming a timer on every 64 KB chunk.
  const watchdog = setInterval(() => {
    if (Date.now() - lastByteAt > a.stallMs) {
      stalled = true;
      ctl.abort(new FetchFailure('stall', `no bytes for ${a.stallMs} ms`, true));
    }
  }, Math.max(10, Math.floor(a.stallMs / 4)));
  watchdog.unref?.();

  const expect = a.end === null ? Infinity : a.end - a.start;
  let got = 0;
  let resume = () => {};
  const writer = new BatchWriter(a.start, a.bufferBytes, a.write, () => resume());

  let failure: unknown = null;
  try {
    const headers: Record<string, string> = { ...a.headers };
    if (a.ranged) headers.range = a.end === null ? `bytes=${a.start}-` : `bytes=${a.start}-${a.end - 1}`;
    const res = await httpGet(a.url, headers, ctl.signal);
    checkStatus(res, a);
    const pump = pumpBody(res, ctl.signal, (value) => {
      lastByteAt = Date.now();
      if (got + value.byteLength > expect) {
        throw new FetchFailure('overrun', `origin sent more than the ${expect} bytes requested`, true);
      }
      got += value.byteLength;
      a.onReceived(value.byteLength);
      return writer.push(value);
    });
    resume = () => (writer.failed ? ctl.abort(new Error('write failed')) : pump.resume());
    // A body read to its end leaves the socket to the keep-alive pool for the next piece.
    await pump.done;
  } catch (err) {
    failure = err;
  } finally {
    clearInterval(watchdog);
    a.signal.removeEventListener('abort', onParentAbort);
  }
  // Keep what arrived even when the transfer failed: it is the resume point. A write error
  // (disk full) outranks the network failure it caused.
  await writer.drain();
  if (failure) {
    if (a.signal.aborted) throw a.signal.reason ?? failure;
    if (failure instanceof FetchFailure) throw failure;
    if (stalled) throw new FetchFailure('stall', `no bytes for ${a.stallMs} ms`, true, { cause: failure });
    const cause = (failure as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? '';
    throw new FetchFailure('network', `${(failure as Error).message ?? failure}${detail ? ` (${detail})` : ''}`, true, { cause: failure });
  }
  if (got < expect && a.end !== null) {
    throw new FetchFailure('short', `body ended after ${got} of ${expect} bytes (truncated or wrong Content-Length)`, true);
  }
  return got;
}

function checkStatus(res: IncomingMessage, a: FetchRangeArgs): void {
  const status = res.statusCode ?? 0;
  if (a.ranged && status === 200) {
    res.destroy();
    throw new FetchFailure('range-ignored', 'origin ignored Range (answered 200)', false);
  }
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== a.start) {
      res.destroy();
      throw new FetchFailure('http', `origin answered an unexpected Content-Range ${res.headers['content-range']}`, true);
    }
    return;
  }
  if (status === 200 && !a.ranged) return;
  res.destroy();
  // 408/429/5xx are the origin's momentary trouble; other 4xx (404, 401, 416) will not fix themselves.
  const retryable = status === 408 || status === 429 || status >= 500;
  throw new FetchFailure('http', `origin answered HTTP ${status}`, retryable);
}
