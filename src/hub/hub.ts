import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import type { InventoryItem, ModelState, NodeHello, Usage } from '../protocol';
import { plannerConfig } from '../planner/types';
import { minuteOf } from '../planner/demand';
import type { Failure } from '../errors';
import type { Approve, CreateKey, CreateNode, PatchNode, UsageQuery } from '../tenancy/schemas';
import { seedCatalog, type CatalogEntry } from './catalog';
import { catalogForAdmin, fleetForAdmin, offeredModel, offeredModels } from './fleet-views';
import { Leases, type AcquireRequest, type AcquireResult, type Outcome } from './leases';
import { LiveCounters } from './live';
import { LiveFeed } from './live-feed';
import { Planning } from './planning';
import { FleetReports } from './reports';
import { SecurityStore } from './security-store';
import { HubThrottles } from '../security/hub-throttles';
import { defaultMinTrust } from '../tenancy/eligibility';
import { HubStore, type DecisionRow } from './store';
import { Tenancy } from './tenancy';
import { TenancyStore } from './tenancy-store';
import { Ingest } from './ingest';
import type { IngestAck, LedgerRow, LinkReport } from './ingest-types';
import { keyFilter, keyInfo, type KeyInfo } from './key-info';
import { HubMetrics } from './metrics';
import { routeView, type RouteView } from './route-view';
import { linkStub } from '../link/stubs';
import { NodeSpeeds } from './node-speeds';
import { ModelWaiters, queueDefault } from './waiters';
import { withQueue, type WarmingView } from './warming';

export type { AcquireRequest, AcquireResult, Lease, Outcome } from './leases';
export type { KeyInfo } from './key-info';
export type { RouteView } from './route-view';

/** How long the Hub waits, on start, for each NodeLink to say whether the node it listed as online is still connected. */
const PROBE_MS = 2000;

