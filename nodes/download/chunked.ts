import { HeadError } from './http-head';

enum S {
  Size,
  SizeSpace,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  TrailerLf,
  Done,
}

/** 12 hex digits = 256 TB: any larger size is either hostile or garbage, and would lose precision. */
const MAX_SIZE_DIGITS = 12;
const MAX_TRAILER_BYTES = 16 << 10;

/**
 * Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1) that never copies: it
 * reports where the data bytes sit inside the buffer it was given, so the caller can hand those
 * slices straight to the disk writer. Framing may split anywhere between two `push` calls. Strict:
 * bare LF, non-hex sizes and oversized trailers throw HeadError. Trailer fields are skipped (we
 * have no use for them and must not let them change the body).
 */
export class ChunkedDecoder {
  private s = S.Size;
  private left = 0;
  private digits = 0;
  private trailerBytes = 0;
  private lineEmpty = true;

  get done(): boolean {
    return this.s === S.Done;
  }

  /**
   * Consumes `buf[off, end)`, calling `onData(at, len)` for every run of body bytes in it. Returns
   * the offset where it stopped: `end`, or just past the final CRLF once the body is complete
   * (anything after belongs to the next response).
   */
  push(buf: Uint8Array, off: number, end: number, onData: (at: number, len: number) => void): number {
    let i = off;
    while (i < end) {
      if (this.s === S.Data) {
        const n = Math.min(this.left, end - i);
        onData(i, n);
        i += n;
        this.left -= n;
        if (this.left === 0) this.s = S.DataCr;
        continue;
      }
      const c = buf[i++];
      switch (this.s) {
        case S.Size: {
          const d = hex(c);
          if (d >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) throw new HeadError('chunk size too large');
            this.left = this.left * 16 + d;
          } else if (this.digits === 0) throw new HeadError('chunk size expected');
          else if (c === 13) this.s = S.SizeLf;
          else if (c === 59)
            this.s = S.Ext; // ';'
          else if (c === 32 || c === 9)
            this.s = S.SizeSpace; // BWS before an extension
          else throw new HeadError('invalid chunk size');
          break;
        }
        case S.SizeSpace:
          if (c === 59) this.s = S.Ext;
          else if (c === 13) this.s = S.SizeLf;
          else if (c !== 32 && c !== 9) throw new HeadError('invalid chunk size line');
          break;
        case S.Ext: // chunk extensions carry nothing we use; skip to CR
          if (c === 13) this.s = S.SizeLf;
          else if (c === 10 || c === 0) throw new HeadError('invalid chunk extension');
          break;
        case S.SizeLf:
          if (c !== 10) throw new HeadError('CRLF expected after chunk size');
          this.digits = 0;
          if (this.left === 0) {
            this.s = S.Trailer;
            this.lineEmpty = true;
          } else this.s = S.Data;
          break;
        case S.DataCr:
          if (c !== 13) throw new HeadError('CRLF expected after chunk data');
          this.s = S.DataLf;
          break;
        case S.DataLf:
          if (c !== 10) throw new HeadError('CRLF expected after chunk data');
          this.s = S.Size;
          break;
        case S.Trailer:
          if (++this.trailerBytes > MAX_TRAILER_BYTES) throw new HeadError('chunked trailer too large');
          if (c === 13) this.s = S.TrailerLf;
          else if (c === 10) throw new HeadError('bare LF in chunked trailer');
          else this.lineEmpty = false;
          break;
        case S.TrailerLf:
          if (c !== 10) throw new HeadError('CRLF expected in chunked trailer');
          if (this.lineEmpty) {
            this.s = S.Done;
            return i;
          }
          this.s = S.Trailer;
          this.lineEmpty = true;
          break;
        case S.Done:
          return i - 1;
      }
    }
    return i;
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
