import { createHash, randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from './sampling';
import type { ToolCallOut } from './tool-plan';

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

export interface ChatMessageOut { content: string | null; calls: ToolCallOut[] }

export function chatCompletion(m: ResponseMeta, out: ChatMessageOut, finishReason: FinishReason, usage: Usage) {
  const message = { role: 'assistant', content: out.content, ...(out.calls.length ? { tool_calls: out.calls } : {}) };
  return {
    id: m.id, object: 'chat.completion', created: m.created, model: m.model, system_fingerprint: m.fingerprint,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}

/** An OpenAI tool-call delta: the first for a call carries id, type and name; later ones only argument text. */
export interface ToolCallDelta { index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }

export interface ChatDelta { role?: 'assistant'; content?: string; tool_calls?: ToolCallDelta[] }

export function chatChunk(m: ResponseMeta, delta: ChatDelta, finishReason: FinishReason | null = null) {
  return {
    id: m.id, object: 'chat.completion.chunk', created: m.created, model: m.model, system_fingerprint: m.fingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The extra last chunk of `stream_options.include_usage`: no choices, only usage. */
export function chatUsageChunk(m: ResponseMeta, usage: Usage) {
  return { id: m.id, object: 'chat.completion.chunk', created: m.created, model: m.model, system_fingerprint: m.fingerprint, choices: [], usage };
}

export function textCompletion(m: ResponseMeta, text: string, finishReason: FinishReason | null, usage?: Usage) {
  return {
    id: m.id, object: 'text_completion', created: m.created, model: m.model, system_fingerprint: m.fingerprint,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    ...(usage ? { usage } : {}),
  };
}

export function textUsageChunk(m: ResponseMeta, usage: Usage) {
  return { id: m.id, object: 'text_completion', created: m.created, model: m.model, system_fingerprint: m.fingerprint, choices: [], usage };
}
