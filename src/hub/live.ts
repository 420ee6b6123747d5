/** A Hub-issued lease not yet seen in its node's report is dropped after this long (its dispatch never arrived). */
const GRANT_TTL_MS = 30_000;

interface Grant {
  key: string;
  at: number;
}

/**
 * In-memory request counters of the Hub: what is in flight where. Warm
 * requests never tell the Hub they start, so the truth comes from each
 * NodeLink's batched reports (absolute per-model counts, so a lost report
 * costs nothing); leases the Hub itself handed out since a node's last report
 * are added on top until the report that names them arrives. Losing all this
 * on eviction loses nothing: the next reports restore it, and eviction safety
 * never depends on it (the NodeLink refuses an unload while it has requests).
 */
export class LiveCounters {
  private readonly grants = new Map<string, Grant>();
  private readonly reported = new Map<string, Map<string, number>>();
  /** Since when requests have queued behind a full replica (`node|model`), for the planner's scale-out rule. */
  readonly saturatedSince = new Map<string, number>();
  /** Nodes whose NodeLink reports them unresponsive: no new work goes there until they recover. */
  readonly suspect = new Set<string>();

  /** A lease the Hub handed out (`key` = `node|model`), identified by the request's id. */
  begin(key: string, rid: string = crypto.randomUUID(), now = Date.now()): string {
    this.grants.set(rid, { key, at: now });
    return rid;
  }

  /** Ends a Hub-issued lease (a release); returns its key, or undefined when it was already gone. */
  end(rid: string): Grant | undefined {
    const g = this.grants.get(rid);
    this.grants.delete(rid);
    return g;
  }

  /**
   * A NodeLink's report: its per-model in-flight counts replace what was known
   * for the node, and leases whose requests it names (`rids`) are now counted
   * there. Returns the models whose count went down (slots freed).
   */
  report(node: string, inflight: Record<string, number>, rids: Iterable<string>, now: number): string[] {
    const models = new Set<string>([...(this.reported.get(node)?.keys() ?? []), ...Object.keys(inflight)]);
    for (const g of this.grants.values()) if (g.key.startsWith(`${node}|`)) models.add(splitKey(g.key)[1]);
    const before = new Map([...models].map((m) => [m, this.load(`${node}|${m}`)]));
    for (const rid of rids) this.grants.delete(rid);
    for (const [rid, g] of this.grants) if (now - g.at > GRANT_TTL_MS) this.grants.delete(rid);
    this.reported.set(node, new Map(Object.entries(inflight).filter(([, n]) => n > 0)));
    return [...before].filter(([m, n]) => this.load(`${node}|${m}`) < n).map(([m]) => m);
  }

  /** The node is gone: nothing is in flight there any more. */
  forget(node: string): void {
    this.reported.delete(node);
    this.suspect.delete(node);
    for (const key of [...this.saturatedSince.keys()]) if (key.startsWith(`${node}|`)) this.saturatedSince.delete(key);
  }

  load(key: string): number {
    const [node, model] = splitKey(key);
    let n = this.reported.get(node)?.get(model) ?? 0;
    for (const g of this.grants.values()) if (g.key === key) n++;
    return n;
  }

  /** In flight per `node|model`: reported plus granted. */
  get inflight(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [node, byModel] of this.reported) for (const [model, n] of byModel) out.set(`${node}|${model}`, n);
    for (const g of this.grants.values()) out.set(g.key, (out.get(g.key) ?? 0) + 1);
    return out;
  }

  /** Treat a replica as full until its node's next report (a NodeLink just refused a request as busy). */
  full(key: string, max: number): void {
    const [node, model] = splitKey(key);
    const byModel = this.reported.get(node) ?? new Map<string, number>();
    byModel.set(model, Math.max(byModel.get(model) ?? 0, max));
    this.reported.set(node, byModel);
  }

  saturated(key: string, now: number): void {
    if (!this.saturatedSince.has(key)) this.saturatedSince.set(key, now);
  }

  relieved(key: string): void {
    this.saturatedSince.delete(key);
  }
}

function splitKey(key: string): [node: string, model: string] {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
}
