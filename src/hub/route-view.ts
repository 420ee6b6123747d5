import type { NodeRecord } from '../tenancy/eligibility';
import { defaultRecord } from '../tenancy/eligibility';
import type { LiveCounters } from './live';
import type { HubStore } from './store';

export interface RouteReplica {
  node: string;
  /** Requests in flight there as the Hub knows them (reports plus its own leases). */
  load: number;
  max: number;
  region: string;
  trust: NodeRecord['trust'];
  owner: string | null;
}

/** What the Worker's route cache holds for one model. `model` null: no such model in the catalog. */
export interface RouteView {
  at: number;
  model: { id: string; enabled: boolean; capabilities: string[]; context_length: number } | null;
  /** Ready replicas on connected, unrevoked, unsuspected nodes. */
  replicas: RouteReplica[];
}

/**
 * Where a model is ready now, for the Worker to send warm requests straight
 * to a node's NodeLink without asking the Hub each time. Each replica carries
 * its node's operator record, so a key's restrictions are applied from the
 * cache too.
 */
export function routeView(store: HubStore, records: Map<string, NodeRecord>, live: LiveCounters, modelId: string, now: number): RouteView {
  const m = store.model(modelId);
  if (!m) return { at: now, model: null, replicas: [] };
  const model = { id: m.id, enabled: m.enabled, capabilities: m.capabilities, context_length: m.context_length };
  if (!m.enabled) return { at: now, model, replicas: [] };
  const nodes = new Map(store.nodes().map((n) => [n.id, n]));
  const replicas: RouteReplica[] = [];
  for (const r of store.replicas(modelId)) {
    const n = nodes.get(r.node_id);
    const rec = records.get(r.node_id) ?? defaultRecord(r.node_id);
    if (r.phase !== 'ready' || !n?.online || rec.revoked || live.suspect.has(r.node_id)) continue;
    replicas.push({
      node: r.node_id,
      load: live.load(`${r.node_id}|${modelId}`),
      max: n.max_concurrency,
      region: rec.region,
      trust: rec.trust,
      owner: rec.owner,
    });
  }
  return { at: now, model, replicas };
}
