import type { IncomingMessage } from 'node:http';

export type WriteFn = (at: number, chunks: Uint8Array[], len: number) => Promise<void>;

/**
 * Gathers network chunks into `bufferBytes` batches and hands each to `write` in order, one at a
 * time, so a disk write overlaps the next reads. Memory stays bounded at about two batches per
 * connection: when a batch is full while the previous one is still being written, `push` says
 * "pause" and `onIdle` fires once the write finished.
 */
export class BatchWriter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private pending: Promise<void> | null = null;
  private error: unknown = null;

  constructor(
    private pos: number,
    private readonly bufferBytes: number,
    private readonly write: WriteFn,
    private readonly onIdle: () => void,
  ) {}

  get failed(): boolean {
    return this.error !== null;
  }

  /** Returns false when the reader should pause until `onIdle`. */
  push(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    if (this.error !== null) return false;
    if (this.buffered < this.bufferBytes) return true;
    if (this.pending) return false;
    this.start();
    return true;
  }

  private start(): void {
    const batch = this.chunks;
    const len = this.buffered;
    const at = this.pos;
    this.chunks = [];
    this.buffered = 0;
    this.pos += len;
    this.pending = this.write(at, batch, len).then(
      () => {
        this.pending = null;
        if (this.buffered >= this.bufferBytes) this.start();
        this.onIdle();
      },
      (err) => {
        this.pending = null;
        this.error ??= err;
        this.onIdle();
      },
    );
  }

  /** Writes whatever is buffered, waits for it, and rethrows the first write error. */
  async drain(): Promise<void> {
    while (this.pending) await this.pending;
    if (this.error === null && this.buffered > 0) this.start();
    while (this.pending) await this.pending;
    if (this.error !== null) throw this.error;
  }
}

/**
 * Reads `res` to its end with 'data' events rather than `for await`: the async iterator costs a
 * promise and extra ticks per 64 KB chunk, and the profile of a 200 MB loopback download showed
 * that bookkeeping (plus the GC it drives) rivalling the hashing. `onChunk` returns false to
 * pause; call the returned `resume` to continue. Rejects on a reset, an abort of `signal` (with
 * its reason) or a throw from `onChunk`.
 */
export function pumpBody(res: IncomingMessage, signal: AbortSignal, onChunk: (c: Buffer) => boolean): { done: Promise<void>; resume: () => void } {
  let settle!: (err?: unknown) => void;
  const done = new Promise<void>((ok, fail) => {
    let settled = false;
    settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      res.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) ok();
      else fail(err);
    };
  });
  const onData = (c: Buffer) => {
    try {
      if (!onChunk(c)) res.pause();
    } catch (err) {
      res.destroy();
      settle(err);
    }
  };
  const onAbort = () => {
    res.destroy();
    settle(signal.reason ?? new Error('aborted'));
  };
  res.on('data', onData);
  res.once('end', () => settle());
  res.once('error', (err) => settle(err));
  // A socket closed without 'end' or 'error' must not leave the download hanging.
  // (When complete, 'end' follows once the buffered rest is read.)
  res.once('close', () => res.complete || settle(new Error('connection closed before the body ended')));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { done, resume: () => res.isPaused() && res.resume() };
}
