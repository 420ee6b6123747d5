import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import { LiveCounters } from '../../src/hub/live';
import { HubMetrics } from '../../src/hub/metrics';
import { HubStore } from '../../src/hub/store';

const hubs = (env as unknown as { HUB: DurableObjectNamespace<Hub> }).HUB;

const gauge = (text: string, node: string) => new RegExp(`^porten_stream_buffered_bytes_max\\{node="${node}"\\} (\\d+)$`, 'm').exec(text)?.[1];

describe('Hub metrics across a restart', () => {
  // A Hub evicted while idle comes back as a new object over the same storage: a new HubMetrics is that restart.
  it('keeps the stream-buffer maxima (the highest per node), and drops a corrupt saved row', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('metrics-restart')), async (_hub: Hub, state) => {
      const render = (m: HubMetrics) => m.render(new LiveCounters(), new Map(), Date.now(), 0);
      const before = new HubMetrics(new HubStore(state.storage.sql));
      before.bufferedBytes('n1', 65_700);
      before.bufferedBytes('n1', 1_000);
      before.bufferedBytes('n2', 512);
      const after = new HubMetrics(new HubStore(state.storage.sql));
      expect([gauge(render(after), 'n1'), gauge(render(after), 'n2')]).toEqual(['65700', '512']);
      after.bufferedBytes('n1', 70_000);
      expect(gauge(render(new HubMetrics(new HubStore(state.storage.sql))), 'n1')).toBe('70000');

      new HubStore(state.storage.sql).saveMetricState('stream-buffered-max', '{"n1": "lots", "n3": 7, "n4": -1');
      const corrupt = render(new HubMetrics(new HubStore(state.storage.sql)));
      expect(gauge(corrupt, 'n1')).toBeUndefined();
      new HubStore(state.storage.sql).saveMetricState('stream-buffered-max', '{"n1": "lots", "n3": 7, "n4": -1}');
      const partly = render(new HubMetrics(new HubStore(state.storage.sql)));
      expect([gauge(partly, 'n1'), gauge(partly, 'n3'), gauge(partly, 'n4')]).toEqual([undefined, '7', undefined]);
    });
  });
});
