import type { LedgerRow } from '../hub/ingest-types';
import type { DispatchMeta } from './dispatch-meta';
import type { PendingInfer, Settled } from './pending';

export interface Inflight {
  meta: DispatchMeta;
  p: PendingInfer;
  started: number;
  /** Last frame from the node for this request (the stall deadline counts from here). */
  lastAt: number;
}

/**
 * The NodeLink's requests in flight, by id: what its node is doing now. Admission
 * counts these against the node's concurrency; reports count them per model.
 */
export class InflightTable {
  private readonly byId = new Map<string, Inflight>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Inflight | undefined {
    return this.byId.get(id);
  }

  add(e: Inflight): void {
    this.byId.set(e.meta.id, e);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  values(): IterableIterator<Inflight> {
    return this.byId.values();
  }

  /** Requests in flight on `connId`, in total and for one model. */
  count(connId: string, model?: string): number {
    let n = 0;
    for (const e of this.byId.values()) if (e.p.connId === connId && (model === undefined || e.meta.model === model)) n++;
    return n;
  }

  perModel(connId: string | null): Record<string, number> {
    const out: Record<string, number> = {};
    if (connId === null) return out;
    for (const e of this.byId.values()) if (e.p.connId === connId) out[e.meta.model] = (out[e.meta.model] ?? 0) + 1;
    return out;
  }
}

/** The ledger row of a request as it starts. */
export function openRow(meta: DispatchMeta, node: string, started: number): LedgerRow {
  return {
    rid: meta.id,
    key: meta.key,
    model: meta.model,
    node,
    started,
    ended: null,
    outcome: null,
    prompt: 0,
    completion: 0,
    first_byte_ms: null,
    total_ms: null,
    engine_ttft_ms: null,
    engine_total_ms: null,
  };
}

/**
 * The ledger fields of a request that ended. Usage is bounded by what the
 * request allowed (prompt ≤ the model's context, completion ≤ its max tokens):
 * a node cannot bill a key more than its request could have cost.
 */
export function endedFields(meta: DispatchMeta, s: Settled, now: number): Partial<LedgerRow> {
  const prompt = Math.min(s.usage?.prompt_tokens ?? 0, meta.maxPrompt);
  const completion = Math.min(s.usage?.completion_tokens ?? 0, meta.maxCompletion);
  return {
    ended: now,
    outcome: s.outcome === 'refused' ? 'error' : s.outcome,
    prompt,
    completion,
    first_byte_ms: s.firstByteMs ?? null,
    total_ms: s.totalMs,
    engine_ttft_ms: s.timings?.ttft_ms ?? null,
    engine_total_ms: s.timings?.total_ms ?? null,
  };
}
