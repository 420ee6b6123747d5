/**
 * The two GGUF engines side by side on the same model, directly (no edge, no
 * agent relay): time to first token and decode rate of a streamed chat, each
 * engine under the agent's own supervisor and arguments. Prints figures; it
 * asserts nothing (docs/engines.md quotes a run).
 *
 *   node --import tsx scripts/llama-cpp/engine-speed.ts [--model demo-large] [--tokens 256] [--runs 5] [--threads 1]
 */
import { builtinSpec } from '../../nodes/engines/builtin';
import { llamaServerSpec } from '../../nodes/engines/llama-server';
import type { EngineSpec } from '../../nodes/engines/supervisor';
import { Supervisor } from '../../nodes/engines/supervisor';
import { defaultDemoModelsDir, ensureDemoModels } from '../make-demo-models';
import { ensureLlamaCppBuild } from './build';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const model = arg('model', 'demo-large');
const tokens = Number(arg('tokens', '256'));
const runs = Number(arg('runs', '5'));
const threads = Number(arg('threads', '1'));

async function streamOnce(base: string, seed: number): Promise<{ ttftMs: number; tokens: number; decodeTps: number }> {
  const started = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      max_tokens: tokens,
      seed,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  let first = 0;
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const s = decoder.decode(chunk, { stream: true });
    if (!first && s.includes('"content":"') && !s.includes('"content":""')) first = performance.now();
    text += s;
  }
  const end = performance.now();
  const usage = /"completion_tokens":(\d+)/.exec(text.slice(-2000));
  const n = usage ? Number(usage[1]) : 0;
  return { ttftMs: (first || end) - started, tokens: n, decodeTps: n > 1 ? (n - 1) / ((end - (first || end)) / 1000) : 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(name: string, spec: EngineSpec & { onOutput?: (l: string) => void }) {
  const s = new Supervisor(spec, { onOutput: spec.onOutput, startTimeoutMs: 300_000 });
  const t0 = performance.now();
  const { baseUrl, vramMb } = await s.ensureReady();
  const loadMs = performance.now() - t0;
  try {
    await streamOnce(baseUrl, 0); // warm-up
    const rows = [];
    for (let i = 1; i <= runs; i++) rows.push(await streamOnce(baseUrl, i));
    return {
      engine: name,
      load_ms: Math.round(loadMs),
      vram_mb: vramMb,
      ttft_ms: Math.round(median(rows.map((r) => r.ttftMs)) * 10) / 10,
      decode_tps: Math.round(median(rows.map((r) => r.decodeTps))),
      tokens: median(rows.map((r) => r.tokens)),
    };
  } finally {
    await s.stop();
  }
}

const { llamaServer } = await ensureLlamaCppBuild();
const file = (await ensureDemoModels(defaultDemoModelsDir())).find((m) => m.id === model);
if (!file) throw new Error(`no demo model ${model}`);
const base = { modelPath: file.path, model, contextLength: 1024, threads, parallel: 1 };
const results = [await measure('builtin', builtinSpec(base)), await measure('llama-server', llamaServerSpec({ ...base, binary: llamaServer }))];
console.table(results);
process.stdout.write(`${JSON.stringify({ model, tokens, runs, threads, results })}\n`);
