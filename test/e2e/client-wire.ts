import { expect } from 'vitest';
import * as z from 'zod';
import { type Exchange, sseEvents } from './client-recorder';

// What porten put on the wire, read back from a recorded exchange, so a client
// test can check that the client surfaced exactly that (and nothing of its own).

const Usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() }).loose();
const ToolCallDelta = z.object({
  index: z.number().int(),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});
const Chunk = z.object({
  id: z.string().startsWith('chatcmpl-'),
  object: z.literal('chat.completion.chunk'),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.literal(0),
      delta: z.object({
        role: z.literal('assistant').optional(),
        content: z.string().nullable().optional(),
        reasoning_content: z.string().nullable().optional(),
        tool_calls: z.array(ToolCallDelta).optional(),
      }),
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter']).nullable(),
    }),
  ),
  usage: Usage.nullable().optional(),
});
const Completion = z.object({
  id: z.string().startsWith('chatcmpl-'),
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        reasoning_content: z.string().nullable().optional(),
        tool_calls: z
          .array(z.object({ id: z.string(), type: z.literal('function'), function: z.object({ name: z.string(), arguments: z.string() }) }))
          .optional(),
      }),
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter']),
    }),
  ),
  usage: Usage,
});

/** One answer as porten sent it, whether streamed or not. */
export interface WireAnswer {
  content: string;
  reasoning: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string;
  usage: z.infer<typeof Usage> | null;
}

/**
 * Checks that porten served `ex` in full and returns the answer it carried: a
 * 200 whose body is a valid completion, or for a stream, valid chunks (no
 * in-band error event) ending in a finish reason and `[DONE]`. Tool-call deltas
 * are accumulated by `index` the way the OpenAI SDKs do.
 */
export function servedAnswer(ex: Exchange): WireAnswer {
  expect(ex.status, `${ex.path} answered ${ex.status}: ${ex.response.slice(0, 500)}`).toBe(200);
  // Completeness is read from the body (JSON that parses, a stream ending in [DONE]), not from `ex.complete`:
  // the openai SDK hangs up as soon as it has read [DONE], which can beat the edge's own end of the response.
  if (!ex.contentType.startsWith('text/event-stream')) {
    const body = Completion.parse(JSON.parse(ex.response));
    const m = body.choices[0].message;
    return {
      content: m.content ?? '',
      reasoning: m.reasoning_content ?? '',
      toolCalls: (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
      finishReason: body.choices[0].finish_reason,
      usage: body.usage,
    };
  }
  const events = sseEvents(ex);
  expect(events.at(-1), 'stream ends with [DONE]').toBe('[DONE]');
  const answer: WireAnswer = { content: '', reasoning: '', toolCalls: [], finishReason: '', usage: null };
  for (const ev of events.slice(0, -1)) {
    expect(ev, 'no in-band error event').not.toHaveProperty('error');
    const chunk = Chunk.parse(ev);
    if (chunk.usage) answer.usage = chunk.usage;
    for (const choice of chunk.choices) {
      answer.content += choice.delta.content ?? '';
      answer.reasoning += choice.delta.reasoning_content ?? '';
      for (const d of choice.delta.tool_calls ?? []) {
        const call = (answer.toolCalls[d.index] ??= { id: '', name: '', arguments: '' });
        call.id ||= d.id ?? '';
        call.name += d.function?.name ?? '';
        call.arguments += d.function?.arguments ?? '';
      }
      if (choice.finish_reason) answer.finishReason = choice.finish_reason;
    }
  }
  expect(answer.finishReason, 'a chunk carried finish_reason').not.toBe('');
  return answer;
}

/** The chat requests a client sent, each with porten's answer; fails if porten refused or broke any of them. */
export function servedChats(exchanges: Exchange[]): Array<{ ex: Exchange; answer: WireAnswer }> {
  const chats = exchanges.filter((e) => e.path.split('?')[0].endsWith('/chat/completions'));
  expect(chats.length, 'the client sent chat requests').toBeGreaterThan(0);
  return chats.map((ex) => ({ ex, answer: servedAnswer(ex) }));
}

/** The JSON body of a recorded request, as an object (fails if it is not one). */
export function requestBody(ex: Exchange): Record<string, unknown> {
  expect(ex.body).toBeTypeOf('object');
  return ex.body as Record<string, unknown>;
}
