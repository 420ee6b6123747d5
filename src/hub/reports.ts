import type { InventoryItem, ModelPhase, ModelState, NodeHello } from '../protocol';
import { boundedCapacity, boundedInventory, boundedVram, judgeClaim, ownsLoad, type NodeCaps } from '../security/claims';
import { publicMessage } from '../security/sanitize';
import type { SecurityStore } from './security-store';
import type { HubStore } from './store';
import type { ModelWaiters } from './waiters';
import { warmingView, type WarmingView } from './warming';

/** What the Hub counts about node reports (metrics). */
export interface ReportsObserver {
  loaded?: (model: string, node: string, outcome: 'ready' | 'failed') => void;
  evicted?: (model: string, node: string, cause: string) => void;
  downloaded?: (model: string, node: string, bytes: number) => void;
}

interface Progress {
  firstAt: number;
  firstBytes: number;
  lastAt: number;
  lastBytes: number;
}

export interface ReportDeps {
  store: HubStore;
  security: SecurityStore;
  waiters: ModelWaiters;
  /** The operator's caps on a node (from its record). */
  caps: (nodeId: string) => NodeCaps;
  /** Called when something is loaded, so the planner's tick keeps running. */
  onLoaded: () => void;
  /** What the Hub counts about these reports (metrics). */
  observe?: ReportsObserver;
  /** Learns node download and load rates from these reports (src/hub/node-speeds.ts). */
  speeds?: { observe(nodeId: string, s: ModelState, now: number): void };
}

/**
 * What nodes tell the Hub (through their NodeLinks): hello, departure,
 * heartbeats, inventory and model lifecycle. Turns each report into replica
 * rows and wakes the requests waiting on the models it concerns. Also tracks
 * download rates, in memory, for the warming view's ETA.
 *
 * Nodes are not believed blindly (see src/security/claims.ts): capacity is
 * clamped to ceilings and operator caps; a model is listed on a node only
 * where the Hub ordered it or the node holds weights verified against the
 * catalog's sha256; a `failed`/`stopped` report counts only for the node's
 * own load; error text is made safe for clients before it is stored. Ignored
 * reports are logged once per node and model and counted.
 */
export class FleetReports {
  private readonly progress = new Map<string, Progress>();
  /** Reports ignored per node since this Hub instance started (also shown on /admin/v1/nodes). */
  private readonly ignored = new Map<string, number>();
  private readonly warned = new Set<string>();

  constructor(private readonly d: ReportDeps) {}

  hello(hello: NodeHello, connId: string): void {
    const { store } = this.d;
    const now = Date.now();
    this.d.security.setClaim(hello.node_id, hello.vram_budget_mb, hello.max_concurrency);
    const capacity = boundedCapacity(hello, this.d.caps(hello.node_id));
    const inventory = boundedInventory(hello.inventory, (m) => store.model(m) !== null);
    store.upsertNode(
      {
        id: hello.node_id,
        conn_id: connId,
        vram_budget_mb: capacity.vram_budget_mb,
        max_concurrency: capacity.max_concurrency,
        agent_version: hello.agent_version,
        engines: hello.engines,
        inventory: inventory.map((i) => ({ model: i.model, bytes: i.bytes })),
        hardware: hello.hardware ?? null,
      },
      now,
    );
    const seen = new Set<string>();
    const loaded = hello.loaded.filter((l) => {
      if (l.phase === 'stopped' || l.phase === 'failed' || seen.has(l.model)) return false;
      seen.add(l.model);
      return this.believe(hello.node_id, l.model, l.phase, inventory);
    });
    store.replaceReplicas(
      hello.node_id,
      loaded.map((l) => ({ ...l, vram_mb: boundedVram(l.vram_mb, capacity.vram_budget_mb) })),
      now,
    );
    for (const l of loaded) this.d.waiters.notify(l.model, { kind: l.phase === 'ready' ? 'ready' : 'changed' });
    // New capacity: anything waiting may fit now.
    this.d.waiters.notifyAll({ kind: 'changed' });
    this.d.onLoaded();
  }

  gone(nodeId: string, connId: string): void {
    const affected = this.d.store
      .replicas()
      .filter((r) => r.node_id === nodeId)
      .map((r) => r.model_id);
    if (!this.d.store.setNodeOffline(nodeId, connId)) return;
    // Waiters re-plan: the load they waited on may have to start elsewhere.
    for (const model of affected) this.d.waiters.notify(model, { kind: 'changed' });
  }

  /** The operator revoked the node: nothing it was asked to load stays ordered. */
  revoked(nodeId: string): void {
    this.d.security.cancelOrders(nodeId);
  }

  heartbeat(nodeId: string): void {
    this.d.store.touchNode(nodeId, Date.now());
  }

  inventory(nodeId: string, inventory: InventoryItem[]): void {
    this.d.store.setInventory(
      nodeId,
      boundedInventory(inventory, (m) => this.d.store.model(m) !== null),
    );
  }

