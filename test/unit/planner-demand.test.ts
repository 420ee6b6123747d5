import { describe, expect, it } from 'vitest';
import {
  addDemand,
  bumpRow,
  demandScore,
  estimateFootprintMb,
  footprint,
  kvCacheBytes,
  minuteOf,
  plannerConfig,
  pruneDemand,
  summarizeDemand,
  windowSums,
  type DemandRow,
  type GgufMeta,
} from '../../src/planner';

const MIN = 60_000;
const T0 = 1_000_000 * MIN; // on a minute boundary

describe('demand ledger', () => {
  it('counts served and unmet in the (model, minute) row', () => {
    let rows: DemandRow[] = [];
    rows = addDemand(rows, 'a', T0 + 1_000, 'served');
    rows = addDemand(rows, 'a', T0 + 59_999, 'unmet');
    rows = addDemand(rows, 'a', T0 + MIN, 'served');
    expect(rows).toEqual([
      { model: 'a', minute: minuteOf(T0), served: 1, unmet: 1 },
      { model: 'a', minute: minuteOf(T0) + 1, served: 1, unmet: 0 },
    ]);
  });

  it('bumpRow starts a fresh row when the stored one is from another minute', () => {
    const old = { model: 'a', minute: minuteOf(T0) - 1, served: 5, unmet: 0 };
    expect(bumpRow(old, 'a', T0, 'unmet')).toEqual({ model: 'a', minute: minuteOf(T0), served: 0, unmet: 1 });
  });

  it('window sums cover the current minute and the W−1 before it', () => {
    const rows: DemandRow[] = [0, 1, 9, 10, 59, 60].map((age) => ({ model: 'a', minute: minuteOf(T0) - age, served: 1, unmet: age }));
    rows.push({ model: 'b', minute: minuteOf(T0), served: 100, unmet: 0 });
    rows.push({ model: 'a', minute: minuteOf(T0) + 1, served: 100, unmet: 0 }); // future: ignored
    expect(windowSums(rows, 'a', T0 + 30_000, MIN)).toEqual({ served: 1, unmet: 0 });
    expect(windowSums(rows, 'a', T0, 10 * MIN)).toEqual({ served: 3, unmet: 10 });
    expect(windowSums(rows, 'a', T0, 60 * MIN)).toEqual({ served: 5, unmet: 79 });
    expect(summarizeDemand(rows, T0).a).toEqual({ served1m: 1, unmet1m: 0, served10m: 3, unmet10m: 10, served60m: 5, unmet60m: 79 });
    expect(summarizeDemand(rows, T0).b.served1m).toBe(100);
  });

  it('prune keeps exactly the rows a 60-minute window can still read', () => {
    const rows: DemandRow[] = [0, 59, 60, 200].map((age) => ({ model: 'a', minute: minuteOf(T0) - age, served: 1, unmet: 0 }));
    expect(pruneDemand(rows, T0).map((r) => minuteOf(T0) - r.minute)).toEqual([0, 59]);
    expect(rows).toHaveLength(4); // input untouched
  });

  it('a steady rate of r per minute scores r; no demand scores 0', () => {
    expect(demandScore({ served1m: 3, unmet1m: 1, served10m: 30, unmet10m: 10, served60m: 180, unmet60m: 60 })).toBeCloseTo(4);
    expect(demandScore(undefined)).toBe(0);
  });
});

describe('footprint', () => {
  // Llama-3-8B-like: 32 layers, 4096 wide, 32 heads, 8 KV heads (GQA), f16 cache.
  const meta: GgufMeta = { weightsBytes: 4 * 1024 ** 3, nLayer: 32, nEmbd: 4096, nHead: 32, nHeadKv: 8 };
  const cfg = plannerConfig();

  it('KV cache is 2 × n_layer × n_ctx × n_embd_kv × bytes per element', () => {
    expect(kvCacheBytes(meta, 8192)).toBe(2 * 32 * 8192 * 1024 * 2); // 1 GiB
    expect(kvCacheBytes({ ...meta, nHeadKv: undefined }, 8192)).toBe(4 * 1024 ** 3); // no GQA: 4×
    expect(kvCacheBytes({ ...meta, kvBytesPerElem: 1 }, 8192)).toBe(512 * 1024 ** 2); // q8_0 cache
  });

  it('estimate = weights + KV at the context length + engine overhead', () => {
    expect(estimateFootprintMb(meta, 8192, 512)).toBe(4096 + 1024 + 512);
    expect(footprint({ id: 'm', enabled: true, contextLength: 8192, meta }, cfg)).toEqual({ mb: 5632, source: 'estimate' });
  });

  it('catalog vram_mb overrides the estimate', () => {
    expect(footprint({ id: 'm', enabled: true, contextLength: 8192, meta, vramMb: 7000 }, cfg)).toEqual({ mb: 7000, source: 'catalog' });
  });

  it("a node's measurement after load corrects both", () => {
    const m = { id: 'm', enabled: true, contextLength: 8192, meta, vramMb: 7000 };
    expect(footprint(m, cfg, 6100)).toEqual({ mb: 6100, source: 'measured' });
    expect(footprint({ ...m, measuredMb: 6200 }, cfg)).toEqual({ mb: 6200, source: 'measured' });
  });

  it('nothing known → the conservative default', () => {
    expect(footprint({ id: 'm', enabled: true, contextLength: 8192 }, cfg)).toEqual({ mb: 8192, source: 'unknown' });
  });
});
