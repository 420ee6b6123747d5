import { fail, type Failure } from '../errors';
import type { Usage } from '../protocol';
import { minuteOf } from '../planner/demand';
import { defaultRecord, describeScope, excludedBy, restricts } from '../tenancy/eligibility';
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
}
export type Outcome = 'ok' | 'error' | 'cancelled';
export type Lease = { ok: true; leaseId: string; nodeId: string; model: string };
export type AcquireResult = Lease | Failure;

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
}

/**
 * Leases: which ready replica serves a request, or how long it waits for one.
 * A lease holds one of its node's concurrency slots and one usage-ledger row;
 * `release` ends both exactly once.
 */
export class Leases {
  constructor(private readonly d: LeaseDeps) {}

  /**
   * Finds a node serving `model`, letting the planner load it (evicting colder
   * models if needed) when none does, and waits up to `budgetMs` for it.
   * Never throws: failures come back as a `Failure` with the client's error code.
   */
  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    const admitted = this.d.tenancy.admit(req.keyHash, req.model, Date.now());
    if (!admitted.ok) return admitted;
    const model = this.d.store.model(req.model);
    if (!model || !model.enabled) return fail('model_not_found', `The model '${req.model}' does not exist or is not offered.`, { param: 'model' });
    const missing = req.needs.filter((n) => !model.capabilities.includes(n));
    if (missing.length) {
      return fail('capability_not_supported', `The model '${model.id}' does not support ${missing.join(', ')}.`, { param: 'model' });
    }
    const deadline = Date.now() + req.budgetMs;
    const usageId = this.d.tenancy.begin(admitted.keyId, model.id, Date.now());
    const result = await this.waitForLease(model, deadline, usageId, admitted);
    if (!result.ok) this.d.tenancy.end(usageId, undefined, 'error', Date.now());
    return result;
  }

  /**
   * Ends a lease exactly once: frees its slot and closes its ledger row with
   * the tokens the node reported (0 when it reported none: never invented).
   * A second release of the same lease does nothing.
   */
  release(leaseId: string, usage: Usage | undefined, outcome: Outcome): void {
    const usageId = Number(leaseId.slice(leaseId.lastIndexOf('#') + 1));
    if (!this.d.tenancy.end(usageId, usage, outcome, Date.now())) return;
    const key = leaseId.slice(0, leaseId.lastIndexOf('#'));
    const [nodeId, model] = key.split('|');
    this.d.live.end(key);
    if (this.d.waiters.count(model) === 0) this.d.live.relieved(key);
    this.d.store.touchReplica(nodeId, model, Date.now());
    // A freed slot serves the next queued request; a finished request may also make its model evictable.
    this.d.waiters.notify(model, { kind: 'changed' });
    if (this.d.waiters.pending().length) void this.d.replan();
  }

  /** Which nodes this key may use, now; restricted keys pass the planner the matching online nodes. */
  private eligibility(admitted: Admission): Eligibility {
    const records = this.d.tenancy.records();
    if (!restricts(admitted.scope)) return { allowed: (id) => !records.get(id)?.revoked };
    const allowed = (id: string) => excludedBy(admitted.scope, records.get(id) ?? defaultRecord(id)) === null;
    return { allowed, restrictions: { nodes: this.d.store.nodes().filter((n) => n.online && allowed(n.id)).map((n) => n.id) } };
  }

  private async waitForLease(model: ModelRow, deadline: number, usageId: number, admitted: Admission): Promise<AcquireResult> {
    let counted = false;
    for (;;) {
      const elig = this.eligibility(admitted);
      const lease = this.tryLease(model.id, elig, usageId);
      if (lease) {
        if (!counted) this.d.store.bumpDemand(model.id, minuteOf(Date.now()), 'served');
        return lease;
      }
      // An empty node list would mean "anywhere" to the planner: fail instead of routing outside the key's scope.
      if (elig.restrictions && elig.restrictions.nodes.length === 0) {
        return fail('no_available_node', `No connected node matches this API key's restrictions (${describeScope(admitted.scope!)}).`, { retryAfterS: 10 });
      }
      // Only before the first wait: a node that drops mid-load may come back within the budget.
      const impossible = counted ? null : this.unplaceable(model, elig);
      if (impossible) return impossible;
      if (!counted) {
        this.d.store.bumpDemand(model.id, minuteOf(Date.now()), 'unmet');
        counted = true;
      }
      // Registered before planning so a ready report arriving meanwhile is not lost.
      const waiter = this.d.waiters.wait(model.id, deadline - Date.now(), elig.restrictions);
      await this.d.replan();
      const event = await waiter.event;
      if (event.kind === 'failed') return fail('upstream_error', `Loading '${model.id}' failed: ${event.message}`);
      if (event.kind === 'timeout') return this.timedOut(model.id, elig);
    }
  }

  private timedOut(modelId: string, elig: Eligibility): Failure {
    if (this.readyReplicas(modelId, elig.allowed).length) {
      return fail('no_available_node', `Every replica of '${modelId}' is at its concurrency limit; retry shortly.`, { retryAfterS: 1 });
    }
    const view = this.d.warming(modelId);
    return fail('model_warming', `The model '${modelId}' is warming up (${view?.phase ?? 'loading'}, ${view?.pct ?? 0}%). Retry shortly; the load continues.`, {
      retryAfterS: Math.min(60, Math.max(1, view?.eta_s ?? 5)),
    });
  }

  private readyReplicas(modelId: string, allowed: (nodeId: string) => boolean) {
    const online = new Set(this.d.store.nodes().filter((n) => n.online && allowed(n.id)).map((n) => n.id));
    return this.d.store.replicas(modelId).filter((r) => r.phase === 'ready' && online.has(r.node_id));
  }

  /** A lease on the ready replica with the fewest requests in flight, if any has a free slot (else the request queues). */
  private tryLease(modelId: string, elig: Eligibility, usageId: number): Lease | null {
    const capacity = new Map(this.d.store.nodes().filter((n) => n.online).map((n) => [n.id, n.max_concurrency]));
    const ready = this.readyReplicas(modelId, elig.allowed);
    const open = ready
      .map((r) => ({ r, load: this.d.live.load(`${r.node_id}|${modelId}`) }))
      .filter((x) => x.load < (capacity.get(x.r.node_id) ?? 0))
      .sort((a, b) => a.load - b.load || a.r.node_id.localeCompare(b.r.node_id));
    const now = Date.now();
    if (open.length === 0) {
      for (const r of ready) this.d.live.saturated(`${r.node_id}|${modelId}`, now);
      return null;
    }
    const pick = open[0].r;
    const key = `${pick.node_id}|${modelId}`;
    this.d.live.begin(key);
    this.d.store.touchReplica(pick.node_id, modelId, now);
    this.d.tenancy.leased(usageId, pick.node_id);
    // The suffix is the ledger row, so release closes exactly that row.
    return { ok: true, leaseId: `${key}#${usageId}`, nodeId: pick.node_id, model: modelId };
  }

  /** A failure when no eligible online node could ever hold `model`, so the request fails now instead of at the budget. */
  private unplaceable(model: ModelRow, elig: Eligibility): Failure | null {
    const online = this.d.store.nodes().filter((n) => n.online && elig.allowed(n.id));
    if (online.length === 0) return fail('no_available_node', `Cannot load '${model.id}': no node is connected.`, { retryAfterS: 10 });
    const capable = online.filter((n) => n.engines.includes(model.engine));
    if (capable.length === 0) return fail('no_available_node', `Cannot load '${model.id}': no connected node runs the ${model.engine} engine.`, { retryAfterS: 10 });
    const largest = Math.max(...capable.map((n) => n.vram_budget_mb));
    if (largest < model.vram_mb) {
      return fail('no_available_node', `Cannot load '${model.id}': it needs ${model.vram_mb} MB and the largest connected node has ${largest} MB.`, { retryAfterS: 30 });
    }
    return null;
  }
}
