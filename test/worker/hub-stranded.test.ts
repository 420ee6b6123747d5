import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import { verifiedHello as hello } from './fleet';

type HubEnv = { HUB: DurableObjectNamespace<Hub> };
const hubs = (env as unknown as HubEnv).HUB;

/** A retry never goes back to a node that failed it (`avoid`); when that leaves no replica, the request hears so. */
describe('Hub.acquire for a request every replica already failed', () => {
  it('is an upstream_error naming that, with Retry-After, not a warming or concurrency message', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('stranded')), async (hub: Hub) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'c1');
      const res = await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 50, avoid: ['n1'] });
      expect(res).toMatchObject({
        ok: false,
        code: 'upstream_error',
        message: "Every node serving 'demo-small' failed this request, and no other node took it over; retry shortly.",
        retryAfterS: 2,
      });
    });
  });

  it('goes to another ready replica at once when there is one', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('not-stranded')), async (hub: Hub) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-small', phase: 'ready' }]), 'c1');
      hub.nodeHello(hello('n2', [{ model: 'demo-small', phase: 'ready' }]), 'c2');
      expect(await hub.acquire({ model: 'demo-small', needs: ['chat'], budgetMs: 50, avoid: ['n1'] })).toMatchObject({ ok: true, nodeId: 'n2' });
    });
  });
});
