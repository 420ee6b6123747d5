import type { ModelRow, ReplicaRow } from './store';

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
