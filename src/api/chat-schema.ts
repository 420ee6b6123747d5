import * as z from 'zod';

/**
 * OpenAI chat completion request, as far as porten honours it. Unknown keys are
 * rejected (strict) so a parameter is never silently dropped; keys OpenAI
 * accepts that do not change the answer (`user`, `metadata`, `store`) are allowed.
 */
const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const ContentPart = z.discriminatedUnion('type', [TextPart, ImagePart]);

const ToolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const Message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.union([z.string(), z.array(TextPart)]), name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: z.union([z.string(), z.array(TextPart)]), name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(ContentPart).min(1)]), name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(TextPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(ToolCall).optional(),
    // The thoughts of an earlier answer, as porten returned them (`reasoning_content`); templates that keep them read it.
    reasoning_content: z.string().nullable().optional(),
  }),
  z.object({ role: z.literal('tool'), content: z.union([z.string(), z.array(TextPart)]), tool_call_id: z.string() }),
]);

const Tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ToolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) })]);

const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

export const MAX_MESSAGES = 2048;

/** Token id → bias, as OpenAI defines it; the engine checks ids against the model's vocabulary. */
export const LogitBias = z
  .record(z.string().regex(/^\d{1,9}$/, 'keys must be token ids'), z.number().min(-100).max(100))
  .nullable()
  .optional();
export const Stop = z
  .union([z.string(), z.array(z.string()).max(4)])
  .nullable()
  .optional();
export const MAX_TOKENS_CEILING = 32768;

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(128),
    messages: z.array(Message).min(1).max(MAX_MESSAGES),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    max_tokens: z.number().int().positive().max(MAX_TOKENS_CEILING).nullable().optional(),
    max_completion_tokens: z.number().int().positive().max(MAX_TOKENS_CEILING).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: Stop,
    seed: z.number().int().nullable().optional(),
    logit_bias: LogitBias,
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    n: z.literal(1, { message: 'only n=1 is supported' }).nullable().optional(),
    response_format: ResponseFormat.nullable().optional(),
    tools: z.array(Tool).max(128).nullable().optional(),
    tool_choice: ToolChoice.nullable().optional(),
    // Several calls per turn where the model's template can express them (default true, as OpenAI).
    parallel_tool_calls: z.boolean().nullable().optional(),
    // llama-server's semantics: `none` turns the model's thinking off; other values reach templates that read them.
    // Accepted, never refused: OpenCode sends 'low' on every title request to a model marked `reasoning`, and the
    // AI SDK's `reasoning` option adds 'max' to OpenAI's levels (docs/clients.md).
    reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).nullable().optional(),
    user: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    store: z.boolean().nullable().optional(),
    // OpenAI's successors to `user`: identifiers for caching and abuse tracking that never change the answer.
    prompt_cache_key: z.string().max(1024).nullable().optional(),
    safety_identifier: z.string().max(1024).nullable().optional(),
  })
  .strict()
  .superRefine((req, ctx) => {
    // OpenAI refuses these combinations up front; so do we, before any model is loaded.
    const names = new Set((req.tools ?? []).map((t) => t.function.name));
    const choice = req.tool_choice;
    if ((choice === 'required' || typeof choice === 'object') && choice !== null && names.size === 0) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'tool_choice is only allowed when tools are specified' });
    } else if (choice && typeof choice === 'object' && !names.has(choice.function.name)) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: `no tool named '${choice.function.name}' in tools` });
    }
    if (req.stream_options && req.stream !== true) {
      ctx.addIssue({ code: 'custom', path: ['stream_options'], message: 'stream_options is only allowed when stream is true' });
    }
  });

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** Capabilities a request needs from the model, derived from its shape. */
export type Capability = 'chat' | 'tools' | 'json' | 'vision' | 'embeddings' | 'reasoning';

export function chatNeeds(req: ChatCompletionRequest): Capability[] {
  const needs: Capability[] = ['chat'];
  if (req.tools?.length && req.tool_choice !== 'none') needs.push('tools');
  if (req.response_format && req.response_format.type !== 'text') needs.push('json');
  const hasImage = req.messages.some((m) => m.role === 'user' && Array.isArray(m.content) && m.content.some((p) => p.type === 'image_url'));
  if (hasImage) needs.push('vision');
  return needs;
}
