import type { InventoryItem, ModelPhase } from '../protocol';

/**
 * What the Hub believes of a node's reports. A node is believed about a model
 * only when the Hub asked it to load that model (an order still current) or
 * when the node holds weights whose sha256 equals the catalog's pin; its
 * capacity claims are clamped to ceilings and to the operator's caps. Pure:
 * the Hub passes every fact in.
 */

/** No single machine or RPC pool we expect comes near this; a larger claim is a lie or a bug. */
export const NODE_BUDGET_CEILING_MB = 16 * 1024 * 1024;
export const NODE_CONCURRENCY_CEILING = 1024;
/** Per weights file. */
export const WEIGHTS_BYTES_CEILING = 4 * 1024 ** 4;

/** The operator's caps on one node (null: no cap beyond the ceilings). */
export interface NodeCaps {
  max_budget_mb: number | null;
  max_concurrency: number | null;
}

export interface Capacity {
  vram_budget_mb: number;
  max_concurrency: number;
}

/** The capacity the planner may use: the node's claim, never above the ceilings or the operator's caps. */
export function boundedCapacity(claimed: Capacity, caps: NodeCaps): Capacity {
  const budget = Number.isFinite(claimed.vram_budget_mb) ? Math.max(0, claimed.vram_budget_mb) : 0;
  return {
    vram_budget_mb: Math.min(budget, NODE_BUDGET_CEILING_MB, caps.max_budget_mb ?? Number.POSITIVE_INFINITY),
    max_concurrency: Math.max(1, Math.min(Math.floor(claimed.max_concurrency), NODE_CONCURRENCY_CEILING, caps.max_concurrency ?? Number.POSITIVE_INFINITY)),
  };
}

/**
 * The inventory worth storing: catalog models only (anything else can never
 * be placed or verified), one entry per model, sizes within the ceiling, a
 * sha256 only when it is one.
 */
export function boundedInventory(items: readonly InventoryItem[], inCatalog: (model: string) => boolean): InventoryItem[] {
  const seen = new Set<string>();
  const out: InventoryItem[] = [];
  for (const i of items) {
    if (seen.has(i.model) || !inCatalog(i.model) || i.bytes > WEIGHTS_BYTES_CEILING) continue;
    seen.add(i.model);
    out.push(i.sha256 && /^[0-9a-f]{64}$/.test(i.sha256) ? { model: i.model, bytes: i.bytes, sha256: i.sha256 } : { model: i.model, bytes: i.bytes });
  }
  return out;
}

/** A catalog entry as a claim judge needs it. */
export interface ClaimedModel {
  engine: string;
  sha256: string | null;
}

export type ClaimVerdict = { ok: true; basis: 'ordered' | 'verified' } | { ok: false; reason: 'not_in_catalog' | 'not_ordered' };

/**
 * Whether to believe "model M is `phase` on this node". Ordered pairs are
 * believed in every phase. Without an order, a node may still announce
 * `loading`/`ready`/`stopping` for weights it holds verified against the
 * catalog's sha256 (an agent that restarted with its models on disk, an edge
 * that lost its orders) — never `downloading`, which only an order explains.
 * An `openai` engine has no weights to verify: orders only.
 */
export function judgeClaim(i: { phase: ModelPhase; ordered: boolean; model: ClaimedModel | null; inventorySha?: string }): ClaimVerdict {
  if (!i.model) return { ok: false, reason: 'not_in_catalog' };
  if (i.ordered) return { ok: true, basis: 'ordered' };
  const verified = i.phase !== 'downloading' && i.model.engine === 'builtin' && i.model.sha256 !== null && i.inventorySha === i.model.sha256;
  return verified ? { ok: true, basis: 'verified' } : { ok: false, reason: 'not_ordered' };
}

/**
 * A node's `failed` or `stopped` report concerns only its own load: it counts
 * when the Hub ordered that load or holds a replica row for that node. Any
 * other node's report about the model is ignored, so it cannot fail the
 * requests waiting on someone else's load.
 */
export function ownsLoad(i: { ordered: boolean; hasReplica: boolean }): boolean {
  return i.ordered || i.hasReplica;
}

/** A measured footprint within what the node may hold at all. */
export function boundedVram(vramMb: number | undefined, budgetMb: number): number | undefined {
  if (vramMb === undefined || !Number.isFinite(vramMb)) return undefined;
  return Math.min(Math.max(0, vramMb), Math.max(budgetMb, 0));
}
