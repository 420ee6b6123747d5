import type { InferStart, NodeErrorCode, NodeToEdge } from '../../src/protocol';
import { Batcher, takeCompleteEvents, type BatchOptions } from './batcher';
import { dropUsageChunks, extractUsage, streamWithoutUsage, withUsageRequested } from './usage';
import { postToEngine, readText, type EngineResponse } from './engine-http';

/** Why a relay was aborted; decides what, if anything, the edge is told. */
export type AbortReason = 'cancelled' | 'disconnected' | 'engine_failed' | 'shutdown';

export interface RelayDeps {
  send: (frame: NodeToEdge) => boolean;
  /** Resolves when the socket can take more (flow control); reading the engine pauses until then. */
  whenWritable: () => Promise<void>;
  batch?: BatchOptions;
}

const TAIL_CHARS = 16 * 1024;

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ''}`.slice(0, 2000);
}

/**
 * Streams one request through the engine and out as frames: `infer.head`,
 * `infer.chunk`s with consecutive `seq`, then `infer.end` — or a single
 * `infer.error`. Engine 4xx answers pass through as head/chunks/end; 5xx and
 * broken connections become `engine_failed`. Aborting `signal` stops the
 * engine request at once; with reason `disconnected` nothing more is sent.
 * Never throws.
 */
export async function relay(req: InferStart, baseUrl: string, signal: AbortSignal, deps: RelayDeps): Promise<void> {
  const fail = (code: NodeErrorCode, message: string) => {
    const reason = signal.reason as AbortReason | undefined;
    if (signal.aborted && (reason === 'disconnected' || reason === 'shutdown')) return;
    if (signal.aborted && reason === 'cancelled') deps.send({ type: 'infer.error', id: req.id, code: 'cancelled', message: 'cancelled by the edge' });
    else if (signal.aborted && reason === 'engine_failed') deps.send({ type: 'infer.error', id: req.id, code: 'engine_failed', message: 'the engine stopped while serving this request' });
    else deps.send({ type: 'infer.error', id: req.id, code, message: message.slice(0, 2000) });
  };

  let res: EngineResponse;
  try {
    res = await postToEngine(`${baseUrl}${req.path}`, JSON.stringify(withUsageRequested(req.body)), signal);
  } catch (err) {
    fail('engine_failed', `engine unreachable: ${describe(err)}`);
    return;
  }

  if (res.status >= 500) {
    const text = await readText(res.body).catch(() => '');
    fail('engine_failed', `engine answered ${res.status}: ${text.slice(0, 500)}`);
    return;
  }

  const contentType = res.contentType;
  const sse = contentType.includes('text/event-stream');
  const batcher = new Batcher((data, seq) => deps.send({ type: 'infer.chunk', id: req.id, seq, data }), deps.batch);
  deps.send({ type: 'infer.head', id: req.id, status: res.status, content_type: contentType });

  const decoder = new TextDecoder();
  // The engine was asked for usage either way (metering); the client sees the chunk only if it asked.
  const hideUsage = streamWithoutUsage(req.body);
  let partial = '';
  let tail = '';
  const take = (text: string) => {
    if (!text) return;
    tail = tail.length + text.length > TAIL_CHARS ? (tail + text).slice(-TAIL_CHARS) : tail + text;
    if (!sse) return batcher.push(text);
    const [complete, rest] = takeCompleteEvents(partial + text);
    partial = rest;
    batcher.push(hideUsage ? dropUsageChunks(complete) : complete);
  };

  try {
    for await (const value of res.body as AsyncIterable<Buffer>) {
      take(decoder.decode(value, { stream: true }));
      // Flow control: stop reading the engine while the socket to the edge is backed up.
      await deps.whenWritable();
      if (signal.aborted) throw signal.reason;
    }
    if (signal.aborted) throw signal.reason;
    take(decoder.decode());
    batcher.push(partial);
    batcher.flush();
  } catch (err) {
    batcher.discard();
    fail('engine_failed', `engine stream broke: ${describe(err)}`);
    return;
  }
  deps.send({ type: 'infer.end', id: req.id, chunks: batcher.seq, usage: extractUsage(tail) });
}
