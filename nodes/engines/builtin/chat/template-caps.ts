import { type ChatTemplate, type TemplateInputs, type TemplateMessage, TemplateRaise, type TemplateTool } from './template';

/**
 * What a chat template can express, found by rendering probe conversations
 * (as llama.cpp's `jinja::caps_get` does, but judged from the rendered text
 * rather than from which variables the template touched).
 */
export interface TemplateCaps {
  /** A system message reaches the prompt (else it is merged into the first user message). */
  systemRole: boolean;
  /** Tool definitions (name, description, schema) reach the prompt. */
  describesTools: boolean;
  /** Assistant tool calls and tool results reach the prompt. */
  toolCalls: boolean;
  /** Two calls in one assistant message render (Llama 3.1's template refuses them). */
  parallelCalls: boolean;
  /** Tool-call arguments must be passed as objects (templates that `tojson` them); else as the JSON string. */
  objectArguments: boolean;
  /** Tool-call ids must be 9 alphanumerics (Mistral's templates raise otherwise). */
  nineCharIds: boolean;
  /** `enable_thinking: false` changes the generation prompt (Qwen3, the R1 distill templates). */
  thinkingSwitch: boolean;
}

const BASE = { bos_token: '', eos_token: '', enable_thinking: true, now: new Date(0) } as const;
export const PROBE_TOOL: TemplateTool = {
  type: 'function',
  function: {
    name: 'porten_probe_tool',
    description: 'PORTEN_PROBE_DESCRIPTION',
    parameters: { type: 'object', properties: { porten_arg: { type: 'string' } }, required: ['porten_arg'] },
  },
};
const call = (id: string, name: string, args: unknown) => ({ id, type: 'function' as const, function: { name, arguments: args } });

function tryRender(t: ChatTemplate, inputs: Omit<TemplateInputs, keyof typeof BASE> & Partial<TemplateInputs>): string | undefined {
  try {
    return t.render({ ...BASE, ...inputs });
  } catch {
    return undefined;
  }
}

function conversation(calls: TemplateMessage['tool_calls'], resultId: string): TemplateMessage[] {
  return [
    { role: 'user', content: 'PORTEN_PROBE_USER' },
    { role: 'assistant', content: '', tool_calls: calls },
    { role: 'tool', content: 'PORTEN_PROBE_RESULT', tool_call_id: resultId },
    { role: 'assistant', content: 'PORTEN_PROBE_ANSWER' },
    { role: 'user', content: 'PORTEN_PROBE_AGAIN' },
  ];
}

/** Probes `t`; never throws (a template that fails every probe simply can do nothing beyond plain chat). */
export function probeCaps(t: ChatTemplate): TemplateCaps {
  const system = tryRender(t, {
    messages: [
      { role: 'system', content: 'PORTEN_PROBE_SYSTEM' },
      { role: 'user', content: 'PORTEN_PROBE_USER' },
    ],
    add_generation_prompt: true,
  });
  const described = tryRender(t, { messages: [{ role: 'user', content: 'PORTEN_PROBE_USER' }], tools: [PROBE_TOOL], add_generation_prompt: true });
  // 9 alphanumerics, like llama.cpp's probe id, so templates with Mistral's id rule still render.
  const id = 'call00001';
  const withObject = tryRender(t, {
    messages: conversation([call(id, 'porten_probe_call', { porten_arg: 'v' })], id),
    tools: [PROBE_TOOL],
    add_generation_prompt: true,
  });
  const withString = tryRender(t, {
    messages: conversation([call(id, 'porten_probe_call', '{"porten_arg": "v"}')], id),
    tools: [PROBE_TOOL],
    add_generation_prompt: true,
  });
  const objectArguments = withObject !== undefined && /(^|[^\\])"porten_arg"\s*:/.test(withObject);
  const rendered = objectArguments ? withObject : withString;
  const toolCalls = (rendered?.includes('porten_probe_call') && rendered.includes('PORTEN_PROBE_RESULT')) ?? false;
  const args = (v: string) => (objectArguments ? { porten_arg: v } : `{"porten_arg": "${v}"}`);
  const two = tryRender(t, {
    messages: conversation([call(id, 'porten_probe_call', args('a')), call('call00002', 'porten_probe_second', args('b'))], id),
    tools: [PROBE_TOOL],
    add_generation_prompt: true,
  });
  let nineCharIds = false;
  if (toolCalls) {
    const long = 'call_porten_probe_long_id';
    try {
      t.render({ ...BASE, messages: conversation([call(long, 'porten_probe_call', args('a'))], long), tools: [PROBE_TOOL], add_generation_prompt: true });
    } catch (err) {
      nineCharIds = err instanceof TemplateRaise;
    }
  }
  const user = [{ role: 'user', content: 'PORTEN_PROBE_USER' }];
  const thinking = tryRender(t, { messages: user, add_generation_prompt: true });
  const notThinking = tryRender(t, { messages: user, add_generation_prompt: true, enable_thinking: false });
  return {
    systemRole: system?.includes('PORTEN_PROBE_SYSTEM') ?? false,
    describesTools: (described?.includes('porten_probe_tool') && described.includes('PORTEN_PROBE_DESCRIPTION')) ?? false,
    toolCalls,
    parallelCalls: toolCalls && (two?.includes('porten_probe_second') ?? false),
    objectArguments,
    nineCharIds,
    thinkingSwitch: thinking !== undefined && notThinking !== undefined && thinking !== notThinking,
  };
}
