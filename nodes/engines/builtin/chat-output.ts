import type { ChatResult } from './chat-generate';
import { type ChatDelta, DeltaTracker, newCallId } from './chat/deltas';
import { OutputReader, type OutputSpec, parseOutput, type ParsedOutput } from './chat/output-parser';
import { chatChunk, chatCompletion, chatUsageChunk, type ResponseMeta } from './responses';
import type { FinishReason, Usage } from './sampling';
import type { OutputShape } from './serve-generation';

export interface ChatShape extends OutputShape<ChatResult> {
  /** The events for the answer so far (`text`, of which the last `held` characters may still become a stop sequence). */
  update(text: string, held: number): unknown[];
}

function finishOf(r: ChatResult, p: ParsedOutput): FinishReason {
  if (r.finishReason === 'length') return 'length';
  return p.calls.length > 0 ? 'tool_calls' : 'stop';
}

/** OpenAI's usage with `completion_tokens_details.reasoning_tokens` (0 for models that do not reason). */
export function chatUsage(r: ChatResult): Usage & { completion_tokens_details: { reasoning_tokens: number } } {
  return { ...r.usage, completion_tokens_details: { reasoning_tokens: Math.min(r.reasoningTokens, r.usage.completion_tokens) } };
}

/**
 * The OpenAI chat output for one request, JSON or streamed, from one parser:
 * streamed deltas are the differences between successive parses of the
 * growing answer (reasoning_content, content, then each tool call — announced
 * with index, id, type and name, its arguments in pieces), and the final
 * message is the parse of the whole answer, with the same call ids. So the
 * concatenated deltas always form the message a non-streamed request gets.
 */
export function chatShape(meta: ResponseMeta, spec: OutputSpec, opts: { toolsActive: boolean; nineCharIds: boolean }): ChatShape {
  const tracker = new DeltaTracker(() => newCallId(opts.nineCharIds));
  const chunk = (delta: ChatDelta, finish: FinishReason | null = null) => chatChunk(meta, delta, finish);
  const final = (r: ChatResult) => parseOutput(r.text, spec, true);
  const reader = new OutputReader(spec);
  return {
    opening: () => chunk(opts.toolsActive ? { role: 'assistant' } : { role: 'assistant', content: '' }),
    update: (text, held) => tracker.next(reader.read(text.slice(0, text.length - held))).map((d) => chunk(d)),
    closing(r) {
      const p = final(r);
      return [...tracker.next(p).map((d) => chunk(d)), chunk({}, finishOf(r, p))];
    },
    usageChunk: (r) => chatUsageChunk(meta, chatUsage(r)),
    whole(r) {
      const p = final(r);
      const calls = tracker.calls(p);
      return chatCompletion(
        meta,
        { content: calls.length > 0 && p.content === '' ? null : p.content, reasoning: p.reasoning, calls },
        finishOf(r, p),
        chatUsage(r),
      );
    },
  };
}
