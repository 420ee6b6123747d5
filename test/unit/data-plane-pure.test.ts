import { describe, expect, it } from 'vitest';
import { BodyParts } from '../../nodes/agent/body-parts';
import { StreamCredit } from '../../nodes/agent/credits';
import { checkCachedLimits } from '../../src/cache/limits';
import { pickLeastLoaded } from '../../src/cache/pick';
import type { KeyInfo } from '../../src/hub/key-info';
import { FrameRate } from '../../src/link/frame-rate';
import { BODY_PART_CHARS, inferFrames } from '../../src/link/infer-frame';
import { endedFields, openRow } from '../../src/link/inflight';
import { headKind, isSseChunk, shapeBody } from '../../src/link/shape';
import { MAX_FRAME_BYTES } from '../../src/protocol';
import { dispatchMeta } from '../support/dispatch-meta';

describe('what a node may say about its answer (shape)', () => {
  it.each([
    ['SSE for a stream', 200, 'text/event-stream; charset=utf-8', true, 'stream'],
    ['JSON for a non-stream', 200, 'application/json', false, 'json'],
    ['SSE claimed for a non-stream is still checked as JSON', 200, 'text/event-stream', false, 'json'],
    ['HTML for a stream is taken as JSON (and fails the check)', 200, 'text/html', true, 'json'],
    ['a 4xx is an engine error', 422, 'application/json', false, 'error'],
    ['a 3xx is an error too', 302, 'text/html', true, 'error'],
  ])('%s', (_name, status, type, stream, kind) => expect(headKind(status, type, stream)).toBe(kind));

  it('passes a JSON object, refuses garbage wrapped in a 200, and renders engine errors in its own shape', () => {
    expect(shapeBody('json', 200, '{"object":"chat.completion"}')).toEqual({ status: 200, body: '{"object":"chat.completion"}' });
    for (const garbage of ['<html><script>alert(1)</script></html>', '[1,2]', 'null', '{"cut":']) {
      const r = shapeBody('json', 200, garbage);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'upstream_error' } });
    }
    const engine = shapeBody('error', 400, JSON.stringify({ error: { message: 'too long\nfor context', code: 'context_length_exceeded', param: 'messages' } }));
    expect(engine.status).toBe(400);
    expect(JSON.parse(engine.body)).toEqual({
      error: { message: 'too long for context', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    });
    const odd = JSON.parse(shapeBody('error', 418, JSON.stringify({ error: { message: 'x', code: 'Not A Code!' } })).body);
    expect(odd.error.code).toBe('invalid_request');
    expect(shapeBody('error', 503, 'Service Unavailable')).toMatchObject({ status: 502 });
  });

  it('accepts only whole SSE events as stream chunks', () => {
    expect(isSseChunk('data: {"a":1}\n\n')).toBe(true);
    expect(isSseChunk('data: 1\n\ndata: [DONE]\n\n')).toBe(true);
    expect(isSseChunk(': keep-alive\n\n')).toBe(true);
    expect(isSseChunk('<script>x</script>\n\n')).toBe(false);
    expect(isSseChunk('data: half')).toBe(false);
    expect(isSseChunk('data: ok\n\nHTTP/1.1 200 OK\n\n')).toBe(false);
  });
});

