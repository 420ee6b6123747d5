import type { ChatHistoryItem, ChatModelFunctionCall } from 'node-llama-cpp';
import { ApiError } from './errors';
import { contentText, type ChatMessage } from './openai-schema';

/**
 * OpenAI messages as node-llama-cpp chat history, ending with the empty model
 * turn to generate. Assistant `tool_calls` become native function-call items and
 * each `role: tool` message fills in its call's result, so the chat template
 * renders them in the model's own call syntax. Throws ApiError for what cannot be
 * rendered: image parts (this engine has no vision) and tool results that answer no call.
 */
export function toHistory(messages: readonly ChatMessage[], systemNote?: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();
  messages.forEach((m, i) => {
    if (m.role === 'system' || m.role === 'developer') return void history.push({ type: 'system', text: contentText(m.content) });
    if (m.role === 'user') {
      if (typeof m.content === 'string') return void history.push({ type: 'user', text: m.content });
      const image = m.content.findIndex((p) => p.type === 'image_url');
      if (image !== -1) throw new ApiError('invalid_request', 'this model does not accept images (the builtin engine has no vision support)', `messages[${i}].content[${image}]`);
      return void history.push({ type: 'user', text: m.content.map((p) => (p.type === 'text' ? p.text : '')).join('') });
    }
    if (m.role === 'assistant') {
      const text = contentText(m.content);
      const response: Array<string | ChatModelFunctionCall> = text ? [text] : [];
      for (const tc of m.tool_calls ?? []) {
        const call: ChatModelFunctionCall = { type: 'functionCall', name: tc.function.name, params: parseArguments(tc.function.arguments), result: '' };
        calls.set(tc.id, call);
        response.push(call);
      }
      return void history.push({ type: 'model', response });
    }
    const call = calls.get(m.tool_call_id);
    if (!call) throw new ApiError('invalid_request', `no earlier assistant tool call has id '${m.tool_call_id}'`, `messages[${i}].tool_call_id`);
    call.result = contentText(m.content);
  });
  if (systemNote) {
    const first = history[0];
    if (first?.type === 'system') history[0] = { type: 'system', text: `${first.text}\n${systemNote}` };
    else history.unshift({ type: 'system', text: systemNote });
  }
  history.push({ type: 'model', response: [] }); // the turn to generate
  return history;
}

/** Arguments are a JSON string by contract; a client that sent something else still gets it rendered verbatim. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
