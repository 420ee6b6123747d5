import type { LoadFailure, ReplicaRow } from './store';

export type WarmPhase = 'cold' | 'downloading' | 'loading' | 'ready' | 'failed';

export interface WarmingView {
  model: string;
  ready: boolean;
  phase: WarmPhase;
  done_mb: number;
  total_mb: number;
  pct: number;
  eta_s: number | null;
  error?: string;
  /** Requests waiting for the model now, and how many may (more get 429 queue_full). */
  queued?: number;
  queue_max?: number;
  /** For the request whose ticket was given: its place in the queue (1 = next). */
  position?: number;
}

/** The view with the model's queue (see ModelWaiters.queue). */
export function withQueue(view: WarmingView, q: { length: number; position?: number }, max: number): WarmingView {
  return { ...view, queued: q.length, queue_max: max, ...(q.position !== undefined ? { position: q.position } : {}) };
}

const RANK: Record<string, number> = { ready: 3, loading: 2, downloading: 1 };
const MB = 1024 * 1024;

/**
 * The public warming view of one model, from its replicas: the most advanced
 * replica speaks for the model. `rateBps` is the measured download rate of
 * that replica, when known, for the ETA.
 */
export function warmingView(model: string, replicas: ReplicaRow[], failure: LoadFailure | null, rateBps?: number): WarmingView {
  const best = replicas.filter((r) => r.phase in RANK).sort((a, b) => RANK[b.phase] - RANK[a.phase] || b.done_bytes - a.done_bytes)[0];
  if (!best) {
    const phase: WarmPhase = failure ? 'failed' : 'cold';
    const view: WarmingView = { model, ready: false, phase, done_mb: 0, total_mb: 0, pct: 0, eta_s: null };
    return failure ? { ...view, error: failure.message } : view;
  }
  const phase = best.phase as WarmPhase;
  const total = best.total_bytes;
  const done = phase === 'downloading' ? best.done_bytes : total;
  const pct = phase === 'ready' || phase === 'loading' ? 100 : total > 0 ? Math.min(100, (100 * done) / total) : 0;
  const eta = phase === 'ready' ? 0 : phase === 'downloading' && rateBps && rateBps > 0 ? (total - done) / rateBps : null;
  return {
    model,
    ready: phase === 'ready',
    phase,
    done_mb: round(done / MB),
    total_mb: round(total / MB),
    pct: round(pct),
    eta_s: eta === null ? null : round(eta),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
