import { LlamaChat, type ChatHistoryItem, type LlamaGrammar, type TokenBias } from 'node-llama-cpp';
import { toHistory } from './chat-history';
import type { Engine } from './engine';
import { ApiError } from './errors';
import type { ChatCompletionRequest } from './openai-schema';
import { runOnSequence, type GenerationResult } from './run-on-sequence';
import { completionBudget, tokenBiasFor, toSampling } from './sampling';
import { planTools, type ToolPlan } from './tool-plan';

export interface PreparedChat {
  history: ChatHistoryItem[];
  promptTokens: number;
  maxTokens: number;
  grammar?: LlamaGrammar;
  tools: ToolPlan;
  sampling: ReturnType<typeof toSampling> & { tokenBias?: TokenBias };
}

async function formatGrammar(engine: Engine, req: ChatCompletionRequest): Promise<LlamaGrammar | undefined> {
  const format = req.response_format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object' || !format.json_schema.schema) return engine.jsonGrammar();
  try {
    // The schema is client input: node-llama-cpp validates it and throws on constructs it cannot turn into a grammar.
    return await engine.llama.createGrammarForJsonSchema(format.json_schema.schema as never);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ApiError('invalid_request', `response_format.json_schema.schema: unsupported schema (${why})`, 'response_format.json_schema.schema');
  }
}

/**
 * Everything that can reject a request, done before a sequence is taken or a
 * response byte is written: history rendering, tool schemas, prompt token count, budget, grammar.
 */
export async function prepareChat(engine: Engine, req: ChatCompletionRequest): Promise<PreparedChat> {
  const tools = await planTools(engine.llama, req);
  const history = toHistory(req.messages, tools.kind === 'text' ? undefined : tools.note);
  const { contextText } = engine.chatWrapper.generateContextState({ chatHistory: history });
  const promptTokens = contextText.tokenize(engine.model.tokenizer).length;
  const maxTokens = completionBudget(engine, promptTokens, req.max_completion_tokens ?? req.max_tokens);
  const grammar = tools.kind === 'text' ? await formatGrammar(engine, req) : tools.grammar;
  return { history, promptTokens, maxTokens, grammar, tools, sampling: { ...toSampling(req), tokenBias: tokenBiasFor(engine, req.logit_bias) } };
}

/**
 * Generates one chat completion on a pooled sequence, calling `onText` with each
 * piece of text (whole UTF-8 characters: node-llama-cpp holds back partial ones).
 */
export function runChat(engine: Engine, p: PreparedChat, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
  return runOnSequence(engine, p.promptTokens, signal, async (sequence) => {
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: engine.chatWrapper });
    try {
      const r = await chat.generateResponse(p.history, {
        ...p.sampling,
        ...(p.grammar ? { grammar: p.grammar } : {}),
        maxTokens: p.maxTokens,
        signal,
        stopOnAbortSignal: true,
        onTextChunk: onText,
      });
      return { text: r.response, stopReason: r.metadata.stopReason };
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  });
}
