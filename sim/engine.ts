import { bumpRow, DEMAND_RETENTION_MS, minuteOf, type DemandRow } from '../src/planner';
import { Heap } from './heap';
import { mulberry32, normal, type Rng } from './rng';
import { emptyMetrics, type SimMetrics } from './metrics';
import type { SimModel, SimNodeSpec, SimRequest, Workload } from './workload';

/**
 * Event-driven fleet simulator. A policy sees the fleet through `Sim` and answers with
 * load/unload actions, exactly the vocabulary the Hub sends; the simulator plays the
 * node agents: downloads (weights cached on disk after the first), loads, stops, and
 * requests served by replicas with `maxConcurrency` slots each.
 */
export type Phase = 'downloading' | 'loading' | 'ready' | 'stopping';
export type Trigger = 'arrival' | 'ready' | 'complete' | 'stopped' | 'tick';

export interface SimReplica {
  model: string;
  mb: number;
  phase: Phase;
  loadedAt: number;
  lastUsedAt: number;
  inflight: number;
  queue: Waiter[];
  saturatedSince?: number;
  /** For memory accounting: when loading began, when the replica last became busy. */
  residentFrom: number;
  busySince: number;
  gen: number;
  /** The download's slot on the node's link (downloads queue behind each other). */
  dlStart?: number;
  dlEnd?: number;
}

export interface SimNode {
  spec: SimNodeSpec;
  disk: Set<string>;
  replicas: Map<string, SimReplica>;
  /** Loads start after every stop on the node finishes (the agent's contract). */
  stopsDoneAt: number;
  /** Downloads share the node's link and loads its disk: each waits for the one before. */
  netFreeAt: number;
  diskFreeAt: number;
}

export interface Waiter {
  req: SimRequest;
  cold: boolean;
  done: boolean;
}

export interface SimAction {
  type: 'load' | 'unload';
  node: string;
  model: string;
  /** Why an unload: keep-alive/idle expiry, or room for another model. Thrash is split by it. */
  cause?: 'idle' | 'demand';
}

export interface Policy {
  name: string;
  /** Decides one placement per call: the simulator asks again until it answers nothing. */
  repeat?: boolean;
  init?(sim: Sim): void;
  decide(sim: Sim, trigger: Trigger): SimAction[];
  /**
   * A finished transfer, as the Hub sees it in the node's progress reports: MB moved and
   * how long it took. The planner learns node speeds from these; baselines ignore them.
   */
  observe?(node: string, kind: 'download' | 'load', mb: number, ms: number): void;
}

export interface SimOptions {
  warmupBudgetMs: number;
  /** Thrash window: a load within this long of the model's last eviction counts as thrash. */
  windowMs: number;
  tickMs: number;
  stopMs: number;
  loadOverheadMs: number;
  /** Spread of each transfer's duration around the node's nominal speed (lognormal sigma; 0: exact). */
  speedNoise: number;
  /** Seeds the transfer noise. */
  seed: number;
}

export const defaultSimOptions: SimOptions = {
  warmupBudgetMs: 300_000,
  windowMs: 600_000,
  tickMs: 15_000,
  stopMs: 2_000,
  loadOverheadMs: 2_000,
  speedNoise: 0.25,
  seed: 1,
};

type Ev =
  | { t: number; seq: number; kind: 'downloaded' | 'loaded' | 'stopped'; node: SimNode; r: SimReplica; gen: number }
  | { t: number; seq: number; kind: 'complete'; node: SimNode; r: SimReplica; w: Waiter }
  | { t: number; seq: number; kind: 'timeout'; w: Waiter }
  | { t: number; seq: number; kind: 'tick' };

type NoSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

export class Sim {
  now = 0;
  readonly nodes: SimNode[];
  readonly nodeById = new Map<string, SimNode>();
  readonly models = new Map<string, SimModel>();
  readonly pending = new Map<string, Waiter[]>();
  readonly ledger = new Map<string, DemandRow>();
  readonly metrics: SimMetrics = emptyMetrics();
  private readonly lastEvict = new Map<string, { at: number; cause: 'idle' | 'demand' }>();
  private readonly heap = new Heap<Ev>();
  /** Models that have had a ready replica: cold requests before that are first touches, which no policy avoids without foreknowledge. */
  private readonly everReady = new Set<string>();
  private seq = 0;
  private readonly noise: Rng;
  private policy?: Policy;

