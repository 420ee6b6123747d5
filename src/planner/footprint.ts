import type { GgufMeta, PlannerConfig, PlannerModel } from './types';

const MIB = 1024 * 1024;

export type FootprintSource = 'measured' | 'catalog' | 'estimate' | 'unknown';

export interface Footprint {
  mb: number;
  source: FootprintSource;
}

/** KV cache bytes at `nCtx`: 2 (K and V) × n_layer × n_ctx × n_embd_kv × bytes per element. */
export function kvCacheBytes(meta: GgufMeta, nCtx: number): number {
  const nHeadKv = meta.nHeadKv ?? meta.nHead;
  const nEmbdKv = (meta.nEmbd / meta.nHead) * nHeadKv;
  return 2 * meta.nLayer * nCtx * nEmbdKv * (meta.kvBytesPerElem ?? 2);
}

/** Weights + KV cache at the context length + engine overhead, in MiB, rounded up. */
export function estimateFootprintMb(meta: GgufMeta, contextLength: number, engineOverheadMb: number): number {
  return Math.ceil((meta.weightsBytes + kvCacheBytes(meta, contextLength)) / MIB + engineOverheadMb);
}

/**
 * What a model needs on a node, best source first: a node's measurement after load
 * (the truth: the engine has allocated weights, KV cache and buffers), the catalog's
 * `vram_mb` override, the estimate from metadata, and last a conservative default.
 */
export function footprint(model: PlannerModel, config: Pick<PlannerConfig, 'engineOverheadMb' | 'unknownFootprintMb'>, measuredMb?: number): Footprint {
  const measured = measuredMb ?? model.measuredMb;
  if (measured !== undefined && measured > 0) return { mb: measured, source: 'measured' };
  if (model.vramMb !== undefined && model.vramMb > 0) return { mb: model.vramMb, source: 'catalog' };
  if (model.meta) return { mb: estimateFootprintMb(model.meta, model.contextLength, config.engineOverheadMb), source: 'estimate' };
  return { mb: config.unknownFootprintMb, source: 'unknown' };
}
