import { describe, expect, it } from 'vitest';
import { ApiError } from '../../nodes/engines/builtin/errors';
import { ChatCompletionRequestSchema, formatParam, parseBody } from '../../nodes/engines/builtin/openai-schema';
import { finishReasonOf, toSampling } from '../../nodes/engines/builtin/sampling';

const user = [{ role: 'user', content: 'hi' }];

function rejection(body: unknown): ApiError {
  try {
    parseBody(ChatCompletionRequestSchema, body);
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected a rejection');
}

describe('chat request validation', () => {
  it('accepts text parts, null assistant content and unknown fields', () => {
    const r = parseBody(ChatCompletionRequestSchema, {
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a' }] },
        { role: 'assistant', content: null },
      ],
      user: 'someone',
      logit_bias: {},
    });
    expect(r.messages).toHaveLength(2);
  });

  it.each([
    ['no messages', { messages: [] }, 'messages'],
    ['a tool message without tool_call_id', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
    ['an image part without a url', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content'],
    ['max_tokens 0', { messages: user, max_tokens: 0 }, 'max_tokens'],
    ['top_p above 1', { messages: user, top_p: 1.5 }, 'top_p'],
    ['five stop strings', { messages: user, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['a tool without a function', { messages: user, tools: [{ type: 'function' }] }, 'tools[0].function'],
    [
      'tool_choice naming no tool',
      { messages: user, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } },
      'tool_choice.function.name',
    ],
    ['tool_choice required without tools', { messages: user, tool_choice: 'required' }, 'tool_choice'],
    ['an unknown response_format', { messages: user, response_format: { type: 'yaml' } }, 'response_format.type'],
  ])('rejects %s, naming %s', (_name, body, param) => {
    const err = rejection(body);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.toBody().error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param });
  });

  it('formats zod paths the way OpenAI names params', () => {
    expect(formatParam(['messages', 2, 'content', 0, 'text'])).toBe('messages[2].content[0].text');
  });
});

describe('sampling', () => {
  it('uses OpenAI defaults and turns penalties off when not asked for', () => {
    expect(toSampling({ messages: [] } as never)).toEqual({ temperature: 1, topP: 1, seed: undefined, customStopTriggers: [], repeatPenalty: false });
  });

  it('maps stop, seed and penalties', () => {
    const s = toSampling({ stop: ['\n', ''], seed: 3, temperature: 0, presence_penalty: 0.5, frequency_penalty: 0.2 } as never);
    expect(s).toEqual({
      temperature: 0,
      topP: 1,
      seed: 3,
      customStopTriggers: ['\n'],
      repeatPenalty: { penalty: 1, presencePenalty: 0.5, frequencyPenalty: 0.2 },
    });
  });

  it.each([
    ['maxTokens', 'length'],
    ['eogToken', 'stop'],
    ['customStopTrigger', 'stop'],
    ['stopGenerationTrigger', 'stop'],
  ])('maps stop reason %s to %s', (reason, finish) => expect(finishReasonOf(reason)).toBe(finish));
});
