import { describe, expect, it } from 'vitest';
import { warmingView } from '../../src/hub/warming';
import { resolveWeightsUrl } from '../../src/hub/catalog';
import { closeCodeToEcho } from '../../src/link/socket-close';
import { safeEqual } from '../../src/auth';
import type { ReplicaRow } from '../../src/hub/store';

const MB = 1024 * 1024;

function replica(over: Partial<ReplicaRow>): ReplicaRow {
  return {
    node_id: 'n1',
    model_id: 'm',
    phase: 'downloading',
    done_bytes: 0,
    total_bytes: 0,
    vram_mb: null,
    started_at: 0,
    updated_at: 0,
    last_used_at: null,
    ...over,
  };
}

describe('warming view', () => {
  it('is cold with no replica and no failure', () => {
    expect(warmingView('m', [], null)).toEqual({ model: 'm', ready: false, phase: 'cold', done_mb: 0, total_mb: 0, pct: 0, eta_s: null });
  });
  it('reports download bytes, percent and an ETA from the measured rate', () => {
    const v = warmingView('m', [replica({ done_bytes: 25 * MB, total_bytes: 100 * MB })], null, 5 * MB);
    expect(v).toMatchObject({ phase: 'downloading', done_mb: 25, total_mb: 100, pct: 25, eta_s: 15 });
  });
  it('lets the most advanced replica speak for the model', () => {
    const v = warmingView('m', [replica({ node_id: 'a', done_bytes: 1 }), replica({ node_id: 'b', phase: 'ready', total_bytes: 10 })], null);
    expect(v).toMatchObject({ phase: 'ready', ready: true, pct: 100, eta_s: 0 });
  });
  it('shows a failure with its reason until a new load starts', () => {
    const v = warmingView('m', [], { model_id: 'm', node_id: 'n1', code: 'verify_failed', message: 'bad sha', at: 1 });
    expect(v).toMatchObject({ phase: 'failed', error: 'bad sha' });
  });
});

describe('edge helpers', () => {
  it('resolves demo:// against the configured origin and passes other schemes through', () => {
    expect(resolveWeightsUrl('demo://x.gguf', 'http://127.0.0.1:9/')).toBe('http://127.0.0.1:9/x.gguf');
    expect(resolveWeightsUrl('demo://x.gguf', undefined)).toBeNull();
    expect(resolveWeightsUrl('hf://a/b/c.gguf', undefined)).toBe('hf://a/b/c.gguf');
  });
  it('never echoes the reserved close codes 1005, 1006 and 1015', () => {
    expect([1005, 1006, 1015, 999, 5000].map(closeCodeToEcho)).toEqual([null, null, null, null, null]);
    expect(closeCodeToEcho(1000)).toBe(1000);
    expect(closeCodeToEcho(4003)).toBe(4003);
  });
  it('compares secrets without short-circuiting on length or prefix', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
  });
});
