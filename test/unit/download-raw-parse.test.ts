import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../nodes/download/chunked';
import { HeadError, HeadUnsupported, MAX_HEAD_BYTES, parseHead } from '../../nodes/download/http-head';

const head = (s: string) => Buffer.from(s, 'latin1');
const parse = (s: string) => {
  const b = head(s);
  return parseHead(b, 0, b.length);
};

describe('parseHead', () => {
  it.each([
    ['length', 'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nContent-Range: bytes 0-9/100\r\n\r\n', 206, { kind: 'length', length: 10 }],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 200, { kind: 'chunked' }],
    ['chunked, any case', 'HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n', 200, { kind: 'chunked' }],
    ['until close', 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n', 200, { kind: 'close' }],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\n\r\n', 200, { kind: 'close' }],
    ['no reason phrase', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', 200, { kind: 'length', length: 0 }],
    ['identical repeated lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n', 200, { kind: 'length', length: 5 }],
    ['204 has no body', 'HTTP/1.1 204 No Content\r\n\r\n', 204, { kind: 'length', length: 0 }],
    ['redirect parsed (caller falls back)', 'HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n', 302, { kind: 'length', length: 0 }],
  ])('%s', (_name, text, status, framing) => {
    const h = parse(text)!;
    expect(h.status).toBe(status);
    expect(h.framing).toEqual(framing);
    expect(h.headBytes).toBe(text.length);
  });

  it('lower-cases names, trims values, joins repeats, keeps obs-text', () => {
    const h = parse('HTTP/1.1 200 OK\r\nX-A:  one \r\nx-a: two\r\nETag: "\xe9"\r\nContent-Length: 0\r\n\r\n')!;
    expect(h.headers).toMatchObject({ 'x-a': 'one, two', etag: '"\xe9"' });
  });

  it('returns null until the blank line, at every split point, and ignores what follows', () => {
    const text = 'HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\n\r\nabc';
    const b = head(text);
    const at = text.indexOf('\r\n\r\n') + 4;
    for (let end = 0; end < at; end++) expect(parseHead(b, 0, end)).toBeNull();
    for (let end = at; end <= b.length; end++) expect(parseHead(b, 0, end)?.headBytes).toBe(at);
  });

  it('parses a head that starts inside the buffer', () => {
    const b = head('garbageHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
    expect(parseHead(b, 7, b.length)?.headBytes).toBe(b.length - 7 - 1);
  });

  it.each([
    ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n'],
    ['lower-case protocol', 'http/1.1 200 OK\r\n\r\n'],
    ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n'],
    ['status 099', 'HTTP/1.1 099 X\r\n\r\n'],
    ['missing space', 'HTTP/1.1 200OK\r\n\r\n'],
    ['line folding', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n'],
    ['space before colon', 'HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n'],
    ['no colon', 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n'],
    ['bare LF inside', 'HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\n\r\n'],
    ['bare CR in value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n'],
    ['NUL in value', 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n'],
    ['negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['non-numeric length', 'HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'],
    ['absurd length', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n'],
    ['TE and CL together', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n'],
  ])('rejects %s', (_name, text) => {
    expect(() => parse(text)).toThrow(HeadError);
  });

  it.each([
    ['interim 100', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['early hints', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'],
    ['gzip coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'],
    ['chunked on HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'],
  ])('leaves %s to node:http', (_name, text) => {
    expect(() => parse(text)).toThrow(HeadUnsupported);
  });

  it('refuses an endless head instead of buffering it', () => {
    const b = head(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`);
    expect(() => parseHead(b, 0, b.length)).toThrow(/larger than/);
  });
});

/** Runs `wire` through a decoder in pieces cut at `cuts`; returns the body and where it stopped. */
function decode(wire: Buffer, cuts: number[]): { body: string; stop: number; done: boolean } {
  const d = new ChunkedDecoder();
  const out: Buffer[] = [];
  let stop = wire.length;
  const bounds = [0, ...cuts, wire.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const end = d.push(wire, bounds[i], bounds[i + 1], (at, len) => out.push(wire.subarray(at, at + len)));
    if (d.done) {
      stop = end;
      break;
    }
  }
  return { body: Buffer.concat(out).toString('latin1'), stop, done: d.done };
}

describe('ChunkedDecoder', () => {
  it.each([
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['several chunks, hex sizes', 'a\r\n0123456789\r\nA\r\nabcdefghij\r\n1\r\n!\r\n0\r\n\r\n', '0123456789abcdefghij!'],
    ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n', 'hello'],
    ['extensions', '5;name=value;x="q"\r\nhello\r\n0;end\r\n\r\n', 'hello'],
    ['whitespace before extension', '5 \t;a=b\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['trailer fields', '5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-B: d\r\n\r\n', 'hello'],
    ['empty body', '0\r\n\r\n', ''],
    ['CRLF inside data is data', '4\r\n\r\n\r\n\r\n0\r\n\r\n', '\r\n\r\n'],
  ])('%s, split at every point', (_name, text, body) => {
    const wire = Buffer.from(text, 'latin1');
    expect(decode(wire, [])).toEqual({ body, stop: wire.length, done: true });
    for (let a = 0; a <= wire.length; a++) {
      expect(decode(wire, [a]).body).toBe(body);
      for (let b = a; b <= wire.length; b += 3) expect(decode(wire, [a, b])).toEqual({ body, stop: wire.length, done: true });
    }
  });

  it('stops right after the last CRLF and leaves what follows', () => {
    const wire = Buffer.from('3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK', 'latin1');
    expect(decode(wire, [])).toEqual({ body: 'abc', stop: wire.length - 15, done: true });
    expect(decode(wire, [12])).toEqual({ body: 'abc', stop: wire.length - 15, done: true });
  });

  it('is not done after a body cut short', () => {
    for (const text of ['5\r\nhel', '5\r\nhello\r\n', '5\r\nhello\r\n0\r\n', '5\r\nhello\r\n0\r\nX: y\r\n']) {
      expect(decode(Buffer.from(text, 'latin1'), []).done).toBe(false);
    }
  });

  it.each([
    ['no size', '\r\nhello\r\n0\r\n\r\n'],
    ['non-hex size', 'g\r\nhello\r\n0\r\n\r\n'],
    ['negative size', '-5\r\nhello\r\n0\r\n\r\n'],
    ['bare LF after size', '5\nhello\r\n0\r\n\r\n'],
    ['data longer than size', '3\r\nhello\r\n0\r\n\r\n'],
    ['missing CRLF after data', '5\r\nhello0\r\n\r\n'],
    ['bare LF in trailer', '0\r\nX: y\n\r\n'],
    ['size over 12 hex digits', '1000000000000\r\n'],
    ['garbage after size', '5x\r\nhello\r\n0\r\n\r\n'],
  ])('rejects %s', (_name, text) => {
    expect(() => decode(Buffer.from(text, 'latin1'), [])).toThrow(HeadError);
  });

  it('rejects an endless trailer', () => {
    expect(() => decode(Buffer.from(`0\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, 'latin1'), [])).toThrow(/trailer too large/);
  });

  it('hands out views of the input, never copies', () => {
    const wire = Buffer.from('3\r\nabc\r\n0\r\n\r\n', 'latin1');
    const seen: [number, number][] = [];
    new ChunkedDecoder().push(wire, 0, wire.length, (at, len) => seen.push([at, len]));
    expect(seen).toEqual([[3, 3]]);
  });
});
