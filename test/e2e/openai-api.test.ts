import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import * as z from 'zod';
import { bootStack, waitForNode } from './support';

// The OpenAI surface end to end: the official client against one real stack (workerd edge, agent, builtin engine).
// The demo models have random weights, so answers are noise; fixed seeds keep them reproducible and the
// grammars make their structure hold whatever the weights say. Tool calls run on the family demos, which carry
// real chat templates (demo-small's 512-token context cannot hold described tools).

let stack: Awaited<ReturnType<typeof bootStack>>;
let openai: OpenAI;

beforeAll(async () => {
  stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
  openai = stack.openai;
  await waitForNode(stack, 'node-a');
});

afterAll(async () => {
  await stack?.stop();
});

const user = (content: string) => [{ role: 'user' as const, content }];

// A tool schema and its zod mirror: strings are bounded and enums closed so a random model always finishes the call.
const weatherParams = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 12 }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const WeatherArgs = z.object({ city: z.string().max(12), unit: z.enum(['c', 'f']) }).strict();
const weather: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherParams },
};
const lookup: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string', maxLength: 8 } }, required: ['q'] } },
};

async function apiError(p: Promise<unknown>): Promise<{ status: number | undefined; code: unknown; param: unknown; type: unknown }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  const e = err as InstanceType<typeof OpenAI.APIError>;
  return { status: e.status, code: e.code, param: e.param, type: e.type };
}

describe('chat completions: structure by grammar', () => {
  it('forces a named tool call whose arguments satisfy the tool schema', async () => {
    const res = await openai.chat.completions.create({
      model: 'demo-qwen2.5',
      messages: user('Weather in Paris?'),
      tools: [weather, lookup],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      seed: 1,
      max_tokens: 120,
    });
    const choice = res.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_/), function: { name: 'get_weather' } });
    expect(WeatherArgs.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.system_fingerprint).toMatch(/^fp_/);
  });

  it('answers tool_choice required among several tools with one schema-valid call', async () => {
    const res = await openai.chat.completions.create({
      model: 'demo-qwen2.5',
      messages: user('Do something'),
      tools: [weather, lookup],
      tool_choice: 'required',
      seed: 2,
      max_tokens: 120,
    });
    const call = res.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(res.choices[0].finish_reason).toBe('tool_calls');
    const args = JSON.parse(call.function.arguments);
    if (call.function.name === 'get_weather') expect(WeatherArgs.safeParse(args).success).toBe(true);
    else expect(call.function.name === 'lookup' && typeof args.q === 'string').toBe(true);
  });

  it('streams tool-call deltas that the SDK reassembles into the call', async () => {
    const stream = openai.chat.completions.stream({
      model: 'demo-qwen2.5',
      messages: user('Weather in Oslo?'),
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      seed: 3,
      max_tokens: 120,
    });
    let deltas = 0;
    stream.on('chunk', (c) => (deltas += c.choices[0]?.delta?.tool_calls?.length ?? 0));
    const final = await stream.finalChatCompletion();
    expect(deltas).toBeGreaterThan(1);
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    const call = final.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('get_weather');
    expect(WeatherArgs.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);
  });

  it('accepts tool results in the conversation and answers after them', async () => {
    const res = await openai.chat.completions.create({
      model: 'demo-qwen2.5',
      tools: [weather],
      seed: 4,
      max_tokens: 8,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome","unit":"c"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      ],
    });
    expect(['stop', 'length', 'tool_calls']).toContain(res.choices[0].finish_reason);
  });

  it('returns json_schema output that parses and has the required keys', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 10 }, ok: { type: 'boolean' }, size: { type: 'string', enum: ['s', 'm', 'l'] } },
      required: ['name', 'ok', 'size'],
      additionalProperties: false,
    };
    const res = await openai.chat.completions.create({
      model: 'demo-small',
      messages: user('Describe a thing'),
      seed: 1,
      max_tokens: 120,
      response_format: { type: 'json_schema', json_schema: { name: 'thing', schema, strict: true } },
    });
    const value = JSON.parse(res.choices[0].message.content!);
    expect(Object.keys(value).sort()).toEqual(['name', 'ok', 'size']);
    expect(typeof value.ok).toBe('boolean');
  });

  it('returns json_object output that parses', async () => {
    const res = await openai.chat.completions.create({
      model: 'demo-small',
      messages: user('Some JSON please'),
      response_format: { type: 'json_object' },
      seed: 2,
      max_tokens: 200,
    });
    expect(res.choices[0].finish_reason).toBe('stop');
    expect(() => JSON.parse(res.choices[0].message.content!)).not.toThrow();
  });

  it('ends a stream with a usage chunk when include_usage is set', async () => {
    const stream = await openai.chat.completions.create({
      model: 'demo-small',
      messages: user('Hi'),
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => !c.usage)).toBe(true);
  });
});

