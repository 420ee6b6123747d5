import { env, exports } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub';
import { verifiedHello } from './fleet';
import { hashSecret } from '../../src/tenancy/keys';
import { resetEdgeCache } from '../../src/cache/edge-cache';

const worker = (exports as unknown as { default: { fetch: typeof fetch } }).default;
const hubs = (env as unknown as { HUB: DurableObjectNamespace<Hub> }).HUB;
const ADMIN = { authorization: 'Bearer admin-test-token-of-the-worker-suite-0123', 'content-type': 'application/json' };

function call(path: string, init: RequestInit = {}) {
  return worker.fetch(new Request(`https://edge.test${path}`, init));
}
const admin = (method: string, path: string, body?: unknown) =>
  call(`/admin/v1${path}`, { method, headers: ADMIN, body: body === undefined ? undefined : JSON.stringify(body) });
const chat = (key: string, model = 'demo-small') =>
  call('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string; type: string; param: unknown } };
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.code).toBe(code);
  return body.error;
}

async function createKey(body: Record<string, unknown>) {
  const res = await admin('POST', '/keys', body);
  expect(res.status).toBe(201);
  return (await res.json()) as Record<string, unknown> & { id: string; key: string };
}

/** A node announcing `loaded` with verified weights (test/worker/fleet.ts). */
const hello = verifiedHello;

