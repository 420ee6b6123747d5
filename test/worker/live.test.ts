import { env, exports } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import type { Hub } from '../../src/hub/hub';
import { verifiedInventory } from './fleet';
import { describe, expect, it } from 'vitest';

const worker = (exports as unknown as { default: { fetch: typeof fetch } }).default;
const hubs = (env as unknown as { HUB: DurableObjectNamespace<Hub> }).HUB;
const ADMIN = { authorization: 'Bearer admin-test-token-of-the-worker-suite-0123', 'content-type': 'application/json' };

function call(path: string, init: RequestInit = {}) {
  return worker.fetch(new Request(`https://edge.test${path}`, init));
}

async function ticket(): Promise<string> {
  const res = await call('/admin/v1/live-ticket', { method: 'POST', headers: ADMIN });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { ticket: string; expires_at: number };
  expect(body.expires_at).toBeGreaterThan(Date.now());
  return body.ticket;
}

/** Messages of an accepted client socket, awaited by predicate (no sleeps). */
function collect(ws: WebSocket) {
  const seen: Array<Record<string, unknown>> = [];
  const wanted: Array<{ pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(String(e.data)) as Record<string, unknown>;
    seen.push(m);
    for (const w of wanted.splice(0)) w.pred(m) ? w.resolve(m) : wanted.push(w);
  });
  return (pred: (m: Record<string, unknown>) => boolean) => {
    const hit = seen.find(pred);
    return hit ? Promise.resolve(hit) : new Promise<Record<string, unknown>>((resolve) => wanted.push({ pred, resolve }));
  };
}

describe('dashboard live feed', () => {
  it('refuses the socket without a valid ticket, and tickets without the admin token', async () => {
    const up = { upgrade: 'websocket' };
    expect((await call('/admin/v1/live', { headers: up })).status).toBe(401);
    expect((await call('/admin/v1/live?ticket=1.AAAAAAAAAAAAAAAAAAAAAAAA', { headers: up })).status).toBe(401);
    const stale = `${Date.now() - 1}.${(await ticket()).split('.')[1]}`;
    expect((await call(`/admin/v1/live?ticket=${stale}`, { headers: up })).status).toBe(401);
    expect((await call('/admin/v1/live-ticket', { method: 'POST' })).status).toBe(401);
    // The admin token itself is not a ticket.
    expect((await call('/admin/v1/live?ticket=admin-test-token-of-the-worker-suite-0123', { headers: up })).status).toBe(401);
  });

  it('pushes which topics changed when the catalog changes', async () => {
    const res = await call(`/admin/v1/live?ticket=${encodeURIComponent(await ticket())}`, { headers: { upgrade: 'websocket' } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const next = collect(ws);
    expect(await next((m) => m.type === 'hello')).toMatchObject({ topics: expect.arrayContaining(['nodes', 'models']) });
    const off = await call('/admin/v1/models/demo-plain', { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ enabled: false }) });
    expect(off.status).toBe(200);
    const changed = await next((m) => m.type === 'changed');
    expect(changed.topics).toContain('models');
    await call('/admin/v1/models/demo-plain', { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ enabled: true }) });
    ws.close(1000, 'done');
  });
});

describe('demand history', () => {
  it('keeps per-model per-minute served and unmet counts for the chart', async () => {
    const stub = hubs.get(hubs.idFromName('demand-history'));
    await runInDurableObject(stub, async (hub: Hub) => {
      hub.nodeHello(
        {
          type: 'node.hello',
          v: 1,
          node_id: 'd1',
          agent_version: 'test',
          vram_budget_mb: 2048,
          engines: ['builtin'],
          max_concurrency: 4,
          loaded: [{ model: 'demo-small', phase: 'ready' }],
          inventory: verifiedInventory([{ model: 'demo-small', phase: 'ready' }]),
        },
        'c1',
      );
      const lease = await hub.acquire({ model: 'demo-small', needs: [], budgetMs: 0 });
      expect(lease.ok).toBe(true);
      if (lease.ok) hub.release(lease.leaseId);
      const rows = hub.demand(60);
      expect(rows).toEqual([{ model: 'demo-small', minute: expect.any(Number), served: 1, unmet: 0 }]);
      expect(hub.demand(1)).toEqual(rows);
    });
  });

  it("serves the rows at /admin/v1/demand with each minute's start time", async () => {
    const res = await call('/admin/v1/demand?minutes=60', { headers: ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; minutes: number; data: Array<{ minute: number; at: number }> };
    expect(body).toMatchObject({ object: 'list', minutes: 60 });
    for (const r of body.data) expect(r.at).toBe(r.minute * 60_000);
    expect((await call('/admin/v1/demand?minutes=61', { headers: ADMIN })).status).toBe(400);
    expect((await call('/admin/v1/demand')).status).toBe(401);
  });
});
