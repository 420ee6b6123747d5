export type ModelEvent =
  | { kind: 'ready' }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'changed' }
  | { kind: 'timeout' };

interface Waiter {
  resolve: (e: ModelEvent) => void;
  timer: ReturnType<typeof setTimeout>;
  since: number;
}

/**
 * Requests blocked on a model's warm-up. In memory only: a waiter exists only
 * while its request is in flight, which keeps the Durable Object awake.
 */
export class ModelWaiters {
  private readonly byModel = new Map<string, Set<Waiter>>();

  /**
   * Registers at once (so no event between now and the first await is lost)
   * and resolves with the next event for `model`, or `timeout` after `ms`.
   * `cancel` withdraws the waiter.
   */
  wait(model: string, ms: number): { event: Promise<ModelEvent>; cancel: () => void } {
    let waiter!: Waiter;
    const event = new Promise<ModelEvent>((resolve) => {
      waiter = { resolve, since: Date.now(), timer: setTimeout(() => this.drop(model, waiter, { kind: 'timeout' }), Math.max(0, ms)) };
    });
    const set = this.byModel.get(model) ?? new Set<Waiter>();
    this.byModel.set(model, set);
    set.add(waiter);
    return { event, cancel: () => this.drop(model, waiter, { kind: 'changed' }) };
  }

  private drop(model: string, waiter: Waiter, event: ModelEvent): void {
    clearTimeout(waiter.timer);
    const set = this.byModel.get(model);
    set?.delete(waiter);
    if (set?.size === 0) this.byModel.delete(model);
    waiter.resolve(event);
  }

  notify(model: string, event: ModelEvent): void {
    const set = this.byModel.get(model);
    if (!set) return;
    this.byModel.delete(model);
    for (const w of set) {
      clearTimeout(w.timer);
      w.resolve(event);
    }
  }

  notifyAll(event: ModelEvent): void {
    for (const model of [...this.byModel.keys()]) this.notify(model, event);
  }

  /** Models with waiting requests: how many, and since when the oldest waits. */
  pending(): Array<{ model: string; since: number; count: number }> {
    return [...this.byModel].map(([model, set]) => ({ model, count: set.size, since: Math.min(...[...set].map((w) => w.since)) }));
  }

  counts(): Map<string, number> {
    return new Map([...this.byModel].map(([model, set]) => [model, set.size]));
  }

  count(model: string): number {
    return this.byModel.get(model)?.size ?? 0;
  }
}
