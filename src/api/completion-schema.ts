import * as z from 'zod';
import { LogitBias, MAX_TOKENS_CEILING, Stop } from './chat-schema';

/**
 * Legacy `/v1/completions`, as far as porten honours it. Strict like chat:
 * `echo`, `suffix`, `best_of`, `logprobs` and n > 1 are refused by name.
 * One prompt per request (a string, or an array holding one string).
 */
export const CompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(128),
    prompt: z.union([z.string(), z.array(z.string()).length(1, { message: 'only one prompt per request is supported' })]),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    max_tokens: z.number().int().positive().max(MAX_TOKENS_CEILING).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: Stop,
    seed: z.number().int().nullable().optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    logit_bias: LogitBias,
    n: z.literal(1, { message: 'only n=1 is supported' }).nullable().optional(),
    user: z.string().optional(),
  })
  .strict();

export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;
