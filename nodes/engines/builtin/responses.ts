import { createHash, randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from './sampling';
import type { ChatDelta, ToolCallOut } from './chat/deltas';

/** Identity shared by every object of one response (the chunks of a stream carry the same id and created). */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  /** OpenAI's `system_fingerprint`: changes when the serving configuration (model, engine) changes. */
  fingerprint: string;
}

export function newMeta(prefix: 'chatcmpl' | 'cmpl', model: string): ResponseMeta {
  return { id: `${prefix}-${randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000), model, fingerprint: fingerprintOf(model) };
}

export function fingerprintOf(model: string): string {
  return `fp_${createHash('sha256').update(`builtin:${model}`).digest('hex').slice(0, 10)}`;
}

export interface ChatMessageOut {
  content: string | null;
  /** The model's visible reasoning (`<think>`), returned apart from the content as llama-server's `reasoning_content`. */
  reasoning?: string;
  calls: ToolCallOut[];
}

export function chatCompletion(m: ResponseMeta, out: ChatMessageOut, finishReason: FinishReason, usage: Usage) {
  const message = {
    role: 'assistant',
    content: out.content,
    ...(out.reasoning ? { reasoning_content: out.reasoning } : {}),
    ...(out.calls.length ? { tool_calls: out.calls } : {}),
  };
  return {
    id: m.id,
    object: 'chat.completion',
    created: m.created,
    model: m.model,
    system_fingerprint: m.fingerprint,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}

export function chatChunk(m: ResponseMeta, delta: ChatDelta, finishReason: FinishReason | null = null) {
  return {
    id: m.id,
    object: 'chat.completion.chunk',
    created: m.created,
    model: m.model,
    system_fingerprint: m.fingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The extra last chunk of `stream_options.include_usage`: no choices, only usage. */
export function chatUsageChunk(m: ResponseMeta, usage: Usage) {
  return { id: m.id, object: 'chat.completion.chunk', created: m.created, model: m.model, system_fingerprint: m.fingerprint, choices: [], usage };
}

export function textCompletion(m: ResponseMeta, text: string, finishReason: FinishReason | null, usage?: Usage) {
  return {
    id: m.id,
    object: 'text_completion',
    created: m.created,
    model: m.model,
    system_fingerprint: m.fingerprint,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    ...(usage ? { usage } : {}),
  };
}

export function textUsageChunk(m: ResponseMeta, usage: Usage) {
  return { id: m.id, object: 'text_completion', created: m.created, model: m.model, system_fingerprint: m.fingerprint, choices: [], usage };
}
