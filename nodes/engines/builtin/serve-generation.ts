import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, sendError, sendJson, toApiError } from './errors';
import type { GenerationResult } from './run-on-sequence';
import { SseWriter } from './sse';

/** How one endpoint shapes its output; the streaming and abort mechanics are shared. */
export interface OutputShape<R extends GenerationResult = GenerationResult> {
  /** Sent before any text (chat: the delta carrying `role`). */
  opening?: () => unknown;
  /** The events that end a stream: whatever was held back, then the one carrying `finish_reason`. */
  closing: (result: R) => unknown[];
  usageChunk: (result: R) => unknown;
  whole: (result: R) => unknown;
}

/** Runs the generation; while streaming, `emit` takes the events for each step of the answer. */
export type Run<R extends GenerationResult = GenerationResult> = (signal: AbortSignal, emit?: (events: unknown[]) => void) => Promise<R>;

/**
 * Runs a prepared generation and writes it as JSON or SSE.
 * The generation is aborted when the client disconnects before the response is
 * finished, or when `stopping` fires (SIGTERM), so its sequence is freed at once.
 * A failure after streaming began ends the stream with an in-band error event and no [DONE].
 */
export async function serveGeneration<R extends GenerationResult>(
  _req: IncomingMessage,
  res: ServerResponse,
  opts: { id: string; stream: boolean; includeUsage: boolean; stopping: AbortSignal; log: (line: string) => void },
  shape: OutputShape<R>,
  run: Run<R>,
): Promise<void> {
  const client = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) client.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);
  // The client may have left while the body was read or the prompt checked: 'close' has then already fired.
  if (res.destroyed || !res.socket || res.socket.destroyed) onClose();
  const signal = AbortSignal.any([client.signal, opts.stopping]);
  const stoppingError = new ApiError('engine_stopping', 'the engine is shutting down; retry on another replica');
  const aborted = (r: GenerationResult, sse?: SseWriter) => {
    // One line per abort: the agent's logs (and tests) can see the generation really stopped early.
    opts.log(`${opts.id} aborted after ${r.usage.completion_tokens} completion tokens`);
    if (client.signal.aborted) return void res.destroy(); // nobody is listening any more
    // Shutdown: say so, so the request ends in an error the client can read rather than a cut connection.
    if (sse) sse.fail(stoppingError.toBody());
    else sendError(res, stoppingError);
  };
  try {
    if (!opts.stream) {
      const result = await run(signal);
      if (result.aborted) return aborted(result);
      return sendJson(res, 200, shape.whole(result));
    }
    const sse = new SseWriter(res);
    try {
      sse.start();
      if (shape.opening) sse.send(shape.opening());
      const result = await run(signal, (events) => {
        for (const event of events) sse.send(event);
      });
      if (result.aborted) return aborted(result, sse);
      for (const event of shape.closing(result)) sse.send(event);
      if (opts.includeUsage) sse.send(shape.usageChunk(result));
      sse.done();
    } catch (err) {
      opts.log(`generation failed mid-stream: ${err instanceof Error ? err.stack : String(err)}`);
      sse.fail(toApiError(err).toBody());
    }
  } finally {
    res.off('close', onClose);
  }
}
