import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeToEdge } from '../../src/protocol';
import { relay } from '../../nodes/agent/relay';
import { normaliseRequest, ResponseNormaliser } from '../../nodes/engines/llama-server-normalise';

/**
 * The relay's normaliser hook (llama-server's adapter) against a loopback HTTP server that answers with
 * llama-server's own bodies: a 501 becomes porten's 400 (not engine_failed), JSON and SSE are reshaped, and
 * a refused request never reaches the engine.
 */
let server: Server;
let base = '';
const seen: string[] = [];
const llamaUsage = { completion_tokens: 2, prompt_tokens: 3, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push(`${req.url} ${body}`);
      if (req.url === '/v1/embeddings')
        return res
          .writeHead(501, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 501, message: 'This server does not support embeddings.', type: 'not_supported_error' } }));
      if (JSON.parse(body).stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
        const meta = { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'm', system_fingerprint: 'b1-de3ff81' };
        res.write(ev({ ...meta, choices: [{ index: 0, finish_reason: null, delta: { role: 'assistant', content: null } }] }));
        res.write(ev({ ...meta, choices: [{ index: 0, finish_reason: 'stop', delta: {} }], timings: { predicted_n: 1 } }));
        res.write(ev({ ...meta, choices: [], usage: llamaUsage, timings: { predicted_n: 1 } }));
        return res.end('data: [DONE]\n\n');
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-x',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          system_fingerprint: 'b1-de3ff81',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hi' } }],
          usage: llamaUsage,
          timings: { predicted_n: 2 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const ctx = { model: 'm', caps: { supports_tools: false } };
const normalise = {
  request(path: string, body: Record<string, unknown>) {
    const r = normaliseRequest(path, body, ctx);
    return r.ok ? r : { ok: false as const, status: r.error.status, text: JSON.stringify(r.error.body) };
  },
  response: (path: string) => new ResponseNormaliser(path, ctx),
};

const run = async (path: '/v1/chat/completions' | '/v1/embeddings', body: Record<string, unknown>) => {
  const frames: NodeToEdge[] = [];
  await relay({ type: 'infer.start', id: 'r', model: 'm', path, body: { model: 'm', ...body } }, base, new AbortController().signal, {
    send: (f) => frames.push(f) > 0,
    whenWritable: async () => {},
    normalise,
  });
  return frames;
};

describe('relay with a normaliser', () => {
  it('reshapes a JSON answer and still meters its usage', async () => {
    const frames = await run('/v1/chat/completions', { messages: [] });
    expect(frames.map((f) => f.type)).toEqual(['infer.head', 'infer.chunk', 'infer.end']);
    const body = JSON.parse((frames[1] as { data: string }).data);
    expect(body.timings).toBeUndefined();
    expect(body.system_fingerprint).toMatch(/^fp_/);
    const end = frames[2] as Extract<NodeToEdge, { type: 'infer.end' }>;
    expect(end).toMatchObject({ type: 'infer.end', id: 'r', chunks: 1, usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    // The agent times every answer; a whole JSON answer's first token is its end.
    expect(end.timings?.ttft_ms).toBeGreaterThanOrEqual(0);
    expect(end.timings?.total_ms).toBe(end.timings?.ttft_ms);
  });

  it("turns llama-server's 501 into porten's 400, not engine_failed", async () => {
    const frames = await run('/v1/embeddings', { input: 'x' });
    expect(frames[0]).toMatchObject({ type: 'infer.head', status: 400 });
    expect(JSON.parse((frames[1] as { data: string }).data).error).toMatchObject({ code: 'capability_not_supported' });
  });

  it('reshapes SSE events and hides the usage chunk from a client that did not ask', async () => {
    const frames = await run('/v1/chat/completions', { messages: [], stream: true });
    const text = frames.flatMap((f) => (f.type === 'infer.chunk' ? [f.data] : [])).join('');
    expect(text).not.toContain('timings');
    expect(text).not.toContain('b1-de3ff81');
    expect(text).toContain('"content":""');
    expect(text).not.toContain('"usage"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // Metered all the same: the engine was asked for usage.
    expect(frames.at(-1)).toMatchObject({ type: 'infer.end', usage: { total_tokens: 5 } });
    expect(seen.at(-1)).toContain('"include_usage":true');
  });

  it('answers a refused request itself, without asking the engine', async () => {
    const before = seen.length;
    const frames = await run('/v1/chat/completions', { messages: [], tools: [{ type: 'function', function: { name: 'f' } }] });
    expect(seen.length).toBe(before);
    expect(frames[0]).toEqual({ type: 'infer.head', id: 'r', status: 400, content_type: 'application/json' });
    expect(JSON.parse((frames[1] as { data: string }).data).error).toMatchObject({ code: 'capability_not_supported', param: 'tools' });
    expect(frames[2]).toEqual({ type: 'infer.end', id: 'r', chunks: 1 });
  });
});
