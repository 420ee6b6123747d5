import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import type { NodeHello } from '../../src/protocol';
import { NODE_BUDGET_CEILING_MB, NODE_CONCURRENCY_CEILING } from '../../src/security/claims';
import { order, verifiedInventory } from './fleet';

const hubs = (env as unknown as { HUB: DurableObjectNamespace<Hub> }).HUB;
const fresh = (name: string) => hubs.get(hubs.idFromName(`security-${name}`));

/** A hello as a hostile node would send it: whatever it likes, nothing verified. */
function hello(nodeId: string, over: Partial<NodeHello> = {}): NodeHello {
  return {
    type: 'node.hello',
    v: 1,
    node_id: nodeId,
    agent_version: 'test',
    vram_budget_mb: 2048,
    engines: ['builtin'],
    max_concurrency: 4,
    loaded: [],
    inventory: [],
    ...over,
  };
}

const modelsOf = (hub: Hub, id: string) =>
  hub
    .listNodes()
    .find((n) => n.id === id)
    ?.models.map((m) => `${m.model}:${m.phase}`) ?? [];

describe('readiness is earned', () => {
  it('ignores a node announcing models it was never asked to load and cannot show verified weights', async () => {
    await runInDurableObject(fresh('unordered'), async (hub: Hub) => {
      hub.nodeHello(
        hello('rogue', {
          loaded: [
            { model: 'demo-small', phase: 'ready' },
            { model: 'demo-plain', phase: 'loading' },
            { model: 'demo-large', phase: 'downloading' },
            { model: 'not-in-catalog', phase: 'ready' },
          ],
          // Weights it claims to hold, but not with the catalog's digest.
          inventory: [{ model: 'demo-small', bytes: 519_712, sha256: 'f'.repeat(64) }],
        }),
        'c1',
      );
      expect(modelsOf(hub, 'rogue')).toEqual([]);
      expect(hub.listNodes().find((n) => n.id === 'rogue')).toMatchObject({ ignored_reports: 4 });
      // No fake progress on the public warming view either.
      hub.modelState('rogue', { type: 'model.state', model: 'demo-large', phase: 'downloading', done_bytes: 50, total_bytes: 100 });
      expect(hub.warming('demo-large')).toMatchObject({ phase: 'cold' });
      // And no prompt goes there: the request waits for a real load instead.
      expect(await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 0 })).toMatchObject({ ok: false, code: 'model_warming' });
    });
  });

  it('believes a load it ordered, in every phase, and weights verified against the catalog', async () => {
    await runInDurableObject(fresh('ordered'), async (hub: Hub) => {
      order(hub, 'n1', 'demo-plain');
      hub.nodeHello(hello('n1', { loaded: [{ model: 'demo-plain', phase: 'downloading' }] }), 'c1');
      hub.modelState('n1', { type: 'model.state', model: 'demo-plain', phase: 'ready', vram_mb: 8 });
      const verified = [{ model: 'demo-small', phase: 'ready' as const }];
      hub.nodeHello(hello('n2', { loaded: verified, inventory: verifiedInventory(verified) }), 'c2');
      expect(modelsOf(hub, 'n1')).toEqual(['demo-plain:ready']);
      expect(modelsOf(hub, 'n2')).toEqual(['demo-small:ready']);
      expect(await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 })).toMatchObject({ ok: true, nodeId: 'n1' });
      expect(await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 0 })).toMatchObject({ ok: true, nodeId: 'n2' });
    });
  });

  it('forgets the order once the node reports the model stopped: a later unverified ready is ignored', async () => {
    await runInDurableObject(fresh('stopped'), async (hub: Hub) => {
      order(hub, 'n1', 'demo-plain');
      hub.nodeHello(hello('n1'), 'c1');
      hub.modelState('n1', { type: 'model.state', model: 'demo-plain', phase: 'ready' });
      hub.modelState('n1', { type: 'model.state', model: 'demo-plain', phase: 'stopped' });
      hub.modelState('n1', { type: 'model.state', model: 'demo-plain', phase: 'ready' });
      expect(modelsOf(hub, 'n1')).toEqual([]);
    });
  });

  it('clamps capacity claims to the ceilings and to the operator’s caps, live', async () => {
    await runInDurableObject(fresh('caps'), async (hub: Hub) => {
      hub.nodeHello(hello('big', { vram_budget_mb: 1e15, max_concurrency: 4096 }), 'c1');
      expect(hub.listNodes()[0]).toMatchObject({ vram_budget_mb: NODE_BUDGET_CEILING_MB, max_concurrency: NODE_CONCURRENCY_CEILING });
      expect(hub.patchNode('big', { max_budget_mb: 4096, max_concurrency: 2 })).toMatchObject({ max_budget_mb: 4096, max_concurrency: 2 });
      expect(hub.listNodes()[0]).toMatchObject({ vram_budget_mb: 4096, max_concurrency: 2 });
      // The caps also hold across a reconnect, and clearing them restores the (bounded) claim.
      hub.nodeHello(hello('big', { vram_budget_mb: 1e15, max_concurrency: 4096 }), 'c2');
      expect(hub.listNodes()[0]).toMatchObject({ vram_budget_mb: 4096, max_concurrency: 2 });
      hub.patchNode('big', { max_budget_mb: null, max_concurrency: null });
      expect(hub.listNodes()[0]).toMatchObject({ vram_budget_mb: NODE_BUDGET_CEILING_MB, max_concurrency: NODE_CONCURRENCY_CEILING });
    });
  });

  it('keeps a measured footprint within the node’s budget', async () => {
    await runInDurableObject(fresh('vram'), async (hub: Hub) => {
      order(hub, 'n1', 'demo-small');
      hub.nodeHello(hello('n1', { vram_budget_mb: 100 }), 'c1');
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'ready', vram_mb: 1e12 });
      expect(hub.listNodes()[0].models[0]).toMatchObject({ vram_mb: 100 });
    });
  });
});

