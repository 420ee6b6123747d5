import { errorBody } from '../errors';
import { logEvent } from '../log';
import { publicMessage } from '../security/sanitize';
import type { EdgeToNode, InferAcceptedSchema, InferChunkSchema, InferEndSchema, InferErrorSchema, InferHeadSchema } from '../protocol';
import type * as z from 'zod';
import type { LinkConfig } from './config';
import { parseDispatchHeaders, type DispatchMeta } from './dispatch-meta';
import { inferFrames } from './infer-frame';
import { endedFields, openRow, type InflightTable } from './inflight';
import type { Attachment } from './attachments';
import type { Outbox } from './outbox';
import { PendingInfer, clientCode, type Settled } from './pending';
import { refusal, type RefusalReason } from './refusal';
import type { Reporter } from './reporter';
import type { ServedModels } from './served';

type InferFrame =
  | z.infer<typeof InferAcceptedSchema>
  | z.infer<typeof InferHeadSchema>
  | z.infer<typeof InferChunkSchema>
  | z.infer<typeof InferEndSchema>
  | z.infer<typeof InferErrorSchema>;

export interface LinkRequestsDeps {
  ctx: DurableObjectState;
  config: LinkConfig;
  served: ServedModels;
  outbox: Outbox;
  reporter: Reporter;
  inflight: InflightTable;
  socket: () => WebSocket | null;
  /** The socket's attachment (kept in memory by the NodeLink: see attachments.ts). */
  attachment: (ws: WebSocket) => Attachment;
  send: (frame: EdgeToNode | string) => void;
}

/** Agents that ping are silent for at most three pings; older ones heartbeat every 15 s. */
const SILENT_PING_MS = 7000;
const SILENT_HEARTBEAT_MS = 45_000;
/** How often the deadlines of requests in flight are checked (and open ledger rows written, see Outbox). */
const TICK_MS = 100;

/**
 * The NodeLink's data plane: admits dispatches (the node is alive, serves the
 * model, has a free slot), sends them out, relays the node's frames to each
 * request, and enforces the deadlines — the first reply (`infer.accepted`)
 * and the stall between frames. A node that misses the first-reply deadline
 * is suspect: new requests are refused at once until it shows life again.
 */
export class LinkRequests {
  /** When the node last missed a deadline; null while it answers. */
  private suspectAt: number | null = null;
  private lastFrameAt = 0;
  private readonly saturated = new Map<string, number>();
  /** Requests queue at the Hub behind this node: a freed slot is reported at once. */
  private queuedBehind = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** Dispatches refused since the last report, by reason. */
  private refusals: Record<string, number> = {};
  /** The most bytes one stream had queued for its client since the last report. */
  private maxBuffered = 0;

  constructor(private readonly d: LinkRequestsDeps) {}

  get suspect(): boolean {
    return this.suspectAt !== null;
  }

  saturatedSince(): Record<string, number> {
    return Object.fromEntries(this.saturated);
  }

  /** The refusals counted since the last call (the report takes them). */
  takeRefusals(): Record<string, number> {
    const r = this.refusals;
    this.refusals = {};
    return r;
  }

  takeMaxBuffered(): number {
    const m = this.maxBuffered;
    this.maxBuffered = 0;
    return m;
  }

  /** Any frame from the node: it is alive. */
  heard(now: number): void {
    this.lastFrameAt = now;
    if (this.suspectAt !== null && now > this.suspectAt) {
      this.suspectAt = null;
      this.d.reporter.urgent();
    }
  }

  /** When the node last showed life: a frame, a heartbeat, or a ping the runtime answered. */
  lifeAt(ws: WebSocket, att: Attachment): number {
    const pong = this.d.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(att.lastBeat, this.lastFrameAt, pong);
  }

