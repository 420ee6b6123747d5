import { describe, expect, it } from 'vitest';
import { mapLlamaError, paramOf } from '../../nodes/engines/llama-server-errors';
import { fingerprintOf, normaliseRequest, ResponseNormaliser, templateCallId } from '../../nodes/engines/llama-server-normalise';

// Bodies below are what llama-server (the build `npm run llama:build` makes) really answered, trimmed.

const chat = '/v1/chat/completions';
const ctx = { model: 'demo-mistral', caps: { supports_tools: true } };

describe('llama-server errors in porten shape', () => {
  it.each([
    [
      'context overflow → 400 context_length_exceeded naming messages',
      chat,
      400,
      {
        error: {
          code: 400,
          message: 'request (4852 tokens) exceeds the available context size (512 tokens), try increasing it',
          type: 'exceed_context_size_error',
          n_prompt_tokens: 4852,
          n_ctx: 512,
        },
      },
      {
        status: 400,
        body: {
          error: {
            message: "This model's context is 512 tokens; the prompt uses 4852, leaving no room for a completion.",
            type: 'invalid_request_error',
            param: 'messages',
            code: 'context_length_exceeded',
          },
        },
      },
    ],
    [
      'a bad schema → 400 invalid_request naming response_format',
      chat,
      400,
      {
        error: {
          code: 400,
          message: 'Unable to generate parser for this template. Automatic parser generation failed: JSON schema error at #: unrecognized type bogus',
          type: 'invalid_request_error',
        },
      },
      {
        status: 400,
        body: {
          error: {
            message: 'Unable to generate parser for this template. Automatic parser generation failed: JSON schema error at #: unrecognized type bogus',
            type: 'invalid_request_error',
            param: 'response_format',
            code: 'invalid_request',
          },
        },
      },
    ],
    [
      'a field check names the field',
      chat,
      400,
      { error: { code: 400, message: "Field 'n': Value must be between 1 <= value <= 1, but got 2", type: 'invalid_request_error' } },
      {
        status: 400,
        body: {
          error: { message: "Field 'n': Value must be between 1 <= value <= 1, but got 2", type: 'invalid_request_error', param: 'n', code: 'invalid_request' },
        },
      },
    ],
    [
      '501 not supported → 400 capability_not_supported',
      '/v1/embeddings',
      501,
      { error: { code: 501, message: 'This server does not support embeddings. Start it with `--embeddings`', type: 'not_supported_error' } },
      {
        status: 400,
        body: {
          error: {
            message: 'This server does not support embeddings. Start it with `--embeddings`',
            type: 'invalid_request_error',
            param: null,
            code: 'capability_not_supported',
          },
        },
      },
    ],
    [
      'loading → stays 503 (the relay reports engine_failed)',
      chat,
      503,
      { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } },
      { status: 503, body: { error: { message: 'Loading model', type: 'server_error', param: null, code: 'internal' } } },
    ],
  ])('%s', (_name, path, status, body, want) => {
    expect(mapLlamaError(path, status, body)).toEqual(want);
  });

  it('is undefined for a body that is not an error', () => {
    expect(mapLlamaError(chat, 400, { choices: [] })).toBeUndefined();
    expect(mapLlamaError(chat, 400, null)).toBeUndefined();
  });

  it.each([
    ['/v1/completions', 'request (9 tokens) exceeds the available context size (4 tokens)', 'prompt'],
    ['/v1/embeddings', 'input exceeds the available context size', 'input'],
    [chat, 'Tool call IDs should be alphanumeric strings with length 9!', 'messages'],
    [chat, 'something else', null],
  ])('paramOf(%s, %s)', (path, message, want) => {
    expect(paramOf(path, message)).toBe(want);
  });
});

describe('normaliseRequest', () => {
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };
  const lookup = { type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } };

  it('turns a named tool_choice into required over that tool alone (llama-server reads only strings)', () => {
    const r = normaliseRequest(chat, { messages: [], tools: [weather, lookup], tool_choice: { type: 'function', function: { name: 'lookup' } } }, ctx);
    expect(r).toEqual({ ok: true, body: { messages: [], tools: [lookup], tool_choice: 'required' } });
  });

  it('refuses a named tool that is not among the tools', () => {
    const r = normaliseRequest(chat, { messages: [], tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.body.error).toMatchObject({ code: 'invalid_request', param: 'tool_choice' });
  });

  it('refuses tools a template cannot show, instead of dropping them silently', () => {
    const r = normaliseRequest(chat, { messages: [], tools: [weather] }, { model: 'demo-small', caps: { supports_tools: false } });
    expect(r).toMatchObject({ ok: false, error: { status: 400, body: { error: { code: 'capability_not_supported', param: 'tools' } } } });
    // tool_choice none needs no tool syntax.
    expect(normaliseRequest(chat, { messages: [], tools: [weather], tool_choice: 'none' }, { model: 'demo-small', caps: { supports_tools: false } }).ok).toBe(
      true,
    );
  });

  it('maps call ids to 9 alphanumerics, the same for a call and its result', () => {
    const r = normaliseRequest(
      chat,
      {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_abc', content: '12 C' },
        ],
      },
      ctx,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const msgs = r.body.messages as Array<Record<string, unknown>>;
    const id = (msgs[1].tool_calls as Array<{ id: string }>)[0].id;
    expect(id).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(msgs[2].tool_call_id).toBe(id);
    expect(id).toBe(templateCallId('call_abc'));
    expect(msgs[0]).toEqual({ role: 'user', content: 'hi' });
  });

  it('leaves other paths alone', () => {
    const body = { prompt: 'x', tools: [weather] };
    expect(normaliseRequest('/v1/completions', body, ctx)).toEqual({ ok: true, body });
  });
});

