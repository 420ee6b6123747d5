import type { Action } from '../planner/types';
import type { Env } from '../env';
import type { HubLoad } from '../protocol';
import { linkStub } from '../link/stubs';
import { resolveWeightsUrl } from './catalog';
import type { HubStore } from './store';

/**
 * The one place planner actions touch the world: the replica row is written
 * first (so the next plan sees the load or stop in progress and does not repeat
 * it), then the frame goes to the node. A node that cannot be reached has its
 * row removed again.
 */
export async function applyActions(env: Env, store: HubStore, actions: Action[], now: number): Promise<void> {
  for (const a of actions) {
    if (a.type === 'unload') {
      store.setReplicaPhase(a.node, a.model, 'stopping', now);
      const sent = await linkStub(env, a.node).send({ type: 'hub.unload', id: `unload-${crypto.randomUUID()}`, model: a.model, reason: `${a.rule}: ${a.reason}`.slice(0, 200) });
      if (!sent) store.deleteReplica(a.node, a.model);
      continue;
    }
    const model = store.model(a.model);
    if (!model) continue;
    const url = resolveWeightsUrl(model.weights_url, env.PORTEN_DEMO_ORIGIN);
    if (!url) {
      store.recordFailure({ model_id: model.id, node_id: a.node, code: 'download_failed', message: `no weights origin is configured for ${model.weights_url}`, at: now });
      continue;
    }
    const frame: HubLoad = {
      type: 'hub.load',
      id: `load-${crypto.randomUUID()}`,
      model: model.id,
      engine: model.engine,
      source: { url, sha256: model.sha256 ?? undefined, bytes: model.bytes ?? undefined },
      context_length: model.context_length,
      upstream_url: model.upstream_url ?? undefined,
    };
    store.upsertReplica({ node_id: a.node, model_id: model.id, phase: 'downloading', done_bytes: 0, total_bytes: model.bytes ?? 0, vram_mb: null }, now);
    const sent = await linkStub(env, a.node).send(frame);
    if (!sent) store.deleteReplica(a.node, a.model);
  }
}
