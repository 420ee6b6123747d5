import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootStack, waitFor, waitForNode, type Stack } from './support';

type Booted = Awaited<ReturnType<typeof bootStack>>;

const WINDOW_KB = 16;
/**
 * What the edge may hold for one stream: its window, plus what the agent had in hand when its credit ran out
 * (one engine read and one pending batch, together at most 128 KiB).
 */
const BOUND_BYTES = WINDOW_KB * 1024 + 128 * 1024;

/**
 * A real slow client: Python with a 4 KiB socket receive buffer (Node cannot set SO_RCVBUF), so the kernel does not
 * soak up the stream on its behalf. It reads the first bytes, stops reading for `pause` seconds, then reads the rest.
 */
const SLOW_CLIENT = `
import json, socket, sys, time
host, port, key, body, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode(), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer " + key.encode() + b"\\r\\nContent-Type: application/json\\r\\nContent-Length: " + str(len(body)).encode() + b"\\r\\nConnection: close\\r\\n\\r\\n" + body)
first = s.recv(2048)
print(json.dumps({"event": "first", "bytes": len(first)}), flush=True)
time.sleep(pause)
data = first
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
text = data.decode("utf-8", "replace")
print(json.dumps({"event": "end", "bytes": len(data), "done": "data: [DONE]" in text, "error": '"error"' in text}), flush=True)
`;

function slowClient(stack: Stack, body: object, pauseS: number) {
  const { hostname, port } = new URL(stack.url);
  const child = spawn('python3', ['-c', SLOW_CLIENT, hostname, port, stack.apiKey, JSON.stringify(body), String(pauseS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  child.stdout.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { events, exited };
}

async function ttft(stack: Stack): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'quick' }], max_tokens: 8, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  const ms = performance.now() - t0;
  while (!(await reader.read()).done);
  return ms;
}

async function bufferedMax(stack: Stack, node: string): Promise<number> {
  const m = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).text();
  return Number(new RegExp(`^porten_stream_buffered_bytes_max\\{node="${node}"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? 0);
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

/**
 * An OpenAI-compatible upstream (what the \`openai\` engine fronts, e.g. vLLM) answering each chat with a stream of
 * `max_tokens` 400-byte events, up to 20,000 (8 MB: more than the kernel's socket buffers can hide, while a demo
 * model's few hundred tokens fit in them whole), so the edge's own flow control is what a stalled client meets. A stand-in for a GPU engine with a long context, which cannot run here.
 */
async function longUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"long","object":"model"}]}');
      return;
    }
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d));
    req.on('end', () => {
      // As many 300-byte chunks as max_tokens asks for, up to 20,000 (8 MB): a tiny warm-up, then the long stream.
      const chunks = Math.min(20_000, Number((JSON.parse(raw) as { max_tokens?: number }).max_tokens ?? 20_000));
      stream(res, chunks);
    });
  });
  const stream = (res: http.ServerResponse, chunks: number) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pad = 'x'.repeat(300);
    let i = 0;
    const write = () => {
      while (i < chunks) {
        const event = `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"long","choices":[{"index":0,"delta":{"content":"${pad}${i}"},"finish_reason":null}]}\n\n`;
        i++;
        if (!res.write(event)) return void res.once('drain', write);
      }
      res.end(
        `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"long","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":${chunks},"total_tokens":${chunks + 3}}}\n\ndata: [DONE]\n\n`,
      );
    };
    write();
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

async function addUpstreamModel(stack: Stack, url: string): Promise<void> {
  const res = await fetch(`${stack.url}/admin/v1/models`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'long-upstream',
      enabled: true,
      context_length: 32768,
      capabilities: ['chat'],
      vram_mb: 1,
      engine: 'openai',
      weights: { url: 'none://upstream' },
      upstream_url: url,
    }),
  });
  expect(res.status).toBe(201);
}

const UPSTREAM_LONG = { model: 'long-upstream', messages: [{ role: 'user', content: 'everything' }], max_tokens: 30000, stream: true };

describe('a client that stops reading', () => {
  let stack: Booted;
  let upstream: Awaited<ReturnType<typeof longUpstream>>;
  beforeAll(async () => {
    upstream = await longUpstream();
    stack = await bootStack({
      vars: { PORTEN_STREAM_WINDOW_KB: String(WINDOW_KB) },
      agents: [{ nodeId: 'bp', budgetMb: 4096, maxConcurrency: 8, env: { PORTEN_OPENAI_UPSTREAM_ALLOW: upstream.url } }],
    });
    await waitForNode(stack, 'bp');
    await addUpstreamModel(stack, upstream.url);
    for (const model of ['long-upstream', 'demo-small']) {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'warm' }], max_tokens: 2, stream: true }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.close();
  });

  it('holds at most one window for it for 30 s, slows only its own stream, and gives it everything once it reads again', async () => {
    const before: number[] = [];
    for (let i = 0; i < 8; i++) before.push(await ttft(stack));
    const slow = slowClient(stack, UPSTREAM_LONG, 30);
    await waitFor('the slow client to get its first bytes', () => slow.events.some((e) => e.event === 'first'));
    // Meanwhile other streams on the same node start as fast as before.
    const during: number[] = [];
    const stallEnd = Date.now() + 25_000;
    while (Date.now() < stallEnd) {
      during.push(await ttft(stack));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const held = await waitFor('the node link to report its buffer', async () => (await bufferedMax(stack, 'bp')) || null);
    console.log(
      `slow client for 30 s: edge held at most ${held} bytes for it (bound ${BOUND_BYTES}); other streams' TTFT p50 ${median(before).toFixed(1)} ms before, ${median(during).toFixed(1)} ms during (${during.length} streams)`,
    );
    // The stall filled the stream's window at the edge (the kernel's buffers took their share first), and no more.
    expect(held).toBeGreaterThanOrEqual(WINDOW_KB * 1024);
    expect(held).toBeLessThanOrEqual(BOUND_BYTES);
    expect(during.length).toBeGreaterThanOrEqual(10);
    await slow.exited;
    const end = slow.events.find((e) => e.event === 'end')!;
    expect(end).toMatchObject({ done: true, error: false });
    // Far more than the edge ever held: the rest waited at the node, not in the edge.
    expect(end.bytes as number).toBeGreaterThan(2 * held);
  }, 120_000);
});