describe('replica choice', () => {
  it('takes the least loaded, and spreads ties at random instead of by name', () => {
    const nodes = [
      { node: 'a', load: 1 },
      { node: 'b', load: 0 },
      { node: 'c', load: 0 },
      { node: 'd', load: 2 },
    ];
    const seen = new Map<string, number>();
    let x = 0;
    const rand = () => (x = (x * 16807 + 7) % 2147483647) / 2147483647;
    for (let i = 0; i < 400; i++) {
      const p = pickLeastLoaded(nodes, rand)!;
      seen.set(p.node, (seen.get(p.node) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['b', 'c']);
    expect(seen.get('b')!).toBeGreaterThan(120);
    expect(seen.get('c')!).toBeGreaterThan(120);
    expect(pickLeastLoaded([])).toBeNull();
  });
});

describe('limits from the cache', () => {
  const now = 1_800_000_000_000;
  const key = (limits: Partial<Extract<KeyInfo, { ok: true }>['limits']>, usage: Partial<NonNullable<Extract<KeyInfo, { ok: true }>['usage']>> = {}) =>
    ({
      ok: true,
      id: 'k',
      models: null,
      scope: { regions: null, owner: null, min_trust: null },
      limits: { rpm: null, tpm: null, quota_tokens: null, quota_period: null, max_inflight: null, ...limits },
      usage: { starts: [], tokens: [], periodTokens: 0, periodEnd: null, inflight: 0, ...usage },
      at: now - 500,
    }) as Extract<KeyInfo, { ok: true }>;

  it('counts the isolate’s own starts at once and never twice with the Hub’s', () => {
    const local = { starts: [now - 3000, now - 2000], inflight: 0 };
    // The Hub saw the same two requests (their seconds): still two, so a third is admitted under rpm 3.
    const hub = [
      [Math.ceil((now - 3000) / 1000), 1],
      [Math.ceil((now - 2000) / 1000), 1],
    ] as Array<[number, number]>;
    expect(checkCachedLimits(key({ rpm: 3 }, { starts: hub }), local, now)).toEqual({ ok: true });
    // Another isolate's request in another second counts too.
    const more = [...hub, [Math.ceil((now - 10_000) / 1000), 1]] as Array<[number, number]>;
    expect(checkCachedLimits(key({ rpm: 3 }, { starts: more }), local, now)).toMatchObject({ ok: false, limit: 'rpm' });
  });

  it('applies tpm, quota and concurrency from the Hub’s view', () => {
    const none = { starts: [], inflight: 0 };
    expect(checkCachedLimits(key({ tpm: 100 }, { tokens: [[Math.ceil((now - 5000) / 1000), 120]] }), none, now)).toMatchObject({ ok: false, limit: 'tpm' });
    expect(checkCachedLimits(key({ quota_tokens: 50, quota_period: 'day' }, { periodTokens: 50, periodEnd: now + 1000 }), none, now)).toMatchObject({
      ok: false,
      limit: 'quota',
      retryAfterMs: 1000,
    });
    expect(checkCachedLimits(key({ max_inflight: 2 }, { inflight: 1 }), { starts: [], inflight: 2 }, now)).toMatchObject({ ok: false, limit: 'concurrency' });
    expect(checkCachedLimits(key({ max_inflight: 2 }, { inflight: 1 }), { starts: [], inflight: 1 }, now)).toEqual({ ok: true });
  });
});

describe('usage a node may bill', () => {
  it('is bounded by what the request allowed', () => {
    const meta = dispatchMeta();
    expect(openRow(meta, 'n', 1)).toMatchObject({ rid: 'r', node: 'n', ended: null });
    const f = endedFields(meta, { outcome: 'ok', usage: { prompt_tokens: 1e12, completion_tokens: 9e15, total_tokens: 1 }, totalMs: 5 }, 9);
    expect(f).toMatchObject({ prompt: 512, completion: 16, outcome: 'ok', ended: 9 });
  });
});

describe('request bodies larger than a frame', () => {
  it('go whole in one frame when they fit, else split into parts the agent reassembles', () => {
    const small = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
    const one = inferFrames({ id: 'a', model: 'm', path: '/v1/chat/completions', request_id: 'q' }, small, true)!;
    expect(one).toHaveLength(1);
    expect(JSON.parse(one[0])).toMatchObject({ type: 'infer.start', id: 'a', body: { messages: [{ content: 'hi' }] } });

    const big = JSON.stringify({ messages: [{ role: 'user', content: `é"${'x'.repeat(6 * 1024 * 1024)}😀` }] });
    expect(inferFrames({ id: 'b', model: 'm', path: '/v1/chat/completions', request_id: 'q' }, big, false)).toBeNull();
    const frames = inferFrames({ id: 'b', model: 'm', path: '/v1/chat/completions', request_id: 'q' }, big, true)!;
    for (const f of frames) expect(new TextEncoder().encode(f).byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const start = JSON.parse(frames[0]);
    expect(start).toMatchObject({ type: 'infer.start', body_parts: frames.length - 1 });
    expect(start.body).toBeUndefined();
    expect(frames.length - 1).toBe(Math.ceil(big.length / BODY_PART_CHARS));
    const parts = new BodyParts(() => undefined);
    parts.begin(start);
    let done: unknown;
    for (const f of frames.slice(1)) {
      const p = JSON.parse(f) as { id: string; seq: number; data: string };
      const r = parts.add(p.id, p.seq, p.data);
      if (r.kind === 'complete') done = r.start.body;
      else expect(r.kind).toBe('pending');
    }
    expect(done).toEqual(JSON.parse(big));
  });

  it('fails one request, not the socket, on a gap or a non-object', () => {
    const parts = new BodyParts(() => undefined);
    parts.begin({ type: 'infer.start', id: 'g', model: 'm', path: '/v1/chat/completions', body_parts: 2 });
    expect(parts.add('g', 1, '{}')).toMatchObject({ kind: 'error' });
    parts.begin({ type: 'infer.start', id: 'h', model: 'm', path: '/v1/chat/completions', body_parts: 1 });
    expect(parts.add('h', 0, '[1]')).toMatchObject({ kind: 'error' });
    expect(parts.add('nobody', 0, '{}')).toMatchObject({ kind: 'error' });
  });
});

describe('flow control and frame rates', () => {
  it('holds a stream once it is a window beyond its credit, and lets it go on credit', async () => {
    const c = new StreamCredit(100);
    c.spent(99);
    expect(c.open()).toBe(true);
    c.spent(1);
    expect(c.open()).toBe(false);
    const ac = new AbortController();
    let released = false;
    const waiting = c.whenOpen(ac.signal).then(() => (released = true));
    c.credit(50);
    await waiting;
    expect(released).toBe(true);
    c.credit(10);
    expect(c.open()).toBe(true);
    expect(new StreamCredit(undefined).open()).toBe(true);
  });

  it('lets an honest burst through and stops a flood', () => {
    const r = new FrameRate(100, 50, 0);
    let passed = 0;
    for (let i = 0; i < 200; i++) if (r.take(0)) passed++;
    expect(passed).toBe(50);
    expect(r.take(500)).toBe(true);
  });
});
