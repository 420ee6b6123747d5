import { TokenBias, type LLamaChatGenerateResponseOptions, type Token } from 'node-llama-cpp';
import type { Engine } from './engine';
import { ApiError } from './errors';
import type { ChatCompletionRequest, CompletionRequest } from './openai-schema';

export type FinishReason = 'stop' | 'length' | 'tool_calls';
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

type Sampling = Pick<LLamaChatGenerateResponseOptions, 'temperature' | 'topP' | 'seed' | 'customStopTriggers' | 'repeatPenalty'>;

/** Maps OpenAI sampling fields to node-llama-cpp options, using OpenAI's defaults where a field is absent. */
export function toSampling(req: ChatCompletionRequest | CompletionRequest): Sampling {
  const stop = req.stop == null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
  const presence = req.presence_penalty ?? 0;
  const frequency = req.frequency_penalty ?? 0;
  return {
    temperature: req.temperature ?? 1, // OpenAI's default; node-llama-cpp's own default (0) would be greedy
    topP: req.top_p ?? 1,
    // llama.cpp takes a 32-bit seed; OpenAI allows any integer, so it is folded rather than passed to native code as is.
    seed: req.seed == null ? undefined : ((req.seed % 2 ** 32) + 2 ** 32) % 2 ** 32,
    customStopTriggers: stop.filter((s) => s.length > 0),
    // penalty 1 turns off llama.cpp's multiplicative repeat penalty, which OpenAI has no equivalent of.
    repeatPenalty: presence === 0 && frequency === 0 ? false : { penalty: 1, presencePenalty: presence, frequencyPenalty: frequency },
  };
}

/**
 * OpenAI `logit_bias` as a node-llama-cpp TokenBias. Ids are checked against the
 * vocabulary first: an out-of-range id would reach llama.cpp's native lookup.
 */
export function tokenBiasFor(engine: Engine, logitBias: Record<string, number> | null | undefined): TokenBias | undefined {
  const entries = Object.entries(logitBias ?? {});
  if (entries.length === 0) return undefined;
  if (engine.vocabSize === undefined) throw new ApiError('invalid_request', 'logit_bias is not supported for this model', 'logit_bias');
  const bias = new TokenBias(engine.model.tokenizer);
  for (const [key, value] of entries) {
    const id = Number(key);
    if (id >= engine.vocabSize)
      throw new ApiError('invalid_request', `logit_bias: token id ${key} is outside the vocabulary (${engine.vocabSize})`, 'logit_bias');
    bias.set(id as Token, { logit: value });
  }
  return bias;
}

/** Tokens the chat template may add around the generated text (end-of-turn markers); kept free so nothing overflows. */
const RESERVED_TOKENS = 4;

/**
 * The completion budget: the request's limit, capped by what is left of the
 * context after the prompt. A prompt that leaves no room is a 400, never a
 * silent context shift that would drop the start of the conversation.
 */
export function completionBudget(engine: Engine, promptTokens: number, requested: number | null | undefined, param = 'messages'): number {
  const room = engine.contextSize - promptTokens - RESERVED_TOKENS;
  if (room < 1) {
    throw new ApiError(
      'context_length_exceeded',
      `This model's context is ${engine.contextSize} tokens; the prompt uses ${promptTokens}, leaving no room for a completion.`,
      param,
    );
  }
  return Math.min(requested ?? room, room);
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export function finishReasonOf(stopReason: string): FinishReason {
  return stopReason === 'maxTokens' ? 'length' : 'stop';
}
