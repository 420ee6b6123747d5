import { type AIMessageChunk, HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type Recorder, startRecorder } from './client-recorder';
import { requestBody, servedAnswer } from './client-wire';
import { bootStack, waitForNode } from './support';

// LangChain's `ChatOpenAI` (`@langchain/openai`, pointed at porten with `configuration.baseURL`) against one real
// stack, through a recorder. As everywhere with random weights: protocol, never words.

const MODEL = 'demo-qwen2.5';

let stack: Awaited<ReturnType<typeof bootStack>>;
let rec: Recorder;

beforeAll(async () => {
  stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
  await waitForNode(stack, 'node-a');
  rec = await startRecorder(stack.url);
});

afterAll(async () => {
  await rec?.close();
  await stack?.stop();
});

function chat(fields: ConstructorParameters<typeof ChatOpenAI>[0] = {}) {
  return new ChatOpenAI({ model: MODEL, apiKey: stack.apiKey, configuration: { baseURL: rec.url }, maxRetries: 0, maxTokens: 60, ...fields });
}

const Weather = z.object({ city: z.string().max(12), unit: z.enum(['c', 'f']) });
const getWeather = tool(async ({ city, unit }) => JSON.stringify({ city, unit, temperature: 21 }), {
  name: 'get_weather',
  description: 'Current weather for a city',
  schema: Weather,
});

