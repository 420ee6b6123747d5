import { describe, expect, it } from 'vitest';
import { type ChatFormat, chatFormatOf } from '../../nodes/engines/builtin/chat/chat-format';
import { templateMessages, templateTools } from '../../nodes/engines/builtin/chat/messages';
import { renderPrompt } from '../../nodes/engines/builtin/chat/prompt';
import { ApiError } from '../../nodes/engines/builtin/errors';
import { type ChatMessage, ChatCompletionRequestSchema } from '../../nodes/engines/builtin/openai-schema';
import { AGENT_TOOLS, FAMILIES, type Family, templateSource } from './helpers/chat-families';

// What each family's real template shows the model: the prompt the builtin engine renders, as a fixture table.

const NOW = new Date(Date.UTC(2025, 4, 17));

function render(f: Family | ChatFormat, body: Record<string, unknown>, model = 'demo-x') {
  const format = 'template' in f && typeof f.template === 'string' ? chatFormatOf(templateSource(f.template)) : (f as ChatFormat);
  const req = ChatCompletionRequestSchema.parse(body);
  const { messages, origins } = templateMessages(req.messages, format.caps);
  const fam = FAMILIES.find((x) => x.template === (f as Family).template);
  return renderPrompt(format, model, {
    messages,
    origins,
    tools: templateTools(req.tools ?? []),
    reasoningEffort: req.reasoning_effort ?? undefined,
    bosToken: fam?.bos ?? '<s>',
    eosToken: fam?.eos ?? '</s>',
    now: NOW,
  });
}

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected the render to be refused');
}

/** The part of the prompt where each family lists its tools. */
const TOOL_SECTION: Record<Family['syntax'], (p: string) => string> = {
  hermes: (p) => p.slice(p.indexOf('<tools>\n'), p.lastIndexOf('</tools>')),
  llama3: (p) => p.slice(p.indexOf('Given the following functions'), p.lastIndexOf('<|eot_id|><|start_header_id|>assistant')),
  mistral: (p) => p.slice(p.indexOf('[AVAILABLE_TOOLS]'), p.indexOf('[/AVAILABLE_TOOLS]')),
  deepseek: (p) => p.slice(p.indexOf('You can call any of the following function tools'), p.indexOf('<｜User｜>')),
};

const user = (content: string): ChatMessage => ({ role: 'user', content });

