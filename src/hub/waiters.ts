import { fail, type Failure } from '../errors';
import type { Restrictions } from '../planner/types';
import type { WarmingView } from './warming';

export type ModelEvent = { kind: 'ready' } | { kind: 'failed'; code: string; message: string } | { kind: 'changed' } | { kind: 'timeout' };

interface Waiter {
  resolve: (e: ModelEvent) => void;
  timer: ReturnType<typeof setTimeout>;
  since: number;
  /** Arrival order: a request's place in its model's queue. */
  seq: number;
  /** Nodes this request may use (an API key's scope); undefined: any. */
  restrictions?: Restrictions;
  /** The caller's handle for asking its position (see `queue`). */
  ticket?: string;
}

/** Requests that may wait for one model when neither the catalog nor PORTEN_QUEUE_MAX says otherwise. */
export const DEFAULT_QUEUE_MAX = 64;

/** PORTEN_QUEUE_MAX as a positive integer, else DEFAULT_QUEUE_MAX. */
export function queueDefault(v: string | undefined): number {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_QUEUE_MAX;
}

export interface QueueState {
  /** Requests waiting for the model now. */
  length: number;
  /** 1-based place of the request holding the ticket, when it waits. */
  position?: number;
}

/**
 * Requests blocked on a model's warm-up, or on its replicas' slots. In memory only: a
 * waiter exists only while its request is in flight, which keeps the Durable Object
 * awake. Each model's waiters form a queue in arrival order, bounded by `refuse`.
 */
export class ModelWaiters {
  private readonly byModel = new Map<string, Set<Waiter>>();
  private seq = 0;

  /**
   * Registers at once (so no event between now and the first await is lost)
   * and resolves with the next event for `model`, or `timeout` after `ms`.
   * `cancel` withdraws the waiter. A request that waits again (after a `changed`
   * event) passes its first `since` back and keeps its place in the queue.
   */
  wait(
    model: string,
    ms: number,
    restrictions?: Restrictions,
    ticket?: string,
    place?: { since: number; seq: number },
  ): { event: Promise<ModelEvent>; cancel: () => void; place: { since: number; seq: number } } {
    let waiter!: Waiter;
    const since = place?.since ?? Date.now();
    const seq = place?.seq ?? ++this.seq;
    const event = new Promise<ModelEvent>((resolve) => {
      waiter = { resolve, since, seq, restrictions, ticket, timer: setTimeout(() => this.drop(model, waiter, { kind: 'timeout' }), Math.max(0, ms)) };
    });
    const set = this.byModel.get(model) ?? new Set<Waiter>();
    this.byModel.set(model, set);
    set.add(waiter);
    return { event, cancel: () => this.drop(model, waiter, { kind: 'changed' }), place: { since, seq } };
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

  /** The model's queue length, and the ticket holder's place in it (1 = next to be served). */
  queue(model: string, ticket?: string): QueueState {
    const set = this.byModel.get(model);
    if (!set) return { length: 0 };
    let mine: Waiter | undefined;
    if (ticket) for (const w of set) if (w.ticket === ticket) mine = w;
    if (!mine) return { length: set.size };
    let ahead = 0;
    for (const w of set) if (w.seq < mine.seq) ahead++;
    return { length: set.size, position: ahead + 1 };
  }

  /**
   * The bounded queue's door: a `queue_full` failure (429 with Retry-After) when `max`
   * requests already wait for `model`, else null and the request may join. Retry-After is
   * the warm-up's ETA while the model loads (the queue drains when it is ready), else a
   * couple of seconds (it drains as replicas free slots).
   */
  refuse(model: string, max: number, view: WarmingView | null): Failure | null {
    const waiting = this.count(model);
    if (waiting < max) return null;
    const loading = view !== null && !view.ready && view.phase !== 'failed';
    const retryAfterS = loading ? Math.min(60, Math.max(1, view.eta_s ?? 5)) : 2;
    return fail('queue_full', `${waiting} requests already wait for '${model}' (its queue holds ${max}). Retry after ${Math.ceil(retryAfterS)} s.`, {
      retryAfterS,
    });
  }
}
