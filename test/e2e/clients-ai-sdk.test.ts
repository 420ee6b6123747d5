import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type Recorder, startRecorder } from './client-recorder';
import { requestBody, servedAnswer } from './client-wire';
import { bootStack, waitForNode } from './support';

// The Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`) against one real stack, through a recorder that keeps
// what went over the wire. Random weights make the words noise: the tests check the protocol (what the SDK sent,
// that porten served it in full, that the SDK surfaced exactly what porten sent) and never the words.

const MODEL = 'demo-qwen2.5';

let stack: Awaited<ReturnType<typeof bootStack>>;
let rec: Recorder;
let provider: ReturnType<typeof createOpenAICompatible>;

beforeAll(async () => {
  stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
  await waitForNode(stack, 'node-a');
  rec = await startRecorder(stack.url);
  // The settings a porten user picks: usage on streams, and json_schema rather than bare json_object.
  provider = createOpenAICompatible({ name: 'porten', baseURL: rec.url, apiKey: stack.apiKey, includeUsage: true, supportsStructuredOutputs: true });
});

afterAll(async () => {
  await rec?.close();
  await stack?.stop();
});

const Weather = z.object({ city: z.string().max(12), unit: z.enum(['c', 'f']) });
const weatherTool = tool({
  description: 'Current weather for a city',
  inputSchema: Weather,
  execute: async ({ city, unit }) => ({ city, unit, temperature: 21 }),
});

