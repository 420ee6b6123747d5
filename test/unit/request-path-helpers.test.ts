import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { readJson } from '../../src/api/body';
import { safeEqual } from '../../src/security/constant-time';
import { seeded } from '../support/random';

/** A POST whose body arrives in the given pieces, as a client's stream may deliver it. */
function streamed(pieces: Uint8Array[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(p);
      c.close();
    },
  });
  return new Request('http://edge/v1/chat/completions', { method: 'POST', body, duplex: 'half' } as RequestInit);
}

describe('readJson', () => {
  const schema = z.object({ text: z.string() });
  const bytes = new TextEncoder().encode(JSON.stringify({ text: 'naïve 😀 ok' }));

  it('reads a body that came in one piece', async () => {
    expect(await readJson(streamed([bytes]), schema)).toEqual({ text: 'naïve 😀 ok' });
  });

  it('reads a body split anywhere, inside a multi-byte character too', async () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const req = streamed([bytes.slice(0, cut), bytes.slice(cut, cut + 3), bytes.slice(cut + 3)].filter((p) => p.length));
      expect(await readJson(req, schema)).toEqual({ text: 'naïve 😀 ok' });
    }
  });
});

describe('safeEqual', () => {
  it('is string equality, for every length relation and for non-ASCII text (seeded)', () => {
    const { int, pick } = seeded(3);
    const alphabet = ['a', 'b', 'é', '😀', '\u0000'];
    const word = () => Array.from({ length: int(6) }, () => pick(alphabet)).join('');
    for (let i = 0; i < 5000; i++) {
      const a = word();
      const b = int(3) === 0 ? a : int(2) === 0 ? a + word() : word();
      expect(safeEqual(a, b)).toBe(a === b);
      expect(safeEqual(b, a)).toBe(a === b);
    }
  });
});

describe('readJson with a declared length', () => {
  const schema = z.object({ text: z.string() });

  it('reads the declared body and keeps every answer for a bad one', async () => {
    const post = (body: string) =>
      new Request('http://edge/v1/chat/completions', { method: 'POST', body, headers: { 'content-length': String(Buffer.byteLength(body)) } });
    expect(await readJson(post(JSON.stringify({ text: 'naïve 😀' })), schema)).toEqual({ text: 'naïve 😀' });
    await expect(readJson(post('{nope'), schema)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(readJson(post('{"text":1}'), schema)).rejects.toMatchObject({ code: 'invalid_request', param: 'text' });
    await expect(readJson(post(`{"text":"${'x'.repeat(8 * 1024 * 1024)}"}`), schema)).rejects.toMatchObject({ code: 'request_too_large' });
  });
});
