import type { InventoryItem, ModelState, NodeHello } from '../protocol';
import type { HubStore } from './store';
import type { ModelWaiters } from './waiters';
import { warmingView, type WarmingView } from './warming';

interface Progress {
  firstAt: number;
  firstBytes: number;
  lastAt: number;
  lastBytes: number;
}

/**
 * What nodes tell the Hub (through their NodeLinks): hello, departure,
 * heartbeats, inventory and model lifecycle. Turns each report into replica
 * rows and wakes the requests waiting on the models it concerns. Also tracks
 * download rates, in memory, for the warming view's ETA.
 */
export class FleetReports {
  private readonly progress = new Map<string, Progress>();

  constructor(
    private readonly store: HubStore,
    private readonly waiters: ModelWaiters,
    /** Called when something is loaded, so the planner's tick keeps running. */
    private readonly onLoaded: () => void,
  ) {}

  hello(hello: NodeHello, connId: string): void {
    const now = Date.now();
    this.store.upsertNode({
      id: hello.node_id,
      conn_id: connId,
      vram_budget_mb: hello.vram_budget_mb,
      max_concurrency: hello.max_concurrency,
      agent_version: hello.agent_version,
      engines: hello.engines,
      inventory: hello.inventory.map((i) => ({ model: i.model, bytes: i.bytes })),
    }, now);
    this.store.replaceReplicas(hello.node_id, hello.loaded, now);
    for (const l of hello.loaded) this.waiters.notify(l.model, { kind: l.phase === 'ready' ? 'ready' : 'changed' });
    // New capacity: anything waiting may fit now.
    this.waiters.notifyAll({ kind: 'changed' });
    this.onLoaded();
  }

  gone(nodeId: string, connId: string): void {
    const affected = this.store.replicas().filter((r) => r.node_id === nodeId).map((r) => r.model_id);
    if (!this.store.setNodeOffline(nodeId, connId)) return;
    // Waiters re-plan: the load they waited on may have to start elsewhere.
    for (const model of affected) this.waiters.notify(model, { kind: 'changed' });
  }

  heartbeat(nodeId: string): void {
    this.store.touchNode(nodeId, Date.now());
  }

  inventory(nodeId: string, inventory: InventoryItem[]): void {
    this.store.setInventory(nodeId, inventory.map((i) => ({ model: i.model, bytes: i.bytes })));
  }

  modelState(nodeId: string, s: ModelState): void {
    const now = Date.now();
    const key = `${nodeId}|${s.model}`;
    if (s.phase === 'stopped' || s.phase === 'failed') {
      this.store.deleteReplica(nodeId, s.model);
      this.progress.delete(key);
      if (s.phase === 'failed') {
        const message = s.error?.message ?? 'the node reported a failure';
        this.store.recordFailure({ model_id: s.model, node_id: nodeId, code: s.error?.code ?? 'internal', message, at: now });
        this.waiters.notify(s.model, { kind: 'failed', code: s.error?.code ?? 'internal', message });
      } else {
        this.waiters.notify(s.model, { kind: 'changed' });
      }
      // Freed memory: models waiting elsewhere may fit now.
      this.waiters.notifyAll({ kind: 'changed' });
      return;
    }
    const prev = this.store.replicas(s.model).find((r) => r.node_id === nodeId);
    // A late progress report must not resurrect a replica the planner is stopping.
    if (prev?.phase === 'stopping' && s.phase !== 'stopping') return;
    this.store.upsertReplica({
      node_id: nodeId,
      model_id: s.model,
      phase: s.phase,
      done_bytes: s.done_bytes ?? prev?.done_bytes ?? 0,
      total_bytes: s.total_bytes ?? prev?.total_bytes ?? 0,
      vram_mb: s.vram_mb ?? null,
    }, now);
    if (s.phase === 'downloading' && s.done_bytes !== undefined) this.trackProgress(key, s.done_bytes, now);
    if (s.phase === 'ready') {
      this.store.clearFailure(s.model);
      this.progress.delete(key);
      this.store.touchReplica(nodeId, s.model, now);
      this.waiters.notify(s.model, { kind: 'ready' });
      this.onLoaded();
    }
  }

  /** The public warming view of an enabled model, or null. */
  warming(id: string): WarmingView | null {
    const m = this.store.model(id);
    if (!m || !m.enabled) return null;
    const replicas = this.store.replicas(id);
    const best = replicas.find((r) => r.phase === 'downloading');
    return warmingView(id, replicas, this.store.failure(id), best ? this.rate(best.node_id, id) : undefined);
  }

  private trackProgress(key: string, bytes: number, now: number): void {
    const p = this.progress.get(key);
    if (!p || bytes < p.lastBytes) this.progress.set(key, { firstAt: now, firstBytes: bytes, lastAt: now, lastBytes: bytes });
    else this.progress.set(key, { ...p, lastAt: now, lastBytes: bytes });
  }

  private rate(nodeId: string, model: string): number | undefined {
    const p = this.progress.get(`${nodeId}|${model}`);
    if (!p || p.lastAt <= p.firstAt) return undefined;
    return ((p.lastBytes - p.firstBytes) * 1000) / (p.lastAt - p.firstAt);
  }
}
