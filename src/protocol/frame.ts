import type * as z from 'zod';
import { MAX_FRAME_BYTES } from './messages';

export type FrameResult<T> = { ok: true; frame: T } | { ok: false; id?: string; message: string };

/**
 * Parses one text frame against a direction's schema. Never throws: a bad frame
 * yields a message naming the offending field, and the frame's `id` when one
 * could be read, so the reply can echo it.
 */
export function parseFrame<T>(schema: z.ZodType<T>, raw: string | ArrayBuffer): FrameResult<T> {
  const decoded = decodeFrame(raw);
  return decoded.ok ? validateFrame(schema, decoded.value) : decoded;
}

/** The JSON value of a text frame, or why there is none (binary, oversized, not JSON). */
export function decodeFrame(raw: string | ArrayBuffer): { ok: true; value: unknown } | { ok: false; message: string } {
  if (typeof raw !== 'string') return { ok: false, message: 'binary frames are not part of the protocol' };
  if (raw.length > MAX_FRAME_BYTES) return { ok: false, message: `frame exceeds ${MAX_FRAME_BYTES} bytes` };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false, message: 'frame is not valid JSON' };
  }
}

/** A decoded frame checked against `schema`: parseFrame's second half, for callers that looked at the value first. */
export function validateFrame<T>(schema: z.ZodType<T>, value: unknown): FrameResult<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'frame';
  const frameId =
    typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id.slice(0, 128) : undefined;
  return { ok: false, id: frameId, message: `invalid ${where}: ${issue?.message ?? 'unknown error'}` };
}
