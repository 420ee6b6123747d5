import { requestsPerActiveMinute } from './arrivals';
import type { ModelView, NodeSlot, PlanContext } from './context';
import type { PlannerReplica } from './types';

const MB = 1024 * 1024;

/** Bytes of a model's weights: the catalog's file size, else its metadata, else 90 % of its footprint. */
export function weightsBytes(view: ModelView): number {
  return view.model.weightsBytes ?? view.model.meta?.weightsBytes ?? Math.round(view.needMb * MB * 0.9);
}

export interface ServeTime {
  ms: number;
  onDisk: boolean;
  downloadMs: number;
  loadMs: number;
  queueMs: number;
}

/** For the decision log: `download 40s + load 6s + queue 12s` (built only for what is logged). */
export function describeServe(s: ServeTime): string {
  const parts = [s.onDisk ? 'on disk' : `download ${secs(s.downloadMs)}`, `load ${secs(s.loadMs)}`];
  if (s.queueMs > 0) parts.push(`queue ${secs(s.queueMs)}`);
  return parts.join(' + ');
}

/**
 * How long `slot`'s node would take to have `view`'s model serving if asked now: the
 * download unless the weights are on its disk (after the downloads already running
 * there: they share its link), then the load, disk → memory (after the loads already
 * running), at the node's measured speeds (assumed ones until measured). `ignoreQueue`:
 * as if nothing else were loading there (a reload estimate for later). Never mutates.
 */
export function serveTime(ctx: PlanContext, slot: NodeSlot, view: ModelView, ignoreQueue = false): ServeTime {
  return parts(ctx, slot, view, ignoreQueue);
}

/** serveTime(…).ms, without building the breakdown (placement asks it of every node). */
export function serveMs(ctx: PlanContext, slot: NodeSlot, view: ModelView): number {
  const node = slot.node;
  const down = node.downloadBps ?? ctx.unmeasured.downloadBps;
  const load = node.loadBps ?? ctx.unmeasured.loadBps;
  const bytes = weightsBytes(view);
  const t = transfers(ctx, slot);
  return node.inventory.includes(view.model.id) ? ((t.loadingBytes + bytes) / load) * 1000 : ((t.downloadBytes + bytes) / down) * 1000 + (bytes / load) * 1000;
}

function parts(ctx: PlanContext, slot: NodeSlot, view: ModelView, ignoreQueue: boolean): ServeTime {
  const node = slot.node;
  const down = node.downloadBps ?? ctx.unmeasured.downloadBps;
  const load = node.loadBps ?? ctx.unmeasured.loadBps;
  const bytes = weightsBytes(view);
  const onDisk = node.inventory.includes(view.model.id);
  const { downloadBytes: queuedBytes, loadingBytes } = ignoreQueue ? { downloadBytes: 0, loadingBytes: 0 } : transfers(ctx, slot);
  // A load from disk waits for the loads ahead of it; a download for the downloads ahead
  // (the loads ahead finish while it downloads).
  const queueMs = onDisk ? (loadingBytes / load) * 1000 : (queuedBytes / down) * 1000;
  const downloadMs = onDisk ? 0 : (bytes / down) * 1000;
  const loadMs = (bytes / load) * 1000;
  return { ms: queueMs + downloadMs + loadMs, onDisk, downloadMs, loadMs, queueMs };
}

/** What the node is still moving for its live replicas; cached on the slot until it changes. */
function transfers(ctx: PlanContext, slot: NodeSlot): { downloadBytes: number; loadingBytes: number } {
  if (slot.transfers) return slot.transfers;
  let downloadBytes = 0;
  let loadingBytes = 0;
  for (const r of slot.live) {
    if (r.phase === 'downloading') {
      const other = ctx.models.get(r.model);
      downloadBytes += r.pendingBytes ?? (other ? weightsBytes(other) : 0);
    } else if (r.phase === 'loading') {
      const other = ctx.models.get(r.model);
      // Half its load on average is still ahead.
      loadingBytes += other ? weightsBytes(other) / 2 : 0;
    }
  }
  slot.transfers = { downloadBytes, loadingBytes };
  return slot.transfers;
}

/**
 * How long until a replica already downloading or loading on `slot` serves: what is left
 * of its download at the node's speed, then its load (0 for a ready one).
 */
export function remainingServeMs(ctx: PlanContext, slot: NodeSlot, view: ModelView, r: PlannerReplica): number {
  if (r.phase === 'ready') return 0;
  const bytes = weightsBytes(view);
  const load = ((slot.node.loadBps ?? ctx.unmeasured.loadBps) > 0 ? bytes / (slot.node.loadBps ?? ctx.unmeasured.loadBps) : 0) * 1000;
  if (r.phase !== 'downloading') return load / 2;
  const left = r.pendingBytes ?? bytes;
  return (left / (slot.node.downloadBps ?? ctx.unmeasured.downloadBps)) * 1000 + load;
}

/**
 * Requests per minute a model is expected to get while it loads, which a slower load
 * turns into more cold requests: its rate in busy minutes (arrival history), else its
 * demand score, at least one.
 */
export function loadingRate(ctx: PlanContext, view: ModelView): number {
  const h = ctx.arrivals[view.model.id];
  return Math.max(1, h && h.active > 0 ? requestsPerActiveMinute(h) : view.score);
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}