describe('API keys', () => {
  it('creates a key shown once, lists it without the secret, uses it, and refuses it once revoked', async () => {
    const created = await createKey({ name: 'ci' });
    expect(created.key).toMatch(/^sk-porten-/);
    expect(created).toMatchObject({
      name: 'ci',
      prefix: created.key.slice(0, 14),
      revoked_at: null,
      models: null,
      regions: null,
      owner: null,
      min_trust: null,
      rpm: null,
      tpm: null,
      quota_tokens: null,
      quota_period: null,
    });
    const list = (await (await admin('GET', '/keys')).json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(list.object).toBe('list');
    const listed = list.data.find((k) => k.id === created.id)!;
    expect(listed).not.toHaveProperty('key');
    expect(listed).not.toHaveProperty('hash');
    expect(JSON.stringify(list)).not.toContain(created.key);

    expect((await call('/v1/models', { headers: { authorization: `Bearer ${created.key}` } })).status).toBe(200);
    // Authenticated: the request reaches routing (no node here), not a 401.
    await expectError(await chat(created.key), 503, 'no_available_node');

    expect(await (await admin('DELETE', `/keys/${created.id}`)).json()).toEqual({ id: created.id, revoked: true });
    // The edge's key cache takes a revocation within its age bound (PORTEN_CACHE_MAX_AGE_S, 1 s in these tests).
    const revokedAt = Date.now();
    let res = await chat(created.key);
    while (res.status !== 401 && Date.now() - revokedAt < 1500) {
      await res.text();
      res = await chat(created.key);
    }
    await expectError(res, 401, 'invalid_api_key');
    await expectError(await call('/v1/models', { headers: { authorization: `Bearer ${created.key}` } }), 401, 'invalid_api_key');
    await expectError(await admin('DELETE', '/keys/key_nope'), 404, 'not_found');
  });

  it('refuses unknown sk-porten keys and keeps the bootstrap key working', async () => {
    await expectError(await chat('sk-porten-unknown'), 401, 'invalid_api_key');
    await expectError(await call('/v1/models', { headers: { authorization: 'Bearer sk-porten-unknown' } }), 401, 'invalid_api_key');
    await expectError(await chat('sk-test-key-of-the-worker-suite-0123456'), 503, 'no_available_node');
  });

  it('refuses a model outside the allow-list with 403 model_not_allowed', async () => {
    const { key } = await createKey({ name: 'plain only', models: ['demo-plain'] });
    const err = await expectError(await chat(key, 'demo-small'), 403, 'model_not_allowed');
    expect(err.param).toBe('model');
    await expectError(await chat(key, 'demo-plain'), 503, 'no_available_node');
  });

  it('lists only the allowed models to a key with an allow-list', async () => {
    const { key } = await createKey({ name: 'listing', models: ['demo-plain'] });
    const auth = { authorization: `Bearer ${key}` };
    const list = (await (await call('/v1/models', { headers: auth })).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((m) => m.id)).toEqual(['demo-plain']);
    expect((await call('/v1/models/demo-plain', { headers: auth })).status).toBe(200);
    await expectError(await call('/v1/models/demo-small', { headers: auth }), 404, 'model_not_found');
    const all = (await (await call('/v1/models', { headers: { authorization: 'Bearer sk-test-key-of-the-worker-suite-0123456' } })).json()) as {
      data: Array<{ id: string }>;
    };
    expect(all.data.length).toBeGreaterThan(1);
  });

  it('rate-limits with 429 and Retry-After, then recovers when the window has passed', async () => {
    const { key, id } = await createKey({ name: 'slow', rpm: 2 });
    await expectError(await chat(key), 503, 'no_available_node');
    await expectError(await chat(key), 503, 'no_available_node');
    const limited = await chat(key);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    await expectError(limited, 429, 'rate_limited');
    // Time travel instead of a sleep: the ledger rows move a minute into the past.
    await runInDurableObject(hubs.get(hubs.idFromName('fleet')), (_hub: Hub, state) => {
      state.storage.sql.exec('UPDATE usage SET started_at = started_at - 61000, ended_at = ended_at - 61000 WHERE key_id = ?', id);
    });
    // The isolate's own count of the key's requests cannot travel in time; a fresh isolate knows only the ledger.
    resetEdgeCache();
    await expectError(await chat(key), 503, 'no_available_node');
  });

  it('holds a key to max_inflight: refused with 429 while that many requests are open, admitted once one ends', async () => {
    const { key, id } = await createKey({ name: 'one-at-a-time', max_inflight: 1 });
    expect(key).toMatch(/^sk-porten-/);
    const listed = (await (await admin('GET', '/keys')).json()) as { data: Array<{ id: string; max_inflight: number | null }> };
    expect(listed.data.find((k) => k.id === id)?.max_inflight).toBe(1);
    // A request of this key is in flight somewhere (its ledger row is open at the Hub).
    await runInDurableObject(hubs.get(hubs.idFromName('fleet')), (_hub: Hub, state) => {
      state.storage.sql.exec(`INSERT INTO usage (key_id, model, started_at) VALUES (?, 'demo-small', ?)`, id, Date.now());
    });
    resetEdgeCache();
    const limited = await expectError(await chat(key), 429, 'rate_limited');
    expect(limited.message).toBe('Concurrency limit reached: 1 requests in flight for this API key.');
    await runInDurableObject(hubs.get(hubs.idFromName('fleet')), (_hub: Hub, state) => {
      state.storage.sql.exec(`UPDATE usage SET ended_at = ?, outcome = 'ok' WHERE key_id = ? AND ended_at IS NULL`, Date.now(), id);
    });
    resetEdgeCache();
    // Past the limit again: no node here, so the Hub's answer is the next thing in the way.
    await expectError(await chat(key), 503, 'no_available_node');
  });

  it('validates key bodies and names the field', async () => {
    const bad = await expectError(await admin('POST', '/keys', { name: 'x', min_trust: 'godlike' }), 400, 'invalid_request');
    expect(bad.param).toBe('min_trust');
    expect((await expectError(await admin('POST', '/keys', { name: 'x', quota_tokens: 5 }), 400, 'invalid_request')).param).toBe('quota_period');
    expect((await expectError(await admin('POST', '/keys', { name: 'x', secret: 1 }), 400, 'invalid_request')).param).toBe('secret');
    expect((await expectError(await admin('POST', '/keys', { name: 'x', max_inflight: 0 }), 400, 'invalid_request')).param).toBe('max_inflight');
  });
});

describe('Hub routing under key restrictions', () => {
  it('routes a region-pinned key only to nodes in its region, and fails rather than leave it', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('regions')), async (hub: Hub) => {
      hub.nodeHello(hello('n-us', [{ model: 'demo-plain', phase: 'ready' }]), 'c1');
      hub.nodeHello(hello('n-eu', [{ model: 'demo-plain', phase: 'ready' }]), 'c2');
      hub.patchNode('n-eu', { region: 'eu', trust: 'verified' });
      const eu = await hub.createKey({ name: 'eu', regions: ['eu'] });
      const ap = await hub.createKey({ name: 'ap', regions: ['ap'] });
      const trusted = await hub.createKey({ name: 'trusted', min_trust: 'trusted' });
      for (let i = 0; i < 6; i++) {
        const lease = await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0, keyHash: await hashSecret(eu.key) });
        expect(lease).toMatchObject({ ok: true, nodeId: 'n-eu' });
        if (lease.ok) hub.release(lease.leaseId, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }, 'ok');
      }
      expect(await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0, keyHash: await hashSecret(ap.key) })).toMatchObject({
        ok: false,
        code: 'no_available_node',
      });
      expect(await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0, keyHash: await hashSecret(trusted.key) })).toMatchObject({
        ok: false,
        code: 'no_available_node',
      });
      const usage = hub.usage({ group_by: ['key', 'node'], bucket: 'day', since: undefined });
      expect(usage.filter((r) => r.key_id === eu.id)).toEqual([
        expect.objectContaining({ node_id: 'n-eu', requests: 6, prompt_tokens: 18, completion_tokens: 24 }),
      ]);
    });
  });

  it('routes an owner-scoped key to its own nodes only', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('owners')), async (hub: Hub) => {
      hub.nodeHello(hello('theirs', [{ model: 'demo-plain', phase: 'ready' }]), 'c1');
      hub.nodeHello(hello('mine', [{ model: 'demo-plain', phase: 'ready' }]), 'c2');
      hub.patchNode('mine', { owner: 'ada' });
      const k = await hub.createKey({ name: 'ada', owner: 'ada' });
      for (let i = 0; i < 3; i++)
        expect(await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0, keyHash: await hashSecret(k.key) })).toMatchObject({
          ok: true,
          nodeId: 'mine',
        });
    });
  });

  it('counts a request exactly once even when it is released twice', async () => {
    await runInDurableObject(hubs.get(hubs.idFromName('once')), async (hub: Hub) => {
      hub.nodeHello(hello('n1', [{ model: 'demo-plain', phase: 'ready' }]), 'c1');
      const lease = await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 });
      if (!lease.ok) throw new Error(lease.message);
      hub.release(lease.leaseId, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }, 'error');
      hub.release(lease.leaseId, { prompt_tokens: 500, completion_tokens: 200, total_tokens: 700 }, 'ok');
      expect(hub.usage({ group_by: ['node'], bucket: 'hour', since: undefined })).toEqual([
        expect.objectContaining({ node_id: 'n1', requests: 1, prompt_tokens: 5, completion_tokens: 2 }),
      ]);
      // The slot was freed once: four more leases fit the node's concurrency of four.
      for (let i = 0; i < 4; i++) expect(await hub.acquire({ model: 'demo-plain', needs: ['chat'], budgetMs: 0 })).toMatchObject({ ok: true });
    });
  });
});