type FunctionCall = OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
/** What porten adds to OpenAI's message and delta types for reasoning models. */
type WithReasoning = { reasoning_content?: string };

describe.each(['demo-qwen2.5', 'demo-llama3.1', 'demo-mistral', 'demo-r1'])('tool round trip on %s (official client)', (model) => {
  it('calls a tool, takes its result and answers', async () => {
    const first = await openai.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'You answer weather questions.' }, ...user('Weather in Paris?')],
      tools: [weather, lookup],
      tool_choice: 'required',
      seed: 11,
      max_tokens: 400,
    });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const message = first.choices[0].message;
    const call = message.tool_calls![0] as FunctionCall;
    expect(['get_weather', 'lookup']).toContain(call.function.name);
    expect(() => JSON.parse(call.function.arguments)).not.toThrow();
    if (call.function.name === 'get_weather') expect(WeatherArgs.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);

    const second = await openai.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You answer weather questions.' },
        ...user('Weather in Paris?'),
        message, // echoed back as the SDK returned it, tool_calls (and reasoning_content) included
        ...(message.tool_calls ?? []).map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: '{"temp": 21, "unit": "c"}' })),
      ],
      tools: [weather, lookup],
      seed: 12,
      max_tokens: 40,
    });
    expect(['stop', 'length']).toContain(second.choices[0].finish_reason);
    expect(typeof second.choices[0].message.content).toBe('string');
    expect(second.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
  });
});