describe('ResponseNormaliser', () => {
  it('reshapes a chat completion: fingerprint, logprobs, no timings, null content beside calls, call_ ids', () => {
    const n = new ResponseNormaliser(chat, ctx);
    const out = n.json(
      200,
      JSON.stringify({
        choices: [
          {
            finish_reason: 'tool_calls',
            index: 0,
            message: {
              role: 'assistant',
              content: '',
              tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{}' }, id: 'BeGUYHsS7PnFTmm7qASCc7zdihxpmeuL' }],
            },
          },
        ],
        created: 1,
        model: 'demo-mistral',
        system_fingerprint: 'b1-de3ff81',
        object: 'chat.completion',
        usage: { completion_tokens: 43, prompt_tokens: 100, total_tokens: 143 },
        id: 'chatcmpl-x',
        timings: { prompt_n: 100 },
      }),
    );
    expect(out.status).toBe(200);
    const j = JSON.parse(out.text);
    expect(j.timings).toBeUndefined();
    expect(j.system_fingerprint).toBe(fingerprintOf('demo-mistral'));
    expect(j.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(j.choices[0].logprobs).toBeNull();
    expect(j.choices[0].message.content).toBeNull();
    expect(j.choices[0].message.tool_calls[0].id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(j.id).toBe('chatcmpl-x');
  });

  it('names text completions cmpl-', () => {
    const n = new ResponseNormaliser('/v1/completions', ctx);
    const j = JSON.parse(
      n.json(
        200,
        JSON.stringify({
          id: 'chatcmpl-abc',
          object: 'text_completion',
          system_fingerprint: 'b1',
          choices: [{ text: 'x', index: 0, logprobs: null, finish_reason: 'length' }],
        }),
      ).text,
    );
    expect(j.id).toBe('cmpl-abc');
  });

  it('gives embeddings object and index', () => {
    const n = new ResponseNormaliser('/v1/embeddings', ctx);
    const j = JSON.parse(
      n.json(200, JSON.stringify({ model: 'e', object: 'list', usage: { prompt_tokens: 1, total_tokens: 1 }, data: [{ embedding: [1] }, { embedding: [2] }] }))
        .text,
    );
    expect(j.data).toEqual([
      { object: 'embedding', index: 0, embedding: [1] },
      { object: 'embedding', index: 1, embedding: [2] },
    ]);
  });

  it('maps error answers and passes non-JSON through', () => {
    const n = new ResponseNormaliser(chat, ctx);
    const e = n.json(400, JSON.stringify({ error: { code: 400, message: 'bad', type: 'invalid_request_error' } }));
    expect(e.status).toBe(400);
    expect(JSON.parse(e.text)).toEqual({ error: { message: 'bad', type: 'invalid_request_error', param: null, code: 'invalid_request' } });
    expect(n.json(200, 'not json')).toEqual({ status: 200, text: 'not json' });
  });

  it('reshapes stream events and keeps one id per call across its deltas', () => {
    const n = new ResponseNormaliser(chat, ctx);
    const ev = (o: unknown) => `data: ${JSON.stringify(o)}`;
    const chunk = (delta: unknown, finish: string | null = null) => ({
      choices: [{ finish_reason: finish, index: 0, delta }],
      id: 'chatcmpl-s',
      object: 'chat.completion.chunk',
      system_fingerprint: 'b1-de3ff81',
      created: 1,
      model: 'm',
    });
    const first = `${[
      ev(chunk({ role: 'assistant', content: null })),
      ev(chunk({ tool_calls: [{ index: 0, id: 'engineid', type: 'function', function: { name: 'get_weather', arguments: '{' } }] })),
    ].join('\n\n')}\n\n`;
    const second = `${[ev(chunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] })), ev({ ...chunk({}, 'tool_calls'), timings: { a: 1 } }), 'data: [DONE]'].join('\n\n')}\n\n`;
    const a = n
      .events(first)
      .split('\n\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.slice(6)));
    const b = n.events(second).split('\n\n').filter(Boolean);
    expect(a[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(a[0].choices[0].logprobs).toBeNull();
    expect(a[0].system_fingerprint).toBe(fingerprintOf('demo-mistral'));
    const id = a[1].choices[0].delta.tool_calls[0].id;
    expect(id).toMatch(/^call_/);
    expect(JSON.parse(b[0].slice(6)).choices[0].delta.tool_calls[0]).toEqual({ index: 0, function: { arguments: '}' } });
    expect(JSON.parse(b[1].slice(6)).timings).toBeUndefined();
    expect(b[2]).toBe('data: [DONE]');
    expect(n.events(second).endsWith('\n\n')).toBe(true);
  });

  it('puts an in-stream error in porten shape', () => {
    const n = new ResponseNormaliser(chat, ctx);
    const out = n.events(`data: ${JSON.stringify({ error: { code: 500, message: 'boom', type: 'server_error' } })}\n\n`);
    expect(JSON.parse(out.split('\n\n')[0].slice(6))).toEqual({ error: { message: 'boom', type: 'server_error', param: null, code: 'internal' } });
  });
});
