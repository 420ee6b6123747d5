/**
 * `node --import tsx bench/clients.ts [model]`: what the coding-agent CLIs cost and send.
 *
 * Runs OpenCode and the Continue CLI twice each (cold model, then warm) against the
 * real local stack through the wire recorder, and prints per client: how long the
 * CLI takes from spawn to its first request, how long porten took per request,
 * porten's `usage.prompt_tokens`, and the size of what was sent (message texts plus
 * the tools' JSON) counted with two real tokenizers (llama.cpp's vocabulary-only
 * GGUFs for Qwen2 and Llama 3). Figures, not pass/fail; docs/clients.md quotes them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getLlama } from 'node-llama-cpp';
import { ensureLlamaCppSource, vocabPath } from '../scripts/llama-cpp/source';
import { type ClientTarget, continueEntry, continueHome, opencodeBinary, opencodeHome, runCli } from '../test/e2e/client-clis';
import { type Exchange, startRecorder } from '../test/e2e/client-recorder';
import { startNetworkTrap } from '../test/e2e/network-trap';
import { bootStack, waitForNode } from '../test/e2e/support';

const model = process.argv[2] ?? 'demo-qwen2.5';
const llama = await getLlama({ gpu: false });
const src = ensureLlamaCppSource();
const tokenizers = await Promise.all(
  ['qwen2', 'llama-bpe'].map(async (vocab) => ({ vocab, model: await llama.loadModel({ modelPath: vocabPath(src, vocab), vocabOnly: true }) })),
);

interface ChatBody {
  messages: Array<{ content: unknown }>;
  tools?: unknown[];
}

function sentText(ex: Exchange): string {
  const body = ex.body as ChatBody;
  const messages = body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
  return `${messages}\n${body.tools ? JSON.stringify(body.tools) : ''}`;
}

const stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
await waitForNode(stack, 'node-a');
const rec = await startRecorder(stack.url);
const trap = await startNetworkTrap();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'porten-bench-clients-'));
const target: ClientTarget = { baseURL: rec.url, apiKey: stack.apiKey, model, contextLength: 32768, outputTokens: 32 };

console.log(`model ${model}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
try {
  for (const round of ['cold', 'warm']) {
    for (const client of ['opencode', 'continue'] as const) {
      const dir = path.join(scratch, `${client}-${round}`);
      const from = rec.exchanges.length;
      const started = Date.now();
      const prompt = 'List the files in this project.';
      let run: Awaited<ReturnType<typeof runCli>>;
      if (client === 'opencode') {
        const where = opencodeHome(dir, target);
        Object.assign(where.env, trap.env);
        run = await runCli(opencodeBinary(), ['run', '--format', 'json', prompt], where, 300_000);
      } else {
        const where = continueHome(dir, target);
        Object.assign(where.env, trap.env, { PATH: path.dirname(process.execPath) });
        run = await runCli(process.execPath, [continueEntry(), '-p', '--config', where.configFile, prompt], where, 300_000);
      }
      const sent = rec.exchanges.slice(from);
      const firstAt = Math.min(...sent.map((e) => e.startedAt));
      console.log(`${client} (${round}): exit ${run.code}, ${Date.now() - started} ms in all, first request after ${firstAt - started} ms`);
      for (const ex of sent) {
        const usage = /"prompt_tokens":(\d+)/.exec(ex.response)?.[1] ?? '?';
        const counts = tokenizers.map((t) => `${t.vocab} ${t.model.tokenize(sentText(ex)).length}`).join(', ');
        const tools = (ex.body as ChatBody).tools?.length ?? 0;
        console.log(`  ${ex.endedAt - ex.startedAt} ms at porten, ${tools} tools, porten prompt_tokens ${usage}, sent text: ${counts} tokens`);
      }
    }
  }
  console.log(`network attempts: ${trap.attempts.join(', ') || 'none'}`);
} finally {
  await rec.close();
  await trap.close();
  await stack.stop();
  rmSync(scratch, { recursive: true, force: true });
}