/** A positive number of seconds from a Worker var, else the default. */
function secondsVar(v: string | undefined, fallback: number): number {
  const n = Number(v ?? fallback);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

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
  /** Load orders, claimed capacity, used live tickets (src/hub/security-store.ts). */
  private readonly security: SecurityStore;
  /** Per-client budgets for unauthenticated work (enrollment, warming view, failed auth). */
  private readonly throttles = new HubThrottles();
  private readonly ledger: TenancyStore;
  private readonly ingestion: Ingest;
  private readonly metrics: HubMetrics;
  private readonly speeds: NodeSpeeds;
  /** PORTEN_QUEUE_MAX: requests that may wait for one model when its catalog entry sets no queue_max. */
  private readonly queueMax: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = this.feed.watch(new HubStore(ctx.storage.sql));
    this.security = new SecurityStore(ctx.storage.sql);
    const intervalS = Number(env.PORTEN_ENROLL_INTERVAL_S ?? 5);
    const minTrust = defaultMinTrust(env.PORTEN_DEFAULT_MIN_TRUST);
    if (minTrust.error) console.error(minTrust.error);
    this.ledger = this.feed.watch(new TenancyStore(ctx.storage.sql));
    this.tenancy = new Tenancy(this.ledger, {
      intervalS: Number.isInteger(intervalS) && intervalS >= 1 && intervalS <= 60 ? intervalS : 5,
      defaultMinTrust: minTrust.trust,
      limited: (source) => this.throttles.limited(source),
    });
    // Migrations first: the metrics read their saved state from the store (the security tables alter the store's).
    this.store.migrate();
    this.security.migrate();
    this.metrics = new HubMetrics(this.store);
    const config = plannerConfig({
      demandWindowMs: secondsVar(env.PORTEN_DEMAND_WINDOW_S, 600) * 1000,
      maxWindowMs: secondsVar(env.PORTEN_DEMAND_WINDOW_MAX_S, 4 * 3600) * 1000,
      warmupBudgetMs: secondsVar(env.PORTEN_WARMUP_BUDGET_S, 300) * 1000,
      // A failed load is retried when a client asks again: the failure already reached every waiter.
      failureBackoffMs: 0,
    });
    this.speeds = new NodeSpeeds(this.store);
    this.queueMax = queueDefault(env.PORTEN_QUEUE_MAX);
    this.planning = new Planning(ctx, env, this.store, this.waiters, this.live, config, this.security, this.metrics, this.speeds);
    this.reports = new FleetReports({
      store: this.store,
      security: this.security,
      waiters: this.waiters,
      caps: (id) => this.tenancy.record(id),
      onLoaded: () => void this.planning.scheduleTick(),
      observe: this.metrics,
      speeds: this.speeds,
    });
    this.ingestion = new Ingest({
      store: this.store,
      ledger: this.ledger,
      live: this.live,
      waiters: this.waiters,
      metrics: this.metrics,
      replan: () => {
        if (this.waiters.pending().length) void this.planning.replan();
      },
      routesChanged: () => undefined,
      countedUnmet: (rid) => this.leases.countedUnmet(rid),
    });
    this.leases = new Leases({
      store: this.store,
      tenancy: this.tenancy,
      waiters: this.waiters,
      live: this.live,
      replan: () => this.planning.replan(),
      warming: (model) => this.reports.warming(model),
      record: (row) => this.ingestion.row(row),
      refused: (model, code) => this.metrics.refused(model, code),
      queueFull: (model) => this.waiters.refuse(model.id, model.queue_max ?? this.queueMax, this.reports.warming(model.id)),
    });
    ctx.blockConcurrencyWhile(async () => {
      this.store.upsertSeed(seedCatalog(env.PORTEN_DEMO_ORIGIN), Date.now());
      await this.forgetDeadConnections();
    });
  }

  /**
   * After a restart the Hub may list nodes as online whose sockets died with
   * the old process: each NodeLink is asked whether it still holds the
   * connection the Hub knows, and the nodes whose NodeLink says no are
   * unknown until they say hello again (no stale routes, no 503s for them).
   * A NodeLink that does not answer in time keeps its node listed; a dispatch
   * there is refused before any byte and retried, if the node is gone.
   */
  private async forgetDeadConnections(): Promise<void> {
    const online = this.store.nodes().filter((n) => n.online && n.conn_id);
    await Promise.all(
      online.map(async (n) => {
        const held = await Promise.race([
          linkStub(this.env, n.id)
            .holds(n.conn_id!)
            .catch(() => null),
          new Promise<null>((r) => setTimeout(() => r(null), PROBE_MS)),
        ]);
        if (held === false) {
          this.reports.gone(n.id, n.conn_id!);
          this.live.forget(n.id);
        }
      }),
    );
  }

  // ------------------------------------------------------------ requests

  /** The cold path: a request the Worker's caches could not place (see src/routes/relay.ts). */
  acquire(req: AcquireRequest): Promise<AcquireResult> {
    this.metrics.call('acquire');
    return this.leases.acquire(req);
  }

  release(leaseId: string, usage?: Usage, outcome: Outcome = 'ok'): void {
    this.metrics.call('release');
    this.leases.release(leaseId, usage, outcome);
  }

  // ------------------------------------------------------------ the data plane's batches and caches

  /** A NodeLink's batch: ledger rows, in-flight counts, saturation, liveness (src/hub/ingest.ts). */
  ingest(report: LinkReport): IngestAck {
    this.metrics.call('ingest');
    return this.ingestion.report(report, Date.now());
  }

  /** Ledger rows recorded outside a NodeLink's batch (the Worker, for a request that failed between objects). */
  record(rows: LedgerRow[]): void {
    this.metrics.call('record');
    for (const row of rows) this.ingestion.row(row);
  }

  /** Where a model is ready, for the Worker's route cache. */
  route(model: string): RouteView {
    this.metrics.call('route');
    return routeView(this.store, this.tenancy.records(), this.live, model, Date.now());
  }

  /** A managed key's rights, limits and recent usage, for the Worker's key cache. */
  keyInfo(keyHash: string): KeyInfo {
    this.metrics.call('keyInfo');
    return keyInfo(this.ledger, keyHash, Date.now());
  }

  /** Prefixes of the live keys' hashes, so the Worker refuses made-up keys without asking. */
  keyFilter(): { prefixes: string[]; at: number } {
    this.metrics.call('keyFilter');
    return keyFilter(this.ledger, Date.now());
  }

  /** Prometheus text exposition of the fleet's metrics. */
  metricsText(): string {
    return this.metrics.render(this.live, this.waiters.counts(), Date.now(), this.ledger.openRows());
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
    return fleetForAdmin(this.store, this.tenancy, this.live).map((n) => ({ ...n, ignored_reports: this.reports.ignoredReports(n.id) }));
  }

  /** The public warming view with the model's queue; with `ticket` (a waiting request's), that request's position. */
  warming(id: string, ticket?: string): WarmingView | null {
    this.metrics.call('warming');
    const view = this.reports.warming(id);
    const model = view && this.store.model(id);
    return view && model ? withQueue(view, this.waiters.queue(id, ticket), model.queue_max ?? this.queueMax) : view;
  }

  /** The unauthenticated warming view, within `source`'s budget (src/security/hub-throttles.ts). */
  publicWarming(id: string, source: string): { ok: true; view: WarmingView | null } | Failure {
    return this.throttles.check('warming', source) ?? { ok: true, view: this.warming(id) };
  }

  // ------------------------------------------------------------ abuse budgets and single-use tickets

  /**
   * Counts a failed admin token or node key from `source`. Returns how long
   * the address is now refused (the Worker caches it and answers 429 without
   * asking again), or 0 while it still has budget.
   */
  authFailed(source: string): number {
    return this.throttles.penalty('authFailure', source);
  }

  /** True the first time a live ticket's MAC is presented, false on every replay. */
  useLiveTicket(mac: string, expiresAt: number): boolean {
    return this.security.useTicket(mac, expiresAt, Date.now());
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
    this.metrics.call('checkKey');
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
    const rec = this.tenancy.patchNode(id, patch, this.store.node(id) !== null, Date.now());
    if (rec && !rec.revoked) this.reports.recap(id);
    return rec;
  }

  /** Marks the node revoked (its key can never connect again) and forgets its replicas; the Worker then closes its socket. */
  revokeNode(id: string): boolean {
    const known = this.store.node(id) !== null || this.tenancy.records().has(id);
    if (!known) return false;
    this.tenancy.revokeNode(id, Date.now());
    this.reports.revoked(id);
    const node = this.store.node(id);
    if (node?.conn_id) this.reports.gone(id, node.conn_id);
    return true;
  }

  /** `source` is the caller's client key (src/security/client-ip.ts): per-address budgets and caps apply. */
  async startEnrollment(hostname: string | undefined, source: string) {
    return this.throttles.check('enrollStart', source) ?? this.tenancy.startEnrollment(hostname, source, Date.now());
  }

  async pollEnrollment(deviceCode: string, source: string) {
    return this.throttles.check('enrollPoll', source) ?? this.tenancy.pollEnrollment(deviceCode, Date.now());
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
    this.metrics.call('nodeHello');
    if (this.tenancy.record(hello.node_id).revoked) return false;
    this.reports.hello(hello, connId);
    return true;
  }

  nodeGone(nodeId: string, connId: string): void {
    this.metrics.call('nodeGone');
    const node = this.store.node(nodeId);
    if (node?.conn_id === connId) this.live.forget(nodeId);
    this.reports.gone(nodeId, connId);
  }

  heartbeat(nodeId: string): void {
    this.metrics.call('heartbeat');
    this.reports.heartbeat(nodeId);
  }

  inventory(nodeId: string, inventory: InventoryItem[]): void {
    this.metrics.call('inventory');
    this.reports.inventory(nodeId, inventory);
  }

  modelState(nodeId: string, s: ModelState): void {
    this.metrics.call('modelState');
    this.reports.modelState(nodeId, s);
  }

  /** The planner's clock: idle eviction and scale-out are checked on every tick. */
  async alarm(): Promise<void> {
    await this.planning.replan();
    await this.planning.scheduleTick();
  }
}