describe('node keys and enrollment', () => {
  it('pre-issues a node key once, lists the node, patches it, and revokes it', async () => {
    const res = await admin('POST', '/nodes', { node_id: 'headless-1', region: 'eu', trust: 'trusted', owner: 'ada' });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { node_id: string; node_key: string };
    expect(issued).toEqual({ node_id: 'headless-1', node_key: expect.stringMatching(/^nk-porten-/) });
    await expectError(await admin('POST', '/nodes', { node_id: 'headless-1' }), 400, 'invalid_request');
    const nodes = (await (await admin('GET', '/nodes')).json()) as { data: Array<Record<string, unknown>> };
    expect(nodes.data.find((n) => n.id === 'headless-1')).toMatchObject({ online: false, region: 'eu', trust: 'trusted', owner: 'ada', revoked: false });
    expect(await (await admin('PATCH', '/nodes/headless-1', { region: 'us' })).json()).toMatchObject({ id: 'headless-1', region: 'us', trust: 'trusted' });
    await expectError(await admin('PATCH', '/nodes/nobody', { region: 'us' }), 404, 'not_found');
    // The key opens the socket endpoint (426: not an upgrade, but authenticated), a forged id does not.
    expect((await call('/agent/v1/connect', { headers: { authorization: `Bearer ${issued.node_key}` } })).status).toBe(426);
    await expectError(
      await call('/agent/v1/connect', { headers: { authorization: `Bearer ${issued.node_key}`, 'x-porten-node-id': 'someone-else' } }),
      403,
      'forbidden',
    );
    expect(await (await admin('DELETE', '/nodes/headless-1')).json()).toEqual({ id: 'headless-1', revoked: true });
    await expectError(await call('/agent/v1/connect', { headers: { authorization: `Bearer ${issued.node_key}` } }), 401, 'invalid_api_key');
    // The fleet key cannot take over a revoked id either.
    await expectError(
      await call('/agent/v1/connect', { headers: { authorization: 'Bearer node-test-key-of-the-worker-suite-012345', 'x-porten-node-id': 'headless-1' } }),
      401,
      'invalid_api_key',
    );
  });

  it('runs the device flow: pending, slow_down, approve, one key, then expired_token', async () => {
    const start = await call('/agent/v1/enroll', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: 'gpu-box-7' }),
    });
    expect(start.status).toBe(200);
    const s = (await start.json()) as Record<string, string | number>;
    expect(s).toMatchObject({
      verification_uri: 'https://edge.test/dashboard',
      verification_uri_complete: `https://edge.test/dashboard#enroll=${s.user_code}`,
      expires_in: 600,
      interval: 5,
    });
    const token = () =>
      call('/agent/v1/enroll/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_code: s.device_code }) });
    await expectError(await token(), 400, 'authorization_pending');
    await expectError(await token(), 400, 'slow_down');

    const listed = (await (await admin('GET', '/enrollments')).json()) as { data: Array<Record<string, unknown>> };
    expect(listed.data.find((e) => e.user_code === s.user_code)).toMatchObject({ status: 'pending', hostname: 'gpu-box-7' });
    const approved = await admin('POST', `/enrollments/${String(s.user_code).toLowerCase()}/approve`, { region: 'eu', trust: 'verified' });
    expect(await approved.json()).toEqual({ user_code: s.user_code, status: 'approved' });
    await expectError(await admin('POST', `/enrollments/${s.user_code}/deny`), 400, 'invalid_request');

    const ok = await token();
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ node_id: 'gpu-box-7', node_key: expect.stringMatching(/^nk-porten-/) });
    await expectError(await token(), 400, 'expired_token');
    const nodes = (await (await admin('GET', '/nodes')).json()) as { data: Array<Record<string, unknown>> };
    expect(nodes.data.find((n) => n.id === 'gpu-box-7')).toMatchObject({ region: 'eu', trust: 'verified' });
  });

  it('denies an enrollment with access_denied and 404s unknown codes', async () => {
    const s = (await (await call('/agent/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as Record<
      string,
      string
    >;
    expect(await (await admin('POST', `/enrollments/${s.user_code}/deny`)).json()).toEqual({ user_code: s.user_code, status: 'denied' });
    const res = await call('/agent/v1/enroll/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device_code: s.device_code }),
    });
    await expectError(res, 400, 'access_denied');
    await expectError(await admin('POST', '/enrollments/BCDF-GHJK/approve', {}), 404, 'not_found');
    await expectError(
      await call('/agent/v1/enroll/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_code: 'nope' }) }),
      400,
      'invalid_request',
    );
  });
});

describe('usage endpoint', () => {
  it('aggregates by bucket and group and validates its query', async () => {
    const res = await admin('GET', '/usage?group_by=key,model&bucket=hour&since=0');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(body.object).toBe('list');
    for (const row of body.data) {
      expect(Object.keys(row).sort()).toEqual(['bucket', 'completion_tokens', 'key_id', 'model', 'prompt_tokens', 'requests']);
      expect(String(row.bucket)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
    }
    expect((await expectError(await admin('GET', '/usage?group_by=prompt'), 400, 'invalid_request')).message).toContain('group_by');
    await expectError(await admin('GET', '/usage?bucket=week'), 400, 'invalid_request');
    await expectError(await admin('GET', '/usage?since=yesterday'), 400, 'invalid_request');
  });
});
