import { errorBody } from '../errors';

/**
 * What a node may say about its answer, and what the client then sees. The
 * edge, not the node, decides status codes and content types: a node can only
 * produce an OpenAI JSON body, an OpenAI SSE stream, or an error the edge
 * renders in its own shape. Pure functions; the NodeLink applies them.
 */

/** How a node's `infer.head` is taken: as the start of a stream, of a JSON success, or of an engine error. */
export type HeadKind = 'stream' | 'json' | 'error';

export function headKind(status: number, contentType: string, stream: boolean): HeadKind {
  if (status < 200 || status >= 300) return 'error';
  if (stream && contentType.toLowerCase().includes('text/event-stream')) return 'stream';
  return 'json';
}

export interface Shaped {
  status: number;
  body: string;
}

const CODE_RE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_MESSAGE = 500;

/**
 * A complete non-streamed answer as the client gets it. A success must be a
 * JSON object (else 502: a node cannot wrap garbage, HTML or a script in a 200);
 * an engine error becomes a 400 (4xx) or 502 (anything else) in OpenAI's shape,
 * keeping only the engine's short message and a code that looks like one.
 */
export function shapeBody(kind: HeadKind, status: number, text: string): Shaped {
  if (kind !== 'error') {
    if (isJsonObject(text)) return { status: 200, body: text };
    return { status: 502, body: JSON.stringify(errorBody('upstream_error', 'The node answered with a body that is not a JSON object.')) };
  }
  const client = status >= 400 && status < 500;
  const detail = engineError(text);
  const message = detail.message ?? (client ? 'The model rejected the request.' : 'The node failed to answer.');
  const base = errorBody(client ? 'invalid_request' : 'upstream_error', message, detail.param ?? null);
  if (client && detail.code) base.error.code = detail.code as typeof base.error.code;
  return { status: client ? 400 : 502, body: JSON.stringify(base) };
}

function isJsonObject(text: string): boolean {
  const t = text.trimStart();
  if (!t.startsWith('{')) return false;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** The message, code and param of an OpenAI-shaped error body, when it is one; each bounded and plain. */
function engineError(text: string): { message?: string; code?: string; param?: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return {};
  }
  const e = (v as { error?: unknown } | null)?.error;
  if (typeof e !== 'object' || e === null) return {};
  const { message, code, param } = e as Record<string, unknown>;
  return {
    message: typeof message === 'string' && message.trim() ? plain(message) : undefined,
    code: typeof code === 'string' && CODE_RE.test(code) ? code : undefined,
    param: typeof param === 'string' && param.length <= 128 ? plain(param) : undefined,
  };
}

/** One line, bounded, without control characters. */
function plain(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, MAX_MESSAGE);
}

/**
 * Whether a stream chunk is made of whole SSE events (`data:`, `event:`, `id:`
 * or comment lines, each event ending in a blank line). A chunk that is not is
 * refused: the node cannot smuggle other content into a `text/event-stream`.
 */
export function isSseChunk(data: string): boolean {
  if (!data.endsWith('\n\n') && !data.endsWith('\r\n\r\n')) return false;
  const c = data.charCodeAt(0);
  // Fast path: the agent sends whole `data: …` events; one look at the first byte covers nearly every chunk.
  if (c !== 100 /* d */ && c !== 58 /* : */ && c !== 101 /* e */ && c !== 105 /* i */) return false;
  for (const line of data.split(/\r?\n/)) {
    if (line === '' || line.startsWith('data:') || line.startsWith(':') || line.startsWith('event:') || line.startsWith('id:')) continue;
    return false;
  }
  return true;
}
