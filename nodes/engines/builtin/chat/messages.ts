import { createHash } from 'node:crypto';
import { ApiError } from '../errors';
import { contentText, type ChatMessage, type Tool } from '../openai-schema';
import type { TemplateCaps } from './template-caps';
import type { TemplateMessage, TemplateTool } from './template';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A stable 9-alphanumeric stand-in for a call id, for templates that accept only those (Mistral's). */
export function nineCharId(id: string): string {
  if (/^[a-zA-Z0-9]{9}$/.test(id)) return id;
  const hash = createHash('sha256').update(id).digest();
  return Array.from(hash.subarray(0, 9), (b) => ALNUM[b % ALNUM.length]).join('');
}

/** Text of a content field; parts joined with newlines, as llama.cpp joins them for string-only templates. */
function text(content: ChatMessage['content'] | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => ('text' in p ? p.text : '')).join('\n');
}

/**
 * OpenAI messages as the template reads them, the way llama.cpp's `--jinja`
 * mode passes them: `developer` as `system`, empty content as `""`, tool-call
 * arguments as objects when the template serialises them itself, ids in the
 * form the template demands, and a system message merged into the next one when
 * the template has no system turn. Throws ApiError (400, naming the field) for
 * what no template can be shown: images, arguments that are not JSON, tool
 * results that answer no call. `origins[i]` is the request index of message i.
 */
export function templateMessages(messages: readonly ChatMessage[], caps: TemplateCaps): { messages: TemplateMessage[]; origins: number[] } {
  const out: TemplateMessage[] = [];
  const callIds = new Set<string>();
  const id = (raw: string) => (caps.nineCharIds ? nineCharId(raw) : raw);
  messages.forEach((m, i) => {
    if (m.role === 'system' || m.role === 'developer') return void out.push({ role: 'system', content: contentText(m.content) });
    if (m.role === 'user') {
      if (typeof m.content !== 'string') {
        const image = m.content.findIndex((p) => p.type === 'image_url');
        if (image !== -1)
          throw new ApiError(
            'invalid_request',
            'this model does not accept images (the builtin engine has no vision support)',
            `messages[${i}].content[${image}]`,
          );
      }
      return void out.push({ role: 'user', content: text(m.content) });
    }
    if (m.role === 'assistant') {
      if (m.tool_calls?.length && !caps.toolCalls) throw cannotShow(`messages[${i}].tool_calls`);
      const msg: TemplateMessage = { role: 'assistant', content: text(m.content) };
      if (m.reasoning_content) msg.reasoning_content = m.reasoning_content;
      if (m.tool_calls?.length) {
        msg.tool_calls = m.tool_calls.map((tc, j) => {
          callIds.add(tc.id);
          return {
            id: id(tc.id),
            type: 'function',
            function: { name: tc.function.name, arguments: argumentsOf(tc.function.arguments, caps, `messages[${i}].tool_calls[${j}].function.arguments`) },
          };
        });
      }
      return void out.push(msg);
    }
    if (!caps.toolCalls) throw cannotShow(`messages[${i}]`);
    if (!callIds.has(m.tool_call_id))
      throw new ApiError('invalid_request', `no earlier assistant tool call has id '${m.tool_call_id}'`, `messages[${i}].tool_call_id`);
    out.push({ role: 'tool', content: contentText(m.content), tool_call_id: id(m.tool_call_id) });
  });
  const origins = out.map((_, i) => i);
  if (!caps.systemRole && out[0]?.role === 'system') {
    const [system, ...rest] = out;
    if (rest.length === 0) return { messages: [], origins: [] };
    return { messages: [{ ...rest[0], content: `${system.content}\n${rest[0].content}` }, ...rest.slice(1)], origins: origins.slice(1) };
  }
  return { messages: out, origins };
}

const cannotShow = (param: string) => new ApiError('invalid_request', `${param}: this model's chat template cannot show tool calls or tool results`, param);

function argumentsOf(raw: string, caps: TemplateCaps, param: string): unknown {
  if (!caps.objectArguments) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError('invalid_request', `${param}: tool call arguments must be JSON for this model's template`, param);
  }
}

/** Tools as llama.cpp hands them to templates: name, description ("" when absent) and parameters. */
export function templateTools(tools: readonly Tool[]): TemplateTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: { name: t.function.name, description: t.function.description ?? '', parameters: t.function.parameters ?? {} },
  }));
}
