import { describe, expect, it } from 'vitest';
import type { LlamaGrammar } from 'node-llama-cpp';
import { chatShape } from '../../nodes/engines/builtin/chat-output';
import { newMeta } from '../../nodes/engines/builtin/responses';
import type { GenerationResult } from '../../nodes/engines/builtin/run-on-sequence';
import { toolCallsFrom, type ToolPlan } from '../../nodes/engines/builtin/tool-plan';

// The shaping of tool calls, without a model: what the grammar guarantees is generated, this turns into OpenAI's shapes.

const grammar = {} as LlamaGrammar;
const args: ToolPlan = { kind: 'args', name: 'get_weather', grammar, note: '' };
const call: ToolPlan = { kind: 'call', grammar, note: '' };
const auto: ToolPlan = { kind: 'auto', grammar, note: '' };
const result = (text: string, finishReason: GenerationResult['finishReason'] = 'stop'): GenerationResult => ({
  text, finishReason, aborted: false, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are asserted field by field
type Any = any;

describe('tool calls from generated text', () => {
  it.each([
    ['a forced tool: the text is its arguments', args, '{"city":"x"}', 'get_weather', '{"city":"x"}'],
    ['required among several', call, '{ "name": "lookup", "arguments": {"q": "a"} }', 'lookup', '{"q":"a"}'],
    ['auto, when the output starts with the marker', auto, '<tool_call>{"name":"lookup","arguments":{}}', 'lookup', '{}'],
  ])('%s', (_name, plan, text, name, argsText) => {
    const out = toolCallsFrom(plan, text, 'call_1');
    expect(out.content).toBeNull();
    expect(out.calls).toEqual([{ id: 'call_1', type: 'function', function: { name, arguments: argsText } }]);
  });

  it('keeps auto text that is not a call as content', () => {
    expect(toolCallsFrom(auto, 'hello', 'c')).toEqual({ content: 'hello', calls: [] });
  });

  it('keeps a call cut short by max_tokens as content rather than a broken call', () => {
    expect(toolCallsFrom(call, '{"name":"lo', 'c')).toEqual({ content: '{"name":"lo', calls: [] });
  });
});

describe('chat output shape', () => {
  it('streams a forced tool call as deltas: id, type and name first, then argument text', () => {
    const shape = chatShape(newMeta('chatcmpl', 'm'), args);
    const first = shape.piece('{"ci') as Any;
    const second = shape.piece('ty":1}') as Any;
    expect(first.choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"ci' } });
    expect(second.choices[0].delta.tool_calls[0]).toEqual({ index: 0, function: { arguments: 'ty":1}' } });
    const closing = shape.closing(result('{"city":1}')) as Any[];
    expect(closing.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('holds back a call whose name comes with it and sends it whole at the end', () => {
    const shape = chatShape(newMeta('chatcmpl', 'm'), call);
    expect(shape.piece('{"name"')).toBeNull();
    const closing = shape.closing(result('{"name":"lookup","arguments":{"q":"a"}}')) as Any[];
    expect(closing[0].choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'lookup', arguments: '{"q":"a"}' } });
    expect(closing[1].choices[0].finish_reason).toBe('tool_calls');
  });

  it('streams auto text as content and finishes with stop', () => {
    const shape = chatShape(newMeta('chatcmpl', 'm'), auto);
    expect((shape.piece('hi') as Any).choices[0].delta).toEqual({ content: 'hi' });
    expect((shape.closing(result('hi')) as Any[]).at(-1).choices[0].finish_reason).toBe('stop');
  });

  it('answers a non-streamed forced call with null content, tool_calls and a fingerprint', () => {
    const whole = chatShape(newMeta('chatcmpl', 'm'), args).whole(result('{"a":1}')) as Any;
    expect(whole.system_fingerprint).toMatch(/^fp_/);
    expect(whole.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ function: { name: 'get_weather', arguments: '{"a":1}' } }] } });
  });
});
