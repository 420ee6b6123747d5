import { plan } from './plan';
import { plannerConfig, type PlannerModel, type PlannerNode, type PlannerState } from './types';

/**
 * A synthetic fleet for timing `plan`: mixed 24/48/80 GB nodes packed with replicas of
 * mixed-size models (some busy, some idle past the window, some saturated), demand for
 * every model, and 5% of the models pending with no replica anywhere, so every rule runs,
 * including demand eviction, which scans every node.
 */
export function benchState(nodeCount: number, modelCount: number, now = 1_000_000_000, seed = 1): PlannerState {
  let s = seed >>> 0 || 1;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const sizes = [2048, 4096, 8192, 14336, 20480, 40960];
  const budgets = [24576, 49152, 81920];
  const models: PlannerModel[] = [];
  for (let i = 0; i < modelCount; i++) {
    models.push({ id: `m${String(i).padStart(4, '0')}`, enabled: true, vramMb: sizes[i % sizes.length], contextLength: 8192 });
  }
  const pendingCount = Math.max(1, Math.floor(modelCount / 20));
  const pendingIds = new Set(models.slice(0, pendingCount).map((m) => m.id));
  const nodes: PlannerNode[] = [];
  for (let n = 0; n < nodeCount; n++) {
    const budgetMb = budgets[n % budgets.length];
    const node: PlannerNode = {
      id: `n${String(n).padStart(5, '0')}`,
      online: n % 50 !== 7,
      draining: n % 97 === 3,
      budgetMb,
      maxConcurrency: 4,
      replicas: [],
      inventory: [],
    };
    let used = 0;
    for (let tries = 0; tries < 8; tries++) {
      const m = models[Math.floor(rand() * modelCount)];
      if (pendingIds.has(m.id) || used + m.vramMb! > budgetMb || node.replicas.some((r) => r.model === m.id)) continue;
      used += m.vramMb!;
      const busy = rand() < 0.5;
      // Up to 10.5 min ago: a Hub planning every minute never has more than a minute of idle expiries.
      const lastUsedAt = now - Math.floor(rand() * 630_000);
      node.replicas.push({
        model: m.id,
        phase: 'ready',
        vramMb: m.vramMb,
        loadedAt: lastUsedAt - 60_000,
        lastUsedAt,
        inflight: busy ? 1 + Math.floor(rand() * 4) : 0,
        queued: busy && rand() < 0.2 ? 2 : 0,
        saturatedSince: busy && rand() < 0.05 ? now - 60_000 : undefined,
      });
      node.inventory.push(m.id);
    }
    if (rand() < 0.3) node.inventory.push(models[Math.floor(rand() * pendingCount)].id);
    nodes.push(node);
  }
  const demand: PlannerState['demand'] = {};
  for (let i = 0; i < modelCount; i++) {
    const r = 100 / (i + 1);
    demand[models[i].id] = { served1m: Math.round(r), unmet1m: 0, served10m: Math.round(r * 10), unmet10m: 0, served60m: Math.round(r * 60), unmet60m: 0 };
  }
  const pending = [...pendingIds].map((model, i) => ({ model, since: now - 5_000 * i, count: 1 + i }));
  return { nodes, models, demand, pending };
}

/** Median wall time of one `plan` call, in ms, over a synthetic fleet (see benchState). */
export function benchPlanner(nodeCount: number, modelCount: number): number {
  const now = 1_000_000_000;
  const state = benchState(nodeCount, modelCount, now);
  const config = plannerConfig();
  for (let i = 0; i < 3; i++) plan(state, now, config);
  const times: number[] = [];
  const deadline = performance.now() + 300;
  while (times.length < 5 || (times.length < 200 && performance.now() < deadline)) {
    const t0 = performance.now();
    plan(state, now, config);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
