import { GENERIC_TEMPLATE } from './generic-template';
import { deepseekSyntax } from './syntax-deepseek';
import { hermesSyntax } from './syntax-hermes';
import { llama3Syntax } from './syntax-llama3';
import { mistralArgsSyntax, mistralSyntax } from './syntax-mistral';
import { ChatTemplate, TemplateFailure } from './template';
import { PROBE_TOOL, probeCaps, type TemplateCaps } from './template-caps';
import type { ToolSyntax } from './tool-syntax';

export interface ReasoningTags {
  start: string;
  end: string;
}

/** How one model's chats are rendered and read back, decided once when the engine loads. */
export interface ChatFormat {
  /** The model's own template, or the generic one when the GGUF has none. */
  template?: ChatTemplate;
  /** Why the model's template cannot be used (it does not parse): every chat request fails with this, naming the model. */
  broken?: string;
  generic: boolean;
  caps: TemplateCaps;
  /** The family's call syntax; undefined when the template shows none this engine can read. */
  syntax?: ToolSyntax;
  /** Tags of the model's visible reasoning, when its template shows them. */
  reasoning?: ReasoningTags;
}

const NO_CAPS: TemplateCaps = {
  systemRole: false,
  describesTools: false,
  toolCalls: false,
  parallelCalls: false,
  objectArguments: false,
  nineCharIds: false,
  thinkingSwitch: false,
};

/** The family's call syntax, from what the template source shows (llama.cpp's chat.cpp detects the same markers). */
export function detectSyntax(source: string): ToolSyntax | undefined {
  if (source.includes('[TOOL_CALLS]')) return source.includes('[ARGS]') ? mistralArgsSyntax : mistralSyntax;
  if (source.includes('tool▁call▁begin') || source.includes('tool▁calls▁begin')) return deepseekSyntax;
  if (source.includes('<tool_call>')) return hermesSyntax;
  if (source.includes('<|python_tag|>') || (source.includes('<|start_header_id|>') && source.includes('"parameters"'))) return llama3Syntax;
  return undefined;
}

export function detectReasoning(source: string): ReasoningTags | undefined {
  return source.includes('<think>') || source.includes('</think>') ? { start: '<think>', end: '</think>' } : undefined;
}

/**
 * Whether `syntax` reads back what the template writes: an assistant call
 * rendered through it must parse into the same name and arguments. Catches
 * templates that share a marker but not the format (Qwen3-Coder's and GLM's
 * XML arguments inside `<tool_call>`, Functionary's `<function=…>`).
 */
export function readsBack(t: ChatTemplate, syntax: ToolSyntax, caps: TemplateCaps): boolean {
  const args = caps.objectArguments ? { porten_arg: 'v' } : '{"porten_arg": "v"}';
  let text: string;
  try {
    text = t.render({
      messages: [
        { role: 'user', content: 'PORTEN_PROBE_USER' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call00001', type: 'function', function: { name: 'porten_probe_call', arguments: args } }] },
      ],
      tools: [PROBE_TOOL],
      add_generation_prompt: false,
      bos_token: '',
      eos_token: '',
      enable_thinking: true,
      now: new Date(0),
    });
  } catch {
    return false;
  }
  const after = text.indexOf('PORTEN_PROBE_USER');
  const found = [...syntax.markers, ...(syntax.startMarkers ?? [])].map((m) => text.indexOf(m, after)).filter((i) => i >= 0);
  if (after < 0 || found.length === 0) return false;
  const [call] = syntax.read(text.slice(Math.min(...found))).calls;
  try {
    return call?.name === 'porten_probe_call' && (JSON.parse(call.arguments) as { porten_arg?: string }).porten_arg === 'v';
  } catch {
    return false;
  }
}

/**
 * The chat format of a model whose GGUF carries `source` (undefined: no
 * template, use the generic format). Never throws: a template that does not
 * parse yields a format whose `broken` says why.
 */
export function chatFormatOf(source: string | undefined): ChatFormat {
  const generic = source === undefined || source.trim() === '';
  const text = generic ? GENERIC_TEMPLATE : source;
  let template: ChatTemplate;
  try {
    template = new ChatTemplate(text);
  } catch (err) {
    return { generic, caps: NO_CAPS, broken: err instanceof TemplateFailure ? err.message : String(err) };
  }
  const caps = probeCaps(template);
  const detected = caps.toolCalls ? detectSyntax(text) : undefined;
  const syntax = detected && readsBack(template, detected, caps) ? detected : undefined;
  return { template, generic, caps, syntax, reasoning: detectReasoning(text) };
}
