export type ModelEvent =
  | { kind: 'ready' }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'changed' }
  | { kind: 'timeout' };

interface Waiter {
  resolve: (e: ModelEvent) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Requests blocked on a model's warm-up. In memory only: a waiter exists only
 * while its request is in flight, which keeps the Durable Object awake.
 */
export class ModelWaiters {
  private readonly byModel = new Map<string, Set<Waiter>>();

  /** Resolves with the next event for `model`, or `timeout` after `ms`. */
  wait(model: string, ms: number): Promise<ModelEvent> {
    return new Promise((resolve) => {
      const set = this.byModel.get(model) ?? new Set<Waiter>();
      this.byModel.set(model, set);
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          set.delete(waiter);
          resolve({ kind: 'timeout' });
        }, Math.max(0, ms)),
      };
      set.add(waiter);
    });
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

  count(model: string): number {
    return this.byModel.get(model)?.size ?? 0;
  }
}
