import { describe, expect, it } from 'vitest';
import {
  buildContext,
  canPlace,
  plan,
  plannerConfig,
  swapsOf,
  type Action,
  type PendingDemand,
  type PlannerConfig,
  type PlannerModel,
  type PlannerNode,
  type PlannerReplica,
  type PlannerState,
} from '../../src/planner';

import { GB, MIN, model, node, rep, state, T0, waiting } from './helpers/planner-fixtures';

const cfg = plannerConfig();
const run = (s: PlannerState, now = T0, c: PlannerConfig = cfg) => plan(s, now, c);
const brief = (a: Action) => `${a.type} ${a.model}@${a.node} (${a.rule})`;

describe('placement: where a pending model is loaded', () => {
  const m8 = model('m', 8);
  const rows: { name: string; nodes: PlannerNode[]; want: string | null }[] = [
    { name: 'fits on empty node', nodes: [node('a', 24)], want: 'a' },
    { name: 'prefers node with weights on disk', nodes: [node('a', 24), node('b', 24, { inventory: ['m'] })], want: 'b' },
    {
      name: 'prefers weights on disk over less loaded',
      nodes: [node('a', 24), node('b', 24, { inventory: ['m'], replicas: [rep('x', { vramMb: 4 * GB, inflight: 4 })] })],
      want: 'b',
    },
    {
      name: 'then least loaded',
      nodes: [node('a', 48, { replicas: [rep('x', { vramMb: 8 * GB, inflight: 4 })] }), node('b', 48, { replicas: [rep('y', { vramMb: 8 * GB })] })],
      want: 'b',
    },
    { name: 'then best fit (keeps the big hole for big models)', nodes: [node('a', 80), node('b', 24), node('c', 48)], want: 'b' },
    { name: 'tie → lowest id', nodes: [node('c', 24), node('a', 24), node('b', 24)], want: 'a' },
    { name: 'offline node excluded', nodes: [node('a', 24, { online: false }), node('b', 80)], want: 'b' },
    { name: 'draining node excluded', nodes: [node('a', 24, { draining: true }), node('b', 80)], want: 'b' },
    { name: 'node where the load failed recently excluded', nodes: [node('a', 24, { recentFailures: { m: T0 - MIN } }), node('b', 80)], want: 'b' },
    { name: 'failure older than the backoff forgiven', nodes: [node('a', 24, { recentFailures: { m: T0 - 5 * MIN } }), node('b', 80)], want: 'a' },
    { name: 'node without free budget excluded', nodes: [node('a', 24, { replicas: [rep('x', { vramMb: 20 * GB, inflight: 1 })] }), node('b', 80)], want: 'b' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const { actions } = run(state(row.nodes, [m8, model('x', 4), model('y', 8)], { m: 1 }, [waiting('m')]));
      expect(actions.map(brief)).toEqual(row.want ? [`load m@${row.want} (place)`] : []);
    });
  }

  it('restricted by model region and by request region/node', () => {
    const nodes = [node('a', 24, { region: 'eu' }), node('b', 24, { region: 'us' }), node('c', 24)];
    const place = (m: PlannerModel, p: PendingDemand) => run(state(nodes, [m], { m: 1 }, [p])).actions.map((a) => a.node);
    expect(place(model('m', 8, { regions: ['us'] }), waiting('m'))).toEqual(['b']);
    expect(place(m8, waiting('m', { restrictions: { regions: ['us'] } }))).toEqual(['b']);
    expect(place(m8, waiting('m', { restrictions: { nodes: ['c'] } }))).toEqual(['c']);
  });

  it('canPlace names the first failing check', () => {
    const ctx = buildContext(
      state(
        [
          node('off', 80, { online: false }),
          node('drain', 80, { draining: true }),
          node('eu', 80, { region: 'eu' }),
          node('has', 80, { replicas: [rep('m')] }),
          node('small', 4),
          node('full', 24, { replicas: [rep('x', { vramMb: 20 * GB })] }),
          node('ok', 24),
          node('stop', 24, { replicas: [rep('m', { phase: 'stopping' })] }),
        ],
        [m8],
      ),
      T0,
      cfg,
    );
    const need = { model: model('m', 8, { regions: ['us'] }), needMb: 8 * GB };
    const reasons = ctx.slots.map((s) => {
      const r = canPlace(s.node.id === 'eu' ? need : { ...need, model: m8 }, s, T0, cfg);
      return `${s.node.id}:${r.ok ? 'ok' : r.reason}`;
    });
    expect(reasons).toEqual([
      'drain:draining',
      'eu:restricted',
      'full:budget',
      'has:already_hosted',
      'off:offline',
      'ok:ok',
      'small:too_large',
      'stop:stopping',
    ]);
  });

  it('order of nodes in the input does not change the choice', () => {
    const nodes = [node('d', 48), node('b', 24), node('a', 24), node('c', 80)];
    const s1 = run(state(nodes, [m8], { m: 1 }, [waiting('m')]));
    const s2 = run(state([...nodes].reverse(), [m8], { m: 1 }, [waiting('m')]));
    expect(s2).toEqual(s1);
  });
});

