import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeToEdge } from '../../src/protocol';
import { relay } from '../../nodes/agent/relay';
import { openaiSpec } from '../../nodes/engines/openai';
import { Supervisor } from '../../nodes/engines/supervisor';

/** A real loopback HTTP server standing in for an upstream OpenAI-compatible engine (vLLM and the like). */
let server: Server;
let base = '';
const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v1/models') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    if (req.url === '/v1/completions') return res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"overloaded"}');
    if (req.url === '/v1/embeddings') return res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":{"message":"bad input"}}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'chat.completion', choices: [], usage }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const run = async (path: '/v1/chat/completions' | '/v1/completions' | '/v1/embeddings', url = base, signal = new AbortController().signal) => {
  const frames: NodeToEdge[] = [];
  await relay({ type: 'infer.start', id: 'r', model: 'm', path, body: { model: 'm' } }, url, signal, {
    send: (f) => frames.push(f) > 0,
    whenWritable: async () => {},
  });
  return frames;
};

describe('openai engine supervisor', () => {
  it('is ready once the upstream lists models, and stops without a process', async () => {
    const s = new Supervisor(openaiSpec(`${base}/v1/`));
    expect(await s.ensureReady()).toEqual({ baseUrl: base, vramMb: undefined });
    expect(await s.ensureReady()).toEqual({ baseUrl: base, vramMb: undefined });
    await s.stop();
    expect(s.state).toBe('stopped');
  });

  it('fails the start when the upstream never answers', async () => {
    const s = new Supervisor(openaiSpec('http://127.0.0.1:9'), { startTimeoutMs: 300, pollMs: 20 });
    await expect(s.ensureReady()).rejects.toThrow(/not ready/);
    expect(s.state).toBe('failed');
  });
});

describe('relay', () => {
  it('passes a JSON body through and reads its usage', async () => {
    const frames = await run('/v1/chat/completions');
    expect(frames.map((f) => f.type)).toEqual(['infer.head', 'infer.chunk', 'infer.end']);
    expect(frames[2]).toEqual({ type: 'infer.end', id: 'r', chunks: 1, usage, timings: { ttft_ms: expect.any(Number), total_ms: expect.any(Number) } });
  });

  it('passes 4xx through and turns 5xx into engine_failed', async () => {
    expect((await run('/v1/embeddings'))[0]).toMatchObject({ type: 'infer.head', status: 422 });
    expect(await run('/v1/completions')).toEqual([{ type: 'infer.error', id: 'r', code: 'engine_failed', message: expect.stringContaining('503') }]);
  });

  it('reports an unreachable engine, and stays silent when the socket is gone', async () => {
    expect(await run('/v1/chat/completions', 'http://127.0.0.1:9')).toEqual([
      { type: 'infer.error', id: 'r', code: 'engine_failed', message: expect.stringContaining('unreachable') },
    ]);
    const ac = new AbortController();
    ac.abort('disconnected');
    expect(await run('/v1/chat/completions', base, ac.signal)).toEqual([]);
  });
});
