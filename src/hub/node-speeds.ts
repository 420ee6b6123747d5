import type { ModelState } from '../protocol';
import { observeSpeed, provisionalSpeed, type SpeedEstimate } from '../planner/speeds';
import type { HubStore } from './store';

/** What one node's current load of one model has shown so far. */
interface Transfer {
  /** The first and the latest report with 0 < done < total: the download's rate is measured between them. */
  first?: { at: number; bytes: number };
  last?: { at: number; bytes: number };
  total: number;
  /** When the node reported `loading`; the load is timed from here to `ready`. */
  loadingAt?: number;
}

export interface NodeSpeed {
  download?: SpeedEstimate;
  load?: SpeedEstimate;
}

/**
 * Each node's download and load rates, learned from its own `model.state` progress
 * reports: a download is timed between its first and last in-between progress reports
 * (so a file found on disk, or verified, never counts as a download), a load from
 * `loading` to `ready` with the weights' size. Estimates live in SQLite (they outlive
 * the Durable Object's evictions); the transfers in progress only in memory (losing one
 * loses one sample). A node's first download already gives a provisional figure.
 *
 * A node controls its own reports, so it can only mislead the planner about itself, and
 * every rate is clamped (see speeds.ts).
 */
export class NodeSpeeds {
  private readonly transfers = new Map<string, Transfer>();
  private cache?: Map<string, NodeSpeed>;

  constructor(private readonly store: HubStore) {}

  /** Every node's estimates (the planner's input). */
  all(): ReadonlyMap<string, NodeSpeed> {
    if (!this.cache) {
      this.cache = new Map();
      for (const r of this.store.nodeSpeeds()) {
        this.cache.set(r.node_id, {
          download: r.download_bps ? { bps: r.download_bps, samples: r.download_n } : undefined,
          load: r.load_bps ? { bps: r.load_bps, samples: r.load_n } : undefined,
        });
      }
    }
    return this.cache;
  }

  /** Feeds one validated report of `nodeId`. Never throws. */
  observe(nodeId: string, s: ModelState, now: number): void {
    const key = `${nodeId}|${s.model}`;
    if (s.phase === 'stopped' || s.phase === 'failed' || s.phase === 'stopping') {
      this.transfers.delete(key);
      return;
    }
    // A load starts with `downloading 0 / total`: whatever an earlier attempt left is stale.
    const fresh = s.phase === 'downloading' && !s.done_bytes;
    const t = (!fresh && this.transfers.get(key)) || { total: 0 };
    this.transfers.set(key, t);
    if (s.phase === 'downloading') {
      if (s.total_bytes) t.total = s.total_bytes;
      const done = s.done_bytes;
      if (done !== undefined && done > 0 && t.total > 0 && done < t.total) {
        if (!t.first || done < t.first.bytes) t.first = { at: now, bytes: done };
        else t.last = { at: now, bytes: done };
        if (t.last) this.provisional(nodeId, t.last.bytes - t.first.bytes, t.last.at - t.first.at, now);
      }
      return;
    }
    if (s.phase === 'loading') {
      if (t.loadingAt !== undefined) return;
      if (t.first && t.last) this.record(nodeId, 'download', t.last.bytes - t.first.bytes, t.last.at - t.first.at, now);
      t.loadingAt = now;
      return;
    }
    // ready
    if (t.loadingAt !== undefined && t.total > 0) this.record(nodeId, 'load', t.total, now - t.loadingAt, now);
    this.transfers.delete(key);
  }

  private provisional(nodeId: string, bytes: number, ms: number, now: number): void {
    const cur = this.all().get(nodeId) ?? {};
    if (cur.download) return;
    const first = provisionalSpeed(undefined, bytes, ms);
    if (first) this.save(nodeId, { ...cur, download: first }, now);
  }

  private record(nodeId: string, kind: 'download' | 'load', bytes: number, ms: number, now: number): void {
    const cur = this.all().get(nodeId) ?? {};
    const next = observeSpeed(cur[kind], kind, bytes, ms);
    if (next && next !== cur[kind]) this.save(nodeId, { ...cur, [kind]: next }, now);
  }

  private save(nodeId: string, speed: NodeSpeed, now: number): void {
    this.all();
    this.cache!.set(nodeId, speed);
    this.store.putNodeSpeed({
      node_id: nodeId,
      download_bps: speed.download?.bps ?? null,
      download_n: speed.download?.samples ?? 0,
      load_bps: speed.load?.bps ?? null,
      load_n: speed.load?.samples ?? 0,
      updated: now,
    });
  }
}
