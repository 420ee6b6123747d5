import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { fail, type Failure } from '../errors';
import type { ModelState, NodeHello, InventoryItem, HubLoad } from '../protocol';
import { resolveWeightsUrl, seedCatalog, type CatalogEntry } from './catalog';
import { placeModel } from './placement';
import { HubStore, type ModelRow } from './store';
import { ModelWaiters } from './waiters';
import { warmingView, type WarmingView } from './warming';
import { modelView, nodeView, type ModelView, type NodeView } from './views';
import { linkStub } from '../link/stubs';

export interface AcquireRequest {
  model: string;
  needs: string[];
  budgetMs: number;
}
export type Lease = { ok: true; leaseId: string; nodeId: string; model: string };
export type AcquireResult = Lease | Failure;

interface Progress {
  firstAt: number;
  firstBytes: number;
  lastAt: number;
  lastBytes: number;
}

/**
 * The fleet's coordinator (one per fleet): catalog, fleet state and the choice
 * of which node serves or loads a model. Token traffic never passes through
 * here; the Worker asks `acquire` for a node and talks to that node's NodeLink.
 */
export class Hub extends DurableObject<Env> {
  private readonly store: HubStore;
  private readonly waiters = new ModelWaiters();
  /** In-flight requests per `node|model`; in memory because it only matters while requests (which keep us awake) exist. */
  private readonly inflight = new Map<string, number>();
  private readonly progress = new Map<string, Progress>();
  private leaseSeq = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HubStore(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => {
      this.store.migrate();
      this.store.upsertSeed(seedCatalog(), Date.now());
    });
  }

  listModels(): ModelView[] {
    const replicas = this.store.replicas();
    return this.store.models().filter((m) => m.enabled).map((m) => modelView(m, replicas.filter((r) => r.model_id === m.id)));
  }

  getModel(id: string): ModelView | null {
    const m = this.store.model(id);
    return m && m.enabled ? modelView(m, this.store.replicas(id)) : null;
  }

  adminModels(): Array<ModelView & { enabled: boolean; engine: string; weights_url: string }> {
    const replicas = this.store.replicas();
    return this.store.models().map((m) => ({
      ...modelView(m, replicas.filter((r) => r.model_id === m.id)),
      enabled: m.enabled,
      engine: m.engine,
      weights_url: m.weights_url,
    }));
  }

  putModel(entry: CatalogEntry): void {
    this.store.putModel(entry, Date.now());
  }

  setModelEnabled(id: string, enabled: boolean): boolean {
    return this.store.setModelEnabled(id, enabled);
  }

  listNodes(): NodeView[] {
    const replicas = this.store.replicas();
    return this.store.nodes().map((n) => nodeView(n, replicas.filter((r) => r.node_id === n.id)));
  }

  warming(id: string): WarmingView | null {
    const m = this.store.model(id);
    if (!m || !m.enabled) return null;
    const replicas = this.store.replicas(id);
    const best = replicas.find((r) => r.phase === 'downloading');
    return warmingView(id, replicas, this.store.failure(id), best ? this.rate(best.node_id, id) : undefined);
  }

  /**
   * Finds a node serving `model`, starting a load when none does, and waits
   * up to `budgetMs` for it to become ready. Never throws: failures come back
   * as a `Failure` with the client-facing error code.
   */
  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    const model = this.store.model(req.model);
    if (!model || !model.enabled) return fail('model_not_found', `The model '${req.model}' does not exist or is not offered.`, { param: 'model' });
    const missing = req.needs.filter((n) => !model.capabilities.includes(n));
    if (missing.length) {
      return fail('capability_not_supported', `The model '${model.id}' does not support ${missing.join(', ')}.`, { param: 'model' });
    }
    const deadline = Date.now() + req.budgetMs;
    for (;;) {
      const lease = this.tryLease(model.id);
      if (lease) return lease;
      const waiter = this.waiters.wait(model.id, deadline - Date.now());
      const started = await this.ensureLoading(model);
      if (!started.ok) {
        waiter.cancel();
        return started;
      }
      const event = await waiter.event;
      if (event.kind === 'failed') return fail('upstream_error', `Loading '${model.id}' failed: ${event.message}`);
      if (event.kind === 'timeout') {
        const view = this.warming(model.id);
        return fail('model_warming', `The model '${model.id}' is warming up (${view?.phase ?? 'loading'}, ${view?.pct ?? 0}%). Retry shortly; the load continues.`, {
          retryAfterS: Math.min(60, Math.max(1, view?.eta_s ?? 5)),
        });
      }
    }
  }

  release(leaseId: string): void {
    const key = leaseId.slice(0, leaseId.lastIndexOf('#'));
    const n = (this.inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.inflight.delete(key);
    else this.inflight.set(key, n);
  }

  // ------------------------------------------------------------ node reports

  nodeHello(hello: NodeHello, connId: string): void {
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
    for (const l of hello.loaded) if (l.phase === 'ready') this.waiters.notify(l.model, { kind: 'ready' });
  }

  nodeGone(nodeId: string, connId: string): void {
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
      return;
    }
    const prev = this.store.replicas(s.model).find((r) => r.node_id === nodeId);
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
      this.waiters.notify(s.model, { kind: 'ready' });
    }
  }

  // ------------------------------------------------------------ internals

  private tryLease(modelId: string): Lease | null {
    const online = new Set(this.store.nodes().filter((n) => n.online).map((n) => n.id));
    const ready = this.store.replicas(modelId).filter((r) => r.phase === 'ready' && online.has(r.node_id));
    if (ready.length === 0) return null;
    const pick = ready
      .map((r) => ({ r, load: this.inflight.get(`${r.node_id}|${modelId}`) ?? 0 }))
      .sort((a, b) => a.load - b.load || a.r.node_id.localeCompare(b.r.node_id))[0].r;
    const key = `${pick.node_id}|${modelId}`;
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
    return { ok: true, leaseId: `${key}#${++this.leaseSeq}`, nodeId: pick.node_id, model: modelId };
  }

  /** Makes sure some online node is downloading or loading `model`; starts one load when none is. */
  private async ensureLoading(model: ModelRow): Promise<{ ok: true } | Failure> {
    const nodes = this.store.nodes();
    const online = new Set(nodes.filter((n) => n.online).map((n) => n.id));
    const replicas = this.store.replicas();
    if (replicas.some((r) => r.model_id === model.id && online.has(r.node_id))) return { ok: true };
    const url = resolveWeightsUrl(model.weights_url, this.env.PORTEN_DEMO_ORIGIN);
    if (!url) return fail('no_available_node', `No weights origin is configured for '${model.id}'.`);
    const placed = placeModel(model, nodes, replicas, new Map(this.store.models().map((m) => [m.id, m])));
    if (!placed.ok) {
      const why = placed.reason === 'no_nodes' ? 'no node is connected' : placed.reason === 'engine' ? `no node runs the ${model.engine} engine` : 'no node has enough free memory';
      return fail('no_available_node', `Cannot load '${model.id}': ${why}.`, { retryAfterS: 10 });
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
    const now = Date.now();
    this.store.upsertReplica({ node_id: placed.nodeId, model_id: model.id, phase: 'downloading', done_bytes: 0, total_bytes: model.bytes ?? 0, vram_mb: null }, now);
    this.store.clearFailure(model.id);
    const sent = await linkStub(this.env, placed.nodeId).send(frame);
    if (!sent) {
      this.store.deleteReplica(placed.nodeId, model.id);
      return fail('no_available_node', `The node chosen for '${model.id}' went away; retry.`, { retryAfterS: 2 });
    }
    return { ok: true };
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