  /** The operator changed a node's caps: a connected node's usable capacity follows at once. */
  recap(nodeId: string): void {
    const claim = this.d.security.claim(nodeId);
    if (!claim || !this.d.store.node(nodeId)) return;
    const capacity = boundedCapacity(claim, this.d.caps(nodeId));
    this.d.store.setNodeCapacity(nodeId, capacity.vram_budget_mb, capacity.max_concurrency);
    this.d.waiters.notifyAll({ kind: 'changed' });
  }

  modelState(nodeId: string, s: ModelState): void {
    const { store, security } = this.d;
    const now = Date.now();
    const key = `${nodeId}|${s.model}`;
    const prev = store.replicas(s.model).find((r) => r.node_id === nodeId);
    if (s.phase === 'stopped' || s.phase === 'failed') {
      if (!ownsLoad({ ordered: security.ordered(nodeId, s.model), hasReplica: prev !== undefined })) {
        this.ignore(nodeId, s.model, `${s.phase} for a load it does not hold`);
        return;
      }
      if (s.phase === 'failed') this.d.observe?.loaded?.(s.model, nodeId, 'failed');
      // A stop the Hub ordered was counted when it was sent; one the node did on its own is counted here.
      else if (prev && prev.phase !== 'stopping') this.d.observe?.evicted?.(s.model, nodeId, 'node');
      security.cancelOrder(nodeId, s.model);
      store.deleteReplica(nodeId, s.model);
      this.progress.delete(key);
      if (s.phase === 'failed') {
        const code = s.error?.code ?? 'internal';
        const message = publicMessage(s.error?.message, 'the node reported a failure');
        store.recordFailure({ model_id: s.model, node_id: nodeId, code, message, at: now });
        this.d.waiters.notify(s.model, { kind: 'failed', code, message });
      } else {
        this.d.waiters.notify(s.model, { kind: 'changed' });
      }
      // Freed memory: models waiting elsewhere may fit now.
      this.d.waiters.notifyAll({ kind: 'changed' });
      return;
    }
    if (!this.believe(nodeId, s.model, s.phase, store.node(nodeId)?.inventory ?? [])) return;
    // A late progress report must not resurrect a replica the planner is stopping.
    if (prev?.phase === 'stopping' && s.phase !== 'stopping') return;
    this.d.speeds?.observe(nodeId, s, now);
    store.upsertReplica(
      {
        node_id: nodeId,
        model_id: s.model,
        phase: s.phase,
        done_bytes: s.done_bytes ?? prev?.done_bytes ?? 0,
        total_bytes: s.total_bytes ?? prev?.total_bytes ?? 0,
        vram_mb: boundedVram(s.vram_mb, store.node(nodeId)?.vram_budget_mb ?? 0) ?? null,
      },
      now,
    );
    if (s.phase === 'downloading' && s.done_bytes !== undefined) {
      this.trackProgress(key, s.done_bytes, now);
      const before = prev?.phase === 'downloading' ? prev.done_bytes : 0;
      if (s.done_bytes > before) this.d.observe?.downloaded?.(s.model, nodeId, s.done_bytes - before);
    }
    if (s.phase === 'ready') {
      if (s.vram_mb !== undefined && s.vram_mb > 0) store.recordFootprint(s.model, s.vram_mb, nodeId, now);
      if (prev?.phase !== 'ready') this.d.observe?.loaded?.(s.model, nodeId, 'ready');
      store.clearFailure(s.model);
      this.progress.delete(key);
      store.touchReplica(nodeId, s.model, now);
      this.d.waiters.notify(s.model, { kind: 'ready' });
      this.d.onLoaded();
    }
  }

  /** How many of this node's reports were ignored since the Hub started. */
  ignoredReports(nodeId: string): number {
    return this.ignored.get(nodeId) ?? 0;
  }

  /** The public warming view of an enabled model, or null. */
  warming(id: string): WarmingView | null {
    const m = this.d.store.model(id);
    if (!m?.enabled) return null;
    const replicas = this.d.store.replicas(id);
    const best = replicas.find((r) => r.phase === 'downloading');
    return warmingView(id, replicas, this.d.store.failure(id), best ? this.rate(best.node_id, id) : undefined);
  }

  /** Whether a node's claim that `model` is `phase` on it is believed (else it is ignored, logged and counted). */
  private believe(nodeId: string, model: string, phase: ModelPhase, inventory: Array<{ model: string; sha256?: string }>): boolean {
    const row = this.d.store.model(model);
    const verdict = judgeClaim({
      phase,
      ordered: this.d.security.ordered(nodeId, model),
      model: row ? { engine: row.engine, sha256: row.sha256 } : null,
      inventorySha: inventory.find((i) => i.model === model)?.sha256,
    });
    if (verdict.ok) return true;
    this.ignore(nodeId, model, `${phase} (${verdict.reason === 'not_in_catalog' ? 'not in the catalog' : 'not ordered, weights not verified'})`);
    return false;
  }

  private ignore(nodeId: string, model: string, what: string): void {
    this.ignored.set(nodeId, (this.ignored.get(nodeId) ?? 0) + 1);
    const once = `${nodeId}|${model}|${what}`;
    if (this.warned.has(once) || this.warned.size > 10_000) return;
    this.warned.add(once);
    console.warn(`node ${nodeId}: ignored report for model ${JSON.stringify(model.slice(0, 128))}: ${what}`);
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
