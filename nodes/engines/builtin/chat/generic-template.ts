/**
 * The prompt format for a GGUF without `tokenizer.chat_template` (documented in
 * docs/models.md): ChatML turns, tools listed compactly in the system turn, and
 * Hermes-style calls (`<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`)
 * so the Hermes parser reads them back.
 */
export const GENERIC_TEMPLATE = `
{%- set ns = namespace(system='') -%}
{%- if messages and messages[0].role == 'system' -%}{%- set ns.system = messages[0].content -%}{%- endif -%}
{%- if tools -%}
  {%- set ns.system = ns.system + ('\\n\\n' if ns.system else '') + 'Tools (to call one, answer <tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>):' -%}
  {%- for tool in tools -%}{%- set ns.system = ns.system + '\\n' + (tool.function | tojson) -%}{%- endfor -%}
{%- endif -%}
{%- if ns.system -%}{{- '<|im_start|>system\\n' + ns.system + '<|im_end|>\\n' -}}{%- endif -%}
{%- for message in messages -%}
  {%- if message.role == 'system' and loop.first -%}
  {%- elif message.role == 'assistant' -%}
    {{- '<|im_start|>assistant\\n' + message.content -}}
    {%- for call in (message.tool_calls or []) -%}
      {{- '<tool_call>\\n{"name": "' + call.function.name + '", "arguments": ' + (call.function.arguments | tojson) + '}\\n</tool_call>' -}}
    {%- endfor -%}
    {{- '<|im_end|>\\n' -}}
  {%- else -%}
    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}
`.trim();
