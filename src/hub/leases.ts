import { fail, type Failure } from '../errors';
import type { Usage } from '../protocol';
import { minuteOf } from '../planner/demand';
import { pickLeastLoaded } from '../cache/pick';
import { defaultRecord, describeScope, excludedBy, restricts } from '../tenancy/eligibility';
import type { LedgerRow } from './ingest-types';
import type { LiveCounters } from './live';
import type { HubStore, ModelRow } from './store';
import type { Admission, Tenancy } from './tenancy';
import type { ModelWaiters } from './waiters';
import type { WarmingView } from './warming';

export interface AcquireRequest {
  model: string;
  needs: string[];
  budgetMs: number;
  /** SHA-256 of a managed API key; absent for the bootstrap key (unrestricted). */
  keyHash?: string;
  /** The request's id (its ledger row); generated when absent. */
  rid?: string;
  /** Nodes that just failed this request before its first byte (lost, silent): its lease goes elsewhere. */
  avoid?: string[];
  /** Nodes that just refused it as full: treated as full until their next report. */
  busy?: string[];
  /** A handle the caller may use to ask this request's place in the queue (`Hub.warming(model, ticket)`). */
  ticket?: string;
}
export type Outcome = 'ok' | 'error' | 'cancelled';
export type Lease = {
  ok: true;
  leaseId: string;
  nodeId: string;
  model: string;
  /** The ledger key id the NodeLink records the request under. */
  keyId: string;
  contextLength: number;
  /** The serving node's operator-assigned trust class and region (the client is told). */
  trust: string;
  region: string;
  /** Other requests wait for this model: the NodeLink reports this one's end at once. */
  queued: boolean;
};
export type AcquireResult = Lease | Failure;

/** Not a valid node id (ids are letters, digits, dot, dash, underscore): restricts a waiter to no node at all. */
const NO_NODE = '\u0000none';
/**
 * How long a request waits when nodes are connected but its key's scope excludes all of them. Long enough for
 * agents to reconnect after an edge restart (their backoff starts at 1 s), short enough that a key that cannot be
 * served here (a community-only fleet under the default `verified` minimum) hears why in seconds, not minutes.
 */
export const SCOPE_GRACE_MS = 10_000;

/** Which nodes a request may use; `restrictions` is what the planner sees (undefined: any node). */
interface Eligibility {
  allowed: (nodeId: string) => boolean;
  restrictions?: { nodes: string[] };
}

export interface LeaseDeps {
  store: HubStore;
  tenancy: Tenancy;
  waiters: ModelWaiters;
  live: LiveCounters;
  replan: () => Promise<void>;
  warming: (model: string) => WarmingView | null;
  /** Stores a ledger row (ingestion path: once per request id). */
  record: (row: LedgerRow) => void;
  /** A request the Hub answered with an error code (metrics). */
  refused: (model: string, code: string) => void;
  /** The model's queue bound: a failure when it is full (see ModelWaiters.refuse). */
  queueFull?: (model: ModelRow) => Failure | null;
}

/**
 * Leases: which ready replica serves a request that the Worker's caches could
 * not place (the cold path), or how long it waits for one. A lease names a
 * node; the node's NodeLink admits the request and records it in the usage
 * ledger. A request the Hub fails after admitting it is recorded here.
 */
export class Leases {
  /** Requests counted as unmet demand while they waited: their node's ledger row must not count them again as served. */
  private readonly unmet = new Set<string>();

  constructor(private readonly d: LeaseDeps) {}

  /** Whether the Hub already counted this request in the demand ledger (as unmet), once; forgets it after. */
  countedUnmet(rid: string): boolean {
    return this.unmet.delete(rid);
  }

