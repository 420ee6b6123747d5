import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Past the limit, up to this much is read and dropped before the 413; beyond it the connection is cut. */
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads and JSON-parses a request body; 413 past `limit`, 400 for anything that is not JSON.
 * An oversized body is drained (bounded) before the 413: answering before the body is read leaves the
 * kept-alive connection unusable, and the agent's next request on it would hang.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DRAIN_BYTES) req.socket.destroy();
    if (size > limit) continue;
    chunks.push(chunk as Buffer);
  }
  if (size > limit) throw new ApiError('request_too_large', `request body exceeds ${limit} bytes`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new ApiError('invalid_request', 'request body is empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError('invalid_request', `request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
