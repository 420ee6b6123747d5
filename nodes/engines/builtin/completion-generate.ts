import { LlamaCompletion, LlamaText, SpecialToken, type Token, type TokenBias } from 'node-llama-cpp';
import type { Engine } from './engine';
import type { CompletionRequest } from './openai-schema';
import { runOnSequence, type GenerationResult } from './run-on-sequence';
import { completionBudget, tokenBiasFor, toSampling } from './sampling';

export interface PreparedCompletion {
  tokens: Token[];
  maxTokens: number;
  sampling: ReturnType<typeof toSampling> & { tokenBias?: TokenBias };
}

/** Legacy `/v1/completions`: the prompt is raw text (BOS prepended), no chat template. */
export function prepareCompletion(engine: Engine, req: CompletionRequest): PreparedCompletion {
  const prompt = typeof req.prompt === 'string' ? req.prompt : req.prompt[0];
  const tokens = LlamaText([new SpecialToken('BOS'), prompt]).tokenize(engine.model.tokenizer);
  const budget = completionBudget(engine, tokens.length, req.max_tokens ?? 16, 'prompt'); // OpenAI's legacy default is 16
  return { tokens, maxTokens: budget, sampling: { ...toSampling(req), tokenBias: tokenBiasFor(engine, req.logit_bias) } };
}

export function runCompletion(engine: Engine, p: PreparedCompletion, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
  return runOnSequence(engine, p.tokens.length, signal, async (sequence) => {
    const completion = new LlamaCompletion({ contextSequence: sequence });
    try {
      const r = await completion.generateCompletionWithMeta(p.tokens, {
        ...p.sampling,
        maxTokens: p.maxTokens,
        signal,
        stopOnAbortSignal: true,
        disableContextShift: true,
        onTextChunk: onText,
      });
      return { text: r.response, stopReason: r.metadata.stopReason };
    } finally {
      completion.dispose({ disposeSequence: false });
    }
  });
}
