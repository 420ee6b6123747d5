import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import type { InventoryItem, ModelState, NodeHello, Usage } from '../protocol';
import { plannerConfig } from '../planner/types';
import { minuteOf } from '../planner/demand';
import type { Approve, CreateKey, CreateNode, PatchNode, UsageQuery } from '../tenancy/schemas';
import { seedCatalog, type CatalogEntry } from './catalog';
import { catalogForAdmin, fleetForAdmin, offeredModel, offeredModels } from './fleet-views';
import { Leases, type AcquireRequest, type AcquireResult, type Outcome } from './leases';
import { LiveCounters } from './live';
import { LiveFeed } from './live-feed';
import { Planning } from './planning';
import { FleetReports } from './reports';
import { HubStore, type DecisionRow } from './store';
import { Tenancy } from './tenancy';
import { TenancyStore } from './tenancy-store';
import { ModelWaiters } from './waiters';
import type { WarmingView } from './warming';

export type { AcquireRequest, AcquireResult, Lease, Outcome } from './leases';

/**
 * The fleet's coordinator (one per fleet): catalog, fleet state, demand
 * ledger, tenancy, and the planner that decides which node loads or unloads
 * what. Token traffic never passes through here; the Worker asks `acquire`
 * for a node and talks to that node's NodeLink. This class is the RPC surface
 * and the wiring; each concern lives in its own module.
 */
export class Hub extends DurableObject<Env> {
  private readonly store: HubStore;
  /** Keys, node records, enrollments and the usage ledger (see src/tenancy). */
  readonly tenancy: Tenancy;
  private readonly waiters = new ModelWaiters();
  private readonly live = new LiveCounters();
  /** Change notices for dashboards; it sees every store write through `watch`. */
  private readonly feed = new LiveFeed(this.ctx);
  private readonly planning: Planning;
  private readonly reports: FleetReports;
  private readonly leases: Leases;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = this.feed.watch(new HubStore(ctx.storage.sql));
    const intervalS = Number(env.PORTEN_ENROLL_INTERVAL_S ?? 5);
    this.tenancy = new Tenancy(this.feed.watch(new TenancyStore(ctx.storage.sql)), Number.isInteger(intervalS) && intervalS >= 1 && intervalS <= 60 ? intervalS : 5);
    const windowS = Number(env.PORTEN_DEMAND_WINDOW_S ?? 600);
    const config = plannerConfig({
      demandWindowMs: Math.round((Number.isFinite(windowS) && windowS > 0 ? windowS : 600) * 1000),
      // A failed load is retried when a client asks again: the failure already reached every waiter.
      failureBackoffMs: 0,
    });
    this.planning = new Planning(ctx, env, this.store, this.waiters, this.live, config);
    this.reports = new FleetReports(this.store, this.waiters, () => void this.planning.scheduleTick());
    this.leases = new Leases({
      store: this.store,
      tenancy: this.tenancy,
      waiters: this.waiters,
      live: this.live,
      replan: () => this.planning.replan(),
      warming: (model) => this.reports.warming(model),
    });
    ctx.blockConcurrencyWhile(async () => {
      this.store.migrate();
      this.store.upsertSeed(seedCatalog(), Date.now());
    });
  }

  // ------------------------------------------------------------ requests

  acquire(req: AcquireRequest): Promise<AcquireResult> {
    return this.leases.acquire(req);
  }

  release(leaseId: string, usage?: Usage, outcome: Outcome = 'ok'): void {
    this.leases.release(leaseId, usage, outcome);
  }

  // ------------------------------------------------------------ catalog and fleet views

  listModels() {
    return offeredModels(this.store);
  }

  getModel(id: string) {
    return offeredModel(this.store, id);
  }

  adminModels() {
    return catalogForAdmin(this.store);
  }

  putModel(entry: CatalogEntry): void {
    this.store.putModel(entry, Date.now());
  }

  setModelEnabled(id: string, enabled: boolean): boolean {
    return this.store.setModelEnabled(id, enabled);
  }

  listNodes() {
    return fleetForAdmin(this.store, this.tenancy, this.live);
  }

  warming(id: string): WarmingView | null {
    return this.reports.warming(id);
  }

  decisions(limit = 100): DecisionRow[] {
    return this.store.decisions(Math.max(1, Math.min(500, limit)));
  }

  /** Demand ledger rows of the last `minutes` minutes (the current one included), oldest first. */
  demand(minutes: number): Array<{ model: string; minute: number; served: number; unmet: number }> {
    return this.store.demandRows(minuteOf(Date.now()) - Math.max(1, Math.min(60, minutes)) + 1);
  }

  // ------------------------------------------------------------ dashboard live feed (`/admin/v1/live`, ticket checked by the Worker)

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
    if (node?.conn_id) this.reports.gone(id, node.conn_id);
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

  // ------------------------------------------------------------ node reports (from NodeLinks)

  /** False (and nothing recorded) when the operator revoked this node: the NodeLink then closes its socket. */
  nodeHello(hello: NodeHello, connId: string): boolean {
    if (this.tenancy.record(hello.node_id).revoked) return false;
    this.reports.hello(hello, connId);
    return true;
  }

  nodeGone(nodeId: string, connId: string): void {
    this.reports.gone(nodeId, connId);
  }

  heartbeat(nodeId: string): void {
    this.reports.heartbeat(nodeId);
  }

  inventory(nodeId: string, inventory: InventoryItem[]): void {
    this.reports.inventory(nodeId, inventory);
  }

  modelState(nodeId: string, s: ModelState): void {
    this.reports.modelState(nodeId, s);
  }

  /** The planner's clock: idle eviction and scale-out are checked on every tick. */
  async alarm(): Promise<void> {
    await this.planning.replan();
    await this.planning.scheduleTick();
  }
}
