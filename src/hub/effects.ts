import type { Action } from '../planner/types';
import type { Env } from '../env';
import type { HubLoad } from '../protocol';
import { linkStub } from '../link/stubs';
import { resolveWeightsUrl } from './catalog';
import type { SecurityStore } from './security-store';
import type { HubStore } from './store';

/** What the Hub counts about applied actions (metrics); optional so callers without metrics need not care. */
export interface EffectsObserver {
  evicted?: (model: string, node: string, cause: string) => void;
  unloadRefused?: (model: string, node: string) => void;
}

/**
 * The one place planner actions touch the world: the replica row is written
 * first (so the next plan sees the load or stop in progress and does not repeat
 * it), then the frame goes to the node. A node that cannot be reached has its
 * row removed again. Unloads go through the node's NodeLink, which refuses one
 * while the model has requests in flight (warm requests never told the Hub
 * they started): the replica then stays ready, and loads planned onto that
 * node in the same run wait for a later plan, since the memory is not free.
 */
export async function applyActions(
  env: Env,
  store: HubStore,
  actions: Action[],
  now: number,
  orders: SecurityStore,
  observe: EffectsObserver = {},
): Promise<void> {
  const stillBusy = new Set<string>();
  for (const a of actions) {
    if (a.type === 'unload') {
      store.setReplicaPhase(a.node, a.model, 'stopping', now);
      const answer = await linkStub(env, a.node).unload({
        type: 'hub.unload',
        id: `unload-${crypto.randomUUID()}`,
        model: a.model,
        reason: `${a.rule}: ${a.reason}`.slice(0, 200),
      });
      // Once the node was told to unload (or is gone), its word that the model is loaded no longer counts as
      // ordered; a refused unload (busy) leaves the model loaded as ordered.
      if (answer !== 'busy') orders.cancelOrder(a.node, a.model);
      if (answer === 'offline') store.deleteReplica(a.node, a.model);
      else if (answer === 'busy') {
        store.setReplicaPhase(a.node, a.model, 'ready', now);
        stillBusy.add(a.node);
        observe.unloadRefused?.(a.model, a.node);
      } else observe.evicted?.(a.model, a.node, a.rule);
      continue;
    }
    if (stillBusy.has(a.node)) continue;
    const model = store.model(a.model);
    if (!model) continue;
    const url = resolveWeightsUrl(model.weights_url, env.PORTEN_DEMO_ORIGIN);
    if (!url) {
      store.recordFailure({
        model_id: model.id,
        node_id: a.node,
        code: 'download_failed',
        message: `no weights origin is configured for ${model.weights_url}`,
        at: now,
      });
      continue;
    }
    const frame: HubLoad = {
      type: 'hub.load',
      id: `load-${crypto.randomUUID()}`,
      model: model.id,
      engine: model.engine,
      source: { url, sha256: model.sha256 ?? undefined, bytes: model.bytes ?? undefined, ...(model.allow_unverified ? { allow_unverified: true } : {}) },
      context_length: model.context_length,
      upstream_url: model.upstream_url ?? undefined,
    };
    // The order comes first: the node's reports about this load are believed only because of it.
    orders.orderLoad(a.node, model.id, now);
    store.upsertReplica({ node_id: a.node, model_id: model.id, phase: 'downloading', done_bytes: 0, total_bytes: model.bytes ?? 0, vram_mb: null }, now);
    const sent = await linkStub(env, a.node).send(frame);
    if (!sent) {
      store.deleteReplica(a.node, a.model);
      orders.cancelOrder(a.node, a.model);
    }
  }
}
