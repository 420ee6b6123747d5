/**
 * Splits an SSE buffer into the complete events it holds and the unfinished
 * rest, so a chunk never carries half an event. Accepts `\n\n` and `\r\n\r\n`.
 */
export function takeCompleteEvents(buf: string): [complete: string, rest: string] {
  const lf = buf.lastIndexOf('\n\n');
  const crlf = buf.lastIndexOf('\r\n\r\n');
  const cut = Math.max(lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 4);
  return cut < 0 ? ['', buf] : [buf.slice(0, cut), buf.slice(cut)];
}

export interface BatchOptions {
  /** How long later data may wait for company. */
  delayMs: number;
  /** Flush as soon as this much is pending. */
  maxChars: number;
  /** Never put more than this in one frame (frames are capped at MAX_FRAME_BYTES after JSON escaping). */
  frameChars: number;
}

export const DEFAULT_BATCH: BatchOptions = { delayMs: 4, maxChars: 32 * 1024, frameChars: 512 * 1024 };

/**
 * Coalesces stream data into numbered chunks. Data that arrives after a quiet
 * spell of at least `delayMs` goes out at once (the first token, and every
 * token of an engine slower than one per `delayMs`, so pacing costs nothing);
 * data that follows a send sooner waits for the rest of the window or until
 * `maxChars` are pending. Per-message cost dominates relay throughput, so fast
 * streams trade at most `delayMs` for several times the chunks per second.
 */
export class Batcher {
  seq = 0;
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private lastEmit = -Infinity;

  constructor(
    private readonly emit: (data: string, seq: number) => void,
    private readonly o: BatchOptions = DEFAULT_BATCH,
  ) {}

  push(data: string): void {
    if (!data) return;
    const now = Date.now();
    this.pending += data;
    if (this.pending.length >= this.o.maxChars || (!this.timer && now - this.lastEmit >= this.o.delayMs)) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.o.delayMs - (now - this.lastEmit)));
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending) this.lastEmit = Date.now();
    while (this.pending) {
      let cut = Math.min(this.pending.length, this.o.frameChars);
      // Do not split a surrogate pair across frames.
      const c = this.pending.charCodeAt(cut - 1);
      if (cut < this.pending.length && c >= 0xd800 && c <= 0xdbff) cut--;
      const data = this.pending.slice(0, cut);
      this.pending = this.pending.slice(cut);
      this.emit(data, this.seq++);
    }
  }

  /** Drops whatever is pending (the request was aborted). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = '';
  }
}