  /**
   * Finds a node serving `model`, letting the planner load it (evicting colder
   * models if needed) when none does, and waits up to `budgetMs` for it — also
   * for a node to connect when none is. Never throws: failures come back as a
   * `Failure` with the client's error code.
   */
  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    const admitted = this.d.tenancy.admit(req.keyHash, req.model, Date.now());
    if (!admitted.ok) return admitted;
    const model = this.d.store.model(req.model);
    if (!model?.enabled) return fail('model_not_found', `The model '${req.model}' does not exist or is not offered.`, { param: 'model' });
    const missing = req.needs.filter((n) => !model.capabilities.includes(n));
    if (missing.length) {
      return fail('capability_not_supported', `The model '${model.id}' does not support ${missing.join(', ')}.`, { param: 'model' });
    }
    const deadline = Date.now() + req.budgetMs;
    const rid = req.rid ?? `req-${crypto.randomUUID()}`;
    for (const node of req.busy ?? []) {
      const n = this.d.store.node(node);
      if (n) this.d.live.full(`${node}|${model.id}`, n.max_concurrency);
    }
    const avoid = new Set(req.avoid ?? []);
    const started = Date.now();
    const result = await this.waitForLease(model, deadline, rid, admitted, avoid, req.ticket);
    if (!result.ok) {
      this.d.refused(model.id, result.code);
      this.d.record(failedRow(rid, admitted.keyId, model.id, started, Date.now()));
    }
    return result;
  }

  /**
   * Ends a Hub-issued lease whose request never reached a NodeLink's ledger
   * (tests and callers outside the data plane): records its row with the
   * tokens given (0 when none: never invented) and frees its slot. Exactly
   * once: a second release of the same lease does nothing.
   */
  release(leaseId: string, usage: Usage | undefined, outcome: Outcome): void {
    const rid = leaseId.slice(leaseId.lastIndexOf('#') + 1);
    const grant = this.d.live.end(rid);
    if (!grant) return;
    const [nodeId, model] = grant.key.split('|');
    const now = Date.now();
    this.d.record({
      ...failedRow(rid, leaseId.slice(leaseId.indexOf('@') + 1, leaseId.lastIndexOf('#')), model, grant.at, now),
      node: nodeId,
      outcome,
      prompt: usage?.prompt_tokens ?? 0,
      completion: usage?.completion_tokens ?? 0,
    });
    if (this.d.waiters.count(model) === 0) this.d.live.relieved(grant.key);
    this.d.store.touchReplica(nodeId, model, now);
    // A freed slot serves the next queued request; a finished request may also make its model evictable.
    this.d.waiters.notify(model, { kind: 'changed' });
    if (this.d.waiters.pending().length) void this.d.replan();
  }

  /** Which nodes this key may use, now; restricted keys pass the planner the matching online nodes. */
  private eligibility(admitted: Admission): Eligibility {
    const records = this.d.tenancy.records();
    const usable = (id: string) => !this.d.live.suspect.has(id);
    if (!restricts(admitted.scope)) return { allowed: (id) => usable(id) && !records.get(id)?.revoked };
    const allowed = (id: string) => usable(id) && excludedBy(admitted.scope, records.get(id) ?? defaultRecord(id)) === null;
    const nodes = this.d.store
      .nodes()
      .filter((n) => n.online && allowed(n.id))
      .map((n) => n.id);
    // An empty list would mean "anywhere" to the planner; a name no node can have means "nowhere yet".
    return { allowed, restrictions: { nodes: nodes.length ? nodes : [NO_NODE] } };
  }

  private async waitForLease(model: ModelRow, deadline: number, rid: string, admitted: Admission, avoid: Set<string>, ticket?: string): Promise<AcquireResult> {
    let counted = false;
    let place: { since: number; seq: number } | undefined;
    const started = Date.now();
    for (;;) {
      const elig = this.eligibility(admitted);
      const lease = this.tryLease(model, elig, rid, admitted.keyId, avoid);
      if (lease) return lease;
      const nodes = this.d.store.nodes();
      const online = nodes.filter((n) => n.online && elig.allowed(n.id));
      // Nodes are connected, but the key's scope (region, owner, trust: the fleet default too) excludes every one:
      // wait only as long as a reconnect takes after a restart, then say which restriction is in the way.
      const scopedOut = online.length === 0 && nodes.some((n) => n.online && !this.d.live.suspect.has(n.id));
      // Every node holding the model already failed this very request (it is never offered it again): wait as briefly
      // for another to take it, rather than the whole warm-up budget for a load the planner may never place.
      const stranded = !scopedOut && this.stranded(model.id, avoid);
      const until = scopedOut || stranded ? Math.min(deadline, started + SCOPE_GRACE_MS) : deadline;
      // With no eligible node connected (a fresh start, a redeploy, a restricted key's nodes reconnecting),
      // the request waits within its budget for one to connect instead of failing at once.
      if (online.length) {
        // Only before the first wait: a node that drops mid-load may come back within the budget.
        const impossible = counted ? null : this.unplaceable(model, elig);
        if (impossible) return impossible;
      }
      if (!counted) {
        // Joining the model's queue: refused (429 queue_full) when it is at its bound.
        const full = this.d.queueFull?.(model);
        if (full) return full;
        this.d.store.bumpDemand(model.id, minuteOf(Date.now()), 'unmet');
        counted = true;
        if (this.unmet.size >= 10_000) this.unmet.delete(this.unmet.values().next().value as string);
        this.unmet.add(rid);
      }
      // Registered before planning so a ready report arriving meanwhile is not lost.
      const waiter = this.d.waiters.wait(model.id, until - Date.now(), elig.restrictions, ticket, place);
      place = waiter.place;
      if (online.length) await this.d.replan();
      const event = await waiter.event;
      if (event.kind === 'failed') return fail('upstream_error', `Loading '${model.id}' failed: ${event.message}`);
      if (event.kind === 'timeout') {
        if (stranded && this.stranded(model.id, avoid)) {
          return fail('upstream_error', `Every node serving '${model.id}' failed this request, and no other node took it over; retry shortly.`, {
            retryAfterS: 2,
          });
        }
        // The grace ended but the model is loading elsewhere now: wait on within the budget.
        if (stranded && Date.now() < deadline) continue;
        return this.timedOut(model.id, elig, admitted);
      }
    }
  }

  /** Whether every replica of the model (ready, or on its way) is on a node that already failed this request. */
  private stranded(modelId: string, avoid: Set<string>): boolean {
    if (avoid.size === 0) return false;
    const live = this.d.store.replicas(modelId).filter((r) => r.phase === 'ready' || r.phase === 'loading' || r.phase === 'downloading');
    return live.length > 0 && live.every((r) => avoid.has(r.node_id));
  }

  private timedOut(modelId: string, elig: Eligibility, admitted: Admission): Failure {
    if (!this.d.store.nodes().some((n) => n.online && elig.allowed(n.id))) {
      if (elig.restrictions) {
        return fail('no_available_node', `No connected node matches this API key's restrictions (${describeScope(admitted.scope!)}).`, { retryAfterS: 10 });
      }
      return fail('no_available_node', `Cannot serve '${modelId}': no node is connected.`, { retryAfterS: 10 });
    }
    if (this.readyReplicas(modelId, elig.allowed).length) {
      return fail('no_available_node', `Every replica of '${modelId}' is at its concurrency limit; retry shortly.`, { retryAfterS: 1 });
    }
    const view = this.d.warming(modelId);
    return fail('model_warming', `The model '${modelId}' is warming up (${view?.phase ?? 'loading'}, ${view?.pct ?? 0}%). Retry shortly; the load continues.`, {
      retryAfterS: Math.min(60, Math.max(1, view?.eta_s ?? 5)),
    });
  }

  private readyReplicas(modelId: string, allowed: (nodeId: string) => boolean) {
    const online = new Set(
      this.d.store
        .nodes()
        .filter((n) => n.online && allowed(n.id))
        .map((n) => n.id),
    );
    return this.d.store.replicas(modelId).filter((r) => r.phase === 'ready' && online.has(r.node_id));
  }

  /** A lease on the ready replica with the fewest requests in flight (ties at random), if any has a free slot (else the request queues). */
  private tryLease(model: ModelRow, elig: Eligibility, rid: string, keyId: string, avoid: Set<string>): Lease | null {
    const modelId = model.id;
    const capacity = new Map(
      this.d.store
        .nodes()
        .filter((n) => n.online)
        .map((n) => [n.id, n.max_concurrency]),
    );
    // Nodes that just failed this very request are not offered it again; they stay eligible for loads and others' requests.
    const ready = this.readyReplicas(modelId, (id) => elig.allowed(id) && !avoid.has(id));
    const open = ready.map((r) => ({ node: r.node_id, load: this.d.live.load(`${r.node_id}|${modelId}`) })).filter((x) => x.load < (capacity.get(x.node) ?? 0));
    const now = Date.now();
    const pick = pickLeastLoaded(open);
    if (!pick) {
      for (const r of ready) this.d.live.saturated(`${r.node_id}|${modelId}`, now);
      return null;
    }
    const key = `${pick.node}|${modelId}`;
    this.d.live.begin(key, rid, now);
    this.d.store.touchReplica(pick.node, modelId, now);
    const record = this.d.tenancy.record(pick.node);
    // The rid suffix names the grant, so a release ends exactly that one.
    return {
      ok: true,
      leaseId: `${key}@${keyId}#${rid}`,
      nodeId: pick.node,
      model: modelId,
      keyId,
      contextLength: model.context_length,
      trust: record.trust,
      region: record.region,
      // Its end matters at once when others wait, or when it takes the replica's last slot.
      queued: this.d.waiters.count(modelId) > 0 || pick.load + 1 >= (capacity.get(pick.node) ?? 0),
    };
  }

  /** A failure when no eligible online node could ever hold `model`, so the request fails now instead of at the budget. */
  private unplaceable(model: ModelRow, elig: Eligibility): Failure | null {
    const online = this.d.store.nodes().filter((n) => n.online && elig.allowed(n.id));
    const capable = online.filter((n) => n.engines.includes(model.engine));
    if (capable.length === 0)
      return fail('no_available_node', `Cannot load '${model.id}': no connected node runs the ${model.engine} engine.`, { retryAfterS: 10 });
    const largest = Math.max(...capable.map((n) => n.vram_budget_mb));
    if (largest < model.vram_mb) {
      return fail('no_available_node', `Cannot load '${model.id}': it needs ${model.vram_mb} MB and the largest connected node has ${largest} MB.`, {
        retryAfterS: 30,
      });
    }
    return null;
  }
}

/** The ledger row of a request that ended at the Hub (no node served it). */
function failedRow(rid: string, key: string, model: string, started: number, ended: number): LedgerRow {
  return {
    rid,
    key,
    model,
    node: null,
    started,
    ended,
    outcome: 'error',
    prompt: 0,
    completion: 0,
    first_byte_ms: null,
    total_ms: ended - started,
    engine_ttft_ms: null,
    engine_total_ms: null,
  };
}
