import { env, exports } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import type { HubThrottles } from '../../src/security/hub-throttles';
import { createApp } from '../../src/app';
import type { Env } from '../../src/env';

const worker = (exports as unknown as { default: { fetch: typeof fetch } }).default;
const hubs = (env as unknown as { HUB: DurableObjectNamespace<Hub> }).HUB;
const ADMIN_TOKEN = 'admin-test-token-of-the-worker-suite-0123';
const API_KEY = 'sk-test-key-of-the-worker-suite-0123456';
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

let ips = 0;
/** A fresh client address per test, so per-address budgets never leak between tests. */
const newIp = () => `198.51.100.${++ips}`;

function call(path: string, init: RequestInit = {}, ip?: string) {
  const req = new Request(`https://edge.test${path}`, init);
  if (ip) req.headers.set('cf-connecting-ip', ip);
  return worker.fetch(req);
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('response headers', () => {
  it('marks every secret-bearing answer no-store and every answer nosniff', async () => {
    const key = await call('/admin/v1/keys', { method: 'POST', headers: ADMIN, body: JSON.stringify({ name: 'h' }) });
    const node = await call('/admin/v1/nodes', { method: 'POST', headers: ADMIN, body: JSON.stringify({ node_id: 'hdr-node' }) });
    const ticket = await call('/admin/v1/live-ticket', { method: 'POST', headers: ADMIN });
    const enroll = await call('/agent/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, newIp());
    const poll = await call(
      '/agent/v1/enroll/token',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"device_code":"x"}' },
      newIp(),
    );
    for (const res of [key, node, ticket, enroll, poll]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect([key.status, node.status, ticket.status, enroll.status]).toEqual([201, 201, 201, 200]);
    const models = await call('/v1/models', { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(models.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await call('/nope')).headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('wrong methods and unknown routes', () => {
  it.each([
    ['GET', '/v1/chat/completions', 'POST, OPTIONS'],
    ['PUT', '/v1/models', 'GET, HEAD, OPTIONS'],
    ['POST', '/v1/models/demo-small', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/admin/v1/models', 'GET, HEAD, POST, OPTIONS'],
    ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
  ])('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const headers = path.startsWith('/admin') ? ADMIN : { authorization: `Bearer ${API_KEY}` };
    const res = await call(path, { method, headers, body: method === 'GET' ? undefined : '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await errorOf(res)).toMatchObject({ code: 'method_not_allowed' });
  });

  it('answers an unknown route such as /v1/responses with 404', async () => {
    const res = await call('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: '{}' });
    expect(res.status).toBe(404);
  });
});

describe('CORS on /v1 (PORTEN_CORS_ORIGINS=https://app.example here)', () => {
  it('answers a preflight from an allowed origin, Authorization listed explicitly', async () => {
    const res = await call('/v1/chat/completions', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-stainless-os');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('lets the allowed origin read answers and errors, and gives other origins nothing', async () => {
    const ok = await call('/v1/models', { headers: { origin: 'https://app.example', authorization: `Bearer ${API_KEY}` } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('vary')).toContain('Origin');
    const denied = await call('/v1/models', { headers: { origin: 'https://app.example', authorization: 'Bearer wrong' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const evil = await call('/v1/models', { headers: { origin: 'https://evil.example', authorization: `Bearer ${API_KEY}` } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const evilPre = await call('/v1/models', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(evilPre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never adds CORS to /admin', async () => {
    const pre = await call('/admin/v1/keys', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await call('/admin/v1/keys', { headers: { ...ADMIN, origin: 'https://app.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('dashboard live tickets', () => {
  it('are single-use: a replayed ticket is refused while the first socket stays open', async () => {
    const { ticket } = (await (await call('/admin/v1/live-ticket', { method: 'POST', headers: ADMIN })).json()) as { ticket: string };
    const first = await call(`/admin/v1/live?ticket=${encodeURIComponent(ticket)}`, { headers: { upgrade: 'websocket' } });
    expect(first.status).toBe(101);
    first.webSocket!.accept();
    const replay = await call(`/admin/v1/live?ticket=${encodeURIComponent(ticket)}`, { headers: { upgrade: 'websocket' } });
    expect(replay.status).toBe(401);
    expect((await errorOf(replay)).message).toContain('already used');
    first.webSocket!.close(1000, 'done');
  });
});

describe('budgets for unauthenticated work', () => {
  const start = (ip: string) => call('/agent/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, ip);

  it('caps pending enrollments per address; other addresses still enroll', async () => {
    const flooder = newIp();
    const statuses: number[] = [];
    for (let i = 0; i < 64; i++) {
      const res = await start(flooder);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, ...Array(61).fill(429)]);
    const refused = await start(flooder);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect((await start(newIp())).status).toBe(200);
  }, 60_000);

  it('makes room when every pending slot is taken, evicting the oldest code of the address holding most', async () => {
    // Fill the fleet-wide set (256) from many addresses, three each, then arrive from a new one.
    const first: string[] = [];
    for (let a = 0; a < 86; a++) {
      const ip = `203.0.113.${a}`;
      for (let i = 0; i < 3; i++) {
        const res = await start(ip);
        const body = (await res.json()) as { device_code?: string };
        if (a === 0 && body.device_code) first.push(body.device_code);
      }
    }
    const newcomer = await start(newIp());
    expect(newcomer.status).toBe(200);
    // The evicted code (the oldest of a three-code address) now reads expired_token; nobody was locked out.
    const polls = await Promise.all(
      first.map(async (code) =>
        errorOf(
          await call('/agent/v1/enroll/token', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ device_code: code }),
          }),
        ),
      ),
    );
    expect(polls.map((e) => e.code)).toContain('expired_token');
  }, 120_000);

  /** Runs `fn` with the fleet Hub's throttle clock frozen at its current time. */
  async function withFrozenThrottleClock(fn: () => Promise<void>): Promise<void> {
    const hub = hubs.get(hubs.idFromName('fleet'));
    const set = (clock: (() => number) | null) =>
      runInDurableObject(hub, (h: Hub) => {
        const t = (h as unknown as { throttles: HubThrottles }).throttles;
        const at = Date.now();
        t.clock = clock ?? (() => at);
      });
    await set(null);
    try {
      await fn();
    } finally {
      await set(Date.now);
    }
  }

  /** `n` requests at once (buckets refill with time, so only a burst sent together measures the budget, whatever the machine's load). */
  const burst = (n: number, send: () => Promise<Response>) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const res = await send();
        await res.arrayBuffer();
        return res.status;
      }),
    );
  const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

  it('budgets token polling and the public warming view per address', async () => {
    // Budgets refill with time; the Hub's throttle clock stands still here, so the burst is exact on any machine.
    await withFrozenThrottleClock(async () => {
      const poller = newIp();
      const polls = await burst(40, () =>
        call('/agent/v1/enroll/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"device_code":"nope"}' }, poller),
      );
      expect([count(polls, 400), count(polls, 429)]).toEqual([30, 10]);
      const watcher = newIp();
      const views = await burst(70, () => call('/public/v1/models/warming?model=demo-small', {}, watcher));
      expect([count(views, 200), count(views, 429)]).toEqual([60, 10]);
      expect((await call('/public/v1/models/warming?model=demo-small', {}, newIp())).status).toBe(200);
    });
  }, 60_000);

  it('throttles admin-token guessing per address, even the right token from that address, and nobody else', async () => {
    const guesser = newIp();
    const statuses = await burst(20, () => call('/admin/v1/keys', { headers: { authorization: `Bearer guess-${Math.random()}` } }, guesser));
    expect(count(statuses, 401)).toBeGreaterThanOrEqual(10);
    expect(count(statuses, 429)).toBeGreaterThan(0);
    // Refused for at least a whole refill interval (12 s): the right token from that address waits too.
    const right = await call('/admin/v1/keys', { headers: ADMIN }, guesser);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call('/admin/v1/keys', { headers: ADMIN }, newIp())).status).toBe(200);
  }, 60_000);

  it('throttles node-key guessing on the agent socket the same way', async () => {
    const guesser = newIp();
    const statuses = await burst(20, () =>
      call('/agent/v1/connect', { headers: { authorization: `Bearer nk-porten-guess${Math.random()}`, upgrade: 'websocket' } }, guesser),
    );
    expect(count(statuses, 401)).toBeGreaterThanOrEqual(10);
    expect(count(statuses, 429)).toBeGreaterThan(0);
  }, 60_000);
});

describe('configured secrets below the minimum length', () => {
  const app = createApp();
  const weak = { ...(env as unknown as Env), PORTEN_ADMIN_TOKEN: 'admin', PORTEN_API_KEY: 'sk-short', PORTEN_NODE_KEY: 'node' };

  it('disable the admin API and say why, even to the right token', async () => {
    const res = await app.request('/admin/v1/keys', { headers: { authorization: 'Bearer admin' } }, weak);
    expect(res.status).toBe(503);
    expect(await errorOf(res)).toMatchObject({ code: 'admin_disabled', message: expect.stringContaining('shorter than 32') });
  });

  it('never authenticate: the bootstrap key and fleet key are refused, with the reason for whoever holds them', async () => {
    const api = await app.request('/v1/models', { headers: { authorization: 'Bearer sk-short' } }, weak);
    expect(api.status).toBe(503);
    expect(await errorOf(api)).toMatchObject({ code: 'server_misconfigured', message: expect.stringContaining('PORTEN_API_KEY') });
    const node = await app.request('/agent/v1/connect', { headers: { authorization: 'Bearer node', 'x-porten-node-id': 'n1', upgrade: 'websocket' } }, weak);
    expect(node.status).toBe(503);
    expect(await errorOf(node)).toMatchObject({ code: 'server_misconfigured', message: expect.stringContaining('PORTEN_NODE_KEY') });
    const other = await app.request('/v1/models', { headers: { authorization: 'Bearer something-else' } }, weak);
    expect(other.status).toBe(401);
  });
});

describe('the fleet key', () => {
  it('cannot connect as a node with its own key, nor as one the operator configured', async () => {
    const fleet = { authorization: 'Bearer node-test-key-of-the-worker-suite-012345', upgrade: 'websocket' };
    await call('/admin/v1/nodes', { method: 'POST', headers: ADMIN, body: JSON.stringify({ node_id: 'keyed-1', trust: 'trusted' }) });
    const keyed = await call('/agent/v1/connect', { headers: { ...fleet, 'x-porten-node-id': 'keyed-1' } });
    expect(keyed.status).toBe(403);
    // A node first seen on the fleet key and then configured (here: trust raised) is pinned to a key of its own.
    const first = await call('/agent/v1/connect', { headers: { ...fleet, 'x-porten-node-id': 'fleet-1' } });
    expect(first.status).toBe(101);
    const ws = first.webSocket!;
    ws.accept();
    const welcomed = new Promise((resolve) => ws.addEventListener('message', resolve, { once: true }));
    ws.send(
      JSON.stringify({
        type: 'node.hello',
        v: 1,
        node_id: 'fleet-1',
        agent_version: 't',
        vram_budget_mb: 0,
        engines: [],
        max_concurrency: 1,
        loaded: [],
        inventory: [],
      }),
    );
    await welcomed;
    expect((await call('/admin/v1/nodes/fleet-1', { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ trust: 'trusted' }) })).status).toBe(200);
    const configured = await call('/agent/v1/connect', { headers: { ...fleet, 'x-porten-node-id': 'fleet-1' } });
    expect(configured.status).toBe(403);
    expect((await errorOf(configured)).message).toContain('configured by the operator');
    ws.close(1000, 'done');
  }, 30_000);
});
