/**
 * A request is acknowledged (`infer.accepted`) only if nothing else answers it within this: a fast engine's head,
 * or an error, is the answer, one frame fewer per request (each costs the edge ~0.08 CPU-ms). Far below the edge's
 * first-reply deadline (5 s; 100 ms at the least it can be set to).
 */
export const ACK_DELAY_MS = 20;

/** The acknowledgements still pending, one timer per request not yet answered. */
export class Acks {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly ack: (id: string) => void,
    private readonly delayMs = ACK_DELAY_MS,
  ) {}

  /** A request arrived: `ack(id)` after the delay, unless it is answered first. */
  arm(id: string): void {
    this.timers.set(
      id,
      setTimeout(() => {
        if (this.timers.delete(id)) this.ack(id);
      }, this.delayMs),
    );
  }

  /** A frame answering `id` went out: it stands for the acknowledgement. */
  answered(id: string): void {
    const timer = this.timers.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(id);
  }
}
