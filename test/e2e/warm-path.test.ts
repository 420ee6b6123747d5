import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition } from '../support/prometheus';
import { bootStack, waitFor, waitForNode, type Stack } from './support';

type Booted = Awaited<ReturnType<typeof bootStack>>;

const chatBody = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, ...extra });

function post(stack: Stack, body: string, key = stack.apiKey, headers: Record<string, string> = {}) {
  return fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

async function metrics(stack: Stack): Promise<Family[]> {
  const res = await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePrometheusTextFormat(await res.text());
}

function counter(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const f = families.find((x) => x.name === name);
  return (f?.metrics ?? [])
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value ?? m.count ?? 0), 0);
}

async function createKey(stack: Stack, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await fetch(`${stack.url}/admin/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

async function usageOf(stack: Stack, keyId: string): Promise<{ requests: number; tokens: number }> {
  const res = await fetch(`${stack.url}/admin/v1/usage?group_by=key`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  const rows = ((await res.json()) as { data: Array<{ key_id?: string; requests: number; prompt_tokens: number; completion_tokens: number }> }).data;
  const mine = rows.filter((r) => r.key_id === keyId);
  return { requests: mine.reduce((n, r) => n + r.requests, 0), tokens: mine.reduce((n, r) => n + r.prompt_tokens + r.completion_tokens, 0) };
}

describe('the warm path: one Durable Object hop', () => {
  let stack: Booted;
  beforeAll(async () => {
    stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
    await waitForNode(stack, 'node-a');
    const first = await post(stack, chatBody('demo-small'));
    expect(first.status).toBe(200);
    await first.text();
  });
  afterAll(() => stack?.stop());

  it('serves warm requests without a Hub lease each, and reports them to the Hub in batches', async () => {
    const before = await metrics(stack);
    const n = 40;
    for (let i = 0; i < n; i++) {
      const res = await post(stack, chatBody('demo-small'));
      expect(res.status).toBe(200);
      expect(res.headers.get('server-timing')).toMatch(/^node;dur=/);
      await res.json();
    }
    const after = await waitFor('the batches to reach the Hub', async () => {
      const m = await metrics(stack);
      return counter(m, 'porten_requests_total', { model: 'demo-small', outcome: 'ok' }) -
        counter(before, 'porten_requests_total', { model: 'demo-small', outcome: 'ok' }) >=
        n
        ? m
        : null;
    });
    const calls = (method: string) => counter(after, 'porten_hub_calls_total', { method }) - counter(before, 'porten_hub_calls_total', { method });
    expect(calls('acquire')).toBe(0);
    expect(calls('release')).toBe(0);
    // Batches (time- or count-bounded), not one call per request.
    expect(calls('ingest')).toBeGreaterThan(0);
    expect(calls('ingest')).toBeLessThan(n / 4);
  });

  it('exposes Prometheus text that a real parser reads, with the documented families', async () => {
    const text = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).text();
    // Two readers: the npm parser (throws on malformed lines) and a strict one that also checks histogram rules.
    const families = parsePrometheusTextFormat(text);
    const strict = parseExposition(text);
    const byName = new Map(families.map((f) => [f.name, f]));
    const expected: Record<string, Family['type']> = {
      porten_requests_total: 'COUNTER',
      porten_requests_in_flight: 'GAUGE',
      porten_queue_depth: 'GAUGE',
      porten_time_to_first_byte_seconds: 'HISTOGRAM',
      porten_engine_ttft_seconds: 'HISTOGRAM',
      porten_request_duration_seconds: 'HISTOGRAM',
      porten_generation_tokens_per_second: 'HISTOGRAM',
      porten_tokens_total: 'COUNTER',
      porten_model_loads_total: 'COUNTER',
      porten_model_evictions_total: 'COUNTER',
      porten_warming_responses_total: 'COUNTER',
      porten_download_bytes_total: 'COUNTER',
      porten_node_heartbeat_age_seconds: 'GAUGE',
      porten_node_up: 'GAUGE',
      porten_hub_calls_total: 'COUNTER',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(byName.get(name)?.type, name).toBe(type);
      expect(strict.get(name)?.type, name).toBe(type.toLowerCase());
    }
    for (const name of ['porten_time_to_first_byte_seconds', 'porten_request_duration_seconds', 'porten_engine_ttft_seconds']) {
      const h = strict.get(name)!.histograms.find((x) => x.labels.model === 'demo-small' && x.labels.node === 'node-a');
      expect(h?.count, name).toBeGreaterThan(0);
      expect(h!.sum, name).toBeGreaterThan(0);
    }
    expect(counter(families, 'porten_model_loads_total', { model: 'demo-small', node: 'node-a', outcome: 'ready' })).toBe(1);
    expect(counter(families, 'porten_download_bytes_total', { model: 'demo-small', node: 'node-a' })).toBeGreaterThan(0);
    expect(byName.get('porten_node_up')!.metrics).toContainEqual({ labels: { node: 'node-a' }, value: '1' });
    expect(strict.get('porten_generation_tokens_per_second')!.histograms.find((h) => h.labels.model === 'demo-small')?.count).toBeGreaterThan(0);
    // The same text for operators who keep everything under /admin/v1.
    expect((await fetch(`${stack.url}/admin/v1/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).status).toBe(200);
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(401);
  });

  it('carries a sane x-request-id from the client to the agent log and back, and makes one for the rest', async () => {
    const sent = `client-trace.${Date.now()}`;
    const res = await post(stack, chatBody('demo-small'), stack.apiKey, { 'x-request-id': sent });
    expect(res.headers.get('x-request-id')).toBe(sent);
    const { id } = (await res.json()) as { id: string };
    const agent = stack.agents[0];
    const line = await waitFor('the agent to log the request', () =>
      agent.output.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request' && l.request_id === sent),
    );
    expect(line).toMatchObject({ id: expect.stringMatching(/^chatcmpl-/), model: 'demo-small', status: 200, ttft_ms: expect.any(Number) });
    expect(id).toMatch(/^chatcmpl-/);
    const insane = await post(stack, chatBody('demo-small'), stack.apiKey, { 'x-request-id': 'has spaces and <html>' });
    expect(insane.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    await insane.text();
    expect(res.headers.get('x-porten-trust')).toBe('community');
    expect(res.headers.get('x-porten-region')).toBe('default');
  });

  it('refuses made-up sk-porten keys without a Hub call for each', async () => {
    const before = await metrics(stack);
    const n = 60;
    for (let i = 0; i < n; i++) {
      const res = await post(stack, chatBody('demo-small'), `sk-porten-${crypto.randomUUID()}${i}`);
      expect(res.status).toBe(401);
      await res.text();
    }
    const after = await metrics(stack);
    const calls = ['keyInfo', 'keyFilter', 'checkKey', 'acquire'].reduce(
      (sum, method) => sum + counter(after, 'porten_hub_calls_total', { method }) - counter(before, 'porten_hub_calls_total', { method }),
      0,
    );
    // A filter refresh at most every 250 ms plus a few direct look-ups per second, however many keys arrive.
    expect(calls).toBeLessThan(n / 3);
  });

  it('stops a revoked key everywhere within the cache bound (3 s)', async () => {
    const { id, key } = await createKey(stack, { name: 'soon revoked' });
    const ok = await post(stack, chatBody('demo-small'), key);
    expect(ok.status).toBe(200);
    await ok.text();
    const revoked = await fetch(`${stack.url}/admin/v1/keys/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(revoked.status).toBe(200);
    const at = Date.now();
    await waitFor(
      'the revocation to reach the edge',
      async () => {
        const res = await post(stack, chatBody('demo-small'), key);
        await res.text();
        return res.status === 401;
      },
      4000,
    );
    expect(Date.now() - at).toBeLessThan(4000);
    // And it stays refused.
    for (let i = 0; i < 5; i++) expect((await post(stack, chatBody('demo-small'), key)).status).toBe(401);
  });

  it('takes a disabled model out of service within the same bound, and back in when enabled', async () => {
    const admin = { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' };
    const patch = (enabled: boolean) =>
      fetch(`${stack.url}/admin/v1/models/demo-small`, { method: 'PATCH', headers: admin, body: JSON.stringify({ enabled }) });
    expect((await patch(false)).status).toBe(200);
    await waitFor(
      'the model to be refused',
      async () => {
        const res = await post(stack, chatBody('demo-small'));
        await res.text();
        return res.status === 404;
      },
      4000,
    );
    expect((await patch(true)).status).toBe(200);
    await waitFor(
      'the model to serve again',
      async () => {
        const res = await post(stack, chatBody('demo-small'));
        await res.text();
        return res.status === 200;
      },
      4000,
    );
  });

  it('holds a key to its rpm exactly in one isolate, and to its tpm within the batch-plus-cache tolerance', async () => {
    const limited = await createKey(stack, { name: 'rpm', rpm: 10 });
    const codes: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await post(stack, chatBody('demo-small'), limited.key);
      codes.push(res.status);
      await res.text();
    }
    const admitted = codes.filter((c) => c === 200).length;
    expect(codes.filter((c) => c !== 200 && c !== 429)).toEqual([]);
    console.log(`rpm 10, 25 requests in a burst: ${admitted} admitted (overshoot ${admitted - 10})`);
    expect(admitted).toBe(10);

    const tpm = 60;
    const tokenKey = await createKey(stack, { name: 'tpm', tpm });
    let admittedTokens = 0;
    let admittedRequests = 0;
    let exceededAt: number | null = null;
    let limitedAt: number | null = null;
    const t0 = Date.now();
    // Back to back until the limit bites (or 15 s): tokens are known when a request ends, so it bites within
    // one batch interval (1 s) plus one cache age (3 s) after they passed the limit.
    while (limitedAt === null && Date.now() - t0 < 15_000) {
      const res = await post(stack, chatBody('demo-small', { max_tokens: 8 }), tokenKey.key);
      if (res.status === 200) {
        admittedRequests++;
        admittedTokens += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
        if (admittedTokens >= tpm) exceededAt ??= Date.now();
      } else {
        expect(res.status).toBe(429);
        await res.text();
        limitedAt = Date.now();
      }
    }
    expect(limitedAt).not.toBeNull();
    expect(exceededAt).not.toBeNull();
    const ledger = await waitFor('the ledger to hold every admitted request', async () => {
      const u = await usageOf(stack, tokenKey.id);
      return u.requests === admittedRequests ? u : null;
    });
    expect(ledger.tokens).toBe(admittedTokens);
    console.log(
      `tpm ${tpm}: ${admittedRequests} requests admitted, ${admittedTokens} tokens (overshoot ${admittedTokens - tpm}); limited ${limitedAt! - exceededAt!} ms after the limit was passed`,
    );
    expect(limitedAt! - exceededAt!).toBeLessThan(1000 + 3000 + 1000);
  });
});

describe('a stale route', () => {
  let stack: Booted;
  beforeAll(async () => {
    // Routes cached for 30 s, so the cache still names the evicted replica when the next request comes;
    // a 3 s demand window, so the planner evicts an idle model within seconds.
    stack = await bootStack({ vars: { PORTEN_CACHE_MAX_AGE_S: '30', PORTEN_DEMAND_WINDOW_S: '3' }, agents: [{ nodeId: 'solo', budgetMb: 4096 }] });
    await waitForNode(stack, 'solo');
  });
  afterAll(() => stack?.stop());

  it('retries through the Hub before the first byte when the cached node evicted the model: served, never cut', async () => {
    const warm = await post(stack, chatBody('demo-small', { stream: true }));
    expect(warm.status).toBe(200);
    expect(await warm.text()).toContain('data: [DONE]');
    // Until the route cache names the replica: a warm request carries no Hub time.
    await waitFor('a warm-path request', async () => {
      const res = await post(stack, chatBody('demo-small'));
      await res.text();
      return res.status === 200 && !res.headers.get('server-timing')?.includes('hub;');
    });
    // Idle past the demand window: the planner unloads it (a real eviction: the engine process stops).
    await waitForNode(stack, 'solo', (n) => !n.models.some((m) => m.model === 'demo-small'));
    const before = await metrics(stack);
    // The route cache still says demo-small is ready on solo.
    const res = await post(stack, chatBody('demo-small', { stream: true }));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"error"');
    const after = await waitFor('the refusal to be reported', async () => {
      const m = await metrics(stack);
      return counter(m, 'porten_dispatch_refusals_total', { node: 'solo', reason: 'model_gone' }) >
        counter(before, 'porten_dispatch_refusals_total', { node: 'solo', reason: 'model_gone' })
        ? m
        : null;
    });
    expect(counter(after, 'porten_hub_calls_total', { method: 'acquire' })).toBeGreaterThan(counter(before, 'porten_hub_calls_total', { method: 'acquire' }));
    expect(counter(after, 'porten_model_evictions_total', { model: 'demo-small', node: 'solo' })).toBeGreaterThanOrEqual(1);
  });
});
