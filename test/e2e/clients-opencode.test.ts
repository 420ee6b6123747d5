import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { opencodeBinary, opencodeHome, runCli } from './client-clis';
import { clientHarness } from './client-harness';
import { requestBody, servedChats } from './client-wire';

// OpenCode (npm `opencode-ai`), run non-interactively as a user would (`opencode run`), with porten configured as
// a custom OpenAI-compatible provider. It sends its full agent prompt with its ten described tools and
// tool_choice "auto", so it needs a long-context model: demo-qwen2.5 (32k, Qwen2.5's tokenizer and template).
// The run is offline: OpenCode's own switches are off and a refusing proxy catches anything that tries the network.

const MODEL = 'demo-qwen2.5';
const RUN_TIMEOUT_MS = 150_000;

const h = clientHarness('opencode');

// `opencode run --format json` prints one JSON event per line.
const RunEvent = z.looseObject({ type: z.string(), part: z.looseObject({ type: z.string() }).optional(), error: z.unknown().optional() });
const StepFinish = z.object({
  reason: z.string(),
  tokens: z.object({ input: z.number(), output: z.number(), reasoning: z.number().optional() }).loose(),
});

function events(stdout: string) {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => RunEvent.parse(JSON.parse(l)));
}

describe('OpenCode', () => {
  it('completes a turn: its agent prompt and tools reach porten, the answer streams back, OpenCode ends cleanly', async () => {
    const where = opencodeHome(path.join(h.scratch, 'turn'), {
      baseURL: h.rec.url,
      apiKey: h.stack.apiKey,
      model: MODEL,
      contextLength: 32768,
      outputTokens: 32,
    });
    Object.assign(where.env, h.trap.env);
    const run = await runCli(opencodeBinary(), ['run', '--format', 'json', 'List the files in this project.'], where, RUN_TIMEOUT_MS);
    const out = events(run.stdout);
    expect(
      out.filter((e) => e.type === 'error'),
      run.stderr.slice(-2000),
    ).toEqual([]);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);

    // Every request OpenCode made was accepted and served in full (200, valid chunks, [DONE]).
    const chats = servedChats(h.rec.exchanges);
    const agentTurns = chats.filter((c) => (requestBody(c.ex).tools as unknown[] | undefined)?.length);
    expect(agentTurns.length).toBeGreaterThanOrEqual(1);

    // The first agent request: system prompt, the user's words, its tools described, tool_choice auto, streamed with usage.
    const first = requestBody(agentTurns[0].ex);
    expect(first).toMatchObject({ model: MODEL, stream: true, stream_options: { include_usage: true }, tool_choice: 'auto', max_tokens: 32 });
    const messages = first.messages as Array<{ role: string; content: unknown }>;
    expect(messages[0].role).toBe('system');
    expect(messages.at(-1)?.role).toBe('user');
    expect(messages.at(-1)?.content).toContain('List the files in this project.');
    const tools = first.tools as Array<{ function: { name: string; description?: string; parameters?: unknown } }>;
    expect(tools.map((t) => t.function.name)).toEqual(expect.arrayContaining(['bash', 'edit', 'glob', 'grep', 'read', 'write']));
    for (const t of tools) expect(t.function.description?.length, t.function.name).toBeGreaterThan(0);

    // What OpenCode reported for its last step is what porten streamed for the last agent request.
    const last = agentTurns.at(-1)!.answer;
    const finish = StepFinish.parse(out.filter((e) => e.type === 'step_finish').at(-1)?.part);
    expect(finish.tokens).toMatchObject({ input: last.usage?.prompt_tokens, output: last.usage?.completion_tokens });
    expect(finish.reason).toBe(last.finishReason === 'tool_calls' ? 'tool-calls' : last.finishReason);
    const texts = out.filter((e) => e.part?.type === 'text').map((e) => (e.part as { text?: string }).text ?? '');
    if (last.content.trim()) expect(texts.at(-1)?.trim()).toBe(last.content.trim());

    expect(h.trap.attempts, 'network attempts').toEqual([]);
  });

  // OpenCode picks reasoning parameters by model id: for ids naming qwen, deepseek-r1, glm, kimi or minimax it
  // sends none; for others marked `reasoning` it sends reasoning_effort. demo-r1 is a reasoning model it does not
  // recognise, so it gets the generic treatment.
  it('with a reasoning model OpenCode sends reasoning_effort, and porten accepts it', async () => {
    const where = opencodeHome(path.join(h.scratch, 'reasoning'), {
      baseURL: h.rec.url,
      apiKey: h.stack.apiKey,
      model: 'demo-r1',
      contextLength: 32768,
      outputTokens: 48,
      reasoning: true,
    });
    Object.assign(where.env, h.trap.env);
    const from = h.rec.exchanges.length;
    const run = await runCli(opencodeBinary(), ['run', '--format', 'json', '--thinking', '--variant', 'high', 'Say hi'], where, RUN_TIMEOUT_MS);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const chats = servedChats(h.rec.exchanges.slice(from));
    // The title request asks for 'low' on its own; the agent turn carries the user's --variant.
    expect(chats.map((c) => requestBody(c.ex).reasoning_effort).sort()).toEqual(['high', 'low']);

    // With --thinking OpenCode shows the model's reasoning: exactly the reasoning_content porten streamed.
    const turn = chats.find((c) => requestBody(c.ex).tools)!.answer;
    expect(turn.reasoning.length).toBeGreaterThan(0);
    const out = events(run.stdout);
    const shown = out.filter((e) => e.part?.type === 'reasoning').map((e) => (e.part as { text?: string }).text ?? '');
    expect(shown.join('').trim()).toBe(turn.reasoning.trim());
    const finish = StepFinish.parse(out.filter((e) => e.type === 'step_finish').at(-1)?.part);
    expect(finish.tokens.reasoning).toBe((turn.usage?.completion_tokens_details as { reasoning_tokens?: number } | undefined)?.reasoning_tokens);
    expect(h.trap.attempts, 'network attempts').toEqual([]);
  });
});