describe('a client stalled past the limit', () => {
  let stack: Booted;
  let upstream: Awaited<ReturnType<typeof longUpstream>>;
  beforeAll(async () => {
    upstream = await longUpstream();
    stack = await bootStack({
      vars: { PORTEN_STREAM_WINDOW_KB: String(WINDOW_KB), PORTEN_CLIENT_STALL_S: '3' },
      // The node's owner allows the upstream the catalog entry names (nodes front no other URL).
      agents: [{ nodeId: 'stall', budgetMb: 4096, env: { PORTEN_OPENAI_UPSTREAM_ALLOW: upstream.url } }],
    });
    await waitForNode(stack, 'stall');
    await addUpstreamModel(stack, upstream.url);
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(UPSTREAM_LONG),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data: [DONE]');
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.close();
  });

  it('holds about one window of an 8 MB stream, then gives a clear in-band error and ends it; the node is told to stop', async () => {
    const slow = slowClient(stack, UPSTREAM_LONG, 10);
    await slow.exited;
    const end = slow.events.find((e) => e.event === 'end')!;
    expect(end).toMatchObject({ done: false, error: true });
    const held = await waitFor('the node link to report its buffer', async () => (await bufferedMax(stack, 'stall')) || null);
    console.log(`8 MB stream, client stalled 10 s with a 3 s limit: edge held at most ${held} bytes (bound ${BOUND_BYTES}); client got ${end.bytes} bytes`);
    expect(held).toBeLessThanOrEqual(BOUND_BYTES);
    expect(end.bytes as number).toBeLessThan(8_000_000);
    const agent = stack.agents[0];
    await waitFor('the agent to stop the generation', () =>
      agent.output.map((l) => JSON.parse(l) as Record<string, unknown>).some((l) => l.msg === 'request' && l.aborted === 'cancelled'),
    );
  }, 120_000);
});