describe('pending requests without a load', () => {
  it('model still stopping on its only node: wait for the stop, then reload there', () => {
    const s = (phase: PlannerReplica['phase']) =>
      state([node('a', 24, { inventory: ['m'], replicas: [rep('m', { phase })] })], [model('m', 8)], { m: 1 }, [waiting('m')]);
    expect(run(s('stopping')).actions).toEqual([]);
    expect(run(s('stopped')).actions.map(brief)).toEqual(['load m@a (place)']);
  });

  it('join a replica already loading: no second load', () => {
    const s = state([node('a', 24, { replicas: [rep('m', { phase: 'loading' })] }), node('b', 24)], [model('m', 8)], { m: 5 }, [waiting('m', { count: 9 })]);
    expect(run(s)).toEqual({ actions: [], decisions: [] });
  });

  it('a replica on a node the request may not use does not count', () => {
    const s = state([node('a', 24, { region: 'eu', replicas: [rep('m')] }), node('b', 24, { region: 'us' })], [model('m', 8)], { m: 1 }, [
      waiting('m', { restrictions: { regions: ['us'] } }),
    ]);
    expect(run(s).actions.map(brief)).toEqual(['load m@b (place)']);
  });

  it('disabled or unknown model → no action, decision says why', () => {
    const s = state([node('a', 24)], [model('m', 8, { enabled: false })], {}, [waiting('m'), waiting('ghost')]);
    const r = run(s);
    expect(r.actions).toEqual([]);
    expect(r.decisions.map((d) => `${d.model}:${d.rule}:${d.reason}`)).toEqual(['ghost:disabled:model is not in the catalog', 'm:disabled:model is disabled']);
  });

  it('no node fits and nothing evictable → no action + decision with reason', () => {
    const s = state(
      [node('a', 16, { replicas: [rep('x', { vramMb: 12 * GB, inflight: 1 })] }), node('b', 8, { online: false }), node('c', 4)],
      [model('m', 8), model('x', 12)],
      { m: 1, x: 0 },
      [waiting('m', { count: 3 })],
    );
    const r = run(s);
    expect(r.actions).toEqual([]);
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]).toMatchObject({ rule: 'no_fit', outcome: 'blocked', model: 'm' });
    expect(r.decisions[0].reason).toContain('1 budget, 1 offline, 1 too_large');
    expect(r.decisions[0].reason).toContain('1 busy');
  });

  it('planning again after the Hub records the optimistic replica issues nothing new', () => {
    const a = node('a', 24);
    const s = state([a], [model('m', 8)], { m: 1 }, [waiting('m')]);
    expect(run(s).actions).toHaveLength(1);
    a.replicas.push(rep('m', { phase: 'downloading', loadedAt: T0, lastUsedAt: T0 }));
    expect(run(s, T0 + 1000).actions).toEqual([]);
  });
});

