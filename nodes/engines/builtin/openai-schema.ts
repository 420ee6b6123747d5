import * as z from 'zod';
import { ApiError } from './errors';

/**
 * The OpenAI request shapes this engine accepts. Fields it does not know are
 * ignored (clients send many); fields it knows but cannot honour are rejected
 * with a 400 naming them, rather than silently dropped.
 */
const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
// Image parts parse so the engine can refuse them by name (chat-history.ts) instead of a vague type error.
const ImagePartSchema = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string() }).loose() });
const ContentSchema = z.union([z.string(), z.array(TextPartSchema)]);
const UserContentSchema = z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPartSchema, ImagePartSchema]))]);

export const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export const ChatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: ContentSchema }),
  z.object({ role: z.literal('developer'), content: ContentSchema }), // OpenAI's newer name for system
  z.object({ role: z.literal('user'), content: UserContentSchema }),
  z.object({
    role: z.literal('assistant'),
    content: ContentSchema.nullable().optional(),
    tool_calls: z.array(ToolCallSchema).nullable().optional(),
    // A previous answer's thoughts, as this engine returned them; templates that keep thoughts in history read it.
    reasoning_content: z.string().nullable().optional(),
  }),
  z.object({ role: z.literal('tool'), content: ContentSchema, tool_call_id: z.string() }),
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type Tool = z.infer<typeof ToolSchema>;

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;

const StopSchema = z
  .union([z.string(), z.array(z.string()).max(4)])
  .nullable()
  .optional();

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().max(64).optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

/** Sampling fields shared by chat and legacy completions. */
const sampling = {
  model: z.string().max(256).optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: StopSchema,
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  /** Token id → value added to its logit, as OpenAI defines it (-100 bans, +100 all but forces). */
  logit_bias: z.record(z.string().regex(/^\d+$/, 'keys must be token ids'), z.number().min(-100).max(100)).nullable().optional(),
  n: z.literal(1).nullable().optional(), // one choice per request; n > 1 is refused, not ignored
};

export const ChatCompletionRequestSchema = z
  .object({
    ...sampling,
    messages: z.array(ChatMessageSchema).min(1),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    response_format: ResponseFormatSchema.nullable().optional(),
    tools: z.array(ToolSchema).max(128).nullable().optional(),
    tool_choice: ToolChoiceSchema.nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    // llama-server's semantics: `none` turns thinking off; other values reach templates that read `reasoning_effort`.
    reasoning_effort: z.string().max(32).nullable().optional(),
  })
  .superRefine((req, ctx) => {
    const names = new Set((req.tools ?? []).map((t) => t.function.name));
    const choice = req.tool_choice;
    if ((choice === 'required' || typeof choice === 'object') && names.size === 0) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'tool_choice needs tools' });
    } else if (choice && typeof choice === 'object' && !names.has(choice.function.name)) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice', 'function', 'name'], message: `no tool named '${choice.function.name}'` });
    }
    if (req.tools?.length && req.tool_choice !== 'none' && req.response_format && req.response_format.type !== 'text') {
      ctx.addIssue({ code: 'custom', path: ['response_format'], message: 'response_format cannot be combined with tools' });
    }
  });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

export const CompletionRequestSchema = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** `messages.0.role` → `messages[0].role`, as OpenAI names params. */
export function formatParam(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Validates a parsed JSON body; throws ApiError(invalid_request) naming the first offending field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue.path.length > 0 ? formatParam(issue.path) : null;
  throw new ApiError('invalid_request', param ? `${param}: ${issue.message}` : issue.message, param);
}

export function contentText(content: z.infer<typeof ContentSchema> | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}