  constructor(
    fleet: SimNodeSpec[],
    readonly workload: Workload,
    readonly opts: SimOptions = defaultSimOptions,
  ) {
    this.nodes = fleet.map((spec) => ({ spec, disk: new Set<string>(), replicas: new Map(), stopsDoneAt: 0, netFreeAt: 0, diskFreeAt: 0 }));
    this.noise = mulberry32(opts.seed * 104_729 + 17);
    for (const n of this.nodes) this.nodeById.set(n.spec.id, n);
    for (const m of workload.models) this.models.set(m.id, m);
  }

  run(policy: Policy, horizonMs: number): SimMetrics {
    this.policy = policy;
    policy.init?.(this);
    const reqs = this.workload.requests;
    let i = 0;
    this.push({ t: 0, kind: 'tick' });
    for (;;) {
      const ev = this.heap.peek();
      const nextReq = i < reqs.length && reqs[i].at < horizonMs ? reqs[i] : undefined;
      if (nextReq && (!ev || nextReq.at < ev.t)) {
        this.now = nextReq.at;
        i++;
        this.arrive(nextReq, policy);
        continue;
      }
      if (!ev) break;
      this.heap.pop();
      this.now = ev.t;
      this.handle(ev, policy, horizonMs);
    }
    for (const n of this.nodes) for (const r of n.replicas.values()) this.closeMemory(r);
    return this.metrics;
  }

  readyReplicas(model: string): { node: SimNode; r: SimReplica }[] {
    const out: { node: SimNode; r: SimReplica }[] = [];
    for (const node of this.nodes) {
      const r = node.replicas.get(model);
      if (r && r.phase === 'ready') out.push({ node, r });
    }
    return out;
  }

  /** Memory held by replicas that are not stopping. */
  usedMb(node: SimNode): number {
    let used = 0;
    for (const r of node.replicas.values()) if (r.phase !== 'stopping') used += r.mb;
    return used;
  }

  hasLive(model: string): boolean {
    return this.nodes.some((n) => {
      const r = n.replicas.get(model);
      return r !== undefined && r.phase !== 'stopping';
    });
  }

  private push(ev: NoSeq<Ev>): void {
    this.heap.push({ ...ev, seq: ++this.seq } as Ev);
  }

  private count(model: string, kind: 'served' | 'unmet'): void {
    const key = `${model}|${minuteOf(this.now)}`;
    this.ledger.set(key, bumpRow(this.ledger.get(key), model, this.now, kind));
  }

  private arrive(req: SimRequest, policy: Policy): void {
    this.metrics.requests++;
    const ready = this.readyReplicas(req.model);
    if (ready.length > 0) {
      this.metrics.warm++;
      this.count(req.model, 'served');
      let best = ready[0];
      for (const x of ready) if (x.r.inflight + x.r.queue.length < best.r.inflight + best.r.queue.length) best = x;
      this.assign(best.node, best.r, { req, cold: false, done: false });
      return;
    }
    this.metrics.cold++;
    this.metrics.coldByModel.set(req.model, (this.metrics.coldByModel.get(req.model) ?? 0) + 1);
    const first = !this.everReady.has(req.model);
    if (first) this.metrics.coldFirstTouch++;
    // What the request met: the model's last unload was idle or for room, or the request joined a load under way.
    const cause = first ? 'first' : (this.lastEvict.get(req.model)?.cause ?? 'demand');
    const joined = this.hasLive(req.model);
    const key = `${joined ? 'joined_' : ''}${cause}` as keyof SimMetrics['coldByCause'];
    this.metrics.coldByCause[key]++;
    this.count(req.model, 'unmet');
    const w: Waiter = { req, cold: true, done: false };
    const list = this.pending.get(req.model) ?? [];
    list.push(w);
    this.pending.set(req.model, list);
    this.push({ t: this.now + this.opts.warmupBudgetMs, kind: 'timeout', w });
    this.decide(policy, 'arrival');
  }

  private assign(node: SimNode, r: SimReplica, w: Waiter): void {
    r.lastUsedAt = this.now;
    if (r.inflight < node.spec.maxConcurrency) this.start(node, r, w);
    else r.queue.push(w);
    this.saturation(node, r);
  }

  private start(node: SimNode, r: SimReplica, w: Waiter): void {
    if (w.cold) this.metrics.coldWaits.push(this.now - w.req.at);
    if (r.inflight++ === 0) r.busySince = this.now;
    const serviceMs = 200 + (w.req.tokens / node.spec.tokPerSec) * 1000;
    this.push({ t: this.now + serviceMs, kind: 'complete', node, r, w });
  }