describe('reasoning (demo-r1)', () => {
  it('returns the <think> block as reasoning_content, apart from content, and counts reasoning tokens', async () => {
    const res = await openai.chat.completions.create({ model: 'demo-r1', messages: user('What is 2 + 2?'), seed: 5, max_tokens: 300 });
    const message = res.choices[0].message as (typeof res.choices)[0]['message'] & WithReasoning;
    expect(message.reasoning_content!.length).toBeGreaterThan(0);
    expect(message.content).not.toMatch(/<\/?think>/);
    const details = res.usage!.completion_tokens_details!;
    expect(details.reasoning_tokens).toBeGreaterThan(0);
    expect(details.reasoning_tokens).toBeLessThanOrEqual(res.usage!.completion_tokens);
  });

  it('streams reasoning_content deltas before content, and the usage chunk keeps the reasoning count', async () => {
    const stream = await openai.chat.completions.create({
      model: 'demo-r1',
      messages: user('What is 2 + 2?'),
      seed: 5,
      max_tokens: 300,
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = '';
    let content = '';
    let contentBeforeReasoning = false;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = (chunk.choices[0]?.delta ?? {}) as { content?: string | null } & WithReasoning;
      if (delta.content) content += delta.content;
      if (delta.reasoning_content) {
        if (content) contentBeforeReasoning = true;
        reasoning += delta.reasoning_content;
      }
      usage = chunk.usage ?? usage;
    }
    const whole = await openai.chat.completions.create({ model: 'demo-r1', messages: user('What is 2 + 2?'), seed: 5, max_tokens: 300 });
    expect(reasoning).toBe((whole.choices[0].message as WithReasoning).reasoning_content);
    expect(content).toBe(whole.choices[0].message.content);
    expect(contentBeforeReasoning).toBe(false);
    expect(usage!.completion_tokens_details!.reasoning_tokens).toBe(whole.usage!.completion_tokens_details!.reasoning_tokens);
  });

  it('stops thinking with reasoning_effort none', async () => {
    const res = await openai.chat.completions.create({ model: 'demo-r1', messages: user('Hi'), seed: 7, max_tokens: 20, reasoning_effort: 'none' });
    expect((res.choices[0].message as WithReasoning).reasoning_content).toBeUndefined();
    expect(res.usage!.completion_tokens_details!.reasoning_tokens).toBe(0);
  });
});

describe('completions and embeddings', () => {
  it('answers a legacy completion', async () => {
    const res = await openai.completions.create({ model: 'demo-small', prompt: 'Once upon a time', max_tokens: 8, seed: 1 });
    expect(res.object).toBe('text_completion');
    expect(res.id).toMatch(/^cmpl-/);
    expect(typeof res.choices[0].text).toBe('string');
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('returns embeddings of the model size, equal for equal inputs, as floats and base64', async () => {
    const res = await openai.embeddings.create({ model: 'demo-embed', input: ['hello world', 'hello world', 'something else'], encoding_format: 'float' });
    expect(res.object).toBe('list');
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [a, b, c] = res.data.map((d) => d.embedding);
    expect(a).toHaveLength(64);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    // The SDK asks for base64 by default and decodes it: the same vector must come back.
    const viaBase64 = await openai.embeddings.create({ model: 'demo-embed', input: 'hello world' });
    viaBase64.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(a[i], 5));
  });
});

describe('refusals: 400 naming the problem, before any model is loaded', () => {
  const cases: Array<[string, () => Promise<unknown>, string, string | null]> = [
    ['n=2', () => openai.chat.completions.create({ model: 'demo-small', messages: user('hi'), n: 2 }), 'invalid_request', 'n'],
    [
      'an unknown parameter',
      () => openai.chat.completions.create({ model: 'demo-small', messages: user('hi'), frobnicate: true } as never),
      'invalid_request',
      'frobnicate',
    ],
    [
      'tools to demo-plain',
      () => openai.chat.completions.create({ model: 'demo-plain', messages: user('hi'), tools: [weather] }),
      'capability_not_supported',
      'model',
    ],
    [
      'an image to a model without vision',
      () =>
        openai.chat.completions.create({
          model: 'demo-small',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what is this?' },
                { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              ],
            },
          ],
        }),
      'capability_not_supported',
      'model',
    ],
    [
      'response_format to demo-plain',
      () => openai.chat.completions.create({ model: 'demo-plain', messages: user('hi'), response_format: { type: 'json_object' } }),
      'capability_not_supported',
      'model',
    ],
    ['embeddings from a chat model', () => openai.embeddings.create({ model: 'demo-large', input: 'hi' }), 'capability_not_supported', 'model'],
    ['chat to the embedding model', () => openai.chat.completions.create({ model: 'demo-embed', messages: user('hi') }), 'capability_not_supported', 'model'],
    ['embedding dimensions', () => openai.embeddings.create({ model: 'demo-embed', input: 'hi', dimensions: 8 }), 'invalid_request', 'dimensions'],
  ];
  it.each(cases)('refuses %s', async (_name, request, code, param) => {
    const err = await apiError(request());
    expect(err).toMatchObject({ status: 400, code, param, type: 'invalid_request_error' });
  });

  it("passes on the model template's own refusal as a 400 naming the message (Mistral's role alternation)", async () => {
    const err = await apiError(
      openai.chat.completions.create({
        model: 'demo-mistral',
        messages: [...user('a'), { role: 'assistant', content: 'b' }, { role: 'assistant', content: 'c' }],
        max_tokens: 4,
      }),
    );
    expect(err).toMatchObject({ status: 400, code: 'invalid_request', param: 'messages[2]' });
  });

  it('never starts loading a model it refused for lack of a capability', async () => {
    await apiError(openai.embeddings.create({ model: 'demo-large', input: 'hi' }));
    const res = await fetch(`${stack.url}/public/v1/models/warming?model=demo-large`);
    expect(((await res.json()) as { phase: string }).phase).toBe('cold');
  });

  it('describes one model by id', async () => {
    const m = await openai.models.retrieve('demo-embed');
    expect(m).toMatchObject({ id: 'demo-embed', object: 'model', capabilities: ['embeddings'] });
    expect((await apiError(openai.models.retrieve('no-such-model'))).status).toBe(404);
  });
});
