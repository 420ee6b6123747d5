import type { InferStart, InferTimings, NodeErrorCode, NodeToEdge } from '../../src/protocol';
import { Batcher, takeCompleteEvents, type BatchOptions } from './batcher';
import type { StreamCredit } from './credits';
import { dropUsageChunks, extractUsage, streamWithoutUsage, withUsageRequested } from './usage';
import { postToEngine, readText, type EngineResponse } from './engine-http';

/** Why a relay was aborted; decides what, if anything, the edge is told. */
export type AbortReason = 'cancelled' | 'disconnected' | 'engine_failed' | 'shutdown';

export interface RelayDeps {
  send: (frame: NodeToEdge) => boolean;
  /** Resolves when the socket can take more (flow control); reading the engine pauses until then. */
  whenWritable: () => Promise<void>;
  /** This stream's credit with the edge (flow control); absent: only the socket's backpressure holds it. */
  credit?: StreamCredit;
  batch?: BatchOptions;
  /** Called once when the relay ends, with what the engine took (for the agent's log line). */
  onDone?: (r: { status: number | null; timings?: InferTimings; error?: string }) => void;
  /** Engines whose answers differ from porten's shapes (llama-server) rewrite requests and answers here. */
  normalise?: RelayNormaliser;
}

/** An engine's adapter to porten's API shapes; see `nodes/engines/llama-server-normalise.ts`. */
export interface RelayNormaliser {
  /** The body to send, or an answer given without asking the engine (a 4xx in porten's shape). */
  request(path: string, body: Record<string, unknown>): { ok: true; body: Record<string, unknown> } | { ok: false; status: number; text: string };
  /** Per-response rewriting of a whole JSON answer, or of whole SSE events. */
  response(path: string): { json(status: number, text: string): { status: number; text: string }; events(events: string): string };
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
export async function relay(req: InferStart & { body: Record<string, unknown> }, baseUrl: string, signal: AbortSignal, deps: RelayDeps): Promise<void> {
  const fail = (code: NodeErrorCode, message: string) => {
    deps.onDone?.({ status: null, error: `${code}: ${message.slice(0, 200)}` });
    const reason = signal.reason as AbortReason | undefined;
    if (signal.aborted && (reason === 'disconnected' || reason === 'shutdown')) return;
    if (signal.aborted && reason === 'cancelled') deps.send({ type: 'infer.error', id: req.id, code: 'cancelled', message: 'cancelled by the edge' });
    else if (signal.aborted && reason === 'engine_failed')
      deps.send({ type: 'infer.error', id: req.id, code: 'engine_failed', message: 'the engine stopped while serving this request' });
    else deps.send({ type: 'infer.error', id: req.id, code, message: message.slice(0, 2000) });
  };

  let body = req.body;
  if (deps.normalise) {
    const r = deps.normalise.request(req.path, body);
    if (!r.ok) {
      deps.send({ type: 'infer.head', id: req.id, status: r.status, content_type: 'application/json' });
      deps.send({ type: 'infer.chunk', id: req.id, seq: 0, data: r.text });
      deps.send({ type: 'infer.end', id: req.id, chunks: 1 });
      return;
    }
    body = r.body;
  }
  const shape = deps.normalise?.response(req.path);

  let res: EngineResponse;
  const t0 = performance.now();
  let firstAt: number | undefined;
  try {
    res = await postToEngine(`${baseUrl}${req.path}`, JSON.stringify(withUsageRequested(body)), signal, req.request_id);
  } catch (err) {
    fail('engine_failed', `engine unreachable: ${describe(err)}`);
    return;
  }

  const contentType = res.contentType;
  const sse = contentType.includes('text/event-stream');
  if (shape && !sse) {
    // A normalised JSON answer is rewritten whole, so it is read whole (answers are small next to streams).
    let text: string;
    try {
      text = await readText(res.body);
    } catch (err) {
      fail('engine_failed', `engine stream broke: ${describe(err)}`);
      return;
    }
    const out = shape.json(res.status, text);
    if (out.status >= 500) {
      fail('engine_failed', `engine answered ${res.status}: ${text.slice(0, 500)}`);
      return;
    }
    deps.send({ type: 'infer.head', id: req.id, status: out.status, content_type: contentType });
    deps.send({ type: 'infer.chunk', id: req.id, seq: 0, data: out.text });
    const end = performance.now();
    const timings: InferTimings = { ttft_ms: round(end - t0), total_ms: round(end - t0) };
    deps.send({ type: 'infer.end', id: req.id, chunks: 1, usage: extractUsage(out.text.slice(-TAIL_CHARS)), timings });
    deps.onDone?.({ status: out.status, timings });
    return;
  }

  if (res.status >= 500) {
    const text = await readText(res.body).catch(() => '');
    fail('engine_failed', `engine answered ${res.status}: ${text.slice(0, 500)}`);
    return;
  }

  const batcher = new Batcher((data, seq) => {
    deps.credit?.spent(data.length);
    deps.send({ type: 'infer.chunk', id: req.id, seq, data });
  }, deps.batch);
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
    const shaped = shape ? shape.events(complete) : complete;
    batcher.push(hideUsage ? dropUsageChunks(shaped) : shaped);
  };

  try {
    for await (const value of res.body as AsyncIterable<Buffer>) {
      firstAt ??= performance.now();
      take(decoder.decode(value, { stream: true }));
      // Flow control: stop reading the engine while the socket to the edge is backed up,
      // and while this stream's client has not consumed what it was sent (credits).
      await deps.whenWritable();
      if (deps.credit && !deps.credit.open()) {
        batcher.flush();
        await deps.credit.whenOpen(signal);
      }
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
  const end = performance.now();
  const timings: InferTimings = { ttft_ms: round((firstAt ?? end) - t0), total_ms: round(end - t0) };
  deps.send({ type: 'infer.end', id: req.id, chunks: batcher.seq, usage: extractUsage(tail), timings });
  deps.onDone?.({ status: res.status, timings });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