describe('LangChain ChatOpenAI', () => {
  it('invoke: content, finish reason and token usage are what porten sent', async () => {
    const { result, sent } = await rec.during(() => chat({ maxTokens: 12 }).invoke('Say hi', { seed: 1 }));
    expect(requestBody(sent[0])).toEqual({ model: MODEL, stream: false, max_tokens: 12, seed: 1, messages: [{ role: 'user', content: 'Say hi' }] });
    const wire = servedAnswer(sent[0]);
    expect(result.content).toBe(wire.content);
    expect(result.response_metadata.finish_reason).toBe(wire.finishReason);
    expect(result.usage_metadata).toMatchObject({ input_tokens: wire.usage?.prompt_tokens, output_tokens: wire.usage?.completion_tokens });
  });

  it('stream: the chunks concatenate to the streamed content, with usage at the end', async () => {
    const { result, sent } = await rec.during(async () => {
      let merged: AIMessageChunk | undefined;
      for await (const chunk of await chat({ maxTokens: 12 }).stream('Say hi', { seed: 2 })) merged = merged ? merged.concat(chunk) : chunk;
      return merged!;
    });
    expect(requestBody(sent[0])).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const wire = servedAnswer(sent[0]);
    expect(result.content).toBe(wire.content);
    expect(result.usage_metadata).toMatchObject({ input_tokens: wire.usage?.prompt_tokens, output_tokens: wire.usage?.completion_tokens });
  });

  it('bindTools: a forced call parses into tool_calls, and the ToolMessage round trip is answered', async () => {
    const llm = chat();
    const question = new HumanMessage('Weather in Oslo?');
    const { result, sent } = await rec.during(async () => {
      const ai = await llm.bindTools([getWeather], { tool_choice: 'get_weather' }).invoke([question], { seed: 3 });
      const toolMessage = await getWeather.invoke(ai.tool_calls![0]);
      const answer = await llm.invoke([question, ai, toolMessage], { seed: 3 });
      return { ai, toolMessage, answer };
    });
    expect(sent).toHaveLength(2);
    const first = requestBody(sent[0]);
    expect(first.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(first.tools).toEqual([{ type: 'function', function: expect.objectContaining({ name: 'get_weather', description: 'Current weather for a city' }) }]);

    const wireCall = servedAnswer(sent[0]).toolCalls[0];
    expect(result.ai.invalid_tool_calls).toEqual([]);
    expect(result.ai.tool_calls).toEqual([{ id: wireCall.id, name: 'get_weather', args: JSON.parse(wireCall.arguments), type: 'tool_call' }]);
    expect(Weather.safeParse(result.ai.tool_calls![0].args).success).toBe(true);

    const history = requestBody(sent[1]).messages as Array<Record<string, unknown>>;
    expect(history.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(history[1].tool_calls).toEqual([{ id: wireCall.id, type: 'function', function: { name: 'get_weather', arguments: expect.any(String) } }]);
    expect(history[2]).toMatchObject({ tool_call_id: wireCall.id, content: result.toolMessage.content });
    expect(result.answer.content).toBe(servedAnswer(sent[1]).content);
  });

  it('streams a forced tool call that LangChain assembles from tool_call_chunks', async () => {
    const { result, sent } = await rec.during(async () => {
      let merged: AIMessageChunk | undefined;
      const llm = chat().bindTools([getWeather], { tool_choice: 'get_weather' });
      for await (const chunk of await llm.stream('Weather in Rome?', { seed: 4 })) merged = merged ? merged.concat(chunk) : chunk;
      return merged!;
    });
    const wire = servedAnswer(sent[0]);
    expect(wire.finishReason).toBe('tool_calls');
    expect(result.tool_calls).toHaveLength(1);
    expect(result.tool_calls![0]).toMatchObject({ id: wire.toolCalls[0].id, name: 'get_weather' });
    expect(Weather.safeParse(result.tool_calls![0].args).success).toBe(true);
  });

  it('withStructuredOutput (json_schema, the default) returns a schema-valid object', async () => {
    const Person = z.object({ name: z.string().max(10), age: z.number().int(), role: z.enum(['dev', 'ops']) });
    const { result, sent } = await rec.during(() => chat({ maxTokens: 80 }).withStructuredOutput(Person).invoke('A person'));
    expect(requestBody(sent[0]).response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
    expect(Person.safeParse(result).success).toBe(true);
    expect(result).toEqual(JSON.parse(servedAnswer(sent[0]).content));
  });

  it('withStructuredOutput through function calling returns a schema-valid object', async () => {
    const Person = z.object({ name: z.string().max(10), role: z.enum(['dev', 'ops']) });
    const { result, sent } = await rec.during(() =>
      chat({ maxTokens: 80 }).withStructuredOutput(Person, { name: 'person', method: 'functionCalling' }).invoke('A person'),
    );
    expect(requestBody(sent[0]).tool_choice).toEqual({ type: 'function', function: { name: 'person' } });
    expect(Person.safeParse(result).success).toBe(true);
    expect(result).toEqual(JSON.parse(servedAnswer(sent[0]).toolCalls[0].arguments));
  });

  it('keeps the reasoning of a reasoning model in additional_kwargs.reasoning_content, streamed and not', async () => {
    const llm = chat({ model: 'demo-r1' });
    const whole = await rec.during(() => llm.invoke('Think first', { seed: 8 }));
    const wire = servedAnswer(whole.sent[0]);
    expect(wire.reasoning.length).toBeGreaterThan(0);
    expect(whole.result.additional_kwargs.reasoning_content).toBe(wire.reasoning);
    expect(whole.result.content).toBe(wire.content);
    expect(whole.result.usage_metadata?.output_token_details?.reasoning).toBe(
      (wire.usage?.completion_tokens_details as { reasoning_tokens?: number } | undefined)?.reasoning_tokens,
    );

    const streamed = await rec.during(async () => {
      let merged: AIMessageChunk | undefined;
      for await (const chunk of await llm.stream('Think first', { seed: 9 })) merged = merged ? merged.concat(chunk) : chunk;
      return merged!;
    });
    const streamWire = servedAnswer(streamed.sent[0]);
    expect(streamWire.reasoning.length).toBeGreaterThan(0);
    expect(streamed.result.additional_kwargs.reasoning_content).toBe(streamWire.reasoning);
    expect(streamed.result.content).toBe(streamWire.content);
  });

  // LangChain sends `reasoning` only for model names it takes for OpenAI reasoning models (o1…, gpt-5…); for any
  // other model a user passes reasoning_effort through modelKwargs.
  it('accepts the OpenAI options LangChain forwards: reasoning effort, prompt cache key, parallel_tool_calls', async () => {
    const llm = chat({ modelKwargs: { reasoning_effort: 'low' }, promptCacheKey: 'session-1' });
    const { result, sent } = await rec.during(() =>
      llm.bindTools([getWeather], { tool_choice: 'get_weather', parallel_tool_calls: false }).invoke('Weather?', { seed: 7 }),
    );
    expect(requestBody(sent[0])).toMatchObject({ reasoning_effort: 'low', prompt_cache_key: 'session-1', parallel_tool_calls: false });
    expect(servedAnswer(sent[0]).toolCalls).toHaveLength(1);
    expect(result.tool_calls).toHaveLength(1);
    expect(result.invalid_tool_calls).toEqual([]);
  });
});
