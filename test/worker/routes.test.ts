import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

const worker = (exports as unknown as { default: { fetch: typeof fetch } }).default;
const KEY = { authorization: 'Bearer sk-test-key-of-the-worker-suite-0123456' };

function call(path: string, init: RequestInit = {}) {
  return worker.fetch(new Request(`https://edge.test${path}`, init));
}

function chat(body: unknown, headers: Record<string, string> = KEY) {
  return call('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.error.type).toBe('string');
  expect('param' in body.error).toBe(true);
  return body.error;
}

describe('edge routes', () => {
  it('answers health checks without credentials', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
  });

  it('lists the enabled catalog with porten fields and hides disabled entries', async () => {
    const res = await call('/v1/models', { headers: KEY });
    expect(res.status).toBe(200);
    const list = (await res.json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(list.object).toBe('list');
    const ids = list.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['demo-small', 'demo-plain', 'demo-large']));
    expect(ids).not.toContain('qwen2.5-coder-32b');
    const small = list.data.find((m) => m.id === 'demo-small')!;
    expect(small).toMatchObject({ object: 'model', state: 'cold', capabilities: ['chat', 'json', 'tools'] });
    expect(small.context_length).toBeGreaterThan(0);
  });

  it('refuses a missing API key with 401 invalid_api_key', async () => {
    await expectError(await call('/v1/models'), 401, 'invalid_api_key');
  });

  it('refuses a wrong API key with 401 invalid_api_key', async () => {
    await expectError(await call('/v1/models', { headers: { authorization: 'Bearer sk-wrong' } }), 401, 'invalid_api_key');
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const err = await expectError(await chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), 404, 'model_not_found');
    expect(err.param).toBe('model');
  });

  it('answers malformed JSON with 400 invalid_request', async () => {
    await expectError(await chat('{"model": "demo-small", '), 400, 'invalid_request');
  });

  it('names the offending field of a schema violation', async () => {
    const err = await expectError(await chat({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], temperature: 9 }), 400, 'invalid_request');
    expect(err.param).toBe('temperature');
  });

  it('names an unsupported parameter instead of dropping it', async () => {
    const err = await expectError(await chat({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], n: 3 }), 400, 'invalid_request');
    expect(err.param).toBe('n');
    const unknown = await expectError(await chat({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], logprobs: true }), 400, 'invalid_request');
    expect(unknown.param).toBe('logprobs');
  });

  it('gates capabilities from the catalog with 400 capability_not_supported', async () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    await expectError(await chat({ model: 'demo-plain', messages: [{ role: 'user', content: 'hi' }], tools }), 400, 'capability_not_supported');
  });

  it('refuses bodies over the size limit with 413', async () => {
    const huge = JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'x'.repeat(9 * 1024 * 1024) }] });
    await expectError(await chat(huge), 413, 'request_too_large');
  });

  it('answers 503 no_available_node when no node is connected', async () => {
    const res = await chat({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }] });
    await expectError(res, 503, 'no_available_node');
  });

  it('validates the warm-up budget header', async () => {
    const err = await expectError(
      await chat({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }] }, { ...KEY, 'x-porten-warmup-budget': 'soon' }),
      400,
      'invalid_request',
    );
    expect(err.param).toBe('x-porten-warmup-budget');
  });

  it('shows a cold model on the public warming endpoint and 404s unknown ids', async () => {
    const res = await call('/public/v1/models/warming?model=demo-large');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ model: 'demo-large', ready: false, phase: 'cold', pct: 0 });
    await expectError(await call('/public/v1/models/warming?model=nope'), 404, 'model_not_found');
  });

  it('refuses agent sockets without the node key', async () => {
    await expectError(await call('/agent/v1/connect', { headers: { upgrade: 'websocket', 'x-porten-node-id': 'n1' } }), 401, 'invalid_api_key');
  });

  it('answers unknown routes with an OpenAI-shaped 404', async () => {
    await expectError(await call('/v2/nothing'), 404, 'not_found');
  });
});

describe('admin API', () => {
  const ADMIN = { authorization: 'Bearer admin-test-token-of-the-worker-suite-0123', 'content-type': 'application/json' };

  it('refuses calls without the admin token', async () => {
    await expectError(await call('/admin/v1/nodes'), 401, 'invalid_api_key');
    await expectError(await call('/admin/v1/models', { headers: { authorization: 'Bearer sk-test-key-of-the-worker-suite-0123456' } }), 401, 'invalid_api_key');
  });

  it('disables a model so it leaves /v1/models, and enables it again', async () => {
    const off = await call('/admin/v1/models/demo-plain', { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ enabled: false }) });
    expect(off.status).toBe(200);
    const listed = (await (await call('/v1/models', { headers: KEY })).json()) as { data: Array<{ id: string }> };
    expect(listed.data.map((m) => m.id)).not.toContain('demo-plain');
    await expectError(await chat({ model: 'demo-plain', messages: [{ role: 'user', content: 'hi' }] }), 404, 'model_not_found');
    const on = await call('/admin/v1/models/demo-plain', { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ enabled: true }) });
    expect(on.status).toBe(200);
    const again = (await (await call('/v1/models', { headers: KEY })).json()) as { data: Array<{ id: string }> };
    expect(again.data.map((m) => m.id)).toContain('demo-plain');
  });

  it('adds a catalog entry and validates it', async () => {
    const entry = {
      id: 'added-model',
      enabled: true,
      context_length: 1024,
      capabilities: ['chat'],
      vram_mb: 10,
      engine: 'openai',
      weights: { url: 'none://' },
      upstream_url: 'http://127.0.0.1:1/',
    };
    expect((await call('/admin/v1/models', { method: 'POST', headers: ADMIN, body: JSON.stringify(entry) })).status).toBe(201);
    const model = await call('/v1/models/added-model', { headers: KEY });
    expect(await model.json()).toMatchObject({ id: 'added-model', capabilities: ['chat'], state: 'cold' });
    const bad = await expectError(
      await call('/admin/v1/models', { method: 'POST', headers: ADMIN, body: JSON.stringify({ ...entry, capabilities: ['telepathy'] }) }),
      400,
      'invalid_request',
    );
    expect(bad.param).toBe('capabilities.0');
    await expectError(
      await call('/admin/v1/models/nope', { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ enabled: true }) }),
      404,
      'model_not_found',
    );
  });
});
