import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import { order, verifiedHello } from './fleet';

type HubEnv = { HUB: DurableObjectNamespace<Hub> };
const hubs = (env as unknown as HubEnv).HUB;

/** A node announcing `loaded` with verified weights (test/worker/fleet.ts). */
const hello = verifiedHello;

// Each test gets its own Hub instance, so state never leaks between rows.
function freshHub(name: string) {
  return hubs.get(hubs.idFromName(name));
}

describe('Hub', () => {
  it('serves a request once the node reports the model ready, joining the load in progress', async () => {
    const stub = freshHub('join-load');
    await runInDurableObject(stub, async (hub: Hub) => {
      order(hub, 'n1', 'demo-small');
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'downloading' }]), 'c1');
      const pending = hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 });
      const second = hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 });
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'downloading', done_bytes: 100, total_bytes: 400 });
      expect(hub.warming('demo-small')).toMatchObject({ phase: 'downloading', pct: 25, ready: false });
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'ready', vram_mb: 12 });
      const [a, b] = await Promise.all([pending, second]);
      expect(a).toMatchObject({ ok: true, nodeId: 'n1', model: 'demo-small' });
      expect(b).toMatchObject({ ok: true, nodeId: 'n1' });
      expect(hub.warming('demo-small')).toMatchObject({ phase: 'ready', ready: true, pct: 100 });
    });
  });

  it('answers model_warming with Retry-After when the budget runs out, and the load stays', async () => {
    const stub = freshHub('budget');
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-large', phase: 'loading' }]), 'c1');
      const res = await hub.acquire({ model: 'demo-large', needs: ['chat'], budgetMs: 50 });
      expect(res).toMatchObject({ ok: false, code: 'model_warming' });
      expect(res.ok === false && res.retryAfterS).toBeGreaterThanOrEqual(1);
      expect(hub.warming('demo-large')).toMatchObject({ phase: 'loading' });
    });
  });

  it('reports a failed load to every waiter and shows it on the warming view', async () => {
    const stub = freshHub('failed');
    await runInDurableObject(stub, async (hub: Hub) => {
      order(hub, 'n1', 'demo-small');
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'downloading' }]), 'c1');
      const waiters = [1, 2, 3].map(() => hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 }));
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'failed', error: { code: 'verify_failed', message: 'sha256 mismatch' } });
      for (const r of await Promise.all(waiters))
        expect(r).toMatchObject({ ok: false, code: 'upstream_error', message: expect.stringContaining('sha256 mismatch') });
      expect(hub.warming('demo-small')).toMatchObject({ phase: 'failed', error: 'sha256 mismatch' });
    });
  });

  it('spreads leases over ready replicas by in-flight count and frees them on release', async () => {
    const stub = freshHub('spread');
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-plain', phase: 'ready' }]), 'c1');
      hub.nodeHello(hello('n2', [{ model: 'demo-plain', phase: 'ready' }]), 'c2');
      const a = await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 });
      const b = await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 });
      expect(a.ok && b.ok && [a.nodeId, b.nodeId].sort()).toEqual(['n1', 'n2']);
      if (a.ok) hub.release(a.leaseId);
      const c = await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 });
      expect(c.ok && a.ok && c.nodeId).toBe(a.ok ? a.nodeId : null);
    });
  });

  it('ignores a stale disconnect after the node reconnected on a new socket', async () => {
    const stub = freshHub('stale');
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'old');
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'new');
      hub.nodeGone('n1', 'old');
      expect(hub.listNodes()).toMatchObject([{ id: 'n1', online: true, models: [{ model: 'demo-small', phase: 'ready' }] }]);
      hub.nodeGone('n1', 'new');
      expect(hub.listNodes()).toMatchObject([{ id: 'n1', online: false, models: [] }]);
    });
  });

  it('refuses a disabled or unknown model and a missing capability', async () => {
    const stub = freshHub('catalog');
    await runInDurableObject(stub, async (hub: Hub) => {
      expect(await hub.acquire({ model: 'qwen2.5-coder-32b', needs: ['chat'], budgetMs: 0 })).toMatchObject({ ok: false, code: 'model_not_found' });
      expect(await hub.acquire({ model: 'demo-plain', needs: ['chat', 'json'], budgetMs: 0 })).toMatchObject({ ok: false, code: 'capability_not_supported' });
    });
  });
});