describe('demand eviction', () => {
  const models = [model('m', 8), model('x', 8), model('y', 8), model('z', 8)];
  const full = (o: Partial<Record<'x' | 'y' | 'z', Partial<PlannerReplica>>> = {}) =>
    node('a', 24, { replicas: [rep('x', o.x), rep('y', o.y), rep('z', o.z)] });

  it('picks the lowest-demand idle model', () => {
    const r = run(state([full()], models, { m: 5, x: 2, y: 1, z: 3 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['unload y@a (demand_evict)', 'load m@a (place_after_evict)']);
    expect(r.actions[0].reason).toContain('making room for m');
  });

  it('equal demand → least recently used first', () => {
    const r = run(state([full({ x: { lastUsedAt: T0 - 5 * MIN }, y: { lastUsedAt: T0 - 2 * MIN } })], models, { m: 5, x: 1, y: 1, z: 1 }, [waiting('m')]));
    expect(r.actions.map(brief)[0]).toBe('unload x@a (demand_evict)');
  });

  it('evicts several cold models when one is not enough', () => {
    const r = run(state([full()], [model('m', 16), ...models.slice(1)], { m: 5, x: 0.5, y: 1, z: 3 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['unload x@a (demand_evict)', 'unload y@a (demand_evict)', 'load m@a (place_after_evict)']);
  });

  it('never evicts a model with in-flight or queued requests', () => {
    const r = run(state([full({ x: { inflight: 1 }, y: { queued: 2 } })], models, { m: 5, x: 0.1, y: 0.1, z: 3 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['unload z@a (demand_evict)', 'load m@a (place_after_evict)']);
    const all = run(state([full({ x: { inflight: 1 }, y: { queued: 2 }, z: { inflight: 3 } })], models, { m: 5 }, [waiting('m')]));
    expect(all.actions).toEqual([]);
    expect(all.decisions[0]).toMatchObject({ rule: 'no_fit' });
  });

  it('never evicts a model still loading', () => {
    const r = run(state([full({ x: { phase: 'loading' }, y: { phase: 'downloading' }, z: { inflight: 1 } })], models, { m: 5 }, [waiting('m')]));
    expect(r.actions).toEqual([]);
    expect(r.decisions[0].reason).toContain('not_ready');
  });

  it('never evicts demand hotter than the newcomer', () => {
    const r = run(state([full()], models, { m: 2, x: 3, y: 4, z: 5 }, [waiting('m')]));
    expect(r.actions).toEqual([]);
    expect(r.decisions[0].reason).toContain('hotter');
  });

  it('chooses the node where eviction displaces the least demand', () => {
    const b = node('b', 8, { replicas: [rep('z')] });
    const a = node('a', 8, { replicas: [rep('x')] });
    const r = run(state([a, b], models, { m: 5, x: 2, z: 1 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['unload z@b (demand_evict)', 'load m@b (place_after_evict)']);
  });
});

describe('hysteresis', () => {
  const two = [model('a', 16), model('b', 16)];
  const young = { loadedAt: T0 - MIN }; // resident 1 min < protectMs (5 min)
  // a displaced b on node n one minute ago.
  const swapped = (at = T0 - MIN) => ({ recentEvictions: [{ node: 'n', model: 'b', by: 'a', at }] });

  it('a waiting request evicts a freshly loaded idle model of equal demand at once', () => {
    const r = run(state([node('n', 24, { replicas: [rep('a', young)] })], two, { a: 5, b: 5 }, [waiting('b')]));
    expect(r.actions.map(brief)).toEqual(['unload a@n (demand_evict)', 'load b@n (place_after_evict)']);
  });

  it('a model that just displaced the newcomer is protected from a slightly hotter swap back', () => {
    const r = run({ ...state([node('n', 24, { replicas: [rep('a', young)] })], two, { a: 5, b: 6 }, [waiting('b')]), ...swapped() });
    expect(r.actions).toEqual([]);
    expect(r.decisions[0].reason).toContain('1 protected');
  });

  it('…but not from one hysteresisFactor (2×) hotter', () => {
    const r = run({ ...state([node('n', 24, { replicas: [rep('a', young)] })], two, { a: 5, b: 10 }, [waiting('b')]), ...swapped() });
    expect(r.actions.map(brief)).toEqual(['unload a@n (demand_evict)', 'load b@n (place_after_evict)']);
  });

  it('…and not once protectMs has passed since the swap', () => {
    const r = run({ ...state([node('n', 24, { replicas: [rep('a', young)] })], two, { a: 5, b: 6 }, [waiting('b')]), ...swapped(T0 - 5 * MIN) });
    expect(r.actions.map(brief)).toEqual(['unload a@n (demand_evict)', 'load b@n (place_after_evict)']);
  });

  it('protection is per node and per pair: another newcomer is not held back', () => {
    const three = [...two, model('c', 16)];
    const r = run({ ...state([node('n', 24, { replicas: [rep('a', young)] })], three, { a: 5, c: 6 }, [waiting('c')]), ...swapped() });
    expect(r.actions.map(brief)).toEqual(['unload a@n (demand_evict)', 'load c@n (place_after_evict)']);
  });

  it('prevents ping-pong: a colder model cannot displace a hotter resident', () => {
    const afterSwap = (loadedAt: number) => state([node('n', 24, { replicas: [rep('b', { loadedAt, lastUsedAt: T0 })] })], two, { a: 5, b: 6 }, [waiting('a')]);
    expect(run(afterSwap(T0 - 30_000)).actions).toEqual([]);
    expect(run(afterSwap(T0 - 30 * MIN)).actions).toEqual([]);
  });

  it('starvation guard: a swap back of equal demand waits about agingMs, then takes its turn', () => {
    const s = (since: number) => ({ ...state([node('n', 24, { replicas: [rep('a', young)] })], two, { a: 5, b: 5 }, [waiting('b', { since })]), ...swapped() });
    expect(run(s(T0)).actions).toEqual([]);
    expect(run(s(T0 - 5 * MIN)).actions.map(brief)).toEqual(['unload a@n (demand_evict)', 'load b@n (place_after_evict)']);
  });
});

describe('idle eviction', () => {
  const window = cfg.demandWindowMs;
  const rows: { name: string; r: Partial<PlannerReplica>; online?: boolean; evict: boolean }[] = [
    { name: 'unused for exactly one window → unload', r: { lastUsedAt: T0 - window }, evict: true },
    { name: 'one ms before the window → kept', r: { lastUsedAt: T0 - window + 1 }, evict: false },
    { name: 'idle but a request in flight → kept', r: { lastUsedAt: T0 - 2 * window, inflight: 1 }, evict: false },
    { name: 'idle but a request queued → kept', r: { lastUsedAt: T0 - 2 * window, queued: 1 }, evict: false },
    { name: 'still loading → kept', r: { lastUsedAt: T0 - 2 * window, phase: 'loading' }, evict: false },
    { name: 'node offline → no frame sent', r: { lastUsedAt: T0 - 2 * window }, online: false, evict: false },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const r = run(state([node('a', 24, { online: row.online ?? true, replicas: [rep('m', row.r)] })], [model('m', 8)]));
      expect(r.actions.map(brief)).toEqual(row.evict ? ['unload m@a (idle_evict)'] : []);
      if (row.evict) expect(r.decisions[0].reason).toBe('no request for 600s (window 600s)');
    });
  }

  it('follows the configured window', () => {
    const c = plannerConfig({ demandWindowMs: 60_000 });
    const s = state([node('a', 24, { replicas: [rep('m', { lastUsedAt: T0 - 60_000 })] })], [model('m', 8)]);
    expect(run(s, T0, c).actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
  });

  it('a window shorter than the minimum keep wins over it (a 2 s window evicts after 2 s)', () => {
    const c = plannerConfig({ demandWindowMs: 2_000 });
    const s = (idle: number) => state([node('a', 24, { replicas: [rep('m', { lastUsedAt: T0 - idle })] })], [model('m', 8)]);
    expect(run(s(1_999), T0, c).actions).toEqual([]);
    expect(run(s(2_000), T0, c).actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
  });

  it('memory freed by an idle eviction is used by a pending model in the same plan, unload first', () => {
    const s = state([node('a', 16, { replicas: [rep('x', { lastUsedAt: T0 - window })] })], [model('m', 12), model('x', 12)], { m: 1 }, [waiting('m')]);
    expect(run(s).actions.map(brief)).toEqual(['unload x@a (idle_evict)', 'load m@a (place)']);
  });
});

describe('replicas', () => {
  const hot = (o: Partial<PlannerReplica>) => [
    node('a', 24, { replicas: [rep('m', { inflight: 4, queued: 3, ...o })] }),
    node('b', 24),
    node('c', 24, { inventory: ['m'] }),
  ];
  const rows: { name: string; nodes: PlannerNode[]; c?: PlannerConfig; want: string[] }[] = [
    { name: 'second replica under sustained load (weights-on-disk node)', nodes: hot({ saturatedSince: T0 - 30_000 }), want: ['load m@c (scale_out)'] },
    { name: 'saturated for less than scaleOutAfterMs → wait', nodes: hot({ saturatedSince: T0 - 29_999 }), want: [] },
    { name: 'not saturated → none', nodes: hot({ saturatedSince: undefined }), want: [] },
    {
      name: 'one replica saturated, the other not → none',
      nodes: [node('a', 24, { replicas: [rep('m', { saturatedSince: T0 - MIN })] }), node('b', 24, { replicas: [rep('m')] }), node('c', 24)],
      want: [],
    },
    {
      name: 'a replica already loading → none',
      nodes: [
        node('a', 24, { replicas: [rep('m', { saturatedSince: T0 - MIN })] }),
        node('b', 24, { replicas: [rep('m', { phase: 'loading' })] }),
        node('c', 24),
      ],
      want: [],
    },
    { name: 'maxReplicas reached → none', nodes: hot({ saturatedSince: T0 - MIN }), c: plannerConfig({ maxReplicas: 1 }), want: [] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(run(state(row.nodes, [model('m', 8)], { m: 50 }), T0, row.c).actions.map(brief)).toEqual(row.want);
    });
  }

  it('saturated but no node fits another → decision, no action', () => {
    const r = run(state([node('a', 8, { replicas: [rep('m', { saturatedSince: T0 - MIN })] }), node('b', 4)], [model('m', 8)], { m: 50 }));
    expect(r.actions).toEqual([]);
    expect(r.decisions[0]).toMatchObject({ rule: 'scale_out_blocked', model: 'm' });
  });

  it('a surplus replica is a cheap eviction victim: its demand is split across replicas', () => {
    const nodes = [node('a', 8, { replicas: [rep('x')] }), node('b', 8, { replicas: [rep('x')] }), node('c', 8, { replicas: [rep('y')] })];
    const r = run(state(nodes, [model('m', 8), model('x', 8), model('y', 8)], { m: 3, x: 4, y: 2.5 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['unload x@a (demand_evict)', 'load m@a (place_after_evict)']);
  });
});

describe('measured footprint in placement', () => {
  it("a ready replica's measured vram decides whether another copy fits", () => {
    const nodes = [node('a', 24, { replicas: [rep('m', { vramMb: 6 * GB, saturatedSince: T0 - MIN, inflight: 4, queued: 1 })] }), node('b', 7)];
    // Catalog says 8 GB: would not fit b; measured 6 GB does.
    expect(run(state(nodes, [model('m', 8)], { m: 9 })).actions.map(brief)).toEqual(['load m@b (scale_out)']);
  });
});

describe('swap bookkeeping', () => {
  it('pairs each demand eviction with the load it made room for on the same node', () => {
    const actions: Action[] = [
      { type: 'unload', node: 'n', model: 'a', rule: 'demand_evict', reason: '' },
      { type: 'unload', node: 'm', model: 'x', rule: 'idle_evict', reason: '' },
      { type: 'load', node: 'n', model: 'b', rule: 'place_after_evict', reason: '' },
      { type: 'load', node: 'm', model: 'c', rule: 'place', reason: '' },
    ];
    expect(swapsOf(actions, 7)).toEqual([{ node: 'n', model: 'a', by: 'b', at: 7 }]);
  });
});
