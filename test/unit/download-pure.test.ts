import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../nodes/download/backoff';
import { flushPolicy, planPieces, planSegments, PIECE_BYTES } from '../../nodes/download/plan';
import { hfFromEnv, resolveUrl } from '../../nodes/download/resolve-url';
import { parseRange } from '../../scripts/demo-origin';

const policy = { baseMs: 100, capMs: 1000 };

describe('backoffMs', () => {
  it.each([
    // attempt, random, expected
    [0, 0, 50],
    [0, 0.999999, 100],
    [1, 0, 100],
    [2, 0.5, 300],
    [3, 0, 400],
    [4, 0, 500], // 1600 capped at 1000 → half fixed
    [4, 0.999999, 1000],
    [50, 0.5, 750], // huge attempt numbers stay finite and capped
    [-3, 0, 50], // negative treated as the first retry
  ])('attempt %i with random %f waits %i ms', (attempt, r, want) => {
    expect(backoffMs(attempt, policy, () => r)).toBe(want);
  });

  it('never returns less than half the ceiling (no back-to-back retries)', () => {
    for (let a = 0; a < 10; a++) expect(backoffMs(a, policy, () => 0)).toBeGreaterThanOrEqual(Math.min(1000, 100 * 2 ** a) / 2);
  });
});

describe('planSegments', () => {
  const MB = 1 << 20;
  it.each([
    [
      '4 MB in 4',
      4 * MB,
      4,
      [
        [0, MB],
        [MB, 2 * MB],
        [2 * MB, 3 * MB],
        [3 * MB, 4 * MB],
      ],
    ],
    ['small file gets one segment', 1.5 * MB, 4, [[0, 1.5 * MB]]],
    [
      '2.5 MB caps at 2 segments',
      2.5 * MB,
      4,
      [
        [0, 1.25 * MB],
        [1.25 * MB, 2.5 * MB],
      ],
    ],
    ['segments=1', 10 * MB, 1, [[0, 10 * MB]]],
    [
      'uneven split covers every byte',
      4 * MB + 3,
      4,
      [
        [0, MB + 1],
        [MB + 1, 2 * MB + 2],
        [2 * MB + 2, 3 * MB + 3],
        [3 * MB + 3, 4 * MB + 3],
      ],
    ],
    ['empty file', 0, 4, [[0, 0]]],
  ])('%s', (_name, total, wanted, want) => {
    expect(planSegments(total, wanted).map((s) => [s.start, s.end])).toEqual(want);
    expect(planSegments(total, wanted).every((s) => s.done === 0)).toBe(true);
  });
});

describe('planPieces', () => {
  const MB = 1 << 20;
  it('cuts big files into ~16 MB pieces in file order, covering every byte once', () => {
    const total = 200 * MB + 7;
    const p = planPieces(total, 4);
    expect(p.length).toBe(Math.ceil(total / PIECE_BYTES));
    expect(p[0].start).toBe(0);
    expect(p.at(-1)!.end).toBe(total);
    for (let i = 1; i < p.length; i++) expect(p[i].start).toBe(p[i - 1].end);
  });
  it('never plans fewer pieces than connections, so small files still go parallel', () => {
    expect(planPieces(4 * MB, 4)).toEqual(planSegments(4 * MB, 4));
    expect(planPieces(3 * MB, 3).length).toBe(3);
  });
});

describe('flushPolicy', () => {
  it.each([
    [1 << 20, 4],
    [50 << 20, 4],
    [8 << 20, 8],
    [1 << 30, 4],
  ])('loses less than a segment on a kill (segment %i, %i segments)', (seg, n) => {
    const p = flushPolicy(seg, n);
    expect(p.saveEveryBytes + n * p.bufferBytes).toBeLessThan(seg);
  });
});

describe('resolveUrl', () => {
  const hfRef = (ref: string, token = false) => ({ ref, token });
  it.each([
    ['https passes through', 'https://example.com/a.gguf', {}, 'https://example.com/a.gguf', {}, undefined],
    ['hf default endpoint', 'hf://org/repo/model.gguf', {}, 'https://huggingface.co/org/repo/resolve/main/model.gguf', {}, hfRef('org/repo/model.gguf@main')],
    [
      'hf nested path + token',
      'hf://org/repo/sub/dir/m.gguf',
      { token: 't' },
      'https://huggingface.co/org/repo/resolve/main/sub/dir/m.gguf',
      { authorization: 'Bearer t' },
      hfRef('org/repo/sub/dir/m.gguf@main', true),
    ],
    ['hf revision after the repo', 'hf://org/repo@v1.2/m.gguf', {}, 'https://huggingface.co/org/repo/resolve/v1.2/m.gguf', {}, hfRef('org/repo/m.gguf@v1.2')],
    [
      'hf revision after the file',
      'hf://org/repo/d/m.gguf@abc123',
      {},
      'https://huggingface.co/org/repo/resolve/abc123/d/m.gguf',
      {},
      hfRef('org/repo/d/m.gguf@abc123'),
    ],
    [
      'hf endpoint override',
      'hf://o/r/m.gguf',
      { endpoint: 'http://127.0.0.1:9/' },
      'http://127.0.0.1:9/o/r/resolve/main/m.gguf',
      {},
      hfRef('o/r/m.gguf@main'),
    ],
    ['escapes odd characters', 'hf://o/r/a b#.gguf', {}, 'https://huggingface.co/o/r/resolve/main/a%20b%23.gguf', {}, hfRef('o/r/a b#.gguf@main')],
    ['token never sent to plain URLs', 'http://x/m.gguf', { token: 't' }, 'http://x/m.gguf', {}, undefined],
  ])('%s', (_name, url, hf, want, headers, ref) => {
    expect(resolveUrl(url, hf)).toEqual({ url: want, headers, ...(ref ? { hf: ref } : {}) });
  });

  it.each(['hf://org', 'hf://org/repo', 'hf://org/repo@a/m.gguf@b', 'ftp://x/m.gguf', '/local/path'])('refuses %s', (url) => {
    expect(() => resolveUrl(url)).toThrow(/unsupported model URL/);
  });

  it('reads the endpoint and token as the HF tools do, PORTEN_HF_ENDPOINT first', () => {
    expect(hfFromEnv({ HF_ENDPOINT: 'https://a', HF_TOKEN: 'hf_t' })).toEqual({ endpoint: 'https://a', token: 'hf_t' });
    expect(hfFromEnv({ HF_ENDPOINT: 'https://a', PORTEN_HF_ENDPOINT: 'https://b' })).toEqual({ endpoint: 'https://b', token: undefined });
    expect(hfFromEnv({})).toEqual({ endpoint: undefined, token: undefined });
  });
});

describe('demo origin parseRange', () => {
  it.each([
    [undefined, null],
    ['bytes=0-99', { start: 0, end: 100 }],
    ['bytes=100-', { start: 100, end: 1000 }],
    ['bytes=-10', { start: 990, end: 1000 }],
    ['bytes=900-5000', { start: 900, end: 1000 }],
    ['bytes=1000-', 'unsatisfiable'],
    ['bytes=5-2', 'unsatisfiable'],
    ['bytes=0-1,5-6', null],
    ['items=0-1', null],
  ])('%s', (header, want) => {
    expect(parseRange(header, 1000)).toEqual(want);
  });
});
