import { describe, expect, it } from 'vitest';
import type { ChatResult } from '../../nodes/engines/builtin/chat-generate';
import { chatShape } from '../../nodes/engines/builtin/chat-output';
import { chatFormatOf } from '../../nodes/engines/builtin/chat/chat-format';
import type { OutputSpec } from '../../nodes/engines/builtin/chat/output-parser';
import { parseOutput } from '../../nodes/engines/builtin/chat/output-parser';
import { newMeta } from '../../nodes/engines/builtin/responses';
import { mulberry32 } from '../../scripts/gguf/prng';
import { templateSource } from './helpers/chat-families';

// Each family's native answer text → OpenAI message, whole and streamed: the fixture table of llama.cpp's
// tests/test-chat.cpp, on the real templates (the parser is chosen from what the template shows).

interface Call {
  name: string;
  arguments: string;
}
interface Expected {
  content: string | null;
  reasoning?: string;
  calls?: Call[];
}

const specOf = (template: string, opts: { tools?: boolean; open?: boolean } = {}): OutputSpec => {
  const f = chatFormatOf(templateSource(template));
  return { reasoning: f.reasoning && { ...f.reasoning, open: opts.open ?? false }, syntax: opts.tools === false ? undefined : f.syntax };
};

const QWEN = 'Qwen-Qwen2.5-7B-Instruct';
const LLAMA = 'meta-llama-Llama-3.1-8B-Instruct';
const MISTRAL = 'mistralai-Mistral-Nemo-Instruct-2407';
const DEVSTRAL = 'unsloth-mistral-Devstral-Small-2507';
const R1 = 'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B';
const QWQ = 'Qwen-QwQ-32B';

const readFile = { name: 'read_file', arguments: '{"path": "a.ts", "offset": 3}' };
const grep = { name: 'grep', arguments: '{"pattern": "TODO", "include": "*.ts"}' };
const r1Call = (c: Call) => `<｜tool▁call▁begin｜>function<｜tool▁sep｜>${c.name}\n\`\`\`json\n${c.arguments}\n\`\`\`<｜tool▁call▁end｜>`;

const FIXTURES: Array<[string, OutputSpec, string, Expected]> = [
  [
    'hermes: one call',
    specOf(QWEN),
    `<tool_call>\n{"name": "read_file", "arguments": ${readFile.arguments}}\n</tool_call>`,
    { content: null, calls: [readFile] },
  ],
  [
    'hermes: text, then two calls',
    specOf(QWEN),
    `Let me look.\n<tool_call>\n{"name": "read_file", "arguments": ${readFile.arguments}}\n</tool_call>\n<tool_call>\n{"name": "grep", "arguments": ${grep.arguments}}\n</tool_call>`,
    { content: 'Let me look.\n', calls: [readFile, grep] },
  ],
  [
    'hermes: arguments sent as a JSON string',
    specOf(QWEN),
    '<tool_call>\n{"name": "glob", "arguments": "{\\"pattern\\": \\"*.md\\"}"}\n</tool_call>',
    { content: null, calls: [{ name: 'glob', arguments: '{"pattern": "*.md"}' }] },
  ],
  ['hermes: plain answer mentioning tags', specOf(QWEN), 'Use a <tool> tag, or <tool_', { content: 'Use a <tool> tag, or <tool_' }],
  [
    'hermes: tools off, the syntax is text',
    specOf(QWEN, { tools: false }),
    '<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>',
    { content: '<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>' },
  ],
  ['llama3: bare JSON call', specOf(LLAMA), `{"name": "read_file", "parameters": ${readFile.arguments}}`, { content: null, calls: [readFile] }],
  ['llama3: <|python_tag|> call', specOf(LLAMA), `<|python_tag|>{"name": "grep", "parameters": ${grep.arguments}}`, { content: null, calls: [grep] }],
  [
    'llama3: JSON inside an answer is content',
    specOf(LLAMA),
    'Here: {"name": "read_file", "parameters": {}}',
    { content: 'Here: {"name": "read_file", "parameters": {}}' },
  ],
  [
    'mistral: [TOOL_CALLS] array of two, ids ignored',
    specOf(MISTRAL),
    `[TOOL_CALLS][{"name": "read_file", "arguments": ${readFile.arguments}, "id": "abcdefghi"}, {"name": "grep", "arguments": ${grep.arguments}}]`,
    { content: null, calls: [readFile, grep] },
  ],
  [
    'mistral-args: [TOOL_CALLS]name[ARGS]{…} twice',
    specOf(DEVSTRAL),
    `[TOOL_CALLS]read_file[ARGS]${readFile.arguments}[TOOL_CALLS]grep[ARGS]${grep.arguments}`,
    { content: null, calls: [readFile, grep] },
  ],
  [
    'deepseek: two calls after thinking',
    specOf(R1, { open: true }),
    `The user wants a file.\n</think>\n\n<｜tool▁calls▁begin｜>${r1Call(readFile)}\n${r1Call(grep)}<｜tool▁calls▁end｜>`,
    { content: null, reasoning: 'The user wants a file.', calls: [readFile, grep] },
  ],
  [
    'deepseek: thinking then an answer',
    specOf(R1, { open: true }),
    'Okay, so 2 + 2.\nThat is 4.\n</think>\n\nThe answer is 4.',
    { content: 'The answer is 4.', reasoning: 'Okay, so 2 + 2.\nThat is 4.' },
  ],
  [
    'deepseek: thinking cut off by max_tokens',
    specOf(R1, { open: true }),
    'Still thinking about </thi',
    { content: '', reasoning: 'Still thinking about </thi' },
  ],
  ['qwq: <think> opened by the model', specOf(QWQ), '<think>\nHmm.\n</think>\n\nHello!', { content: 'Hello!', reasoning: 'Hmm.' }],
  ['qwq: no thinking at all', specOf(QWQ), 'Hello <think> is a tag', { content: 'Hello <think> is a tag' }],
];

const usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
const result = (text: string): ChatResult => ({ text, finishReason: 'stop', usage, aborted: false, reasoningTokens: 0 });

/** What the openai SDK's stream helpers accumulate from chunks. */
function accumulate(events: unknown[]) {
  let content: string | null = null;
  let reasoning = '';
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  let finish: string | null = null;
  for (const e of events as Array<{ choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> }>) {
    const { delta, finish_reason } = e.choices[0];
    if (typeof delta.content === 'string') content = (content ?? '') + delta.content;
    if (typeof delta.reasoning_content === 'string') reasoning += delta.reasoning_content;
    for (const d of (delta.tool_calls ?? []) as Array<{ index: number; id?: string; function: { name?: string; arguments: string } }>) {
      if (d.id) {
        expect(d.index).toBe(calls.length);
        expect(d.function.name).toBeTruthy();
        calls.push({ id: d.id, name: d.function.name!, arguments: '' });
      }
      calls[d.index].arguments += d.function.arguments;
    }
    finish = finish_reason ?? finish;
  }
  return { content, reasoning, calls, finish };
}

/** Streams `text` cut at the given points through the real output shape. */
function stream(spec: OutputSpec, text: string, cuts: number[]) {
  const shape = chatShape(newMeta('chatcmpl', 'm'), spec, { toolsActive: spec.syntax !== undefined, nineCharIds: false });
  const events: unknown[] = [shape.opening!()];
  for (const k of cuts) events.push(...shape.update(text.slice(0, k), 0));
  events.push(...shape.closing(result(text)));
  const whole = (shape.whole(result(text)) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> }).choices[0];
  return { streamed: accumulate(events), whole };
}

describe.each(FIXTURES)('%s', (_name, spec, text, want) => {
  it('parses into content, reasoning_content and tool_calls', () => {
    const { whole } = stream(spec, text, []);
    expect(whole.message.content).toBe(want.content);
    expect(whole.message.reasoning_content).toBe(want.reasoning);
    const calls = (whole.message.tool_calls ?? []) as Array<{ id: string; type: string; function: Call }>;
    expect(calls.map((c) => c.function)).toEqual(want.calls ?? []);
    for (const c of calls) expect(c).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_[0-9a-f]{24}$/) });
    expect(whole.finish_reason).toBe(want.calls ? 'tool_calls' : 'stop');
  });

  it('streams the same message, cut after every character', () => {
    const { streamed, whole } = stream(
      spec,
      text,
      Array.from({ length: text.length }, (_, i) => i + 1),
    );
    expect(streamed.content ?? '').toBe(whole.message.content ?? '');
    expect(streamed.reasoning).toBe(whole.message.reasoning_content ?? '');
    expect(streamed.calls).toEqual(((whole.message.tool_calls ?? []) as Array<{ id: string; function: Call }>).map((c) => ({ id: c.id, ...c.function })));
    expect(streamed.finish).toBe(whole.finish_reason);
  });

  it('streams the same message at random cut points (several seeds)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = mulberry32(seed);
      const cuts: number[] = [];
      for (let k = 0; k < text.length; k += 1 + (next() % 7)) cuts.push(k);
      const { streamed, whole } = stream(spec, text, cuts);
      expect(streamed.content ?? '').toBe(whole.message.content ?? '');
      expect(streamed.calls.map((c) => c.arguments)).toEqual(((whole.message.tool_calls ?? []) as Array<{ function: Call }>).map((c) => c.function.arguments));
    }
  });
});

describe('partial answers', () => {
  const hermes = specOf(QWEN);

  it('holds back text that may still become a call marker or a closing tag', () => {
    expect(parseOutput('Sure <tool_c', hermes, false).content).toBe('Sure ');
    expect(parseOutput('\n\n', hermes, false).content).toBe('');
    expect(parseOutput('Sure <tool_c', hermes, true).content).toBe('Sure <tool_c');
    expect(parseOutput('Deep thought </thi', specOf(R1, { open: true }), false).reasoning).toBe('Deep thought');
    expect(parseOutput('{"na', specOf(LLAMA), false)).toMatchObject({ content: '', calls: [] });
  });

  it('announces a call only once its name is complete, then streams its arguments as they grow', () => {
    expect(parseOutput('<tool_call>\n{"name": "read_fi', hermes, false).calls).toEqual([]);
    expect(parseOutput('<tool_call>\n{"name": "read_file", "argu', hermes, false).calls).toEqual([{ name: 'read_file', arguments: '', done: false }]);
    expect(parseOutput('<tool_call>\n{"name": "read_file", "arguments": {"path": "a', hermes, false).calls).toEqual([
      { name: 'read_file', arguments: '{"path": "a', done: false },
    ]);
  });

  it('keeps a call cut off by max_tokens as streamed, and a region that named no call as content', () => {
    const cut = parseOutput('<tool_call>\n{"name": "read_file", "arguments": {"pa', hermes, true);
    expect(cut.calls).toEqual([{ name: 'read_file', arguments: '{"pa', done: false }]);
    expect(parseOutput('<tool_call>\n{"nam', hermes, true)).toMatchObject({ content: '<tool_call>\n{"nam', calls: [] });
  });
});
