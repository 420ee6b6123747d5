import { chatChunk, chatCompletion, chatUsageChunk, type ChatDelta, type ResponseMeta } from './responses';
import type { GenerationResult } from './run-on-sequence';
import type { FinishReason } from './sampling';
import type { OutputShape } from './serve-generation';
import { CALL_MARKER, newCallId, toolCallsFrom, type ToolPlan } from './tool-plan';

function finishOf(r: GenerationResult, calls: number): FinishReason {
  return r.finishReason === 'length' || calls === 0 ? r.finishReason : 'tool_calls';
}

/**
 * The OpenAI chat output for one request, JSON or streamed. Text streams as
 * `content` deltas. A forced single tool streams its arguments as they are
 * generated (the first delta carries id, type and name). A call whose name is
 * only known once it is complete (`required` among several tools, or `auto`
 * once the output starts with the call marker) is held back and sent as tool-call
 * deltas at the end, so the concatenated deltas always form the same call as a
 * non-streamed answer would.
 */
export function chatShape(meta: ResponseMeta, plan: ToolPlan): OutputShape {
  const callId = newCallId();
  let started = false;
  let holding = plan.kind === 'call';
  let seen = '';
  const chunk = (delta: ChatDelta, finish: FinishReason | null = null) => chatChunk(meta, delta, finish);
  return {
    opening: () => chunk({ role: 'assistant', content: plan.kind === 'text' ? '' : undefined }),
    piece(text) {
      if (plan.kind === 'args') {
        const first = !started;
        started = true;
        return chunk({ tool_calls: [first ? { index: 0, id: callId, type: 'function', function: { name: plan.name, arguments: text } } : { index: 0, function: { arguments: text } }] });
      }
      if (plan.kind === 'auto' && !started) {
        seen += text;
        // The text branch of the grammar cannot start with '<', so the first character decides.
        if (seen.length > 0) holding = seen.startsWith(CALL_MARKER.slice(0, 1));
        started = true;
        return holding ? null : chunk({ content: text });
      }
      return holding ? null : chunk({ content: text });
    },
    closing(r) {
      if (plan.kind === 'args' && !started) return [chunk({ tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: plan.name, arguments: '' } }] }), chunk({}, finishOf(r, 1))];
      if (!holding) return [chunk({}, finishOf(r, plan.kind === 'args' ? 1 : 0))];
      const { content, calls } = toolCallsFrom(plan, r.text, callId);
      if (calls.length === 0) return [chunk({ content: content ?? '' }), chunk({}, r.finishReason)];
      const c = calls[0];
      return [chunk({ tool_calls: [{ index: 0, id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } }] }), chunk({}, finishOf(r, 1))];
    },
    usageChunk: (usage) => chatUsageChunk(meta, usage),
    whole(r) {
      const out = toolCallsFrom(plan, r.text, callId);
      return chatCompletion(meta, out, finishOf(r, out.calls.length), r.usage);
    },
  };
}
