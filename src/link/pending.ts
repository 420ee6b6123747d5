import { errorBody, ERROR_CODES, type ErrorCode } from '../errors';
import type { NodeErrorCode, Usage } from '../protocol';

/** How a relayed request ended, for the usage ledger. */
export type InferOutcome = 'ok' | 'error' | 'cancelled';

const encoder = new TextEncoder();

/** How a node's failure reads to the client. */
export function clientCode(code: NodeErrorCode): ErrorCode {
  if (code === 'unknown_model' || code === 'busy') return 'no_available_node';
  return 'upstream_error';
}

/**
 * One inference request relayed through a NodeLink: collects the node's
 * `infer.*` frames and turns them into exactly one outcome for the client — a
 * complete body, an HTTP error before the first byte, or (for streams already
 * started) an in-band SSE error event followed by the end of the stream.
 */
export class PendingInfer {
  readonly id: string;
  /** The socket this request went out on; only that socket's loss fails it. */
  readonly connId: string;
  private readonly stream: boolean;
  private nextSeq = 0;
  private settled = false;
  private readonly parts: string[] = [];
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly readable: ReadableStream<Uint8Array>;
  private head: { status: number; contentType: string } | null = null;
  private resolveOutcome!: (r: Response) => void;
  /** Resolves with the client's response: at the head for 2xx streams, at the end otherwise. */
  readonly response: Promise<Response>;
  usage?: Usage;
  private readonly onSettle?: (outcome: InferOutcome, usage?: Usage) => void;

  /** `onSettle` runs exactly once, when the request ends in any way (the ledger counts it once). */
  constructor(id: string, connId: string, stream: boolean, onCancel: () => void, onSettle?: (outcome: InferOutcome, usage?: Usage) => void) {
    this.id = id;
    this.onSettle = onSettle;
    this.connId = connId;
    this.stream = stream;
    this.response = new Promise((resolve) => (this.resolveOutcome = resolve));
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
      cancel: () => {
        if (this.settled) return;
        this.settled = true;
        this.onSettle?.('cancelled', this.usage);
        onCancel();
      },
    });
  }

  get done(): boolean {
    return this.settled;
  }

  onHead(status: number, contentType: string): void {
    if (this.settled || this.head) return;
    this.head = { status, contentType };
    if (this.streaming()) {
      this.resolveOutcome(new Response(this.readable, { status, headers: sseHeaders() }));
    }
  }

  /** Returns false when the chunk is out of order (a lost frame); the request is then failed. */
  onChunk(seq: number, data: string): boolean {
    if (this.settled) return true;
    if (seq !== this.nextSeq) {
      this.fail('upstream_error', `stream chunk ${this.nextSeq} was lost (got ${seq})`);
      return false;
    }
    this.nextSeq++;
    if (this.streaming()) this.controller.enqueue(encoder.encode(data));
    else this.parts.push(data);
    return true;
  }

  onEnd(chunks: number, usage?: Usage): void {
    if (this.settled) return;
    if (chunks !== this.nextSeq) {
      this.fail('upstream_error', `node reported ${chunks} chunks but ${this.nextSeq} arrived`);
      return;
    }
    this.usage = usage;
    this.settled = true;
    this.onSettle?.((this.head?.status ?? 502) < 400 ? 'ok' : 'error', usage);
    if (this.streaming()) {
      this.controller.close();
      return;
    }
    const status = this.head?.status ?? 502;
    this.resolveOutcome(new Response(this.parts.join(''), {
      status,
      headers: { 'content-type': this.head?.contentType ?? 'application/json' },
    }));
  }

  /** Ends the request with an error, in the only form still possible for it. */
  fail(code: ErrorCode, message: string): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettle?.('error', this.usage);
    const body = errorBody(code, message);
    if (this.streaming()) {
      // Headers are gone: the error travels in-band, as OpenAI does, and the stream ends.
      this.controller.enqueue(encoder.encode(`data: ${JSON.stringify(body)}\n\n`));
      this.controller.close();
      return;
    }
    this.resolveOutcome(new Response(JSON.stringify(body), {
      status: ERROR_CODES[code].status,
      headers: { 'content-type': 'application/json', ...(ERROR_CODES[code].status === 503 ? { 'retry-after': '2' } : {}) },
    }));
  }

  private streaming(): boolean {
    return this.stream && this.head !== null && this.head.status < 400 && this.head.contentType.includes('text/event-stream');
  }
}

function sseHeaders(): HeadersInit {
  return { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
}
