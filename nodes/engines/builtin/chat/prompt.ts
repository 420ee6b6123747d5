import { ApiError } from '../errors';
import type { ChatFormat } from './chat-format';
import { type TemplateInputs, type TemplateMessage, TemplateRaise, type TemplateTool } from './template';

export interface PromptRequest {
  messages: TemplateMessage[];
  /** Request index of each message (errors name the request's field). */
  origins: number[];
  /** The tools to show the model (empty: none). */
  tools: TemplateTool[];
  /** OpenAI `reasoning_effort`; `none` turns thinking off, other values reach templates that read them. */
  reasoningEffort?: string;
  bosToken: string;
  eosToken: string;
  now: Date;
}

export interface Prompt {
  text: string;
  /** The prompt leaves the model inside its reasoning block (R1 templates open `<think>`). */
  opensReasoning: boolean;
}

/**
 * Tools shown in the system turn for templates that render calls but not tool
 * definitions (DeepSeek-R1 distills): the list as JSON and one example call in
 * the template's own syntax, found by rendering an example call through it.
 */
export function toolsPreamble(format: ChatFormat, tools: readonly TemplateTool[], base: Omit<TemplateInputs, 'messages' | 'add_generation_prompt'>): string {
  const t = format.template!;
  const user = { role: 'user', content: 'x' };
  let example = '';
  try {
    // The call's text is what differs from a plain answer in the same place: cut the common prefix and suffix.
    const call = { id: 'call00001', type: 'function' as const, function: { name: 'example_function_name', arguments: { arg1: 'some_value' } } };
    const withCall = t.render({
      ...base,
      messages: [user, { role: 'assistant', content: null as unknown as string, tool_calls: [call] }],
      add_generation_prompt: false,
    });
    const plain = t.render({ ...base, messages: [user, { role: 'assistant', content: 'PORTEN_EXAMPLE' }], add_generation_prompt: false });
    let start = 0;
    while (start < plain.length && plain[start] === withCall[start]) start++;
    let end = 0;
    while (end < plain.length - start && plain[plain.length - 1 - end] === withCall[withCall.length - 1 - end]) end++;
    example = withCall.slice(start, withCall.length - end);
  } catch {
    example = '';
  }
  const list = JSON.stringify(
    tools.map((x) => x.function),
    null,
    2,
  );
  return `You can call any of the following function tools to satisfy the user's requests: ${list}${example ? `\n\nExample function tool call syntax:\n\n${example.trim()}` : ''}\n\n`;
}

function withPreamble(req: PromptRequest, preamble: string, systemRole: boolean): Pick<PromptRequest, 'messages' | 'origins'> {
  const [first, ...rest] = req.messages;
  if (first && (first.role === 'system' || !systemRole)) return { messages: [{ ...first, content: preamble + first.content }, ...rest], origins: req.origins };
  return { messages: [{ role: 'system', content: preamble.trimEnd() }, ...req.messages], origins: [0, ...req.origins] };
}

/**
 * The prompt text for a chat, from the model's template. Throws ApiError:
 * `invalid_request` (400) naming `tools` or `messages[i]` when the template
 * refuses what the request asks (its own raise_exception), `template_error`
 * naming the model when the template fails for another reason.
 */
export function renderPrompt(format: ChatFormat, model: string, req: PromptRequest): Prompt {
  if (!format.template) throw new ApiError('template_error', `model ${model}: its chat template cannot be used (${format.broken})`);
  const t = format.template;
  const enableThinking = req.reasoningEffort !== 'none';
  const base = {
    bos_token: req.bosToken,
    eos_token: req.eosToken,
    enable_thinking: enableThinking,
    reasoning_effort: req.reasoningEffort && req.reasoningEffort !== 'none' ? req.reasoningEffort : undefined,
    now: req.now,
  };
  const { messages, origins } =
    req.tools.length > 0 && !format.caps.describesTools ? withPreamble(req, toolsPreamble(format, req.tools, base), format.caps.systemRole) : req;
  const inputs: TemplateInputs = { ...base, messages, tools: req.tools, add_generation_prompt: true };
  let text: string;
  try {
    text = t.render(inputs);
  } catch (err) {
    if (!(err instanceof TemplateRaise)) throw new ApiError('template_error', `model ${model}: ${err instanceof Error ? err.message : String(err)}`);
    throw refusal(format, model, inputs, origins, err);
  }
  let opensReasoning = format.reasoning !== undefined && text.trimEnd().endsWith(format.reasoning.start);
  // Thinking off for a template that opens the block regardless: close it, as llama.cpp's zero reasoning budget does.
  if (opensReasoning && !enableThinking && format.reasoning) {
    text += format.reasoning.end;
    opensReasoning = false;
  }
  return { text, opensReasoning };
}

/** Names what the template refused: the tools, or the first message after which it raises. */
function refusal(format: ChatFormat, model: string, inputs: TemplateInputs, origins: readonly number[], err: TemplateRaise): ApiError {
  const raises = (partial: TemplateInputs) => {
    try {
      format.template!.render(partial);
      return false;
    } catch (e) {
      return e instanceof TemplateRaise;
    }
  };
  const message = `model ${model}'s chat template cannot express this request: ${err.message}`;
  if (inputs.tools?.length && !raises({ ...inputs, tools: [] })) return new ApiError('invalid_request', message, 'tools');
  // Binary search for the shortest prefix that raises: the message that ends it is the one refused.
  let lo = 1;
  let hi = inputs.messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (raises({ ...inputs, messages: inputs.messages.slice(0, mid), add_generation_prompt: false })) hi = mid;
    else lo = mid + 1;
  }
  return new ApiError('invalid_request', message, `messages[${origins[lo - 1] ?? lo - 1}]`);
}
