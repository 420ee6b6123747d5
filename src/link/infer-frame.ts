import { MAX_FRAME_BYTES } from '../protocol';

/** Characters of body JSON per `infer.body` frame: ≤ 3 bytes each in UTF-8, so a part stays well under MAX_FRAME_BYTES. */
export const BODY_PART_CHARS = 1024 * 1024;
/** Room for the envelope around a part's data (type, id, seq and JSON escaping of the slice). */
const ENVELOPE_BYTES = 64 * 1024;

export interface StartFields {
  id: string;
  model: string;
  path: string;
  request_id: string;
  window?: number;
}

/**
 * The frames that carry one request to a node: one `infer.start` with the
 * body's JSON text spliced in as is (the Worker validated and encoded it; it is
 * not parsed again), or — when that frame would pass MAX_FRAME_BYTES — an
 * `infer.start` announcing `body_parts` followed by that many `infer.body`
 * frames, for agents that declared `body_parts`. Null when the body is too
 * large for one frame and the agent cannot take parts.
 */
export function inferFrames(f: StartFields, bodyJson: string, canSplit: boolean): string[] | null {
  const head = JSON.stringify({ type: 'infer.start', ...f });
  const whole = `${head.slice(0, -1)},"body":${bodyJson}}`;
  if (fitsFrame(whole)) return [whole];
  if (!canSplit) return null;
  const parts: string[] = [];
  let at = 0;
  while (at < bodyJson.length) {
    let end = Math.min(bodyJson.length, at + BODY_PART_CHARS);
    // Never split a surrogate pair: each part must be valid text on its own.
    const c = bodyJson.charCodeAt(end - 1);
    if (end < bodyJson.length && c >= 0xd800 && c <= 0xdbff) end--;
    parts.push(bodyJson.slice(at, end));
    at = end;
  }
  const start = JSON.stringify({ type: 'infer.start', ...f, body_parts: parts.length });
  return [start, ...parts.map((data, seq) => JSON.stringify({ type: 'infer.body', id: f.id, seq, data }))];
}

/** Whether a frame's UTF-8 size is within the limit, measuring only when the length alone cannot tell. */
export function fitsFrame(frame: string): boolean {
  if (frame.length * 3 <= MAX_FRAME_BYTES - ENVELOPE_BYTES) return true;
  if (frame.length > MAX_FRAME_BYTES) return false;
  return new TextEncoder().encode(frame).byteLength <= MAX_FRAME_BYTES;
}
