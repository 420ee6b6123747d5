import { describe, expect, it } from 'vitest';
import { lineFeeder, MAX_LINE_CHARS } from '../../nodes/engines/lines';

const feed = (chunks: string[], close = true) => {
  const got: string[] = [];
  const f = lineFeeder((l) => got.push(l));
  for (const c of chunks) f.push(c);
  if (close) f.end();
  return got;
};

describe('engine output lines', () => {
  it('joins a line the pipe cut across chunks', () => {
    const line = 'load_tensors:   CPU_Mapped model buffer size =     0.50 MiB';
    expect(feed([`a\n${line.slice(0, 20)}`, line.slice(20, 41), `${line.slice(41)}\nb\n`])).toEqual(['a', line, 'b']);
  });

  it('skips blank lines, drops a CR before the newline, and gives the last line without a newline at the end', () => {
    expect(feed(['x\r\n\n  \ny', 'z'])).toEqual(['x', 'yz']);
    expect(feed(['x\r\n\n  \ny', 'z'], false)).toEqual(['x']);
  });

  it('passes a run without newlines on in bounded pieces', () => {
    const got = feed(['a'.repeat(MAX_LINE_CHARS * 2 + 5)], false);
    expect(got.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS]);
  });
});
