import { describe, expect, it } from 'vitest';
// The playground's SSE parser is a plain browser ES module with no DOM use, so it runs in node as is.
import { parseWarmingComment, sseParser } from '../../web/assets/lib/sse.js';

function parse(chunks: string[]) {
  const data: string[] = [];
  const comments: string[] = [];
  const p = sseParser({ onData: (d: string) => data.push(d), onComment: (c: string) => comments.push(c) });
  for (const c of chunks) p.push(c);
  p.end();
  return { data, comments };
}

describe('playground SSE parser', () => {
  it('yields one data payload per event whatever the chunking', () => {
    const text = ': warming downloading 5% 3/66 MB eta 6s\n\ndata: {"a":1}\n\ndata: [DONE]\n\n';
    const whole = parse([text]);
    expect(whole).toEqual({ data: ['{"a":1}', '[DONE]'], comments: ['warming downloading 5% 3/66 MB eta 6s'] });
    expect(parse(text.split(''))).toEqual(whole);
  });

  it('handles CRLF split across chunks, multi-line data and a missing final blank line', () => {
    expect(parse(['data: x\r', '\ndata: y\r\n\r\n', 'data:z']).data).toEqual(['x\ny', 'z']);
  });

  it('reads the edge warming comment, with or without an ETA', () => {
    expect(parseWarmingComment('warming downloading 45% 30/66.4 MB eta 4s')).toEqual({ phase: 'downloading', pct: 45, done_mb: 30, total_mb: 66.4, eta_s: 4 });
    expect(parseWarmingComment('warming loading 100% 66/66 MB')).toMatchObject({ phase: 'loading', pct: 100, eta_s: null });
    expect(parseWarmingComment('keep-alive')).toBeNull();
  });
});
