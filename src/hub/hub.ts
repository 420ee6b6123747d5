import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { fail, type Failure } from '../errors';
import type { ModelState, NodeHello, InventoryItem } from '../protocol';
import { plan } from '../planner/plan';
import { plannerConfig, type PlannerConfig, type RecentEviction } from '../planner/types';
import { swapsOf } from '../planner/swaps';
import { DEMAND_RETENTION_MS, minuteOf } from '../planner/demand';
import { seedCatalog, type CatalogEntry } from './catalog';
import { applyActions } from './effects';
import { LiveCounters } from './live';
import { LiveFeed } from './live-feed';
import { plannerState } from './planner-state';
import { HubStore, type DecisionRow, type ModelRow } from './store';
import { ModelWaiters } from './waiters';
import { warmingView, type WarmingView } from './warming';
import { modelView, nodeView, type ModelView, type NodeView } from './views';
import { Tenancy, type Admission } from './tenancy';
import { TenancyStore } from './tenancy-store';
import { defaultRecord, describeScope, excludedBy, restricts, type NodeRecord } from '../tenancy/eligibility';
import type { Usage } from '../protocol';
import type { Approve, CreateKey, CreateNode, PatchNode, UsageQuery } from '../tenancy/schemas';

export interface AcquireRequest {
  model: string;
  needs: string[];
  budgetMs: number;
  /** SHA-256 of a managed API key; absent for the bootstrap key (unrestricted). */
  keyHash?: string;
}
export type Outcome = 'ok' | 'error' | 'cancelled';
/** Which nodes a request may use; `restrictions` is what the planner sees (undefined: any node). */
interface Eligibility {
  allowed: (nodeId: string) => boolean;
  restrictions?: { nodes: string[] };
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
 * The fleet's coordinator (one per fleet): catalog, fleet state, demand
 * ledger and the planner that decides which node loads or unloads what. Token
 * traffic never passes through here; the Worker asks `acquire` for a node and
 * talks to that node's NodeLink.
 */
export class Hub extends DurableObject<Env> {
  private readonly store: HubStore;
  /** Keys, node records, enrollments and the usage ledger (see src/tenancy). */
  readonly tenancy: Tenancy;
  private readonly waiters = new ModelWaiters();
  private readonly live = new LiveCounters();
  /** Change notices for dashboards; it sees every store write through `watch`. */
  private readonly feed = new LiveFeed(this.ctx);
  private readonly progress = new Map<string, Progress>();
  private readonly config: PlannerConfig;
  /** Recent swaps for the planner's anti-ping-pong rule; losing them on eviction only relaxes it. */
  private swaps: RecentEviction[] = [];
  private planning: Promise<void> | null = null;
  private replanAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = this.feed.watch(new HubStore(ctx.storage.sql));
    const intervalS = Number(env.PORTEN_ENROLL_INTERVAL_S ?? 5);
    this.tenancy = new Tenancy(this.feed.watch(new TenancyStore(ctx.storage.sql)), Number.isInteger(intervalS) && intervalS >= 1 && intervalS <= 60 ? intervalS : 5);
    const windowS = Number(env.PORTEN_DEMAND_WINDOW_S ?? 600);
    this.config = plannerConfig({
      demandWindowMs: Math.round((Number.isFinite(windowS) && windowS > 0 ? windowS : 600) * 1000),
      // A failed load is retried when a client asks again: the failure already reached every waiter.
      failureBackoffMs: 0,
    });
    ctx.blockConcurrencyWhile(async () => {
      this.store.migrate();
      this.store.upsertSeed(seedCatalog(), Date.now());
    });
  }

  // ------------------------------------------------------------ views

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

  listNodes(): Array<NodeView & { inflight: number }> {
    const replicas = this.store.replicas();
    return this.store.nodes().map((n) => {
      const view = nodeView(n, replicas.filter((r) => r.node_id === n.id));
      // In-flight counts live in memory (LiveCounters), not in SQLite, so they are added here.
      const models = view.models.map((m) => ({ ...m, inflight: this.live.load(`${n.id}|${m.model}`) }));
      return { ...view, models, inflight: models.reduce((sum, m) => sum + m.inflight, 0), ...recordFields(this.tenancy.record(n.id)) };
    }).concat(this.preIssuedNodes());
  }

