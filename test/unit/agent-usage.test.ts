import { describe, expect, it } from 'vitest';
import { dropUsageChunks, extractUsage, streamWithoutUsage, withUsageRequested } from '../../nodes/agent/usage';

const chunk = (content: string) => `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"}}]}`;
const usage = 'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}';

describe('metering streams the client did not ask usage for', () => {
  it('asks the engine for usage on every stream, leaving other bodies untouched', () => {
    expect(withUsageRequested({ stream: true })).toEqual({ stream: true, stream_options: { include_usage: true } });
    expect(withUsageRequested({ stream: true, stream_options: { include_usage: false } })).toEqual({ stream: true, stream_options: { include_usage: true } });
    const asked = { stream: true, stream_options: { include_usage: true } };
    expect(withUsageRequested(asked)).toBe(asked);
    const plain = { stream: false };
    expect(withUsageRequested(plain)).toBe(plain);
  });

  it('knows which requests must not see the usage chunk', () => {
    expect(streamWithoutUsage({ stream: true })).toBe(true);
    expect(streamWithoutUsage({ stream: true, stream_options: null })).toBe(true);
    expect(streamWithoutUsage({ stream: true, stream_options: { include_usage: true } })).toBe(false);
    expect(streamWithoutUsage({})).toBe(false);
  });

  it('drops only the usage-only events, keeping content and [DONE]', () => {
    const events = `${chunk('a')}\n\n${usage}\n\ndata: [DONE]\n\n`;
    expect(dropUsageChunks(events)).toBe(`${chunk('a')}\n\ndata: [DONE]\n\n`);
    expect(dropUsageChunks(`${chunk('b')}\n\n`)).toBe(`${chunk('b')}\n\n`);
    // The tail the agent meters from still had the usage in it.
    expect(extractUsage(events)).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });
});
