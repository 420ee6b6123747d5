import { randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from './sampling';

/** Identity shared by every object of one response (the chunks of a stream carry the same id and created). */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

export function newMeta(prefix: 'chatcmpl' | 'cmpl', model: string): ResponseMeta {
  return { id: `${prefix}-${randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000), model };
}

export function chatCompletion(m: ResponseMeta, content: string, finishReason: FinishReason, usage: Usage) {
  return {
    id: m.id, object: 'chat.completion', created: m.created, model: m.model,
    choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}

export function chatChunk(m: ResponseMeta, delta: { role?: 'assistant'; content?: string }, finishReason: FinishReason | null = null) {
  return {
    id: m.id, object: 'chat.completion.chunk', created: m.created, model: m.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The extra last chunk of `stream_options.include_usage`: no choices, only usage. */
export function chatUsageChunk(m: ResponseMeta, usage: Usage) {
  return { id: m.id, object: 'chat.completion.chunk', created: m.created, model: m.model, choices: [], usage };
}

export function textCompletion(m: ResponseMeta, text: string, finishReason: FinishReason | null, usage?: Usage) {
  return {
    id: m.id, object: 'text_completion', created: m.created, model: m.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    ...(usage ? { usage } : {}),
  };
}

export function textUsageChunk(m: ResponseMeta, usage: Usage) {
  return { id: m.id, object: 'text_completion', created: m.created, model: m.model, choices: [], usage };
}
