import { ERROR_CODES, errorBody, type ErrorCode } from '../errors';
import type { InferTimings, NodeErrorCode, Usage } from '../protocol';
import { refusal, type RefusalReason } from './refusal';
import { headKind, isSseChunk, shapeBody, type HeadKind } from './shape';

/** How a relayed request ended, for the usage ledger; `refused` means it never reached the client and goes elsewhere. */
export type InferOutcome = 'ok' | 'error' | 'cancelled' | 'refused';

/** How a node's failure reads to the client. */
export function clientCode(code: NodeErrorCode): ErrorCode {
  if (code === 'unknown_model' || code === 'busy') return 'no_available_node';
  return 'upstream_error';
}

export interface Settled {
  outcome: InferOutcome;
  usage?: Usage;
  timings?: InferTimings;
  /** Edge-side: from dispatch to the first byte the client could read, and to the end. */
  firstByteMs?: number;
  totalMs: number;
  /** Why it failed or was refused (logs, metrics). */
  why?: string;
}

export interface PendingOptions {
  id: string;
  connId: string;
  stream: boolean;
  /** Bytes the node may send ahead of the client (credits); undefined: the node does not speak credits. */
  window?: number;
  /** May a failure before the first byte be handed back as a refusal (retried elsewhere)? False on the last attempt. */
  refusable: boolean;
  /** Grants the node more credit: the running total of stream characters the client consumed. */
  credit: (consumedChars: number) => void;
  /** Tells the node to stop: the client left, stalled, or the request failed at the edge. */
  cancel: () => void;
  /** Runs exactly once, however the request ends. */
  settle: (s: Settled) => void;
  /** No pull for this long while the buffer is full: the client is stalled and the stream ends with an in-band error. */
  clientStallMs: number;
  /** Largest non-streamed answer the edge assembles. */
  maxBodyChars: number;
  /** Bytes now queued for the client (after each chunk): the NodeLink keeps the maximum for metrics. */
  buffered?: (bytes: number) => void;
}

const encoder = new TextEncoder();

/**
 * One inference request relayed through a NodeLink: collects the node's
 * `infer.*` frames and turns them into exactly one outcome — a complete body,
 * an HTTP error before the first byte, an in-band SSE error event once a
 * stream has started, or (before the first byte, when allowed) a refusal the
 * Worker retries on another node.
 *
 * Streams are flow-controlled: the edge queues at most about one `window` of
 * data per stream and grants the node credit as the client reads.
 */