describe('load failures count only from the node that was loading', () => {
  it('lets no other node fail the requests waiting on a load', async () => {
    await runInDurableObject(fresh('spoofed-failure'), async (hub: Hub) => {
      order(hub, 'loader', 'demo-small');
      hub.nodeHello(hello('loader', { loaded: [{ model: 'demo-small', phase: 'downloading' }] }), 'c1');
      hub.nodeHello(hello('rogue'), 'c2');
      const waiting = hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 });
      hub.modelState('rogue', { type: 'model.state', model: 'demo-small', phase: 'failed', error: { code: 'verify_failed', message: 'forged' } });
      hub.modelState('rogue', { type: 'model.state', model: 'demo-small', phase: 'stopped' });
      expect(hub.warming('demo-small')).toMatchObject({ phase: 'downloading' });
      hub.modelState('loader', { type: 'model.state', model: 'demo-small', phase: 'ready' });
      expect(await waiting).toMatchObject({ ok: true, nodeId: 'loader' });
      expect(hub.listNodes().find((n) => n.id === 'rogue')?.ignored_reports).toBe(2);
    });
  });

  it('stores and passes on only a sanitized message from the node that failed', async () => {
    await runInDurableObject(fresh('leaky-failure'), async (hub: Hub) => {
      order(hub, 'n1', 'demo-small');
      hub.nodeHello(hello('n1', { loaded: [{ model: 'demo-small', phase: 'downloading' }] }), 'c1');
      const waiting = hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 10_000 });
      const leak =
        'origin answered HTTP 403 for https://ada:hunter2@10.1.2.3:9000/w.gguf?X-Amz-Signature=deadbeef into /home/ada/.porten/models/w.gguf\nengine stderr: CUDA error at /opt/src/x.cu:77';
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'failed', error: { code: 'download_failed', message: leak } });
      const failed = await waiting;
      expect(failed).toMatchObject({ ok: false, code: 'upstream_error' });
      const shown = [failed.ok ? '' : failed.message, hub.warming('demo-small')?.error ?? ''];
      for (const text of shown) {
        expect(text).toContain('origin answered HTTP 403 for [url]');
        for (const secret of ['hunter2', 'ada', 'Signature', 'deadbeef', '10.1.2.3', '/home', 'stderr', 'CUDA']) expect(text).not.toContain(secret);
      }
    });
  });
});

describe('revocation', () => {
  it('cancels what the node was ordered to load', async () => {
    await runInDurableObject(fresh('revoke-orders'), async (hub: Hub) => {
      order(hub, 'n1', 'demo-small');
      hub.nodeHello(hello('n1'), 'c1');
      expect(hub.revokeNode('n1')).toBe(true);
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'ready' });
      expect(modelsOf(hub, 'n1')).toEqual([]);
    });
  });
});
