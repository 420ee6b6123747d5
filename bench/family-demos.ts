/**
 * Figures of the family demo models on the builtin engine, in this process:
 * load time, the engine's memory figure and the resident memory of a real engine process, prompt
 * tokens and prompt speed of a 12-tool coding-agent request, free-text and
 * grammar-constrained (tool call) generation speed.
 *
 *   node --import tsx bench/family-demos.ts [--threads 1]
 *
 * Same settings as the agent: the catalog's 32k context, 4 parallel sequences.
 * Figures, not pass/fail (docs/models.md quotes them).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareChat, runChat } from '../nodes/engines/builtin/chat-generate';
import { loadEngine } from '../nodes/engines/builtin/engine';
import { ChatCompletionRequestSchema } from '../nodes/engines/builtin/openai-schema';
import { defaultDemoModelsDir, ensureDemoModels } from '../scripts/make-demo-models';
import { AGENT_TOOLS } from '../test/unit/helpers/chat-families';

const at = process.argv.indexOf('--threads');
const threads = at > 0 ? Number(process.argv[at + 1]) : 1;
const MODELS = ['demo-qwen2.5', 'demo-llama3.1', 'demo-mistral', 'demo-r1'];
const dir = defaultDemoModelsDir();
await ensureDemoModels(dir);

/** Resident memory (MiB) of a builtin engine process serving `id` as the agent starts it, once healthy. */
async function engineRssMb(id: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'nodes/engines/builtin/server.ts',
      '--model',
      join(dir, `${id}.gguf`),
      '--port',
      '0',
      '--ctx',
      '32768',
      '--parallel',
      '4',
      '--threads',
      String(threads),
      '--gpu',
      'false',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    while (!/ready: /.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`engine exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  } finally {
    child.kill('SIGTERM');
  }
}

const rows: string[] = [];
for (const id of MODELS) {
  const rssMb = await engineRssMb(id);
  const t0 = performance.now();
  const engine = await loadEngine({ model: join(dir, `${id}.gguf`), host: '127.0.0.1', port: 0, ctx: 32768, threads, parallel: 4, name: id, gpu: 'false' });
  const loadMs = performance.now() - t0;
  const signal = new AbortController().signal;
  const request = {
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: 'Fix the failing test.' },
    ],
    tools: AGENT_TOOLS,
  };

  // Prompt speed: one token generated, so the time is the prompt's evaluation.
  const eos = engine.model.tokens.eos;
  const p1 = await prepareChat(engine, ChatCompletionRequestSchema.parse({ ...request, max_tokens: 1, seed: 1 }));
  let t = performance.now();
  await runChat(engine, p1, signal);
  const promptMs = performance.now() - t;

  // Free text: end-of-generation banned, so every run produces the full 200 tokens.
  const free = await prepareChat(
    engine,
    ChatCompletionRequestSchema.parse({
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 200,
      seed: 2,
      reasoning_effort: 'none',
      logit_bias: eos === null ? undefined : { [eos]: -100 },
    }),
  );
  t = performance.now();
  const freeRun = await runChat(engine, free, signal);
  const freeTps = freeRun.usage.completion_tokens / ((performance.now() - t) / 1000);

  // A forced call under the tools' grammar (after the 12-tool prompt, which is cached by now).
  const forced = await prepareChat(
    engine,
    ChatCompletionRequestSchema.parse({ ...request, tool_choice: 'required', max_tokens: 200, seed: 3, reasoning_effort: 'none' }),
  );
  t = performance.now();
  const callRun = await runChat(engine, forced, signal);
  const callTps = callRun.usage.completion_tokens / ((performance.now() - t) / 1000);

  rows.push(
    `| ${id} | ${loadMs.toFixed(0)} | ${engine.vramMb} | ${rssMb.toFixed(0)} | ${p1.promptTokens} | ${((p1.promptTokens / promptMs) * 1000).toFixed(0)} | ${freeTps.toFixed(0)} | ${callTps.toFixed(0)} (${callRun.usage.completion_tokens} tokens) |`,
  );
  await engine.dispose();
}

console.log(`threads ${threads}, context 32768 x 4 sequences`);
console.log(
  '| model | load ms | engine vram_mb | engine process RSS MB | 12-tool prompt tokens | prompt tokens/s | free text tokens/s | tool call tokens/s (grammar) |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