describe('Vercel AI SDK', () => {
  it('generateText: the text, finish reason and usage are what porten sent', async () => {
    const { result, sent } = await rec.during(() => generateText({ model: provider.chatModel(MODEL), prompt: 'Say hi', maxOutputTokens: 12, seed: 1 }));
    expect(sent).toHaveLength(1);
    expect(requestBody(sent[0])).toEqual({ model: MODEL, max_tokens: 12, seed: 1, messages: [{ role: 'user', content: 'Say hi' }] });
    const wire = servedAnswer(sent[0]);
    expect(result.text).toBe(wire.content);
    expect(result.finishReason).toBe(wire.finishReason);
    expect(result.usage.inputTokens).toBe(wire.usage?.prompt_tokens);
    expect(result.usage.outputTokens).toBe(wire.usage?.completion_tokens);
  });

  it('streamText: the deltas add up to the streamed text, and the usage chunk arrives', async () => {
    const { result, sent } = await rec.during(async () => {
      const stream = streamText({ model: provider.chatModel(MODEL), system: 'Be brief.', prompt: 'Say hi', maxOutputTokens: 12, seed: 2 });
      let text = '';
      for await (const delta of stream.textStream) text += delta;
      return { text, usage: await stream.usage, finishReason: await stream.finishReason };
    });
    const body = requestBody(sent[0]);
    expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hi' },
    ]);
    const wire = servedAnswer(sent[0]);
    expect(result.text).toBe(wire.content);
    expect(result.finishReason).toBe(wire.finishReason);
    expect(wire.usage).not.toBeNull();
    expect(result.usage.inputTokens).toBe(wire.usage!.prompt_tokens);
    expect(result.usage.outputTokens).toBe(wire.usage!.completion_tokens);
  });

  it('structured output from a zod schema goes out as json_schema and comes back schema-valid', async () => {
    const Person = z.object({ name: z.string().max(10), age: z.number().int(), role: z.enum(['dev', 'ops']) });
    const { result, sent } = await rec.during(() =>
      generateText({ model: provider.chatModel(MODEL), prompt: 'A person', maxOutputTokens: 80, seed: 3, output: Output.object({ schema: Person }) }),
    );
    const format = requestBody(sent[0]).response_format as { type: string; json_schema: { name: string; strict: boolean; schema: { required: string[] } } };
    expect(format).toMatchObject({ type: 'json_schema', json_schema: { name: 'response', strict: true } });
    expect(format.json_schema.schema.required).toEqual(['name', 'age', 'role']);
    expect(Person.safeParse(result.output).success).toBe(true);
    expect(result.output).toEqual(JSON.parse(servedAnswer(sent[0]).content));
  });

  it('runs a multi-step tool round trip: forced call, tool result sent back, then an answer', async () => {
    const { result, sent } = await rec.during(() =>
      generateText({
        model: provider.chatModel(MODEL),
        prompt: 'Weather in Oslo?',
        tools: { get_weather: weatherTool },
        // Forced on the first step so random weights still call; free text after the result.
        prepareStep: ({ stepNumber }) => (stepNumber === 0 ? { toolChoice: { type: 'tool', toolName: 'get_weather' } } : { toolChoice: 'none' }),
        stopWhen: stepCountIs(3),
        maxOutputTokens: 60,
        seed: 4,
      }),
    );
    expect(sent).toHaveLength(2);
    const [first, second] = sent.map(requestBody);
    expect(first.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(first.tools).toEqual([{ type: 'function', function: expect.objectContaining({ name: 'get_weather', description: 'Current weather for a city' }) }]);
    const call = servedAnswer(sent[0]).toolCalls[0];
    expect(call.name).toBe('get_weather');

    const [step1, step2] = result.steps;
    expect(step1.finishReason).toBe('tool-calls');
    expect(step1.toolCalls).toHaveLength(1);
    expect(step1.toolCalls[0]).toMatchObject({ toolCallId: call.id, toolName: 'get_weather', input: JSON.parse(call.arguments) });
    expect(Weather.safeParse(step1.toolCalls[0].input).success).toBe(true);
    expect(step1.toolResults[0].output).toMatchObject({ temperature: 21 });

    // The second request carries the call and its result, tied by the call id porten minted.
    expect(second.tool_choice).toBe('none');
    // (The SDK re-serialises the arguments it parsed, so they are compared as JSON.)
    const history = second.messages as Array<{ tool_calls?: Array<{ function: { arguments: string } }> }>;
    expect(JSON.parse(history[1].tool_calls![0].function.arguments)).toEqual(JSON.parse(call.arguments));
    expect(history).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: expect.any(String) } }] },
      { role: 'tool', tool_call_id: call.id, content: JSON.stringify(step1.toolResults[0].output) },
    ]);
    const answer = servedAnswer(sent[1]);
    expect(step2.text).toBe(answer.content);
    expect(['stop', 'length']).toContain(answer.finishReason);
    expect(result.text).toBe(answer.content);
  });

  it('streams a forced tool call that the SDK assembles from delta.tool_calls', async () => {
    const { result, sent } = await rec.during(async () => {
      const stream = streamText({
        model: provider.chatModel(MODEL),
        prompt: 'Weather in Rome?',
        tools: { get_weather: tool({ description: 'Current weather for a city', inputSchema: Weather }) },
        toolChoice: { type: 'tool', toolName: 'get_weather' },
        maxOutputTokens: 60,
        seed: 5,
      });
      const parts: string[] = [];
      for await (const part of stream.fullStream) parts.push(part.type);
      return { parts, toolCalls: await stream.toolCalls, finishReason: await stream.finishReason };
    });
    const wire = servedAnswer(sent[0]);
    expect(wire.finishReason).toBe('tool_calls');
    expect(result.parts).toContain('tool-call');
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({ toolCallId: wire.toolCalls[0].id, toolName: 'get_weather' });
    expect(Weather.safeParse(result.toolCalls[0].input).success).toBe(true);
  });

  it('reads reasoning_content from a reasoning model into reasoning parts, and sends it back on the next turn', async () => {
    const r1 = provider.chatModel('demo-r1');
    const { result, sent } = await rec.during(() => generateText({ model: r1, prompt: 'Think first', maxOutputTokens: 60, seed: 7 }));
    const wire = servedAnswer(sent[0]);
    expect(wire.reasoning.length).toBeGreaterThan(0);
    expect(result.reasoningText).toBe(wire.reasoning);
    expect(result.text).toBe(wire.content);
    expect(result.usage.outputTokenDetails.reasoningTokens).toBe((wire.usage?.completion_tokens_details as { reasoning_tokens?: number })?.reasoning_tokens);

    // The next turn carries the earlier thoughts back as reasoning_content on the assistant message; porten accepts it.
    const next = await rec.during(() =>
      generateText({
        model: r1,
        messages: [{ role: 'user', content: 'Think first' }, ...result.response.messages, { role: 'user', content: 'Again' }],
        maxOutputTokens: 8,
        seed: 8,
      }),
    );
    const history = requestBody(next.sent[0]).messages as Array<Record<string, unknown>>;
    expect(history[1]).toMatchObject({ role: 'assistant', reasoning_content: wire.reasoning });
    expect(next.result.text).toBe(servedAnswer(next.sent[0]).content);
  });

  it('streams reasoning as reasoning parts, apart from the text', async () => {
    const { result, sent } = await rec.during(async () => {
      const stream = streamText({ model: provider.chatModel('demo-r1'), prompt: 'Think first', maxOutputTokens: 60, seed: 9 });
      const kinds = new Set<string>();
      for await (const part of stream.fullStream) kinds.add(part.type);
      return { kinds, reasoning: await stream.reasoningText, text: await stream.text };
    });
    const wire = servedAnswer(sent[0]);
    expect(wire.reasoning.length).toBeGreaterThan(0);
    expect(result.kinds).toContain('reasoning-delta');
    expect(result.reasoning).toBe(wire.reasoning);
    expect(result.text).toBe(wire.content);
  });

  it("passes the SDK's reasoning setting on as reasoning_effort instead of refusing it", async () => {
    const { result, sent } = await rec.during(() =>
      generateText({ model: provider.chatModel(MODEL), prompt: 'Think', reasoning: 'low', maxOutputTokens: 8, seed: 6 }),
    );
    expect(requestBody(sent[0]).reasoning_effort).toBe('low');
    expect(result.text).toBe(servedAnswer(sent[0]).content);
  });

  // The SDK sends tools and response_format together when a call has both; the builtin engine constrains one
  // grammar per turn, so it refuses the pair up front with a 400 naming response_format (docs/clients.md).
  it('refuses tools combined with structured output with a clear 400 the SDK surfaces', async () => {
    const { result, sent } = await rec.during(() =>
      generateText({
        model: provider.chatModel(MODEL),
        prompt: 'Weather in Oslo?',
        tools: { get_weather: weatherTool },
        output: Output.object({ schema: z.object({ summary: z.string().max(20) }) }),
        maxOutputTokens: 40,
        maxRetries: 0,
      }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(requestBody(sent[0])).toHaveProperty('response_format.type', 'json_schema');
    expect(requestBody(sent[0])).toHaveProperty('tools');
    expect(APICallError.isInstance(result)).toBe(true);
    expect((result as APICallError).statusCode).toBe(400);
    expect(JSON.parse((result as APICallError).responseBody ?? '{}')).toMatchObject({ error: { code: 'invalid_request', param: 'response_format' } });
  });

  it("surfaces porten's errors as APICallError with status, code and message", async () => {
    const err = await generateText({ model: provider.chatModel('no-such-model'), prompt: 'hi', maxRetries: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(APICallError.isInstance(err)).toBe(true);
    const e = err as APICallError;
    expect(e.statusCode).toBe(404);
    expect(e.isRetryable).toBe(false);
    expect(e.message).toMatch(/^The model 'no-such-model' does not exist/);
    expect(JSON.parse(e.responseBody ?? '{}')).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
  });
});
