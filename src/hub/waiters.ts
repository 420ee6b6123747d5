import type { Restrictions } from '../planner/types';

export type ModelEvent =
  | { kind: 'ready' }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'changed' }
  | { kind: 'timeout' };

interface Waiter {
  resolve: (e: ModelEvent) => void;
  timer: ReturnType<typeof setTimeout>;
  since: number;
  /** Nodes this request may use (an API key's scope); undefined: any. */
  restrictions?: Restrictions;
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
  wait(model: string, ms: number, restrictions?: Restrictions): { event: Promise<ModelEvent>; cancel: () => void } {
    let waiter!: Waiter;
    const event = new Promise<ModelEvent>((resolve) => {
      waiter = { resolve, since: Date.now(), restrictions, timer: setTimeout(() => this.drop(model, waiter, { kind: 'timeout' }), Math.max(0, ms)) };
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

  /** Models with waiting requests: how many, since when the oldest waits, one entry per distinct restriction. */
  pending(): Array<{ model: string; since: number; count: number; restrictions?: Restrictions }> {
    const out = new Map<string, { model: string; since: number; count: number; restrictions?: Restrictions }>();
    for (const [model, set] of this.byModel) {
      for (const w of set) {
        const key = `${model}\u0000${JSON.stringify(w.restrictions ?? null)}`;
        const entry = out.get(key) ?? { model, since: w.since, count: 0, ...(w.restrictions ? { restrictions: w.restrictions } : {}) };
        entry.count++;
        entry.since = Math.min(entry.since, w.since);
        out.set(key, entry);
      }
    }
    return [...out.values()];
  }

  counts(): Map<string, number> {
    return new Map([...this.byModel].map(([model, set]) => [model, set.size]));
  }

  count(model: string): number {
    return this.byModel.get(model)?.size ?? 0;
  }
}
