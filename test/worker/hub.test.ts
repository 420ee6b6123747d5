import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import type { NodeHello } from '../../src/protocol';

type HubEnv = { HUB: DurableObjectNamespace<Hub> };
const hubs = (env as unknown as HubEnv).HUB;

function hello(nodeId: string, loaded: NodeHello['loaded'] = []): NodeHello {
  return { type: 'node.hello', v: 1, node_id: nodeId, agent_version: 'test', vram_budget_mb: 2048, engines: ['builtin'], max_concurrency: 4, loaded, inventory: [] };
}

// Each test gets its own Hub instance, so state never leaks between rows.
function freshHub(name: string) {
  return hubs.get(hubs.idFromName(name));
}

describe('Hub', () => {
  it('serves a request once the node reports the model ready, joining the load in progress', async () => {
    const stub = freshHub('join-load');
    await runInDurableObject(stub, async (hub: Hub) => {
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
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'downloading' }]), 'c1');
      const waiters = [1, 2, 3].map(() => hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 }));
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'failed', error: { code: 'verify_failed', message: 'sha256 mismatch' } });
      for (const r of await Promise.all(waiters)) expect(r).toMatchObject({ ok: false, code: 'upstream_error', message: expect.stringContaining('sha256 mismatch') });
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