  async dispatch(req: Request): Promise<Response> {
    const meta = parseDispatchHeaders(req.headers);
    const body = await req.text();
    if (!meta) return Response.json(errorBody('internal_error', 'malformed dispatch'), { status: 500 });
    const ws = this.d.socket();
    if (!ws) return this.refuse(meta, 'no_socket', 'The node serving this model is not connected.');
    const att = this.d.attachment(ws);
    const now = Date.now();
    if (this.isSuspect(ws, att, now)) return this.refuse(meta, 'suspect', 'The node serving this model stopped answering.', att.nodeId);
    if (!this.d.served.ready(att.connId, meta.model)) return this.refuse(meta, 'model_gone', `The node no longer serves '${meta.model}'.`, att.nodeId);
    const max = this.d.served.maxConcurrency(att.connId);
    if (this.d.inflight.count(att.connId) >= max) {
      if (!this.saturated.has(meta.model)) this.saturated.set(meta.model, now);
      this.queuedBehind = true;
      this.d.reporter.changed(true);
      return this.refuse(meta, 'busy', `The node is at its concurrency limit (${max}).`, att.nodeId);
    }
    // Only streams are flow-controlled: a non-streamed answer is assembled here whole (bounded by maxBodyChars).
    const credits = meta.stream && this.d.served.has(att.connId, 'credits');
    const frames = inferFrames(
      { id: meta.id, model: meta.model, path: meta.path, request_id: meta.requestId, window: credits ? this.d.config.windowBytes : undefined },
      body,
      this.d.served.has(att.connId, 'body_parts'),
    );
    if (!frames) {
      return Response.json(errorBody('request_too_large', 'The request body is too large for this node (its agent cannot take split bodies).'), {
        status: 413,
      });
    }
    const p = new PendingInfer({
      id: meta.id,
      connId: att.connId,
      stream: meta.stream,
      window: credits ? this.d.config.windowBytes : undefined,
      refusable: meta.refusable,
      clientStallMs: this.d.config.clientStallMs,
      maxBodyChars: 64 * 1024 * 1024,
      credit: (bytes) => this.d.send({ type: 'infer.credit', id: meta.id, bytes }),
      cancel: () => this.d.send({ type: 'infer.cancel', id: meta.id }),
      settle: (s) => this.settled(meta, s),
      buffered: (bytes) => {
        if (bytes > this.maxBuffered) this.maxBuffered = bytes;
      },
    });
    this.d.inflight.add({ meta, p, started: now, lastAt: now });
    for (const f of frames) ws.send(f);
    // Kept in memory; written to storage if it is still running after 100 ms (see Outbox), never before its first byte.
    this.d.outbox.begin(openRow(meta, att.nodeId, now));
    this.d.reporter.changed();
    this.tick();
    return p.response;
  }

  /** A frame for one request. */
  frame(att: Attachment, f: InferFrame): void {
    const e = this.d.inflight.get(f.id);
    if (!e || e.p.connId !== att.connId) return;
    e.lastAt = Date.now();
    switch (f.type) {
      case 'infer.accepted':
        e.p.onAccepted();
        return;
      case 'infer.head':
        e.p.onHead(f.status, f.content_type);
        return;
      case 'infer.chunk':
        if (!e.p.onChunk(f.seq, f.data)) this.d.send({ type: 'infer.cancel', id: f.id });
        return;
      case 'infer.end':
        e.p.onEnd(f.chunks, f.usage, f.timings);
        return;
      case 'infer.error': {
        if (f.code === 'unknown_model') this.d.served.set(att.connId, e.meta.model, 'stopped');
        const reason: RefusalReason = f.code === 'unknown_model' ? 'model_gone' : f.code === 'busy' ? 'busy' : 'node_failed';
        // Whatever the agent sent, a client reads one safe line (src/security/sanitize.ts).
        e.p.fail(clientCode(f.code), `node ${att.nodeId}: ${publicMessage(f.message, f.code)}`, reason);
        return;
      }
    }
  }

  /** The node sent an invalid frame naming request `id`: the request fails (before its first byte: retried elsewhere) and the node is told to stop. */
  invalid(att: Attachment, id: string, why: string): void {
    const e = this.d.inflight.get(id);
    if (!e || e.p.connId !== att.connId) return;
    this.d.send({ type: 'infer.cancel', id });
    e.p.fail('upstream_error', `node ${att.nodeId} sent an invalid frame for this request (${why})`, 'node_failed');
  }

