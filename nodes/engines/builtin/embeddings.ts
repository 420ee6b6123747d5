import type { ServerResponse } from 'node:http';
import type { Token } from 'node-llama-cpp';
import * as z from 'zod';
import type { Engine } from './engine';
import { ApiError, sendJson } from './errors';
import { parseBody } from './openai-schema';

const MAX_INPUTS = 2048;

/** OpenAI's embeddings request: text, texts, a token array or token arrays. `dimensions` is refused: the model has one size. */
export const EmbeddingRequestSchema = z.object({
  model: z.string().max(256).optional(),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(MAX_INPUTS),
    z.array(z.number().int().nonnegative()).min(1),
    z.array(z.array(z.number().int().nonnegative()).min(1)).min(1).max(MAX_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullable().optional(),
  dimensions: z.never({ message: 'dimensions is not supported: this model returns its native embedding size' }).optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

type Input = string | number[];

function inputsOf(input: EmbeddingRequest['input']): Input[] {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as Input[];
}

/** Unit length, as OpenAI's embeddings are, so a dot product is the cosine similarity. */
function normalise(v: readonly number[]): number[] {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function base64Of(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}

let queue: Promise<unknown> = Promise.resolve();
/** One embedding at a time: the embedding context has a single sequence. */
function serialised<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work, work);
  queue = run.catch(() => undefined);
  return run;
}

/** POST /v1/embeddings. Every input is checked (empty, unknown token ids, too long) before any is computed. */
export async function handleEmbeddings(engine: Engine, res: ServerResponse, body: unknown): Promise<void> {
  const request = parseBody(EmbeddingRequestSchema, body);
  const multi = Array.isArray(request.input) && typeof request.input[0] !== 'number';
  const tokenLists = inputsOf(request.input).map((input, i) => {
    const param = multi ? `input[${i}]` : 'input';
    if (typeof input === 'string') {
      if (input.length === 0) throw new ApiError('invalid_request', `${param}: must not be empty`, param);
      return engine.model.tokenize(input);
    }
    const bad = input.find((id) => engine.vocabSize === undefined || id >= engine.vocabSize);
    if (bad !== undefined) throw new ApiError('invalid_request', `${param}: token id ${bad} is outside the vocabulary`, param);
    return input as Token[];
  });
  tokenLists.forEach((tokens, i) => {
    if (tokens.length > engine.contextSize) {
      const param = multi ? `input[${i}]` : 'input';
      throw new ApiError('context_length_exceeded', `${param} has ${tokens.length} tokens; this model embeds at most ${engine.contextSize}`, param);
    }
  });
  const context = await engine.embeddingContext();
  const vectors = await serialised(async () => {
    const out: number[][] = [];
    for (const tokens of tokenLists) out.push(normalise((await context.getEmbeddingFor(tokens)).vector));
    return out;
  });
  const promptTokens = tokenLists.reduce((n, t) => n + t.length, 0);
  sendJson(res, 200, {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: request.encoding_format === 'base64' ? base64Of(v) : v })),
    model: engine.name,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}
