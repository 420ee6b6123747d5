import * as z from 'zod';

/**
 * How fast a node fetches weights and loads them, learned from its own transfers (the
 * Hub times `model.state` progress reports; the simulator times its simulated
 * transfers). Pure.
 */
export const SpeedEstimateSchema = z.object({
  /** Bytes per second. */
  bps: z.number().positive(),
  /** Transfers seen (the estimate's weight grows with them, capped). */
  samples: z.number().int().nonnegative(),
});
export type SpeedEstimate = z.infer<typeof SpeedEstimateSchema>;

export type TransferKind = 'download' | 'load';

const MB = 1024 * 1024;

/**
 * What a transfer must be to teach anything: small or instant ones measure fixed costs
 * (TLS set-up, engine start, a file found verified on disk), not bandwidth.
 */
export const MIN_TRANSFER: Record<TransferKind, { bytes: number; ms: number }> = {
  download: { bytes: 4 * MB, ms: 500 },
  load: { bytes: 32 * MB, ms: 200 },
};

/** Rates outside this range are a clock glitch or a lie; they are clamped, so one bad report cannot dominate. */
const MIN_BPS = 64 * 1024;
const MAX_BPS = 64 * 1024 * MB;

/**
 * The estimate after one more transfer of `bytes` in `ms`: a running mean that weighs
 * the newest transfer at least 1/4, so a node whose link changes is relearned within a
 * few loads. Returns `prev` unchanged when the transfer is too small to measure.
 */
export function observeSpeed(prev: SpeedEstimate | undefined, kind: TransferKind, bytes: number, ms: number): SpeedEstimate | undefined {
  const min = MIN_TRANSFER[kind];
  if (!(bytes >= min.bytes && ms >= min.ms) || !Number.isFinite(bytes) || !Number.isFinite(ms)) return prev;
  const bps = Math.min(MAX_BPS, Math.max(MIN_BPS, (bytes * 1000) / ms));
  if (!prev) return { bps, samples: 1 };
  const w = Math.max(0.25, 1 / (prev.samples + 1));
  return { bps: prev.bps * (1 - w) + bps * w, samples: Math.min(1000, prev.samples + 1) };
}

/**
 * A first figure for a node never measured, from a download still running (bytes so far
 * over time so far, from its progress reports), so the node's first download already
 * informs the next placement. A node with an estimate keeps it: the finished transfer
 * will update it. Counts as no sample, so that transfer's own figure then replaces it.
 */
export function provisionalSpeed(prev: SpeedEstimate | undefined, bytesSoFar: number, msSoFar: number): SpeedEstimate | undefined {
  if (prev) return prev;
  const first = observeSpeed(undefined, 'download', bytesSoFar, msSoFar);
  return first && { bps: first.bps, samples: 0 };
}
