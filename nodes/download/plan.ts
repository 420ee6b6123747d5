/** One byte range of the target file; `done` bytes from `start` are already on disk. */
export interface Segment {
  start: number;
  /** exclusive */
  end: number;
  done: number;
}

export const MIN_SEGMENT_BYTES = 1 << 20;

/**
 * Splits `total` bytes into at most `wanted` contiguous segments, none smaller than
 * `minSegmentBytes` (small files are not worth several connections). Pure.
 */
export function planSegments(total: number, wanted: number, minSegmentBytes = MIN_SEGMENT_BYTES): Segment[] {
  if (total <= 0) return [{ start: 0, end: 0, done: 0 }];
  const byCount = Math.max(1, Math.floor(wanted));
  const bySize = Math.max(1, Math.floor(total / minSegmentBytes));
  const n = Math.min(byCount, bySize);
  const size = Math.ceil(total / n);
  const out: Segment[] = [];
  for (let start = 0; start < total; start += size) out.push({ start, end: Math.min(total, start + size), done: 0 });
  return out;
}

/** Ranged downloads fetch pieces of about this size, a few connections at a time, in file order. */
export const PIECE_BYTES = 16 << 20;

/**
 * Splits `total` into pieces fetched `connections` at a time in file order. Few big segments
 * (one per connection) would leave the sha256 frontier stuck behind the first segment until the
 * very end, then hash the other 3/4 of the file serially after the last byte arrived (~0.1 s per
 * 200 MB here); in-order pieces keep the written region contiguous so the hash keeps pace. Never
 * fewer pieces than connections (small files still get parallel requests). Pure.
 */
export function planPieces(total: number, connections: number, pieceBytes = PIECE_BYTES): Segment[] {
  const conns = Math.max(1, Math.floor(connections));
  return planSegments(total, Math.max(conns, Math.ceil(total / pieceBytes)));
}

export interface FlushPolicy {
  /** bytes gathered in memory per segment before one write */
  bufferBytes: number;
  /** bytes written (all segments together) between two progress-sidecar saves */
  saveEveryBytes: number;
}

/**
 * How much may be lost on a kill: at most saveEveryBytes + segments * bufferBytes, which this keeps
 * under one segment (3/8 of it with 4 segments) while big files still get multi-MB writes.
 */
export function flushPolicy(segmentBytes: number, segments: number): FlushPolicy {
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.floor(v)));
  return {
    bufferBytes: clamp(segmentBytes / (4 * Math.max(1, segments)), 64 << 10, 4 << 20),
    saveEveryBytes: clamp(segmentBytes / 8, 64 << 10, 16 << 20),
  };
}

export function doneBytes(segments: readonly Segment[]): number {
  return segments.reduce((sum, s) => sum + s.done, 0);
}

export function isComplete(segments: readonly Segment[]): boolean {
  return segments.every((s) => s.start + s.done >= s.end);
}
