import type { Env } from '../env';
import { NODE_FRAME_RATE } from './frame-rate';

/** The NodeLink's deadlines, windows and batch bounds (see docs/operations.md), from the Worker's vars. */
export interface LinkConfig {
  /** A node must acknowledge a request (`infer.accepted`) within this, else it is retried elsewhere and the node is suspect. */
  firstReplyMs: number;
  /** Once accepted, a node that sends nothing for this long (while it has credit) has the request failed (or retried before the first byte). */
  nodeStallMs: number;
  /** A client that reads nothing for this long while its stream buffer is full gets an in-band error and the stream ends. */
  clientStallMs: number;
  /** Stream data a node may send ahead of its client (per stream). */
  windowBytes: number;
  /** Ledger rows and reports go to the Hub at least this often while anything changed… */
  batchMs: number;
  /** …or as soon as this many rows wait. */
  batchRows: number;
  /** Frames a node may send per second, sustained (twice that at once); past it its socket is closed with 4000. */
  frameRatePerS: number;
}

export const DEFAULT_LINK_CONFIG: LinkConfig = {
  firstReplyMs: 5000,
  nodeStallMs: 120_000,
  clientStallMs: 60_000,
  windowBytes: 256 * 1024,
  batchMs: 1000,
  batchRows: 256,
  frameRatePerS: NODE_FRAME_RATE.ratePerS,
};

function num(v: string | undefined, min: number, max: number, fallback: number): number {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isFinite(n) && n >= min && n <= max ? n : fallback;
}

export function linkConfig(env: Env): LinkConfig {
  const d = DEFAULT_LINK_CONFIG;
  return {
    firstReplyMs: num(env.PORTEN_FIRST_REPLY_S, 0.1, 600, d.firstReplyMs / 1000) * 1000,
    nodeStallMs: num(env.PORTEN_NODE_STALL_S, 1, 3600, d.nodeStallMs / 1000) * 1000,
    clientStallMs: num(env.PORTEN_CLIENT_STALL_S, 1, 3600, d.clientStallMs / 1000) * 1000,
    windowBytes: num(env.PORTEN_STREAM_WINDOW_KB, 16, 16 * 1024, d.windowBytes / 1024) * 1024,
    batchMs: num(env.PORTEN_BATCH_MS, 10, 600_000, d.batchMs),
    batchRows: num(env.PORTEN_BATCH_ROWS, 1, 4096, d.batchRows),
    frameRatePerS: num(env.PORTEN_NODE_FRAME_RATE, 100, 1_000_000, d.frameRatePerS),
  };
}
