import type { NodeRecord } from '../tenancy/eligibility';
import type { LiveCounters } from './live';
import type { HubStore } from './store';
import type { Tenancy } from './tenancy';
import { modelView, nodeView, type ModelView, type NodeView } from './views';

/** What `/v1/models` and the admin API show of the catalog and the fleet, assembled from the Hub's rows and counters. */
export function offeredModels(store: HubStore): ModelView[] {
  const replicas = store.replicas();
  return store
    .models()
    .filter((m) => m.enabled)
    .map((m) =>
      modelView(
        m,
        replicas.filter((r) => r.model_id === m.id),
      ),
    );
}

export function offeredModel(store: HubStore, id: string): ModelView | null {
  const m = store.model(id);
  return m?.enabled ? modelView(m, store.replicas(id)) : null;
}

export function catalogForAdmin(store: HubStore): Array<ModelView & { enabled: boolean; engine: string; weights_url: string; edited_at: number | null }> {
  const replicas = store.replicas();
  return store.models().map((m) => ({
    ...modelView(
      m,
      replicas.filter((r) => r.model_id === m.id),
    ),
    enabled: m.enabled,
    engine: m.engine,
    weights_url: m.weights_url,
    // When an operator last wrote the entry (ms); null while it follows catalog/models.json.
    edited_at: m.edited_at,
  }));
}

export type FleetNode = NodeView & { inflight: number; models: Array<NodeView['models'][number] & { inflight: number }> } & ReturnType<typeof recordFields>;

/** Every node: those that connected at least once, then those the operator registered that never did. */
export function fleetForAdmin(store: HubStore, tenancy: Tenancy, live: LiveCounters): FleetNode[] {
  const replicas = store.replicas();
  const nodes = store.nodes();
  const seen: FleetNode[] = nodes.map((n) => {
    const view = nodeView(
      n,
      replicas.filter((r) => r.node_id === n.id),
    );
    // In-flight counts live in memory (LiveCounters), not in SQLite, so they are added here.
    const models = view.models.map((m) => ({ ...m, inflight: live.load(`${n.id}|${m.model}`) }));
    return { ...view, models, inflight: models.reduce((sum, m) => sum + m.inflight, 0), ...recordFields(tenancy.record(n.id)) };
  });
  const connected = new Set(nodes.map((n) => n.id));
  const registered: FleetNode[] = [...tenancy.records().values()]
    .filter((r) => !connected.has(r.id))
    .map((r) => ({
      id: r.id,
      online: false,
      vram_budget_mb: 0,
      vram_used_mb: 0,
      max_concurrency: 0,
      agent_version: '',
      engines: [],
      last_seen: null,
      models: [],
      inventory: [],
      hardware: null,
      inflight: 0,
      ...recordFields(r),
    }));
  return seen.concat(registered);
}

/** The operator's fields of a node, as `/admin/v1/nodes` shows them (`caps`: what PATCH set; the effective budget and slots are the node's own fields). */
function recordFields(r: NodeRecord) {
  return { region: r.region, trust: r.trust, owner: r.owner, revoked: r.revoked, caps: { max_budget_mb: r.max_budget_mb, max_concurrency: r.max_concurrency } };
}
