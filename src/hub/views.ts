import type { NodeHardware } from '../protocol';
import type { ModelRow, NodeRow, ReplicaRow } from './store';

export interface ModelView {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'porten';
  context_length: number;
  capabilities: string[];
  vram_mb: number;
  state: 'cold' | 'loading' | 'ready';
}

/** A catalog entry as `/v1/models` shows it: OpenAI's fields plus porten's. */
export function modelView(m: ModelRow, replicas: ReplicaRow[]): ModelView {
  const state = replicas.some((r) => r.phase === 'ready')
    ? 'ready'
    : replicas.some((r) => r.phase === 'downloading' || r.phase === 'loading')
      ? 'loading'
      : 'cold';
  return {
    id: m.id,
    object: 'model',
    created: m.created,
    owned_by: 'porten',
    context_length: m.context_length,
    capabilities: m.capabilities,
    vram_mb: m.vram_mb,
    state,
  };
}

export interface NodeView {
  id: string;
  online: boolean;
  vram_budget_mb: number;
  vram_used_mb: number;
  max_concurrency: number;
  agent_version: string;
  engines: string[];
  last_seen: number | null;
  models: Array<{ model: string; phase: string; done_bytes: number; total_bytes: number; vram_mb: number | null }>;
  inventory: Array<{ model: string; bytes: number }>;
  /** GPU backend, GPUs, driver and where the budget came from, as the node's hello said (null: not said). */
  hardware: NodeHardware | null;
}

/** A node as operators see it. */
export function nodeView(n: NodeRow, replicas: ReplicaRow[]): NodeView {
  return {
    id: n.id,
    online: n.online,
    vram_budget_mb: n.vram_budget_mb,
    vram_used_mb: replicas.reduce((sum, r) => sum + (r.vram_mb ?? 0), 0),
    max_concurrency: n.max_concurrency,
    agent_version: n.agent_version,
    engines: n.engines,
    last_seen: n.last_seen,
    models: replicas.map((r) => ({ model: r.model_id, phase: r.phase, done_bytes: r.done_bytes, total_bytes: r.total_bytes, vram_mb: r.vram_mb })),
    inventory: n.inventory,
    hardware: n.hardware,
  };
}
