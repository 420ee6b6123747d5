import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ensureLlamaCppBuild } from '../../scripts/llama-cpp/build';
import { bootStack, waitForNode } from './support';

// One API, either engine: the same tests through edge + agent, once with the builtin engine and once with
// llama-server (the binary `npm run llama:build` makes; npm test's pretest builds it), on the same demo GGUFs.
// A client must not tell them apart except by speed; docs/engines.md lists what still differs and why.
//
// Weights are random, so answers are noise; seeds keep runs reproducible and the grammars make structure hold.
// Tool calls come from demo-mistral, whose template and tokenizer are Mistral's: `logit_bias` on its
// `[TOOL_CALLS]` token makes the random model open a call, as a trained one would, and each engine's grammar
// and its parser for Mistral's native syntax must turn what follows into an OpenAI tool call.

const ENGINES = ['builtin', 'llama-server'] as const;
/** Mistral's `[TOOL_CALLS]` control token in demo-mistral's vocabulary (llama.cpp's ggml-vocab of that family). */
const MISTRAL_TOOL_CALLS = 32002;

const user = (content: string) => [{ role: 'user' as const, content }];
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
  function: { name: 'lookup', description: 'Search', parameters: { type: 'object', properties: { q: { type: 'string', maxLength: 8 } }, required: ['q'] } },
};
const openCall = { [MISTRAL_TOOL_CALLS]: 100 };

type Call = OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;

async function apiError(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  const e = err as InstanceType<typeof OpenAI.APIError>;
  return { status: e.status, code: e.code, param: e.param, type: e.type };
}

