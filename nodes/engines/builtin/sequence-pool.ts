/**
 * A fixed set of context sequences handed out first-come, first-served.
 * Requests beyond the pool's size wait in FIFO order; a waiter whose signal
 * aborts leaves the queue at once and never receives an item.
 */
export class SequencePool<T> {
  private readonly free: T[];
  private readonly waiters: Array<{ grant: (item: T) => void }> = [];

  readonly size: number;

  constructor(items: readonly T[]) {
    this.free = [...items];
    this.size = items.length;
  }

  get available(): number {
    return this.free.length;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const item = this.free.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        grant: (granted: T) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(granted);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns an item: the oldest waiter gets it, else it goes back to the free list. */
  release(item: T): void {
    const next = this.waiters.shift();
    if (next) next.grant(item);
    else this.free.push(item);
  }
}