  /** The socket `connId` is gone: its requests fail (before their first byte: handed back to be retried). */
  lost(connId: string, why: string): void {
    for (const e of [...this.d.inflight.values()]) if (e.p.connId === connId) e.p.fail('upstream_error', why, 'node_failed');
  }

  private isSuspect(ws: WebSocket, att: Attachment, now: number): boolean {
    const life = this.lifeAt(ws, att);
    if (this.suspectAt !== null) {
      if (life <= this.suspectAt) return true;
      this.suspectAt = null;
      this.d.reporter.urgent();
    }
    const silent = this.d.served.has(att.connId, 'ping') ? SILENT_PING_MS : SILENT_HEARTBEAT_MS;
    if (now - life <= silent) return false;
    this.markSuspect(now, `silent for ${now - life} ms`);
    return true;
  }

  private markSuspect(now: number, why: string): void {
    if (this.suspectAt === null) logEvent('warn', 'node suspect: new requests go elsewhere', { why });
    this.suspectAt = now;
    this.d.reporter.urgent();
  }

  /** Turns a dispatch away before anything went to the node; on the Worker's last attempt it is the client's answer, and a ledger row. */
  private refuse(meta: DispatchMeta, reason: RefusalReason, message: string, node = ''): Response {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    this.d.reporter.changed(true);
    if (meta.refusable) return refusal(reason, message);
    const now = Date.now();
    this.d.outbox.begin({ ...openRow(meta, node, now), ended: now, outcome: 'error', total_ms: 0 });
    this.d.reporter.changed();
    return Response.json(errorBody('no_available_node', message), { status: 503, headers: { 'retry-after': '2' } });
  }

  private settled(meta: DispatchMeta, s: Settled): void {
    this.d.inflight.delete(meta.id);
    if (s.outcome === 'refused') {
      const reason = s.why?.split(':')[0] ?? 'node_failed';
      this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    }
    if (s.outcome === 'refused') this.d.outbox.withdraw(meta.id);
    else this.d.outbox.end(meta.id, endedFields(meta, s, Date.now()));
    if (s.outcome !== 'ok' && s.outcome !== 'cancelled')
      logEvent('warn', 'request failed at the node', { id: meta.id, request_id: meta.requestId, why: s.why });
    const ws = this.d.socket();
    const connId = ws ? this.d.attachment(ws).connId : null;
    if (connId && this.saturated.has(meta.model) && this.d.inflight.count(connId) < this.d.served.maxConcurrency(connId)) this.saturated.delete(meta.model);
    if (this.queuedBehind || meta.urgent) {
      this.queuedBehind = false;
      this.d.reporter.urgent();
    } else {
      this.d.reporter.changed(true);
    }
  }

  /** Checks deadlines every TICK_MS while anything is in flight. */
  private tick(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      if (this.d.inflight.size === 0) {
        clearInterval(this.ticker ?? null);
        this.ticker = undefined;
        return;
      }
      const now = Date.now();
      this.d.outbox.persistOpen(now);
      for (const e of [...this.d.inflight.values()]) {
        if (!e.p.accepted && now - e.started > this.d.config.firstReplyMs) {
          this.markSuspect(now, `no first reply within ${this.d.config.firstReplyMs} ms`);
          this.d.send({ type: 'infer.cancel', id: e.meta.id });
          e.p.fail('upstream_error', `the node did not answer within ${this.d.config.firstReplyMs / 1000} s`, 'timeout');
        } else if (e.p.accepted && !e.p.heldByClient && now - e.lastAt > this.d.config.nodeStallMs) {
          this.d.send({ type: 'infer.cancel', id: e.meta.id });
          e.p.fail('upstream_error', `the node sent nothing for ${this.d.config.nodeStallMs / 1000} s`, 'node_failed');
        }
      }
    }, TICK_MS);
  }
}
