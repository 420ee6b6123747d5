import type { ServerResponse } from 'node:http';

/**
 * Server-sent events in the form OpenAI clients parse: `data: <json>\n\n` per
 * event, `data: [DONE]\n\n` last. JSON.stringify escapes lone surrogates, and
 * generated text never contains a raw newline outside a JSON string, so one event
 * is always one `data:` line however odd the model's bytes are.
 */
export class SseWriter {
  private started = false;
  private ended = false;

  constructor(private readonly res: ServerResponse) {}

  get isStarted(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  send(event: unknown): void {
    if (this.ended || this.res.destroyed) return;
    this.start();
    this.res.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  /** Ends the stream with `[DONE]`: the marker of a complete response. */
  done(): void {
    if (this.ended) return;
    this.start();
    this.ended = true;
    if (!this.res.destroyed) this.res.end('data: [DONE]\n\n');
  }

  /** Ends the stream with an in-band error event and no `[DONE]`, so clients see it did not complete. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.send(error);
    this.ended = true;
    if (!this.res.destroyed) this.res.end();
  }
}
