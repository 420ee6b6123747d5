import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaServerSpec, MODEL_LOADED } from '../../nodes/engines/llama-server';

// llama.cpp logs from a worker thread: on a busy machine /health can answer 200 while buffer lines are
// still queued, and a memory figure taken then is short (seen as 51 MB instead of 117 MB for demo-large
// across two RPC workers). Readiness waits for the `model loaded` line, which comes after every buffer line.
// The HTTP side is a real local server answering as llama-server does once loaded.

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/health') res.end('{"status":"ok"}');
    else if (req.url === '/props') res.end('{"chat_template_caps":{"supports_tools":true}}');
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const spec = () => {
  const s = llamaServerSpec({ binary: '/bin/llama-server', modelPath: '/m.gguf', model: 'm', contextLength: 512, threads: 1, parallel: 1 }, { kind: 'none' });
  s.command?.(1);
  return s;
};
const probe = (s: ReturnType<typeof spec>) => s.probe(base, new AbortController().signal);

describe('llama-server readiness and the load log', () => {
  it('is not ready on /health alone while the load log has not said `model loaded`', async () => {
    const s = spec();
    s.onOutput('0.00.063.877 I load_tensors: RPC0[127.0.0.1:50061] model buffer size =    39.01 MiB');
    expect(await probe(s)).toEqual({ ready: false, detail: 'waiting for the load log (memory)' });
    // The rest of the log arrives late, ending with the line llama-server prints once loaded.
    s.onOutput('0.00.064.125 I llama_kv_cache: RPC0[127.0.0.1:50061] KV buffer size =    10.00 MiB');
    s.onOutput('0.00.073.502 I sched_reserve: RPC0[127.0.0.1:50062] compute buffer size =    17.04 MiB');
    s.onOutput('0.00.083.460 I srv  llama_server: model loaded');
    expect(await probe(s)).toEqual({ ready: true, vramMb: 67 });
    expect(s.runtime.caps).toEqual({ supports_tools: true });
  });

  it('a restart forgets the previous process’s log', async () => {
    const s = spec();
    s.onOutput('0.00.083.460 I srv  llama_server: model loaded');
    s.command?.(2);
    expect(await probe(s)).toMatchObject({ ready: false });
  });

  it.each([
    ['0.00.083.460 I srv  llama_server: model loaded', true],
    ['0.00.083.460 I srv          main: model loaded', true],
    ['0.00.083.481 I srv  llama_server: listening on http://127.0.0.1:18999', false],
    ['0.00.040.000 I llama_model_loader: model loaded from cache? no', false],
  ])('MODEL_LOADED %s → %s', (line, want) => {
    expect(MODEL_LOADED.test(line)).toBe(want);
  });
});
