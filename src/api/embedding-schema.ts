import * as z from 'zod';

export const MAX_EMBEDDING_INPUTS = 2048;
const TokenIds = z
  .array(
    z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31 - 1),
  )
  .min(1);

/**
 * `/v1/embeddings`: a string, strings, a token array or token arrays.
 * `dimensions` is refused by name: the builtin engine returns each model's native size.
 */
export const EmbeddingRequestSchema = z
  .object({
    model: z.string().min(1).max(128),
    input: z.union([
      z.string().min(1, { message: 'must not be empty' }),
      z
        .array(z.string().min(1, { message: 'must not be empty' }))
        .min(1)
        .max(MAX_EMBEDDING_INPUTS),
      TokenIds,
      z.array(TokenIds).min(1).max(MAX_EMBEDDING_INPUTS),
    ]),
    encoding_format: z.enum(['float', 'base64']).nullable().optional(),
    dimensions: z.never({ message: "dimensions is not supported; embeddings have the model's native size" }).optional(),
    user: z.string().optional(),
  })
  .strict();

export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;