  private saturation(node: SimNode, r: SimReplica): void {
    if (r.inflight + r.queue.length > node.spec.maxConcurrency) r.saturatedSince ??= this.now;
    else r.saturatedSince = undefined;
  }

  private decide(policy: Policy, trigger: Trigger): void {
    for (let round = 0; round < 64; round++) {
      const actions = policy.decide(this, round === 0 ? trigger : 'ready');
      for (const a of actions) this.apply(a);
      if (!policy.repeat || actions.length === 0) return;
    }
  }

  private handle(ev: Ev, policy: Policy, horizonMs: number): void {
    switch (ev.kind) {
      case 'tick':
        for (const [k, row] of this.ledger) if (minuteOf(this.now) - row.minute >= DEMAND_RETENTION_MS / 60_000) this.ledger.delete(k);
        this.decide(policy, 'tick');
        if (this.now + this.opts.tickMs <= horizonMs) this.push({ t: this.now + this.opts.tickMs, kind: 'tick' });
        return;
      case 'timeout': {
        if (ev.w.done || !this.pendingRemove(ev.w)) return;
        this.metrics.timeouts++;
        this.metrics.coldWaits.push(this.opts.warmupBudgetMs);
        if (process.env.SIM_DEBUG) console.error(`t=${(this.now / 1000).toFixed(1)}s timeout ${ev.w.req.model}: ${this.describe(ev.w.req.model)}`);
        return;
      }
      case 'complete': {
        const r = ev.r;
        ev.w.done = true;
        r.inflight--;
        r.lastUsedAt = this.now;
        const next = r.queue.shift();
        if (next) this.start(ev.node, r, next);
        if (r.inflight === 0) this.metrics.busyMbMs += r.mb * (this.now - r.busySince);
        this.saturation(ev.node, r);
        if (this.pending.size > 0) this.decide(policy, 'complete');
        return;
      }
      default:
        return this.lifecycle(ev, policy);
    }
  }

  private lifecycle(ev: Extract<Ev, { gen: number }>, policy: Policy): void {
    const { node, r } = ev;
    if (r.gen !== ev.gen || node.replicas.get(r.model) !== r) return;
    if (ev.kind === 'downloaded') {
      node.disk.add(r.model);
      this.policy?.observe?.(node.spec.id, 'download', this.models.get(r.model)!.weightsMb, (r.dlEnd ?? this.now) - (r.dlStart ?? this.now));
      this.beginLoad(node, r);
    } else if (ev.kind === 'loaded') {
      this.everReady.add(r.model);
      this.policy?.observe?.(node.spec.id, 'load', this.models.get(r.model)!.weightsMb, this.now - r.residentFrom);
      r.phase = 'ready';
      r.lastUsedAt = this.now;
      const waiting = this.pending.get(r.model) ?? [];
      this.pending.delete(r.model);
      for (const w of waiting) this.assign(node, r, w);
      this.decide(policy, 'ready');
    } else {
      node.replicas.delete(r.model);
      this.closeMemory(r);
      if (this.pending.size > 0) this.decide(policy, 'stopped');
    }
  }

  private pendingRemove(w: Waiter): boolean {
    const list = this.pending.get(w.req.model);
    const i = list ? list.indexOf(w) : -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.pending.delete(w.req.model);
    return true;
  }

  private beginLoad(node: SimNode, r: SimReplica): void {
    r.phase = 'loading';
    r.residentFrom = Math.max(this.now, node.stopsDoneAt, node.diskFreeAt);
    const m = this.models.get(r.model)!;
    const t = r.residentFrom + ((m.weightsMb / node.spec.diskMBps) * 1000 + this.opts.loadOverheadMs) * this.jitter();
    node.diskFreeAt = t;
    this.push({ t, kind: 'loaded', node, r, gen: r.gen });
  }

  /** A transfer's duration factor around nominal speed: lognormal, median 1. */
  private jitter(): number {
    return this.opts.speedNoise > 0 ? Math.exp(this.opts.speedNoise * normal(this.noise)) : 1;
  }

  /** MB downloaded so far and for how long, for a replica downloading now (what its progress reports say). */
  progressOf(r: SimReplica): { mb: number; ms: number } | undefined {
    if (r.phase !== 'downloading' || r.dlStart === undefined || r.dlEnd === undefined || this.now <= r.dlStart) return undefined;
    const total = this.models.get(r.model)?.weightsMb ?? 0;
    return { mb: total - this.remainingMb(r), ms: this.now - r.dlStart };
  }

