import { describe, expect, it } from 'vitest';
import { NodeSpeeds } from '../../src/hub/node-speeds';
import type { HubStore, NodeSpeedRow } from '../../src/hub/store';
import { DEFAULT_QUEUE_MAX, ModelWaiters, queueDefault } from '../../src/hub/waiters';
import { withQueue, type WarmingView } from '../../src/hub/warming';

const MB = 1024 * 1024;
const warmingView = (o: Partial<WarmingView> = {}): WarmingView => ({
  model: 'm',
  ready: false,
  phase: 'downloading',
  done_mb: 10,
  total_mb: 66,
  pct: 15,
  eta_s: 12.4,
  ...o,
});

describe('the bounded queue of requests waiting for a model', () => {
  it('knows each request’s place, in arrival order, and keeps it when the request waits again', () => {
    const w = new ModelWaiters();
    const a = w.wait('m', 10_000, undefined, 'ta');
    w.wait('m', 10_000, undefined, 'tb');
    w.wait('other', 10_000, undefined, 'tx');
    expect(w.queue('m', 'ta')).toEqual({ length: 2, position: 1 });
    expect(w.queue('m', 'tb')).toEqual({ length: 2, position: 2 });
    expect(w.queue('m', 'nobody')).toEqual({ length: 2 });
    // A freed slot wakes both; b gets it, a waits again with its old place.
    w.notify('m', { kind: 'changed' });
    w.wait('m', 10_000, undefined, 'tc');
    w.wait('m', 10_000, undefined, 'ta', a.place);
    expect(w.queue('m', 'ta')).toEqual({ length: 2, position: 1 });
    expect(w.queue('m', 'tc')).toEqual({ length: 2, position: 2 });
    w.notifyAll({ kind: 'changed' });
  });

  it('refuses to grow past its bound: 429 queue_full, Retry-After from the warm-up ETA', () => {
    const w = new ModelWaiters();
    expect(w.refuse('m', 2, warmingView())).toBeNull();
    w.wait('m', 10_000);
    w.wait('m', 10_000);
    const full = w.refuse('m', 2, warmingView());
    expect(full).toMatchObject({ ok: false, code: 'queue_full', retryAfterS: 12.4 });
    expect(full?.message).toContain("2 requests already wait for 'm' (its queue holds 2)");
    // A ready model's queue drains as slots free: a short Retry-After.
    expect(w.refuse('m', 2, warmingView({ ready: true, phase: 'ready', eta_s: 0 }))?.retryAfterS).toBe(2);
    expect(w.refuse('m', 3, warmingView())).toBeNull();
    w.notifyAll({ kind: 'changed' });
  });

  it('PORTEN_QUEUE_MAX: a positive integer, else the documented default', () => {
    expect(queueDefault('10')).toBe(10);
    expect(queueDefault(undefined)).toBe(DEFAULT_QUEUE_MAX);
    for (const bad of ['0', '-3', '2.5', 'lots', '']) expect(queueDefault(bad)).toBe(DEFAULT_QUEUE_MAX);
  });

  it('the warming view carries the queue, and the position only for its own ticket', () => {
    expect(withQueue(warmingView(), { length: 3 }, 8)).toMatchObject({ queued: 3, queue_max: 8 });
    expect(withQueue(warmingView(), { length: 3 }, 8)).not.toHaveProperty('position');
    expect(withQueue(warmingView(), { length: 3, position: 2 }, 8)).toMatchObject({ queued: 3, queue_max: 8, position: 2 });
  });
});

describe('node speeds learned from model.state reports', () => {
  function speeds() {
    const rows: NodeSpeedRow[] = [];
    const store = { nodeSpeeds: () => rows, putNodeSpeed: (r: NodeSpeedRow) => rows.push(r) } as unknown as HubStore;
    return { s: new NodeSpeeds(store), rows };
  }
  const state = (phase: 'downloading' | 'loading' | 'ready' | 'failed', done?: number, total?: number) => ({
    type: 'model.state' as const,
    model: 'm',
    phase,
    ...(done !== undefined ? { done_bytes: done, total_bytes: total } : {}),
  });

  it('times a download between its in-between progress reports and a load from loading to ready', () => {
    const { s } = speeds();
    const total = 400 * MB;
    s.observe('n', state('downloading', 0, total), 0);
    s.observe('n', state('downloading', 50 * MB, total), 1000);
    s.observe('n', state('downloading', 250 * MB, total), 3000);
    s.observe('n', state('downloading', total, total), 3500);
    s.observe('n', state('loading'), 3600);
    s.observe('n', state('ready'), 3600 + 400);
    const n = s.all().get('n')!;
    expect(n.download!.bps).toBeCloseTo(100 * MB, 0); // 200 MB between 1 s and 3 s
    expect(n.download!.samples).toBe(1);
    expect(n.load!.bps).toBeCloseTo(1000 * MB, 0); // 400 MB in 0.4 s
  });

  it('a file found on disk teaches nothing about the link, and a failed load leaves no half transfer', () => {
    const { s, rows } = speeds();
    s.observe('n', state('downloading', 0, 400 * MB), 0);
    s.observe('n', state('downloading', 400 * MB, 400 * MB), 50);
    s.observe('n', state('loading'), 60);
    expect(s.all().get('n')?.download).toBeUndefined();
    // A new attempt starts over: its load is timed from its own `loading`, not the old one.
    s.observe('n', state('downloading', 0, 400 * MB), 10_000);
    s.observe('n', state('downloading', 400 * MB, 400 * MB), 10_010);
    s.observe('n', state('loading'), 10_020);
    s.observe('n', state('ready'), 10_420);
    expect(s.all().get('n')!.load!.bps).toBeCloseTo(1000 * MB, 0);
    expect(rows.at(-1)).toMatchObject({ node_id: 'n', load_n: 1, download_bps: null });
  });

  it('the first download in progress already gives a provisional figure', () => {
    const { s } = speeds();
    const total = 4000 * MB;
    s.observe('n', state('downloading', 0, total), 0);
    s.observe('n', state('downloading', 10 * MB, total), 250);
    s.observe('n', state('downloading', 60 * MB, total), 750);
    expect(s.all().get('n')!.download).toEqual({ bps: 100 * MB, samples: 0 });
  });
});