export class PendingInfer {
  readonly id: string;
  /** The socket this request went out on; only that socket's loss fails it. */
  readonly connId: string;
  private readonly o: PendingOptions;
  private readonly t0 = Date.now();
  private firstByteAt: number | undefined;
  private nextSeq = 0;
  private settled = false;
  private resolved = false;
  accepted = false;
  private kind: HeadKind | null = null;
  private status = 0;
  private readonly parts: string[] = [];
  private partChars = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly readable: ReadableStream<Uint8Array>;
  private resolveResponse!: (r: Response) => void;
  /** Resolves with the client's response: at the head for streams, at the end otherwise. */
  readonly response: Promise<Response>;
  // Flow control: what was queued for the client, and what the client has read, in the node's units (characters).
  private readonly queued: Array<{ bytes: number; chars: number }> = [];
  private queuedBytes = 0;
  private consumedChars = 0;
  private creditedChars = 0;
  private receivedChars = 0;
  private stallTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(o: PendingOptions) {
    this.o = o;
    this.id = o.id;
    this.connId = o.connId;
    this.response = new Promise((resolve) => (this.resolveResponse = resolve));
    const window = o.window ?? 64 * 1024;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => this.pulled(),
        cancel: () => {
          if (this.settled) return;
          this.end('cancelled', undefined, undefined, 'client went away');
          o.cancel();
        },
      },
      { highWaterMark: window, size: (chunk) => chunk.byteLength },
    );
  }

  get done(): boolean {
    return this.settled;
  }

  /** Whether the client has seen anything yet: before that, a failure can still go elsewhere. */
  get started(): boolean {
    return this.resolved;
  }

  /** Whether the node is waiting on the client (it has sent a whole window beyond its credit), so its silence is not its fault. */
  get heldByClient(): boolean {
    return this.o.window !== undefined && this.receivedChars - this.creditedChars >= this.o.window;
  }

  onAccepted(): void {
    this.accepted = true;
  }

  onHead(status: number, contentType: string): void {
    if (this.settled || this.kind) return;
    this.accepted = true;
    this.status = status;
    this.kind = headKind(status, contentType, this.o.stream);
    if (this.kind === 'stream') {
      this.firstByteAt = Date.now();
      this.resolve(new Response(this.readable, { status: 200, headers: sseHeaders() }));
    }
  }

  /** Returns false when the chunk breaks the protocol (lost frame, not SSE, too large); the request is then failed. */
  onChunk(seq: number, data: string): boolean {
    if (this.settled) return true;
    if (!this.kind) return this.violation(`stream chunk ${seq} came before the head`);
    if (seq !== this.nextSeq) return this.violation(`stream chunk ${this.nextSeq} was lost (got ${seq})`);
    this.nextSeq++;
    if (this.kind !== 'stream') {
      this.partChars += data.length;
      if (this.partChars > this.o.maxBodyChars) return this.violation(`answer exceeds ${this.o.maxBodyChars} characters`);
      this.parts.push(data);
      return true;
    }
    if (!isSseChunk(data)) return this.violation('stream data is not server-sent events');
    const bytes = encoder.encode(data);
    this.queued.push({ bytes: bytes.byteLength, chars: data.length });
    this.queuedBytes += bytes.byteLength;
    this.receivedChars += data.length;
    this.controller.enqueue(bytes);
    this.o.buffered?.(this.queuedBytes);
    if (this.heldByClient) this.armStall();
    return true;
  }

  onEnd(chunks: number, usage: Usage | undefined, timings: InferTimings | undefined): void {
    if (this.settled) return;
    if (!this.kind) {
      this.fail('upstream_error', 'node ended the request without a head');
      return;
    }
    if (chunks !== this.nextSeq) {
      this.fail('upstream_error', `node reported ${chunks} chunks but ${this.nextSeq} arrived`);
      return;
    }
    if (this.kind === 'stream') {
      this.end('ok', usage, timings);
      this.controller.close();
      return;
    }
    const shaped = shapeBody(this.kind, this.status, this.parts.join(''));
    this.parts.length = 0;
    this.firstByteAt = Date.now();
    this.end(shaped.status < 400 ? 'ok' : 'error', usage, timings, shaped.status < 400 ? undefined : `answered ${shaped.status}`);
    this.resolve(new Response(shaped.body, { status: shaped.status, headers: { 'content-type': 'application/json' } }));
  }

  /**
   * The request failed. Before the first byte it becomes a refusal (`reason`)
   * when refusable, else an HTTP error; after it, an in-band SSE error event.
   */
  fail(code: ErrorCode, message: string, reason: RefusalReason = 'node_failed'): void {
    if (this.settled) return;
    if (!this.resolved && this.o.refusable) {
      this.end('refused', undefined, undefined, `${reason}: ${message}`);
      this.resolve(refusal(reason, message));
      return;
    }
    this.end('error', undefined, undefined, message);
    const body = errorBody(code, message);
    if (this.resolved) {
      // Headers are gone: the error travels in-band, as OpenAI does, and the stream ends.
      this.controller.enqueue(encoder.encode(`data: ${JSON.stringify(body)}\n\n`));
      this.controller.close();
      return;
    }
    const status = ERROR_CODES[code].status;
    this.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '2' } : {}) },
      }),
    );
  }

  private violation(why: string): false {
    this.fail('upstream_error', why);
    return false;
  }

  private resolve(r: Response): void {
    if (this.resolved) return;
    this.resolved = true;
    this.resolveResponse(r);
  }

  private end(outcome: InferOutcome, usage: Usage | undefined, timings: InferTimings | undefined, why?: string): void {
    this.settled = true;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    const now = Date.now();
    this.o.settle({
      outcome,
      usage,
      timings,
      firstByteMs: this.firstByteAt === undefined ? undefined : this.firstByteAt - this.t0,
      totalMs: now - this.t0,
      why,
    });
  }

  /** The client read: account for what left the queue and, past half a window, grant the node that much more. */
  private pulled(): void {
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const size = this.controller.desiredSize;
    if (size === null) return;
    const stillQueued = Math.max(0, (this.o.window ?? 64 * 1024) - size);
    while (this.queued.length && this.queuedBytes - this.queued[0].bytes >= stillQueued) {
      const front = this.queued.shift()!;
      this.queuedBytes -= front.bytes;
      this.consumedChars += front.chars;
    }
    if (this.o.window !== undefined && this.consumedChars - this.creditedChars >= this.o.window / 2) {
      this.creditedChars = this.consumedChars;
      this.o.credit(this.consumedChars);
    }
    // Still out of credit after this read: the client must keep reading within the limit.
    if (this.heldByClient) this.armStall();
  }

  private armStall(): void {
    if (this.stallTimer || this.settled) return;
    this.stallTimer = setTimeout(() => {
      if (this.settled) return;
      this.fail('upstream_error', `the client read nothing for ${Math.round(this.o.clientStallMs / 1000)} s; the stream was ended`);
      this.o.cancel();
    }, this.o.clientStallMs);
  }
}

export function sseHeaders(): Record<string, string> {
  return { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
}
