/**
 * Per-stream flow control (the `credits` feature): the agent may send at most
 * `window` characters of stream data beyond what the edge says its client has
 * consumed (`infer.credit` carries that running total). While a stream is out
 * of credit its relay stops reading the engine, so a slow client slows only its
 * own stream and the edge buffers at most about one window for it.
 */
export class StreamCredit {
  private sent = 0;
  private consumed = 0;
  private waiter: (() => void) | null = null;

  /** `window` undefined: the edge did not ask for flow control; the stream is never held. */
  constructor(private readonly window: number | undefined) {}

  /** Counts data handed to the socket. */
  spent(chars: number): void {
    this.sent += chars;
  }

  /** The edge's running total of consumed characters; never moves backwards. */
  credit(consumed: number): void {
    if (consumed <= this.consumed) return;
    this.consumed = consumed;
    if (this.open()) this.release();
  }

  open(): boolean {
    return this.window === undefined || this.sent - this.consumed < this.window;
  }

  /** Resolves once the stream may send again, or when `signal` aborts (the relay then ends). */
  async whenOpen(signal: AbortSignal): Promise<void> {
    while (!this.open() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.waiter = null;
          resolve();
        };
        this.waiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  private release(): void {
    this.waiter?.();
  }
}
