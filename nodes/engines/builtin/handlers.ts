import type { IncomingMessage, ServerResponse } from 'node:http';
import { prepareChat, runChat } from './chat-generate';
import { prepareCompletion, runCompletion } from './completion-generate';
import type { Engine } from './engine';
import { ChatCompletionRequestSchema, CompletionRequestSchema, parseBody } from './openai-schema';
import { chatShape } from './chat-output';
import { newMeta, textCompletion, textUsageChunk } from './responses';
import { serveGeneration } from './serve-generation';

export interface HandlerContext {
  engine: Engine;
  stopping: AbortSignal;
  log: (line: string) => void;
}

/** POST /v1/chat/completions. Validation and prompt checks throw ApiError before any byte is written. */
export async function handleChat(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
  const request = parseBody(ChatCompletionRequestSchema, body);
  const prepared = await prepareChat(ctx.engine, request);
  const meta = newMeta('chatcmpl', ctx.engine.name);
  const shape = chatShape(meta, prepared.spec, prepared);
  await serveGeneration(
    req,
    res,
    { id: meta.id, stream: request.stream === true, includeUsage: request.stream_options?.include_usage === true, stopping: ctx.stopping, log: ctx.log },
    shape,
    (signal, emit) => runChat(ctx.engine, prepared, signal, emit && ((text, held) => emit(shape.update(text, held)))),
  );
}

/** POST /v1/completions (legacy text completion). */
export async function handleCompletion(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
  const request = parseBody(CompletionRequestSchema, body);
  const prepared = prepareCompletion(ctx.engine, request);
  const meta = newMeta('cmpl', ctx.engine.name);
  await serveGeneration(
    req,
    res,
    { id: meta.id, stream: request.stream === true, includeUsage: request.stream_options?.include_usage === true, stopping: ctx.stopping, log: ctx.log },
    {
      closing: (r) => [textCompletion(meta, '', r.finishReason)],
      usageChunk: (r) => textUsageChunk(meta, r.usage),
      whole: (r) => textCompletion(meta, r.text, r.finishReason, r.usage),
    },
    (signal, emit) => runCompletion(ctx.engine, prepared, signal, emit && ((text) => text && emit([textCompletion(meta, text, null)]))),
  );
}
