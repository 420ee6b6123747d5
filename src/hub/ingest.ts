import { minuteOf } from '../planner/demand';
import type { IngestAck, LedgerRow, LinkReport } from './ingest-types';
import type { LiveCounters } from './live';
import type { HubMetrics } from './metrics';
import type { HubStore } from './store';
import type { TenancyStore } from './tenancy-store';
import type { ModelWaiters } from './waiters';

export interface IngestDeps {
  store: HubStore;
  ledger: TenancyStore;
  live: LiveCounters;
  waiters: ModelWaiters;
  metrics: HubMetrics;
  /** Freed slots may serve queued requests, and finished ones may make models evictable. */
  replan: () => void;
  /** Routing changed (a node turned suspect or recovered): caches should not wait for their TTL to notice. */
  routesChanged: () => void;
  /** Whether the Hub already counted this request as unmet demand (it waited for a load). */
  countedUnmet: (rid: string) => boolean;
}

/**
 * How the Hub learns what the data plane did, in batches: ledger rows (stored
 * by request id, so a batch that arrives twice counts once; demand counted
 * when a row is first seen; metrics when it ends), each node's in-flight
 * counts and saturation for the planner and for queued requests, and
 * liveness.
 */
export class Ingest {
  constructor(private readonly d: IngestDeps) {}

  report(r: LinkReport, now: number): IngestAck {
    for (const row of r.rows) this.row(row);
    if (r.refusals) this.d.metrics.refusals(r.node, r.refusals);
    if (r.maxBufferedBytes) this.d.metrics.bufferedBytes(r.node, r.maxBufferedBytes);
    const freed = this.d.live.report(
      r.node,
      r.inflight,
      r.rows.map((x) => x.rid),
      now,
    );
    this.saturation(r);
    const wasSuspect = this.d.live.suspect.has(r.node);
    if (r.suspect) this.d.live.suspect.add(r.node);
    else this.d.live.suspect.delete(r.node);
    if (wasSuspect !== r.suspect) this.d.routesChanged();
    const node = this.d.store.node(r.node);
    if (node && r.lastBeat !== null && r.conn !== null && node.conn_id === r.conn) this.d.store.touchNode(r.node, r.lastBeat);
    for (const model of freed) if (this.d.waiters.count(model) > 0) this.d.waiters.notify(model, { kind: 'changed' });
    if (freed.length || r.rows.some((x) => x.ended !== null)) this.d.replan();
    // A connection the Hub does not know as current (it restarted, or marked the node gone): ask for the hello again.
    const resync = r.conn !== null && (!node?.online || node.conn_id !== r.conn);
    return { ok: true, resync };
  }

  /** One ledger row; exactly once per request whatever the number of deliveries. */
  row(row: LedgerRow): void {
    if (row.withdrawn) {
      this.d.ledger.withdrawUsage(row.rid, row.node);
      return;
    }
    const r = this.d.ledger.upsertUsage(row);
    // Demand is counted once per request: as served when the Hub first learns of it from its node, unless it waited (unmet).
    if (r.inserted && row.node && !this.d.countedUnmet(row.rid)) this.d.store.bumpDemand(row.model, minuteOf(row.started), 'served');
    if (r.ended) this.d.metrics.ended(row);
  }

  private saturation(r: LinkReport): void {
    const prefix = `${r.node}|`;
    for (const key of [...this.d.live.saturatedSince.keys()]) {
      if (key.startsWith(prefix) && r.saturated[key.slice(prefix.length)] === undefined) this.d.live.relieved(key);
    }
    for (const [model, since] of Object.entries(r.saturated)) this.d.live.saturated(`${r.node}|${model}`, since);
  }
}
