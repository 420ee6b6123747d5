import { describe, expect, it } from 'vitest';
import { dropUsageChunks, extractUsage } from '../../nodes/agent/usage';
import { chatUsage } from '../../nodes/engines/builtin/chat-output';
import { chatCompletion, chatUsageChunk, newMeta } from '../../nodes/engines/builtin/responses';

// The agent meters every request from the engine's usage; reasoning models add completion_tokens_details.

const result = {
  text: '',
  finishReason: 'stop' as const,
  usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
  aborted: false,
  reasoningTokens: 18,
};

describe('usage with reasoning tokens', () => {
  it('reports reasoning tokens inside completion_tokens_details, bounded by the completion', () => {
    expect(chatUsage(result)).toEqual({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, completion_tokens_details: { reasoning_tokens: 18 } });
    expect(chatUsage({ ...result, reasoningTokens: 99 }).completion_tokens_details.reasoning_tokens).toBe(30);
  });

  it('is still read by the agent from the last stream events and from a JSON body', () => {
    const meta = newMeta('chatcmpl', 'demo-r1');
    const tail = `data: ${JSON.stringify(chatUsageChunk(meta, chatUsage(result)))}\n\ndata: [DONE]\n\n`;
    expect(extractUsage(tail)).toEqual({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });
    expect(dropUsageChunks(tail)).toBe('data: [DONE]\n\n');
    const body = JSON.stringify(chatCompletion(meta, { content: 'x', reasoning: 'y', calls: [] }, 'stop', chatUsage(result)));
    expect(extractUsage(body)).toEqual({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });
  });
});