  /** Nodes the operator registered (a key issued, or revoked) that have never connected. */
  private preIssuedNodes() {
    const connected = new Set(this.store.nodes().map((n) => n.id));
    return [...this.tenancy.records().values()].filter((r) => !connected.has(r.id)).map((r) => ({
      id: r.id, online: false, vram_budget_mb: 0, vram_used_mb: 0, max_concurrency: 0, agent_version: '', engines: [], last_seen: null,
      models: [] as Array<NodeView['models'][number] & { inflight: number }>, inventory: [], inflight: 0, ...recordFields(r),
    }));
  }

  /** Demand ledger rows of the last `minutes` minutes (the current one included), oldest first. */
  demand(minutes: number): Array<{ model: string; minute: number; served: number; unmet: number }> {
    return this.store.demandRows(minuteOf(Date.now()) - Math.max(1, Math.min(60, minutes)) + 1);
  }

  /** The dashboard's live WebSocket (`/admin/v1/live`, ticket checked by the Worker). */
  async fetch(req: Request): Promise<Response> {
    return this.feed.accept(req);
  }

  async webSocketMessage(): Promise<void> {
    // Dashboards only listen; their pings are answered by the runtime's auto-response.
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.feed.closed(ws, code);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.feed.closed(ws);
  }

  decisions(limit = 100): DecisionRow[] {
    return this.store.decisions(Math.max(1, Math.min(500, limit)));
  }

  warming(id: string): WarmingView | null {
    const m = this.store.model(id);
    if (!m || !m.enabled) return null;
    const replicas = this.store.replicas(id);
    const best = replicas.find((r) => r.phase === 'downloading');
    return warmingView(id, replicas, this.store.failure(id), best ? this.rate(best.node_id, id) : undefined);
  }

  // ------------------------------------------------------------ requests