describe('Hub planning', () => {
  it('unloads a model idle for a full demand window on the alarm tick, and logs why', async () => {
    const stub = freshHub('idle-evict');
    await runInDurableObject(stub, async (hub: Hub, state) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'c1');
      // Pretend the last request was 11 minutes ago (the default window is 10).
      state.storage.sql.exec('UPDATE replicas SET last_used_at = ?, started_at = ?', Date.now() - 11 * 60_000, Date.now() - 20 * 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (hub: Hub) => {
      const decisions = hub.decisions(10);
      expect(decisions[0]).toMatchObject({ rule: 'idle_evict', outcome: 'unload', model: 'demo-small', node: 'n1' });
      // The node is not really connected here, so the unload could not be delivered and the row is gone.
      expect(hub.listNodes()[0].models).toEqual([]);
    });
  });

  it('keeps a model that was used within the window', async () => {
    const stub = freshHub('idle-keep');
    await runInDurableObject(stub, async (hub: Hub, state) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'c1');
      state.storage.sql.exec('UPDATE replicas SET last_used_at = ?, started_at = ?', Date.now() - 60_000, Date.now() - 20 * 60_000);
    });
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, async (hub: Hub) => {
      expect(hub.listNodes()[0].models).toMatchObject([{ model: 'demo-small', phase: 'ready' }]);
      expect(hub.decisions(10).filter((d) => d.rule === 'idle_evict')).toEqual([]);
    });
  });

  it('evicts an idle model at once for a requested one that does not fit, never one with a request in flight', async () => {
    const stub = freshHub('demand-evict');
    await runInDurableObject(stub, async (hub: Hub) => {
      // Budget 10 MB: one 8 MB demo model fits, two do not.
      hub.nodeHello({ ...hello('n1', [{ model: 'demo-small', phase: 'ready' }]), vram_budget_mb: 10 }, 'c1');
      const busy = await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 0 });
      expect(busy.ok).toBe(true);
      const blocked = await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 100 });
      expect(blocked).toMatchObject({ ok: false, code: 'model_warming' });
      expect(hub.listNodes()[0].models).toMatchObject([{ model: 'demo-small', phase: 'ready' }]);
      expect(hub.decisions(5).some((d) => d.rule === 'no_fit' && d.model === 'demo-plain')).toBe(true);

      if (busy.ok) hub.release(busy.leaseId);
      const evicting = hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 100 });
      await evicting;
      const rules = hub.decisions(10).map((d) => `${d.rule}:${d.model}`);
      expect(rules).toContain('demand_evict:demo-small');
      expect(rules).toContain('place_after_evict:demo-plain');
    });
  });

  it('answers no_available_node at once when no node could ever hold the model', async () => {
    const stub = freshHub('too-big');
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello({ ...hello('n1'), vram_budget_mb: 50 }, 'c1');
      const res = await hub.acquire({ model: 'demo-large', needs: ['chat'], budgetMs: 60_000 });
      expect(res).toMatchObject({ ok: false, code: 'no_available_node', message: expect.stringContaining('100 MB') });
    });
  });

  it('counts served and unmet demand per model', async () => {
    const stub = freshHub('demand');
    await runInDurableObject(stub, async (hub: Hub, state) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'c1');
      for (let i = 0; i < 3; i++) {
        const l = await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 0 });
        if (l.ok) hub.release(l.leaseId);
      }
      await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 });
      const rows = state.storage.sql
        .exec<{ model_id: string; served: number; unmet: number }>('SELECT model_id, served, unmet FROM demand ORDER BY model_id')
        .toArray();
      expect(rows).toEqual([
        { model_id: 'demo-plain', served: 0, unmet: 1 },
        { model_id: 'demo-small', served: 3, unmet: 0 },
      ]);
    });
  });
});

describe('Hub capacity', () => {
  it('queues a request behind a full replica and serves it when a slot frees', async () => {
    const stub = freshHub('queue');
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello({ ...hello('n1', [{ model: 'demo-small', phase: 'ready' }]), max_concurrency: 1 }, 'c1');
      const first = await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 0 });
      expect(first.ok).toBe(true);
      const queued = hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 });
      if (first.ok) hub.release(first.leaseId);
      expect(await queued).toMatchObject({ ok: true, nodeId: 'n1' });
    });
  });

  it('answers no_available_node when every replica stays full for the whole budget', async () => {
    const stub = freshHub('full');
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello({ ...hello('n1', [{ model: 'demo-small', phase: 'ready' }]), max_concurrency: 1 }, 'c1');
      expect((await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 0 })).ok).toBe(true);
      const res = await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 50 });
      expect(res).toMatchObject({ ok: false, code: 'no_available_node', message: expect.stringContaining('concurrency') });
    });
  });
});
