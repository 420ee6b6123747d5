import { stat } from 'node:fs/promises';
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaEmbeddingContext, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp';
import type { EngineArgs } from './args';
import { type ChatFormat, chatFormatOf } from './chat/chat-format';
import { SequencePool } from './sequence-pool';

/** A loaded model with one context of `parallel` sequences, shared by all requests. */
export interface Engine {
  name: string;
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  /** Tokens one request may use in total (prompt + completion); each sequence has its own window. */
  contextSize: number;
  /** How chats are rendered (the GGUF's own template) and read back (the family's call syntax, reasoning tags). */
  chatFormat: ChatFormat;
  /** Special tokens whose text generated answers keep: the call syntax's markers and the reasoning tags. */
  keepTokens: ReadonlySet<string>;
  pool: SequencePool<LlamaContextSequence>;
  /**
   * Memory estimate in MiB: model weights as loaded (`model.size`) plus the context's
   * assumed footprint (`context.memoryUsage`, RAM + VRAM: KV cache and compute buffers),
   * both as node-llama-cpp reports them. Not a process RSS measurement.
   */
  vramMb: number;
  /** Number of token ids, from the GGUF metadata; undefined when the file does not say (then logit_bias is refused). */
  vocabSize?: number;
  /**
   * The embedding context, created on first use: a chat deployment never pays for it.
   * Calls are serialised by the caller (embeddings.ts), as the context has one sequence.
   */
  embeddingContext(): Promise<LlamaEmbeddingContext>;
  dispose(): Promise<void>;
}

function chatTemplateOf(model: LlamaModel): string | undefined {
  const t = (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } }).tokenizer?.chat_template;
  return typeof t === 'string' ? t : undefined;
}

function keepTokensOf(format: ChatFormat): Set<string> {
  const s = format.syntax;
  return new Set([
    ...(s?.markers ?? []),
    ...(s?.startMarkers ?? []),
    ...(s?.tokens ?? []),
    ...(format.reasoning ? [format.reasoning.start, format.reasoning.end] : []),
  ]);
}

function vocabSizeOf(model: LlamaModel): number | undefined {
  const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } }).tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) && tokens.length > 0 ? tokens.length : undefined;
}

export async function loadEngine(args: EngineArgs & { name: string }): Promise<Engine> {
  await stat(args.model); // a clear ENOENT beats node-llama-cpp's generic load failure
  // build: 'never' — compiling llama.cpp from source here would take many minutes; prebuilt binaries only.
  const llama = await getLlama({ gpu: args.gpu === 'auto' ? 'auto' : false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: args.model });
  const context = await model.createContext({
    contextSize: args.ctx,
    sequences: args.parallel,
    threads: args.threads,
  });
  const sequences = Array.from({ length: args.parallel }, () => context.getSequence());
  const mem = context.memoryUsage;
  const chatFormat = chatFormatOf(chatTemplateOf(model));
  let embedding: Promise<LlamaEmbeddingContext> | undefined;
  return {
    name: args.name,
    llama,
    model,
    context,
    contextSize: context.contextSize,
    chatFormat,
    keepTokens: keepTokensOf(chatFormat),
    pool: new SequencePool(sequences),
    vramMb: Math.ceil((model.size + mem.ram + mem.vram) / (1024 * 1024)),
    vocabSize: vocabSizeOf(model),
    embeddingContext: () => (embedding ??= model.createEmbeddingContext({ contextSize: args.ctx, threads: args.threads })),
    async dispose() {
      await (await embedding?.catch(() => undefined))?.dispose();
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
