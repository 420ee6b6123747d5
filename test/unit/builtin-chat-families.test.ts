import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { Engine } from '../../nodes/engines/builtin/engine';
import { AGENT_TOOLS, FAMILIES } from './helpers/chat-families';
import { assembled, chat, demoEngine } from './helpers/engine-run';

// The real engine on each family's demo GGUF: what its grammar makes the model write is the family's own call
// syntax, read back into OpenAI tool calls; streamed and non-streamed answers are the same message.

/** zod mirror of the agent tools' parameter schemas (the types these tests use). */
function zodOf(schema: { properties: Record<string, unknown> }) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, p] of Object.entries(schema.properties as Record<string, Record<string, unknown>>)) {
    if (p.type === 'string') shape[key] = z.string().max(p.maxLength as number);
    else if (p.type === 'integer') shape[key] = z.number().int().finite();
    else if (p.type === 'boolean') shape[key] = z.boolean();
    else shape[key] = z.array(z.string().max(16)).max(3);
  }
  return z.object(shape).strict();
}

function expectValidCall(call: { function: { name: string; arguments: string } }) {
  const tool = AGENT_TOOLS.find((t) => t.function.name === call.function.name);
  expect(tool, call.function.name).toBeDefined();
  const parsed = zodOf(tool!.function.parameters).safeParse(JSON.parse(call.function.arguments));
  expect(parsed.success, call.function.arguments).toBe(true);
}

/** The token that opens each family's call region in free text, to push `auto` into a call with logit_bias. */
const MARKER_TOKEN: Record<string, string> = { 'demo-qwen2.5': '<tool_call>', 'demo-llama3.1': '<|python_tag|>', 'demo-mistral': '[TOOL_CALLS]' };

const promptFigures: string[] = [];
afterAll(() => {
  // Measured figures for docs/models.md: prompt tokens of a 12-tool coding-agent request, per family.
  if (promptFigures.length) console.log(`12-tool request prompt tokens: ${promptFigures.join(', ')}`);
});

describe.each(FAMILIES)('$id', (f) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await demoEngine(f.id);
  }, 120_000);
  afterAll(async () => engine?.dispose());

  const request = {
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: 'Fix the failing test.' },
    ],
    tools: AGENT_TOOLS,
  };

  it('writes a required call in its own syntax under the grammar, read back as a schema-valid tool call', async () => {
    const { result, whole, events, promptTokens } = await chat(engine, {
      ...request,
      tool_choice: 'required',
      seed: 1,
      max_tokens: 300,
      reasoning_effort: 'none',
    });
    promptFigures.push(`${f.id} ${promptTokens}`);
    const native = {
      hermes: '<tool_call>\n{"name": "',
      llama3: '{"name": "',
      mistral: '[TOOL_CALLS][{"name": "',
      deepseek: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>',
    }[f.syntax];
    expect(result.text.startsWith(native), result.text).toBe(true);
    expect(whole.choices[0].finish_reason).toBe('tool_calls');
    const calls = whole.choices[0].message.tool_calls as Array<{ id: string; function: { name: string; arguments: string } }>;
    expect(calls.length).toBeGreaterThanOrEqual(1);
    for (const c of calls) expectValidCall(c);
    // The stream carried the same calls: same ids, names and argument text.
    expect(assembled(events).calls).toEqual(calls);
    expect(whole.choices[0].message.content).toBeNull();
  });

  it('forces a named tool and streams its arguments in pieces', async () => {
    const { whole, events } = await chat(engine, {
      ...request,
      tool_choice: { type: 'function', function: { name: 'grep' } },
      seed: 2,
      max_tokens: 300,
      reasoning_effort: 'none',
    });
    const calls = whole.choices[0].message.tool_calls as Array<{ function: { name: string; arguments: string } }>;
    expect(calls.map((c) => c.function.name).every((n) => n === 'grep')).toBe(true);
    for (const c of calls) expectValidCall(c);
    const deltas = events.flatMap((e) => (e.choices[0]?.delta.tool_calls ?? []) as Array<{ id?: string }>);
    expect(deltas[0].id).toBeDefined();
    expect(deltas.length).toBeGreaterThan(2);
  });

  it('answers in free text when auto does not call, with content streamed as generated', async () => {
    const { whole, events } = await chat(engine, { ...request, seed: 4, max_tokens: 40 });
    const msg = whole.choices[0].message;
    expect(msg.tool_calls).toBeUndefined();
    const streamed = assembled(events);
    expect(streamed.content).toBe(msg.content);
    expect(streamed.reasoning).toBe(msg.reasoning_content ?? '');
  });
});

describe.each(Object.entries(MARKER_TOKEN))('%s in auto mode', (id, markerText) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await demoEngine(id);
  }, 120_000);
  afterAll(async () => engine?.dispose());

  it('constrains only what follows the call marker once the model writes it', async () => {
    const [marker] = engine.model.tokenize(markerText, true);
    const { result, whole } = await chat(engine, {
      messages: [{ role: 'user', content: 'Fix the failing test.' }],
      tools: AGENT_TOOLS,
      seed: 3,
      max_tokens: 300,
      logit_bias: { [marker]: 100 },
      parallel_tool_calls: false,
    });
    expect(result.text.startsWith(markerText)).toBe(true);
    const calls = whole.choices[0].message.tool_calls as Array<{ function: { name: string; arguments: string } }>;
    expect(calls).toHaveLength(1);
    expectValidCall(calls[0]);
  });
});

describe('demo-r1 reasons', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await demoEngine('demo-r1');
  }, 120_000);
  afterAll(async () => engine?.dispose());

  it('returns its <think> block as reasoning_content, never in content, and counts its tokens', async () => {
    const { result, whole, events } = await chat(engine, { messages: [{ role: 'user', content: 'What is 2 + 2?' }], seed: 5, max_tokens: 300 });
    const msg = whole.choices[0].message;
    expect(typeof msg.reasoning_content).toBe('string');
    expect((msg.reasoning_content as string).length).toBeGreaterThan(0);
    expect(msg.content).not.toContain('</think>');
    expect(msg.content).not.toContain('<think>');
    const usage = whole.usage as { completion_tokens: number; completion_tokens_details: { reasoning_tokens: number } };
    expect(usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens_details.reasoning_tokens).toBe(result.reasoningTokens);
    expect(usage.completion_tokens_details.reasoning_tokens).toBeLessThanOrEqual(usage.completion_tokens);
    const streamed = assembled(events);
    expect(streamed.reasoning).toBe(msg.reasoning_content);
    expect(streamed.content).toBe(msg.content);
  });

  it('thinks first, then writes the JSON a response_format asks for', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'] };
    const { whole } = await chat(engine, {
      messages: [{ role: 'user', content: 'What is 2 + 2?' }],
      seed: 6,
      max_tokens: 600,
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema } },
    });
    const msg = whole.choices[0].message;
    expect(whole.choices[0].finish_reason).toBe('stop');
    expect((msg.reasoning_content as string).length).toBeGreaterThan(0);
    expect(z.object({ answer: z.number().int() }).safeParse(JSON.parse(msg.content as string)).success).toBe(true);
  });

  it('does not think with reasoning_effort none', async () => {
    const { whole } = await chat(engine, { messages: [{ role: 'user', content: 'Hi' }], seed: 7, max_tokens: 30, reasoning_effort: 'none' });
    expect(whole.choices[0].message.reasoning_content).toBeUndefined();
    expect((whole.usage as { completion_tokens_details: { reasoning_tokens: number } }).completion_tokens_details.reasoning_tokens).toBe(0);
  });
});
