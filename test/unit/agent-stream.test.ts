import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher, takeCompleteEvents } from '../../nodes/agent/batcher';
import { extractUsage } from '../../nodes/agent/usage';

describe('takeCompleteEvents', () => {
  it.each([
    ['nothing complete', 'data: {"a"', ['', 'data: {"a"']],
    ['one event', 'data: 1\n\n', ['data: 1\n\n', '']],
    ['two events and a partial', 'data: 1\n\ndata: 2\n\ndata: 3', ['data: 1\n\ndata: 2\n\n', 'data: 3']],
    ['CRLF events', 'data: 1\r\n\r\ndata: 2', ['data: 1\r\n\r\n', 'data: 2']],
    ['a lone newline is not an event end', 'data: 1\n', ['', 'data: 1\n']],
  ])('%s', (_name, input, out) => expect(takeCompleteEvents(input)).toEqual(out));
});

describe('extractUsage', () => {
  const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };
  it.each([
    ['JSON body', JSON.stringify({ id: 'x', choices: [{ message: { content: 'hi "usage": {' } }], usage }), usage],
    ['final SSE usage chunk after nulls', `data: {"usage":null}\n\ndata: {"choices":[],"usage":${JSON.stringify(usage)}}\n\ndata: [DONE]\n\n`, usage],
    ['only nulls', 'data: {"usage":null}\n\ndata: [DONE]\n\n', undefined],
    ['no usage at all', '{"object":"list"}', undefined],
    ['usage cut off by the tail window', `"usage": {"prompt_tokens": 5, "completion`, undefined],
    [
      'extra usage fields are dropped',
      `{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}`,
      { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    ],
    ['invalid usage is ignored', '{"usage":{"prompt_tokens":-1}}', undefined],
  ])('%s', (_name, tail, expected) => expect(extractUsage(tail)).toEqual(expected));
});

describe('Batcher', () => {
  afterEach(() => vi.useRealTimers());

  it('sends the first chunk at once and coalesces the rest until the delay passes', () => {
    vi.useFakeTimers();
    const out: [string, number][] = [];
    const b = new Batcher((d, s) => out.push([d, s]), { delayMs: 4, maxChars: 100, frameChars: 1000 });
    b.push('a');
    expect(out).toEqual([['a', 0]]);
    b.push('b');
    b.push('c');
    expect(out).toHaveLength(1);
    vi.advanceTimersByTime(4);
    expect(out).toEqual([
      ['a', 0],
      ['bc', 1],
    ]);
  });

  it('sends at once what follows a quiet spell of at least the delay, so slow streams are not held back', () => {
    vi.useFakeTimers();
    const out: [string, number][] = [];
    const b = new Batcher((d, s) => out.push([d, s]), { delayMs: 4, maxChars: 100, frameChars: 1000 });
    b.push('a');
    vi.advanceTimersByTime(7);
    b.push('b');
    expect(out).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    vi.advanceTimersByTime(1);
    b.push('c');
    expect(out).toHaveLength(2);
    // Held only for the rest of the window that began with 'b'.
    vi.advanceTimersByTime(3);
    expect(out).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
  });

  it('flushes early at maxChars and splits at frameChars', () => {
    const out: [string, number][] = [];
    const b = new Batcher((d, s) => out.push([d, s]), { delayMs: 1000, maxChars: 4, frameChars: 3 });
    b.push('x');
    b.push('abcde');
    expect(out).toEqual([
      ['x', 0],
      ['abc', 1],
      ['de', 2],
    ]);
    b.push('');
    b.flush();
    expect(b.seq).toBe(3);
  });

  it('never splits a surrogate pair', () => {
    const out: string[] = [];
    const b = new Batcher((d) => out.push(d), { delayMs: 1000, maxChars: 1, frameChars: 2 });
    b.push('0');
    b.push('a😀');
    expect(out).toEqual(['0', 'a', '😀']);
  });

  it('drops pending data on discard', () => {
    const out: string[] = [];
    const b = new Batcher((d) => out.push(d), { delayMs: 1000, maxChars: 100, frameChars: 100 });
    b.push('a');
    b.push('b');
    b.discard();
    b.flush();
    expect(out).toEqual(['a']);
  });
});