  /** MB still to download for a replica in the downloading phase (all of it while queued behind another). */
  remainingMb(r: SimReplica): number {
    if (r.phase !== 'downloading' || r.dlStart === undefined || r.dlEnd === undefined) return 0;
    const total = this.models.get(r.model)?.weightsMb ?? 0;
    if (this.now <= r.dlStart) return total;
    return total * Math.max(0, (r.dlEnd - this.now) / Math.max(1, r.dlEnd - r.dlStart));
  }

  private closeMemory(r: SimReplica): void {
    if (r.phase === 'downloading') return;
    const held = r.mb * Math.max(0, this.now - r.residentFrom);
    this.metrics.memMbMs += held;
    this.metrics.memByModel.set(r.model, (this.metrics.memByModel.get(r.model) ?? 0) + held);
    if (r.inflight > 0) this.metrics.busyMbMs += r.mb * (this.now - r.busySince);
    r.residentFrom = this.now;
    r.busySince = this.now;
  }

  /** Where a model stands on every node (debugging output). */
  describe(model: string): string {
    const parts: string[] = [];
    for (const n of this.nodes) {
      const r = n.replicas.get(model);
      if (r)
        parts.push(
          `${n.spec.id}:${r.phase}${r.dlEnd ? ` dl ${((r.dlStart! - r.loadedAt) / 1000).toFixed(0)}+${((r.dlEnd - r.dlStart!) / 1000).toFixed(0)}s` : ''}`,
        );
    }
    return parts.join(' ') || 'nowhere';
  }

  private refuse(a: SimAction, why: string): void {
    this.metrics.invalid++;
    if (process.env.SIM_DEBUG) console.error(`t=${(this.now / 1000).toFixed(1)}s refused ${a.type} ${a.model}@${a.node}: ${why}`);
  }

  private apply(a: SimAction): void {
    const node = this.nodeById.get(a.node);
    const m = this.models.get(a.model);
    if (!node || !m) return this.refuse(a, 'unknown node or model');
    const existing = node.replicas.get(a.model);
    if (a.type === 'unload') {
      if (!existing) return this.refuse(a, 'no replica');
      if (existing.phase !== 'ready' || existing.inflight > 0 || existing.queue.length > 0)
        return this.refuse(a, `replica ${existing.phase}, ${existing.inflight} in flight, ${existing.queue.length} queued`);
      existing.phase = 'stopping';
      existing.gen++;
      this.metrics.unloads++;
      this.lastEvict.set(a.model, { at: this.now, cause: a.cause ?? 'demand' });
      node.stopsDoneAt = Math.max(node.stopsDoneAt, this.now + this.opts.stopMs);
      this.push({ t: this.now + this.opts.stopMs, kind: 'stopped', node, r: existing, gen: existing.gen });
      return;
    }
    if (existing) return this.refuse(a, `already ${existing.phase}`);
    if (this.usedMb(node) + m.vramMb > node.spec.budgetMb) return this.refuse(a, `over budget: ${this.usedMb(node)} + ${m.vramMb} > ${node.spec.budgetMb}`);
    const evicted = this.lastEvict.get(a.model);
    if (evicted !== undefined && this.now - evicted.at < this.opts.windowMs) {
      this.metrics.thrash++;
      if (evicted.cause === 'idle') this.metrics.thrashAfterIdle++;
    }
    this.metrics.loads++;
    const r: SimReplica = {
      model: a.model,
      mb: m.vramMb,
      phase: 'downloading',
      loadedAt: this.now,
      lastUsedAt: this.now,
      inflight: 0,
      queue: [],
      residentFrom: this.now,
      busySince: this.now,
      gen: 0,
    };
    node.replicas.set(a.model, r);
    if (node.disk.has(a.model)) return this.beginLoad(node, r);
    this.metrics.downloads++;
    r.dlStart = Math.max(this.now, node.netFreeAt);
    r.dlEnd = r.dlStart + (m.weightsMb / node.spec.netMBps) * 1000 * this.jitter();
    node.netFreeAt = r.dlEnd;
    this.push({ t: r.dlEnd, kind: 'downloaded', node, r, gen: r.gen });
  }

  /** Preload at time 0 with weights already on disk (the always-on oracle's setup). */
  preload(nodeId: string, model: string): void {
    const node = this.nodeById.get(nodeId)!;
    node.disk.add(model);
    const m = this.models.get(model)!;
    node.replicas.set(model, {
      model,
      mb: m.vramMb,
      phase: 'ready',
      loadedAt: 0,
      lastUsedAt: 0,
      inflight: 0,
      queue: [],
      residentFrom: 0,
      busySince: 0,
      gen: 0,
    });
  }
}
