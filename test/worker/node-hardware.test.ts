import { order } from './fleet';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import { plannerState } from '../../src/hub/planner-state';
import type { HubStore } from '../../src/hub/store';
import type { NodeHello } from '../../src/protocol';

type HubEnv = { HUB: DurableObjectNamespace<Hub> };
const hubs = (env as unknown as HubEnv).HUB;

const hello = (nodeId: string, extra: Partial<NodeHello> = {}): NodeHello => ({
  type: 'node.hello',
  v: 1,
  node_id: nodeId,
  agent_version: 'test',
  vram_budget_mb: 2048,
  engines: ['builtin'],
  max_concurrency: 4,
  loaded: [],
  inventory: [],
  ...extra,
});
const storeOf = (hub: Hub) => (hub as unknown as { store: HubStore }).store;

describe('node hardware and measured footprints in the Hub', () => {
  it('keeps the hello’s GPU list, backend, driver and budget source, and shows them in the admin fleet view', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('hw')), async (hub: Hub) => {
      const hardware = {
        backend: 'cuda' as const,
        driver: '550.54.15',
        gpus: [
          { name: 'NVIDIA H100 80GB HBM3', vram_mb: 81559, free_mb: 81080 },
          { name: 'NVIDIA H100 80GB HBM3', vram_mb: 81559, free_mb: 80056 },
        ],
        budget_source: 'gpu',
        threads: 32,
      };
      hub.nodeHello(hello('gpu-1', { hardware }), 'c1');
      hub.nodeHello(hello('old-agent'), 'c2');
      const nodes = hub.listNodes();
      expect(nodes.find((n) => n.id === 'gpu-1')?.hardware).toEqual(hardware);
      expect(nodes.find((n) => n.id === 'old-agent')?.hardware).toBeNull();
    });
  });

  it('keeps the last measured footprint after the replica goes, and the planner sizes the model by it', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('footprint')), async (hub: Hub) => {
      hub.nodeHello(hello('n1', { loaded: [{ model: 'demo-small', phase: 'loading' }] }), 'c1');
      // The Hub believes readiness only for loads it ordered (src/security/claims.ts).
      order(hub, 'n1', 'demo-small');
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'ready', vram_mb: 1500 });
      hub.modelState('n1', { type: 'model.state', model: 'demo-small', phase: 'stopped' });
      const store = storeOf(hub);
      expect(store.replicas('demo-small')).toEqual([]);
      expect(store.model('demo-small')).toMatchObject({ measured_mb: 1500, measured_node: 'n1' });
      const state = plannerState({
        models: store.models(),
        nodes: store.nodes(),
        replicas: store.replicas(),
        failures: [],
        demand: [],
        pending: [],
        live: { inflight: new Map(), queued: new Map(), saturatedSince: new Map() },
        now: Date.now(),
      });
      expect(state.models.find((m) => m.id === 'demo-small')).toMatchObject({ vramMb: 8, measuredMb: 1500 });
    });
  });
});
