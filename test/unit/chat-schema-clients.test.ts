import { describe, expect, it } from 'vitest';
import { ChatCompletionRequestSchema } from '../../src/api/chat-schema';

// The edge validates chat bodies strictly (an unknown top-level key is a 400). These are the shapes the clients
// in docs/clients.md were recorded sending (test/e2e/clients-*.test.ts records them on the wire); each must pass.
// Message texts and tool lists are cut down; keys, value types and nesting are as sent.

const tool = (name: string) => ({
  type: 'function',
  function: { name, description: `${name} tool`, parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
});
const system = { role: 'system', content: 'You are a coding agent.' };
const user = { role: 'user', content: 'Say hi' };

const RECORDED: Array<[string, Record<string, unknown>]> = [
  ['AI SDK generateText', { model: 'm', max_tokens: 12, seed: 1, messages: [user] }],
  ['AI SDK streamText with usage', { model: 'm', max_tokens: 12, messages: [system, user], stream: true, stream_options: { include_usage: true } }],
  ['AI SDK reasoning option', { model: 'm', reasoning_effort: 'max', messages: [user] }],
  [
    'AI SDK tool step after a reasoning turn',
    {
      model: 'm',
      messages: [
        user,
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'thinking',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"t":21}' },
      ],
      tools: [tool('get_weather')],
      tool_choice: 'none',
    },
  ],
  [
    'LangChain bindTools with options',
    {
      model: 'm',
      stream: false,
      max_tokens: 60,
      messages: [user],
      tools: [tool('get_weather')],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      prompt_cache_key: 'session-1',
      reasoning_effort: 'low',
    },
  ],
  [
    'LangChain withStructuredOutput',
    {
      model: 'm',
      stream: false,
      messages: [user],
      response_format: { type: 'json_schema', json_schema: { name: 'extract', strict: true, schema: { type: 'object' } } },
    },
  ],
  [
    'OpenCode title request (reasoning model)',
    { model: 'm', max_tokens: 32000, reasoning_effort: 'low', messages: [system, user, user], stream: true, stream_options: { include_usage: true } },
  ],
  [
    'OpenCode agent turn',
    {
      model: 'm',
      max_tokens: 32000,
      messages: [system, user],
      tools: [tool('bash'), tool('read')],
      tool_choice: 'auto',
      stream: true,
      stream_options: { include_usage: true },
    },
  ],
  [
    'Continue agent turn',
    { model: 'm', messages: [system, user], stream: true, tools: [tool('Read'), tool('List')], max_tokens: 256, stream_options: { include_usage: true } },
  ],
  ['OpenAI SDK newer identifiers', { model: 'm', messages: [user], safety_identifier: 'u-1', prompt_cache_key: 'k', user: 'u' }],
];

describe('chat requests the common clients send', () => {
  it.each(RECORDED)('accepts %s', (_name, body) => {
    const parsed = ChatCompletionRequestSchema.safeParse(body);
    expect(parsed.error?.issues).toBeUndefined();
  });

  it('refuses a reasoning_effort outside the known levels, naming it', () => {
    const parsed = ChatCompletionRequestSchema.safeParse({ model: 'm', messages: [user], reasoning_effort: 'extreme' });
    expect(parsed.error?.issues[0].path).toEqual(['reasoning_effort']);
  });

  it('still refuses parameters it cannot honour, such as logprobs and the Responses-only keys', () => {
    for (const key of ['logprobs', 'previous_response_id', 'verbosity']) {
      const parsed = ChatCompletionRequestSchema.safeParse({ model: 'm', messages: [user], [key]: true });
      expect(parsed.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: [key] });
    }
  });
});
