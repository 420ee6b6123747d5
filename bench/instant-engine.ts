import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible engine that answers instantly: it exists only so the
 * benchmarks can see the gateway's own cost. It is never a stand-in in tests.
 * Chat completions stream `chunks` fixed chunks (request `max_tokens`, default
 * 20) as fast as the socket takes them; the content depends only on the seed.
 */
export async function startInstantEngine(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'instant', object: 'model', created: 0, owned_by: 'bench' }] }));
      return;
    }
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      let parsed: { stream?: boolean; max_tokens?: number; seed?: number; model?: string } = {};
      try {
        parsed = JSON.parse(body);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"bad json","type":"invalid_request_error","param":null,"code":"invalid_request"}}');
        return;
      }
      const n = Math.max(1, Math.min(100_000, parsed.max_tokens ?? 20));
      const seed = parsed.seed ?? 0;
      const base = { id: 'chatcmpl-instant', created: 0, model: parsed.model ?? 'instant' };
      if (!parsed.stream) {
        const content = Array.from({ length: n }, (_, i) => `t${(i + seed) % 997} `).join('');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: n, total_tokens: n + 1 },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const pump = () => {
        while (i < n) {
          const chunk = {
            ...base,
            object: 'chat.completion.chunk',
            choices: [
              { index: 0, delta: i === 0 ? { role: 'assistant', content: `t${seed % 997} ` } : { content: `t${(i + seed) % 997} ` }, finish_reason: null },
            ],
          };
          i++;
          if (!res.write(`data: ${JSON.stringify(chunk)}\n\n`)) return void res.once('drain', pump);
        }
        res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      pump();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