describe.each(ENGINES)('%s engine', (engine) => {
  let stack: Awaited<ReturnType<typeof bootStack>>;
  let openai: OpenAI;

  beforeAll(async () => {
    // npm test's pretest builds it; a direct vitest run builds it here (minutes once, then cached).
    if (engine === 'llama-server') await ensureLlamaCppBuild();
    const nodeId = `node-${engine}`;
    stack = await bootStack({ agents: [{ nodeId, budgetMb: 8192, env: { PORTEN_GGUF_ENGINE: engine } }] });
    openai = stack.openai;
    await waitForNode(stack, nodeId);
  }, 1_800_000);
  afterAll(async () => {
    await stack?.stop();
  });

  describe('chat', () => {
    it('answers in OpenAI shape', async () => {
      const res = await openai.chat.completions.create({ model: 'demo-small', messages: user('Hello'), max_tokens: 8, seed: 1 });
      expect(Object.keys(res).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'system_fingerprint', 'usage']);
      expect(res).toMatchObject({ object: 'chat.completion', model: 'demo-small' });
      expect(res.id).toMatch(/^chatcmpl-/);
      expect(res.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
      expect(res.choices).toHaveLength(1);
      const c = res.choices[0];
      expect(Object.keys(c).sort()).toEqual(['finish_reason', 'index', 'logprobs', 'message']);
      expect(c).toMatchObject({ index: 0, logprobs: null, message: { role: 'assistant' } });
      expect(typeof c.message.content).toBe('string');
      expect(['stop', 'length']).toContain(c.finish_reason);
      expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
      expect(res.usage!.completion_tokens).toBeGreaterThan(0);
      expect(res.usage!.completion_tokens).toBeLessThanOrEqual(8);
    });

    it('streams chunks of one id ending with a usage chunk and [DONE] (include_usage)', async () => {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo-small', messages: user('Hi'), max_tokens: 6, seed: 2, stream: true, stream_options: { include_usage: true } }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: '));
      expect(events.at(-1)).toBe('data: [DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as OpenAI.Chat.Completions.ChatCompletionChunk);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.object === 'chat.completion.chunk' && /^fp_/.test(c.system_fingerprint ?? ''))).toBe(true);
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      const usage = chunks.at(-1)!;
      expect(usage.choices).toEqual([]);
      expect(usage.usage!.total_tokens).toBe(usage.usage!.prompt_tokens + usage.usage!.completion_tokens);
      expect(chunks.slice(0, -1).every((c) => !c.usage)).toBe(true);
      const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean);
      expect(finishes).toHaveLength(1);
      expect(['stop', 'length']).toContain(finishes[0]);
    });

    it('streams without a usage chunk when the client did not ask for one', async () => {
      const stream = await openai.chat.completions.create({ model: 'demo-small', messages: user('Hi'), max_tokens: 6, seed: 3, stream: true });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.every((c) => !c.usage && c.choices.length === 1)).toBe(true);
    });
  });

  describe('response_format', () => {
    it('json_object output parses', async () => {
      const res = await openai.chat.completions.create({
        model: 'demo-small',
        messages: user('JSON'),
        response_format: { type: 'json_object' },
        seed: 2,
        max_tokens: 200,
      });
      expect(res.choices[0].finish_reason).toBe('stop');
      expect(typeof JSON.parse(res.choices[0].message.content!)).toBe('object');
    });

    it('json_schema output parses into the schema, integers and numbers finite, over seeds', async () => {
      const schema = {
        type: 'object',
        properties: { n: { type: 'integer' }, x: { type: 'number' }, tag: { type: 'string', enum: ['a', 'b'] } },
        required: ['n', 'x', 'tag'],
        additionalProperties: false,
      };
      const Shape = z.object({ n: z.number().int(), x: z.number().finite(), tag: z.enum(['a', 'b']) }).strict();
      for (const seed of [1, 2, 3, 4, 5]) {
        const res = await openai.chat.completions.create({
          model: 'demo-small',
          messages: user('A thing'),
          seed,
          max_tokens: 200,
          response_format: { type: 'json_schema', json_schema: { name: 'thing', schema, strict: true } },
        });
        const text = res.choices[0].message.content!;
        const value = JSON.parse(text) as { n: unknown; x: unknown };
        expect(Number.isSafeInteger(value.n), `seed ${seed}: ${text}`).toBe(true);
        if (engine === 'llama-server') {
          // llama-server's JSON grammar at this tag allows a 16-digit exponent on `number` (docs/engines.md):
          // a random model writes 44e5642524255505644, which parses to Infinity. Only the type is promised.
          expect(typeof value.x, `seed ${seed}: ${text}`).toBe('number');
        } else {
          expect(Shape.safeParse(value), `seed ${seed}: ${text}`).toMatchObject({ success: true });
        }
      }
    });
  });

  describe('tools (demo-mistral, native [TOOL_CALLS] syntax)', () => {
    it('auto: the native call becomes one schema-valid tool call', async () => {
      const res = await openai.chat.completions.create({
        model: 'demo-mistral',
        messages: user('Weather in Paris?'),
        tools: [weather],
        tool_choice: 'auto',
        parallel_tool_calls: false,
        logit_bias: openCall,
        seed: 1,
        max_tokens: 120,
      });
      const c = res.choices[0];
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.content).toBeNull();
      expect(c.message.tool_calls).toHaveLength(1);
      const call = c.message.tool_calls![0] as Call;
      // Ids are opaque to clients; each engine makes ones the family's template takes back (docs/engines.md).
      expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^[A-Za-z0-9_-]{9,}$/), function: { name: 'get_weather' } });
      expect(WeatherArgs.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);
    });

    it('a named tool_choice calls that tool', async () => {
      const res = await openai.chat.completions.create({
        model: 'demo-mistral',
        messages: user('Look it up'),
        tools: [weather, lookup],
        tool_choice: { type: 'function', function: { name: 'lookup' } },
        logit_bias: openCall,
        seed: 2,
        max_tokens: 120,
      });
      expect(res.choices[0].finish_reason).toBe('tool_calls');
      const call = res.choices[0].message.tool_calls![0] as Call;
      expect(call.function.name).toBe('lookup');
      expect(typeof JSON.parse(call.function.arguments).q).toBe('string');
    });

    it('required among several tools gives schema-valid calls', async () => {
      const res = await openai.chat.completions.create({
        model: 'demo-mistral',
        messages: user('Do something'),
        tools: [weather, lookup],
        tool_choice: 'required',
        parallel_tool_calls: false,
        logit_bias: openCall,
        seed: 3,
        max_tokens: 120,
      });
      expect(res.choices[0].finish_reason).toBe('tool_calls');
      const call = res.choices[0].message.tool_calls![0] as Call;
      const args = JSON.parse(call.function.arguments);
      if (call.function.name === 'get_weather') expect(WeatherArgs.safeParse(args).success).toBe(true);
      else expect(call.function.name === 'lookup' && typeof args.q === 'string').toBe(true);
    });

    it('streams the call as delta.tool_calls with index, id and name first, arguments in pieces', async () => {
      const stream = await openai.chat.completions.create({
        model: 'demo-mistral',
        messages: user('Weather in Oslo?'),
        tools: [weather],
        tool_choice: 'auto',
        parallel_tool_calls: false,
        logit_bias: openCall,
        seed: 4,
        max_tokens: 120,
        stream: true,
      });
      const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null = null;
      for await (const c of stream) {
        for (const t of c.choices[0]?.delta?.tool_calls ?? []) deltas.push(t);
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      expect(finish).toBe('tool_calls');
      expect(deltas.length).toBeGreaterThan(0);
      expect(deltas.every((d) => d.index === 0)).toBe(true);
      expect(deltas[0]).toMatchObject({ id: expect.stringMatching(/^[A-Za-z0-9_-]{9,}$/), type: 'function', function: { name: 'get_weather' } });
      expect(deltas.slice(1).every((d) => d.id === undefined && d.function?.name === undefined)).toBe(true);
      const args = deltas.map((d) => d.function?.arguments ?? '').join('');
      expect(WeatherArgs.safeParse(JSON.parse(args)).success).toBe(true);
    });

    it('the openai client runs a round trip: call → tool result → answer', async () => {
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Rome?' }];
      const first = await openai.chat.completions.create({
        model: 'demo-mistral',
        messages,
        tools: [weather],
        logit_bias: openCall,
        parallel_tool_calls: false,
        seed: 5,
        max_tokens: 120,
      });
      const call = first.choices[0].message.tool_calls?.[0] as Call | undefined;
      expect(call?.function.name).toBe('get_weather');
      messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call!.id, content: '{"temp_c":21}' });
      const answer = await openai.chat.completions.create({ model: 'demo-mistral', messages, tools: [weather], tool_choice: 'none', seed: 5, max_tokens: 12 });
      expect(['stop', 'length']).toContain(answer.choices[0].finish_reason);
      expect(typeof answer.choices[0].message.content).toBe('string');
      expect(answer.choices[0].message.tool_calls ?? []).toEqual([]);
      expect(answer.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
    });
  });

  describe('completions and embeddings', () => {
    it('answers a text completion, plain and streamed', async () => {
      const res = await openai.completions.create({ model: 'demo-small', prompt: 'Once upon a time', max_tokens: 8, seed: 1 });
      expect(res).toMatchObject({ object: 'text_completion', model: 'demo-small' });
      expect(res.id).toMatch(/^cmpl-/);
      expect(res.system_fingerprint).toMatch(/^fp_/);
      expect(typeof res.choices[0].text).toBe('string');
      expect(res.usage!.completion_tokens).toBeGreaterThan(0);
      const stream = await openai.completions.create({
        model: 'demo-small',
        prompt: 'Once',
        max_tokens: 4,
        seed: 1,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Completions.Completion[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.every((c) => c.object === 'text_completion' && /^cmpl-/.test(c.id))).toBe(true);
      expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
    });

    it('returns unit-length embeddings, the same for equal inputs, as floats and base64', async () => {
      const res = await openai.embeddings.create({ model: 'demo-embed', input: ['hello world', 'hello world', 'something else'], encoding_format: 'float' });
      expect(res.object).toBe('list');
      expect(res.data.map((d) => [d.object, d.index])).toEqual([
        ['embedding', 0],
        ['embedding', 1],
        ['embedding', 2],
      ]);
      const [a, b, c] = res.data.map((d) => d.embedding);
      expect(a).toHaveLength(64);
      // llama-server embeds a batch together, so equal inputs agree to float rounding, not bit for bit.
      b.forEach((x, i) => expect(x).toBeCloseTo(a[i], 5));
      expect(c.some((x, i) => Math.abs(x - a[i]) > 1e-3)).toBe(true);
      expect(Math.hypot(...a)).toBeCloseTo(1, 4);
      expect(res.usage.prompt_tokens).toBeGreaterThan(0);
      const viaBase64 = await openai.embeddings.create({ model: 'demo-embed', input: 'hello world' });
      viaBase64.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(a[i], 5));
    });
  });

  describe('errors', () => {
    it('a prompt longer than the context is 400 context_length_exceeded', async () => {
      const e = await apiError(openai.chat.completions.create({ model: 'demo-small', messages: user('hello '.repeat(700)), max_tokens: 4 }));
      expect(e).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages', type: 'invalid_request_error' });
    });

    it('a schema with an unknown type: llama-server refuses it (400 naming response_format); builtin does not yet', async () => {
      const ask = openai.chat.completions.create({
        model: 'demo-small',
        messages: user('x'),
        max_tokens: 4,
        response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: { type: 'bogus' } } },
      });
      if (engine === 'llama-server') {
        expect(await apiError(ask)).toMatchObject({ status: 400, code: 'invalid_request', param: 'response_format', type: 'invalid_request_error' });
      } else {
        // A documented difference (docs/engines.md, "Bad schemas"): node-llama-cpp's converter accepts what it
        // does not know. This assertion states today's behaviour; it flips when the builtin engine refuses.
        expect((await ask).choices[0].finish_reason).toMatch(/^(stop|length)$/);
      }
    });
  });
});