  /**
   * Finds a node serving `model`, letting the planner load it (evicting colder
   * models if needed) when none does, and waits up to `budgetMs` for it.
   * Never throws: failures come back as a `Failure` with the client's error code.
   */
  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    const admitted = this.tenancy.admit(req.keyHash, req.model, Date.now());
    if (!admitted.ok) return admitted;
    return this.acquireFor(req, admitted);
  }

  /**
   * Ends a lease exactly once: frees its slot and closes its ledger row with
   * the tokens the node reported (0 when it reported none: never invented).
   * A second release of the same lease does nothing.
   */
  release(leaseId: string, usage?: Usage, outcome: Outcome = 'ok'): void {
    const usageId = Number(leaseId.slice(leaseId.lastIndexOf('#') + 1));
    if (!this.tenancy.end(usageId, usage, outcome, Date.now())) return;
    this.releaseSlot(leaseId);
  }

  private async acquireFor(req: AcquireRequest, admitted: Admission): Promise<AcquireResult> {
    const model = this.store.model(req.model);
    if (!model || !model.enabled) return fail('model_not_found', `The model '${req.model}' does not exist or is not offered.`, { param: 'model' });
    const missing = req.needs.filter((n) => !model.capabilities.includes(n));
    if (missing.length) {
      return fail('capability_not_supported', `The model '${model.id}' does not support ${missing.join(', ')}.`, { param: 'model' });
    }
    const deadline = Date.now() + req.budgetMs;
    const usageId = this.tenancy.begin(admitted.keyId, model.id, Date.now());
    const result = await this.waitForLease(model, deadline, usageId, admitted);
    if (!result.ok) this.tenancy.end(usageId, undefined, 'error', Date.now());
    return result;
  }

  /** Which nodes this key may use, now; restricted keys pass the planner the matching online nodes. */
  private eligibility(admitted: Admission): Eligibility {
    const records = this.tenancy.records();
    if (!restricts(admitted.scope)) return { allowed: (id) => !records.get(id)?.revoked };
    const allowed = (id: string) => excludedBy(admitted.scope, records.get(id) ?? defaultRecord(id)) === null;
    return { allowed, restrictions: { nodes: this.store.nodes().filter((n) => n.online && allowed(n.id)).map((n) => n.id) } };
  }

  private async waitForLease(model: ModelRow, deadline: number, usageId: number, admitted: Admission): Promise<AcquireResult> {
    let counted = false;
    for (;;) {
      const elig = this.eligibility(admitted);
      const lease = this.tryLease(model.id, elig, usageId);
      if (lease) {
        if (!counted) this.store.bumpDemand(model.id, minuteOf(Date.now()), 'served');
        return lease;
      }
      // An empty node list would mean "anywhere" to the planner: fail instead of routing outside the key's scope.
      if (elig.restrictions && elig.restrictions.nodes.length === 0) {
        return fail('no_available_node', `No connected node matches this API key's restrictions (${describeScope(admitted.scope!)}).`, { retryAfterS: 10 });
      }
      const impossible = counted ? null : this.unplaceable(model, elig);
      if (impossible) return impossible;
      if (!counted) {
        this.store.bumpDemand(model.id, minuteOf(Date.now()), 'unmet');
        counted = true;
      }
      // Registered before planning so a ready report arriving meanwhile is not lost.
      const waiter = this.waiters.wait(model.id, deadline - Date.now(), elig.restrictions);
      await this.replan();
      const event = await waiter.event;
      if (event.kind === 'failed') return fail('upstream_error', `Loading '${model.id}' failed: ${event.message}`);
      if (event.kind === 'timeout') {
        if (this.readyReplicas(model.id, elig.allowed).length) {
          return fail('no_available_node', `Every replica of '${model.id}' is at its concurrency limit; retry shortly.`, { retryAfterS: 1 });
        }
        const view = this.warming(model.id);
        return fail('model_warming', `The model '${model.id}' is warming up (${view?.phase ?? 'loading'}, ${view?.pct ?? 0}%). Retry shortly; the load continues.`, {
          retryAfterS: Math.min(60, Math.max(1, view?.eta_s ?? 5)),
        });
      }
    }
  }

  private releaseSlot(leaseId: string): void {
    const key = leaseId.slice(0, leaseId.lastIndexOf('#'));
    const [nodeId, model] = key.split('|');
    const now = Date.now();
    this.live.end(key);
    if (this.waiters.count(model) === 0) this.live.relieved(key);
    this.store.touchReplica(nodeId, model, now);
    // A freed slot serves the next queued request; a finished request may also make its model evictable.
    this.waiters.notify(model, { kind: 'changed' });
    if (this.waiters.pending().length) void this.replan();
  }

  // ------------------------------------------------------------ tenancy (src/hub/tenancy.ts; bodies parsed by the Worker)

  checkKey(keyHash: string) {
    return this.tenancy.checkKey(keyHash);
  }

  createKey(input: CreateKey) {
    return this.tenancy.createKey(input, Date.now());
  }

  listKeys() {
    return this.tenancy.listKeys();
  }

  revokeKey(id: string): boolean {
    return this.tenancy.revokeKey(id, Date.now());
  }

  authNode(keyHash: string | null, claimed: string | null) {
    return this.tenancy.authNode(keyHash, claimed);
  }

  createNode(input: CreateNode) {
    return this.tenancy.createNode(input, Date.now());
  }

  patchNode(id: string, patch: PatchNode) {
    return this.tenancy.patchNode(id, patch, this.store.node(id) !== null, Date.now());
  }

  /** Marks the node revoked (its key can never connect again) and forgets its replicas; the Worker then closes its socket. */
  revokeNode(id: string): boolean {
    const known = this.store.node(id) !== null || this.tenancy.records().has(id);
    if (!known) return false;
    this.tenancy.revokeNode(id, Date.now());
    const node = this.store.node(id);
    if (node?.conn_id) this.nodeGone(id, node.conn_id);
    return true;
  }

  startEnrollment(hostname?: string) {
    return this.tenancy.startEnrollment(hostname, Date.now());
  }

  pollEnrollment(deviceCode: string) {
    return this.tenancy.pollEnrollment(deviceCode, Date.now());
  }

  listEnrollments() {
    return this.tenancy.listEnrollments(Date.now());
  }

  decideEnrollment(userCode: string, decision: 'approve' | 'deny', approve: Approve | null) {
    return this.tenancy.decideEnrollment(userCode, decision, approve, Date.now());
  }

  usage(query: UsageQuery) {
    return this.tenancy.usage(query, Date.now());
  }

  // ------------------------------------------------------------ node reports

  /** False (and nothing recorded) when the operator revoked this node: the NodeLink then closes its socket. */
  nodeHello(hello: NodeHello, connId: string): boolean {
    if (this.tenancy.record(hello.node_id).revoked) return false;
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
    void this.scheduleTick();
    return true;
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
      void this.scheduleTick();
    }
  }

  /** The planner's clock: idle eviction and scale-out are checked on every tick. */
  async alarm(): Promise<void> {
    await this.replan();
    await this.scheduleTick();
  }

  // ------------------------------------------------------------ internals

  private readyReplicas(modelId: string, allowed: (nodeId: string) => boolean = () => true) {
    const online = new Set(this.store.nodes().filter((n) => n.online && allowed(n.id)).map((n) => n.id));
    return this.store.replicas(modelId).filter((r) => r.phase === 'ready' && online.has(r.node_id));
  }

  /** A lease on the ready replica with the fewest requests in flight, if any has a free slot (else the request queues). */
  private tryLease(modelId: string, elig: Eligibility, usageId: number): Lease | null {
    const capacity = new Map(this.store.nodes().filter((n) => n.online).map((n) => [n.id, n.max_concurrency]));
    const open = this.readyReplicas(modelId, elig.allowed)
      .map((r) => ({ r, load: this.live.load(`${r.node_id}|${modelId}`) }))
      .filter((x) => x.load < (capacity.get(x.r.node_id) ?? 0))
      .sort((a, b) => a.load - b.load || a.r.node_id.localeCompare(b.r.node_id));
    if (open.length === 0) {
      const now = Date.now();
      for (const r of this.readyReplicas(modelId, elig.allowed)) this.live.saturated(`${r.node_id}|${modelId}`, now);
      return null;
    }
    const pick = open[0].r;
    const key = `${pick.node_id}|${modelId}`;
    const now = Date.now();
    this.live.begin(key);
    this.store.touchReplica(pick.node_id, modelId, now);
    this.tenancy.leased(usageId, pick.node_id);
    // The suffix is the ledger row, so release closes exactly that row.
    return { ok: true, leaseId: `${key}#${usageId}`, nodeId: pick.node_id, model: modelId };
  }

  /** A failure when no online node could ever hold `model`, so the request fails now instead of at the budget. */
  private unplaceable(model: ModelRow, elig: Eligibility): Failure | null {
    const online = this.store.nodes().filter((n) => n.online && elig.allowed(n.id));
    if (online.length === 0) return fail('no_available_node', `Cannot load '${model.id}': no node is connected.`, { retryAfterS: 10 });
    const capable = online.filter((n) => n.engines.includes(model.engine));
    if (capable.length === 0) return fail('no_available_node', `Cannot load '${model.id}': no connected node runs the ${model.engine} engine.`, { retryAfterS: 10 });
    const largest = Math.max(...capable.map((n) => n.vram_budget_mb));
    if (largest < model.vram_mb) {
      return fail('no_available_node', `Cannot load '${model.id}': it needs ${model.vram_mb} MB and the largest connected node has ${largest} MB.`, { retryAfterS: 30 });
    }
    return null;
  }

  /** Runs the planner and applies its actions; concurrent calls coalesce into one more run. */
  private replan(): Promise<void> {
    if (this.planning) {
      this.replanAgain = true;
      return this.planning;
    }
    this.planning = (async () => {
      do {
        this.replanAgain = false;
        const now = Date.now();
        const state = plannerState({
          models: this.store.models(),
          nodes: this.store.nodes(),
          replicas: this.store.replicas(),
          failures: this.store.failures(),
          demand: this.store.demandSince(minuteOf(now - DEMAND_RETENTION_MS) + 1),
          pending: this.waiters.pending(),
          live: { inflight: this.live.inflight, queued: this.waiters.counts(), saturatedSince: this.live.saturatedSince },
          now,
        });
        this.swaps = this.swaps.filter((e) => now - e.at < this.config.protectMs);
        const result = plan({ ...state, recentEvictions: this.swaps }, now, this.config);
        this.swaps.push(...swapsOf(result.actions, now));
        this.store.appendDecisions(result.decisions.map((d) => ({ at: d.at, rule: d.rule, outcome: d.outcome, model: d.model, node: d.node ?? null, reason: d.reason })));
        await applyActions(this.env, this.store, result.actions, now);
      } while (this.replanAgain);
    })().finally(() => {
      this.planning = null;
    });
    return this.planning;
  }

  /** Keeps a planner tick scheduled while any model is loaded, at a tenth of the demand window (1–30 s). */
  private async scheduleTick(): Promise<void> {
    if (this.store.replicas().length === 0) return;
    const tick = Math.min(30_000, Math.max(1000, this.config.demandWindowMs / 10));
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > Date.now() + tick) await this.ctx.storage.setAlarm(Date.now() + tick);
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

/** The operator's fields of a node, as `/admin/v1/nodes` shows them. */
function recordFields(r: NodeRecord) {
  return { region: r.region, trust: r.trust, owner: r.owner, revoked: r.revoked };
}
