import { decodeFrame, validateFrame, type FrameResult } from './frame';
import { NodeToEdgeSchema, type InferTimings, type NodeToEdge, type Usage } from './messages';

/**
 * A node's frames as the NodeLink reads them, with a hand-written check for the
 * four frames every request brings (`infer.accepted`, `infer.head`,
 * `infer.chunk`, `infer.end`): zod's generic object walk was the largest share
 * of the edge's CPU per frame. The check accepts exactly what
 * NodeToEdgeSchema accepts for those types and returns what zod would (a fresh
 * object of the schema's keys only: unknown keys are dropped, as zod's
 * `z.object` does). Anything it does not accept — another type, or a hot frame
 * with any fault — goes to zod, so every error message stays zod's.
 * test/unit/hot-frames.test.ts holds the two to the same answers.
 */
export function parseNodeFrame(raw: string | ArrayBuffer): FrameResult<NodeToEdge> {
  const decoded = decodeFrame(raw);
  if (!decoded.ok) return decoded;
  const hot = hotFrame(decoded.value);
  return hot ? { ok: true, frame: hot } : validateFrame(NodeToEdgeSchema, decoded.value);
}

type Obj = Record<string, unknown>;

/** The frame when it is a valid hot frame, else null (the caller then asks zod). Pure. */
export function hotFrame(v: unknown): NodeToEdge | null {
  if (!isObject(v) || !isId(v.id)) return null;
  switch (v.type) {
    case 'infer.chunk':
      return isCount(v.seq) && typeof v.data === 'string' ? { type: 'infer.chunk', id: v.id, seq: v.seq, data: v.data } : null;
    case 'infer.accepted':
      return { type: 'infer.accepted', id: v.id };
    case 'infer.head':
      return isInt(v.status) && v.status >= 100 && v.status <= 599 && typeof v.content_type === 'string' && fits(v.content_type, 200)
        ? { type: 'infer.head', id: v.id, status: v.status, content_type: v.content_type }
        : null;
    case 'infer.end': {
      if (!isCount(v.chunks)) return null;
      const end: NodeToEdge = { type: 'infer.end', id: v.id, chunks: v.chunks };
      if (v.usage !== undefined) {
        const usage = usageOf(v.usage);
        if (!usage) return null;
        end.usage = usage;
      }
      if (v.timings !== undefined) {
        const timings = timingsOf(v.timings);
        if (!timings) return null;
        end.timings = timings;
      }
      return end;
    }
    default:
      return null;
  }
}

function usageOf(u: unknown): Usage | null {
  if (!isObject(u) || !isCount(u.prompt_tokens) || !isCount(u.completion_tokens) || !isCount(u.total_tokens)) return null;
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
}

function timingsOf(t: unknown): InferTimings | null {
  if (!isObject(t) || !isMs(t.ttft_ms) || !isMs(t.total_ms)) return null;
  return { ttft_ms: t.ttft_ms, total_ms: t.total_ms };
}

/** What zod's `z.object` takes as an object: anything but null and arrays of type `object`. */
function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The protocol's `id`: a string of 1 to 128 characters (`.min(1).max(128)`; a lone surrogate counts as one). */
function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && fits(v, 128);
}

/**
 * zod's `.max(n)` on a string: it counts Unicode code points, not UTF-16 units, so 65 emoji (130 units) pass
 * `.max(128)`. Only a string over `n` units needs counting, as in zod.
 */
function fits(s: string, n: number): boolean {
  if (s.length <= n) return true;
  // A code point is at most two units: past 2n units no count can fit.
  if (s.length > 2 * n) return false;
  let count = s.length;
  for (let i = 0; i < s.length - 1 && count > n; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count <= n;
}

/** zod's `z.number().int()`: a safe integer (it refuses 2^53 and beyond, NaN and infinities). */
function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** `z.number().int().nonnegative()`. */
function isCount(v: unknown): v is number {
  return isInt(v) && v >= 0;
}

/** InferTimingsSchema's fields: a finite number from 0 to one day in milliseconds. */
function isMs(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= 86_400_000;
}
