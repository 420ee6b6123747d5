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
 * Coalesces stream data into numbered chunks: the first goes out at once (time
 * to first token matters most), later data waits up to `delayMs` or until
 * `maxChars` are pending. Per-message cost dominates relay throughput, so this
 * trades a few milliseconds for several times the chunks per second.
 */
export class Batcher {
  seq = 0;
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly emit: (data: string, seq: number) => void, private readonly o: BatchOptions = DEFAULT_BATCH) {}

  push(data: string): void {
    if (!data) return;
    if (this.seq === 0 && !this.pending) {
      this.pending = data;
      this.flush();
      return;
    }
    this.pending += data;
    if (this.pending.length >= this.o.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.delayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
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
