/** How the body of a response is delimited (RFC 9112 §6.3). */
export type Framing = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface ResponseHead {
  status: number;
  /** lower-case names; repeated fields joined with ", " as RFC 9110 §5.3 allows */
  headers: Record<string, string>;
  framing: Framing;
  /** bytes from the start of the response to the first body byte */
  headBytes: number;
  /** HTTP/1.1 without `Connection: close`: the connection may carry the next request. */
  keepAlive: boolean;
}

/** The origin broke HTTP/1.1: not retrying on the same terms would not help, but another attempt may. */
export class HeadError extends Error {
  override name = 'HeadError';
}

/** Valid HTTP, but something this small client deliberately leaves to node:http (the caller falls back). */
export class HeadUnsupported extends Error {
  override name = 'HeadUnsupported';
}

/** Larger heads are refused rather than buffered without bound (node:http's default limit is 16 KB). */
export const MAX_HEAD_BYTES = 64 << 10;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, SP and HTAB; no CR, LF or NUL (response splitting).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [\t\x20-\x7e\x80-\xff]*)?$/;

/**
 * Parses a response head that starts at `buf[start]`, reading no further than `end`. Returns null
 * while the blank line that ends the head has not arrived yet (call again with more bytes), throws
 * HeadError on anything malformed and HeadUnsupported on valid responses we leave to node:http
 * (interim 1xx, transfer codings other than plain chunked). Strict on purpose: this parser sits on
 * the download path of model weights, and a lenient guess at framing could splice garbage into a
 * file (the sha256 would catch it, but only after the whole download).
 */
export function parseHead(buf: Uint8Array, start: number, end: number): ResponseHead | null {
  const stop = findHeadEnd(buf, start, end);
  if (stop < 0) {
    if (end - start > MAX_HEAD_BYTES) throw new HeadError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    return null;
  }
  if (stop - start > MAX_HEAD_BYTES) throw new HeadError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
  // latin1 maps bytes 1:1, so obs-text survives and offsets stay byte offsets.
  const lines = Buffer.from(buf.buffer, buf.byteOffset + start, stop - start)
    .toString('latin1')
    .split('\r\n');
  const m = STATUS_LINE.exec(lines[0]);
  if (!m) throw new HeadError(`malformed status line ${JSON.stringify(lines[0].slice(0, 80))}`);
  const http10 = m[1] === '0';
  const status = Number(m[2]);
  if (status < 100) throw new HeadError(`invalid status ${status}`);
  if (status < 200) throw new HeadUnsupported(`interim response ${status}`);

  const headers: Record<string, string> = {};
  let lengths: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.includes('\n') || line.includes('\r')) throw new HeadError('bare CR or LF in response head');
    if (line[0] === ' ' || line[0] === '\t') throw new HeadError('obsolete line folding in response head');
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new HeadError(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new HeadError(`invalid characters in header ${name}`);
    const key = name.toLowerCase();
    if (key === 'content-length') lengths = lengths.concat(value.split(',').map((v) => v.trim()));
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  const keepAlive = !http10 && !/\bclose\b/i.test(headers.connection ?? '');
  return { status, headers, framing: framing(status, headers, lengths, http10), headBytes: stop + 4 - start, keepAlive };
}

function framing(status: number, headers: Record<string, string>, lengths: string[], http10: boolean): Framing {
  if (status === 204 || status === 304) return { kind: 'length', length: 0 };
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    // Only plain "chunked": gzip & co would need decoding, and the bytes must land unchanged.
    if (te.toLowerCase() !== 'chunked' || http10) throw new HeadUnsupported(`transfer-encoding ${JSON.stringify(te)}`);
    // TE with Content-Length is a request-smuggling smell; RFC 9112 §6.3 lets TE win. We refuse.
    if (lengths.length > 0) throw new HeadError('both Transfer-Encoding and Content-Length');
    return { kind: 'chunked' };
  }
  if (lengths.length > 0) {
    if (!lengths.every((v) => /^\d{1,15}$/.test(v))) throw new HeadError(`invalid Content-Length ${JSON.stringify(headers['content-length'])}`);
    if (new Set(lengths.map(Number)).size > 1) {
      throw new HeadError(`conflicting Content-Length ${JSON.stringify(headers['content-length'])}`);
    }
    return { kind: 'length', length: Number(lengths[0]) };
  }
  return { kind: 'close' };
}

/** Offset of the CRLFCRLF that ends the head, or -1. */
function findHeadEnd(buf: Uint8Array, start: number, end: number): number {
  const limit = Math.min(end, start + MAX_HEAD_BYTES + 4);
  for (let i = start; i + 3 < limit; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}