describe.each(FAMILIES)('$id ($template)', (f) => {
  const format = chatFormatOf(templateSource(f.template));

  it(`reads calls with the ${f.syntax} syntax`, () => {
    expect(format.syntax?.kind).toBe(f.syntax);
    expect(format.generic).toBe(false);
  });

  it('shows every one of 12 tools with its name, description and parameter names in the family format', () => {
    const { text } = render(f, { messages: [{ role: 'system', content: 'You are a coding agent.' }, user('Fix the failing test')], tools: AGENT_TOOLS });
    const section = TOOL_SECTION[f.syntax](text);
    expect(section.length).toBeGreaterThan(0);
    for (const t of AGENT_TOOLS) {
      expect(section).toContain(`"name": "${t.function.name}"`);
      expect(section).toContain(t.function.description);
      for (const p of Object.keys(t.function.parameters.properties)) expect(section).toContain(`"${p}": {`);
    }
    expect(text).toContain('You are a coding agent.');
    expect(text).toContain('Fix the failing test');
  });

  it('shows assistant tool calls and tool results in the family syntax', () => {
    const { text } = render(f, {
      messages: [
        user('Read a.ts'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_abc123', content: 'export const a = 1;' },
      ],
      tools: AGENT_TOOLS,
    });
    const expected: Record<Family['syntax'], RegExp[]> = {
      hermes: [
        /<tool_call>\n\{"name": "read_file", "arguments": \{"path": "a\.ts"\}\}\n<\/tool_call>/,
        /<tool_response>\nexport const a = 1;\n<\/tool_response>/,
      ],
      llama3: [
        /\{"name": "read_file", "parameters": \{"path": "a\.ts"\}\}<\|eot_id\|>/,
        /<\|start_header_id\|>ipython<\|end_header_id\|>\n\n"export const a = 1;"/,
      ],
      // Mistral's template accepts only 9-alphanumeric ids: the client's id is mapped, the same on call and result.
      mistral: [
        /\[TOOL_CALLS\]\[\{"name": "read_file", "arguments": \{"path": "a\.ts"\}, "id": "([a-zA-Z0-9]{9})"\}\]/,
        /\[TOOL_RESULTS\]\{"content": export const a = 1;, "call_id": "[a-zA-Z0-9]{9}"\}\[\/TOOL_RESULTS\]/,
      ],
      deepseek: [
        /<｜tool▁call▁begin｜>function<｜tool▁sep｜>read_file\n```json\n\{"path": "a\.ts"\}\n```<｜tool▁call▁end｜>/,
        /<｜tool▁output▁begin｜>export const a = 1;<｜tool▁output▁end｜>/,
      ],
    };
    for (const re of expected[f.syntax]) expect(text).toMatch(re);
    if (f.syntax === 'mistral') {
      const ids = [...text.matchAll(/"(?:id|call_id)": "([a-zA-Z0-9]{9})"/g)].map((m) => m[1]);
      expect(new Set(ids).size).toBe(1);
    }
  });

  it('treats developer messages as system messages', () => {
    const dev = render(f, { messages: [{ role: 'developer', content: 'Answer in French.' }, user('Hi')] }).text;
    const sys = render(f, { messages: [{ role: 'system', content: 'Answer in French.' }, user('Hi')] }).text;
    expect(dev).toBe(sys);
    expect(dev).toContain('Answer in French.');
  });

  it('refuses a tool result that answers no earlier call, naming it', () => {
    const err = refusal(() => render(f, { messages: [user('x'), { role: 'tool', tool_call_id: 'nope', content: 'r' }] }));
    expect(err).toMatchObject({ code: 'invalid_request', param: 'messages[1].tool_call_id' });
  });
});

describe('family specifics', () => {
  const [qwen, llama, mistral, r1] = FAMILIES;

  it('finds what each template can express by rendering probes', () => {
    const caps = Object.fromEntries(FAMILIES.map((f) => [f.id, chatFormatOf(templateSource(f.template)).caps]));
    expect(caps['demo-qwen2.5']).toMatchObject({
      systemRole: true,
      describesTools: true,
      toolCalls: true,
      parallelCalls: true,
      objectArguments: true,
      nineCharIds: false,
    });
    expect(caps['demo-llama3.1']).toMatchObject({ describesTools: true, toolCalls: true, parallelCalls: false });
    expect(caps['demo-mistral']).toMatchObject({ describesTools: true, parallelCalls: true, nineCharIds: true });
    // The R1 distill template renders calls and results but never the tool definitions.
    expect(caps['demo-r1']).toMatchObject({ describesTools: false, toolCalls: true, parallelCalls: true, thinkingSwitch: true });
  });

  it.each([
    ['Qwen-Qwen3-0.6B', 'hermes'],
    ['Qwen-QwQ-32B', 'hermes'],
    ['NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use', 'hermes'],
    ['ibm-granite-granite-4.0', 'hermes'],
    ['meta-llama-Llama-3.3-70B-Instruct', 'llama3'],
    ['unsloth-mistral-Devstral-Small-2507', 'mistral-args'],
    ['Mistral-Small-3.2-24B-Instruct-2506', 'mistral-args'],
    ['llama-cpp-deepseek-r1', 'deepseek'],
    // Same markers, other formats: the syntax must read back what the template writes, or none is chosen.
    ['Qwen3-Coder', undefined],
    ['GLM-4.6', undefined],
    ['meetkai-functionary-medium-v3.1', undefined],
    ['openai-gpt-oss-120b', undefined],
  ])('reads back what %s writes with the %s syntax', (template, kind) => {
    expect(chatFormatOf(templateSource(template)).syntax?.kind).toBe(kind);
  });

  it('shows R1 distills their tools with an example call in their own syntax, since the template cannot', () => {
    const { text } = render(r1, { messages: [user('hi')], tools: AGENT_TOOLS.slice(0, 1) });
    expect(text).toContain("You can call any of the following function tools to satisfy the user's requests:");
    expect(text).toContain('<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>example_function_name\n```json\n{"arg1": "some_value"}\n```');
    expect(text.indexOf('read_file')).toBeLessThan(text.indexOf('<｜User｜>'));
  });

  it('leaves R1 inside <think> after the generation prompt, and closes it for reasoning_effort none', () => {
    const thinking = render(r1, { messages: [user('hi')] });
    expect(thinking.text.endsWith('<｜Assistant｜><think>\n')).toBe(true);
    expect(thinking.opensReasoning).toBe(true);
    const none = render(r1, { messages: [user('hi')], reasoning_effort: 'none' });
    expect(none.opensReasoning).toBe(false);
    expect(none.text.endsWith('</think>')).toBe(true);
    // Qwen2.5 has no reasoning: reasoning_effort changes nothing there.
    expect(render(qwen, { messages: [user('hi')], reasoning_effort: 'none' }).text).toBe(render(qwen, { messages: [user('hi')] }).text);
  });

  it('prints the rendering date where Llama 3.1 asks for it', () => {
    expect(render(llama, { messages: [user('hi')] }).text).toContain('Today Date: 17 May 2025');
  });

  it("names the message a template refuses with its own error, before generation (Mistral's role alternation)", () => {
    const err = refusal(() => render(mistral, { messages: [user('a'), { role: 'assistant', content: 'b' }, { role: 'assistant', content: 'c' }] }));
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe('messages[2]');
    expect(err.message).toMatch(/demo-x's chat template cannot express this request: .*alternate/);
  });

  it('names the message when Llama 3.1 is handed two calls in one turn', () => {
    const calls = ['a', 'b'].map((p, i) => ({ id: `c${i}`, type: 'function', function: { name: 'read_file', arguments: JSON.stringify({ path: p }) } }));
    const err = refusal(() =>
      render(llama, {
        messages: [
          user('x'),
          { role: 'assistant', content: null, tool_calls: calls },
          ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: 'r' })),
        ],
        tools: AGENT_TOOLS,
      }),
    );
    expect(err).toMatchObject({ code: 'invalid_request', param: 'messages[1]' });
    expect(err.message).toMatch(/single tool-calls/);
  });

  it('refuses tool calls in the history of a template that cannot show them, naming the message', () => {
    const plain = chatFormatOf('{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}');
    expect(plain.syntax).toBeUndefined();
    const err = refusal(() =>
      render(plain, {
        messages: [user('x'), { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }],
      }),
    );
    expect(err).toMatchObject({ code: 'invalid_request', param: 'messages[1].tool_calls' });
  });

  it('reports a template that does not parse, or fails to render, as the model’s error, never as the client’s', () => {
    const broken = chatFormatOf('{% for m in messages %}{{ m.content }');
    expect(broken.broken).toMatch(/does not parse/);
    expect(refusal(() => render(broken, { messages: [user('x')] }, 'demo-broken'))).toMatchObject({ code: 'template_error', status: 500 });
    const failing = chatFormatOf('{{ messages[0].content | no_such_filter }}');
    const err = refusal(() => render(failing, { messages: [user('x')] }, 'demo-failing'));
    expect(err).toMatchObject({ code: 'template_error' });
    expect(err.message).toMatch(/^model demo-failing: the chat template failed to render/);
  });

  it('renders GGUFs without a template in the documented generic format', () => {
    const generic = chatFormatOf(undefined);
    expect(generic).toMatchObject({ generic: true, syntax: { kind: 'hermes' } });
    const { text } = render(generic, {
      messages: [{ role: 'system', content: 'Be brief.' }, user('Weather?')],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
    });
    expect(text).toBe(
      '<|im_start|>system\nBe brief.\n\nTools (to call one, answer <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>):\n' +
        '{"name": "get_weather", "description": "Weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}<|im_end|>\n' +
        '<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});
