import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import type { Env } from '../env';
import { errorBody } from '../errors';
import {
  CloseCode, MAX_FRAME_BYTES, NodeToEdgeSchema, PROTOCOL_VERSION, parseFrame,
  type EdgeToNode, type NodeToEdge, type NodeHello, type Usage,
} from '../protocol';
import { PendingInfer, clientCode, type InferOutcome } from './pending';
import { hubStub } from './stubs';
import { closeCodeToEcho, describeSocketError } from './socket-close';

/** Identity of a socket, kept in its attachment so it survives hibernation. */
interface Attachment {
  nodeId: string;
  connId: string;
  hello: boolean;
  strikes: number;
  lastBeat: number;
}

export const HEARTBEAT_S = 15;
const HELLO_WINDOW_MS = 10_000;
const MAX_STRIKES = 8;

const DispatchSchema = z.object({
  id: z.string(),
  model: z.string(),
  path: z.enum(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']),
  body: z.record(z.string(), z.unknown()),
  stream: z.boolean(),
  /** The Hub lease this request holds; the link releases it (with usage) when the request ends. */
  lease: z.string().optional(),
});
export type Dispatch = z.infer<typeof DispatchSchema>;

/**
 * One per node: holds that node's WebSocket (hibernation API) and relays
 * inference over it, so token traffic never touches the Hub. Reports the
 * node's lifecycle frames to the Hub.
 */
export class NodeLink extends DurableObject<Env> {
  private readonly pending = new Map<string, PendingInfer>();

  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/connect') return this.accept(req);
    if (url.pathname === '/dispatch') return this.dispatch(DispatchSchema.parse(await req.json()));
    return new Response('not found', { status: 404 });
  }

  /** Sends a control frame to the node; false when the node has no live, greeted socket. */
  send(frame: EdgeToNode): boolean {
    const ws = this.socket();
    if (!ws) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  private accept(req: Request): Response {
    const nodeId = req.headers.get('x-porten-node-id') ?? '';
    for (const old of this.ctx.getWebSockets()) {
      safeClose(old, CloseCode.replaced, 'another connection for this node id replaced this one');
    }
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    const att: Attachment = { nodeId, connId: crypto.randomUUID(), hello: false, strikes: 0, lastBeat: Date.now() };
    server.serializeAttachment(att);
    void this.ctx.storage.setAlarm(Date.now() + HELLO_WINDOW_MS);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  private async dispatch(d: Dispatch): Promise<Response> {
    const ws = this.socket();
    if (!ws) {
      this.release(d.lease, 'error');
      return Response.json(errorBody('no_available_node', 'The node serving this model is not connected.'), { status: 503, headers: { 'retry-after': '2' } });
    }
    const connId = (ws.deserializeAttachment() as Attachment).connId;
    const p = new PendingInfer(d.id, connId, d.stream, () => {
      this.pending.delete(d.id);
      this.trySend({ type: 'infer.cancel', id: d.id });
    }, (outcome, usage) => this.release(d.lease, outcome, usage));
    this.pending.set(d.id, p);
    ws.send(JSON.stringify({ type: 'infer.start', id: d.id, model: d.model, path: d.path, body: d.body }));
    return p.response;
  }

  /** The operator revoked this node: close its socket for good (4004, final) and fail what it carried. */
  async revoke(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      safeClose(ws, CloseCode.revoked, 'this node was revoked by the operator');
      await this.lost(ws, 'node revoked by the operator');
    }
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment;
    const size = typeof message === 'string' ? message.length : message.byteLength;
    if (size > MAX_FRAME_BYTES) {
      // One oversized frame is not a typo to forgive: the agent must split its chunks. 4009 tells it why.
      this.reply(ws, { type: 'error', code: 'frame_too_large', message: `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}` });
      safeClose(ws, CloseCode.frameTooLarge, `frame exceeds ${MAX_FRAME_BYTES} bytes`);
      await this.lost(ws, 'node sent an oversized frame');
      return;
    }
    const parsed = parseFrame(NodeToEdgeSchema, message);
    if (!parsed.ok) {
      att.strikes++;
      ws.serializeAttachment(att);
      this.reply(ws, { type: 'error', id: parsed.id, code: 'bad_frame', message: parsed.message });
      if (att.strikes >= MAX_STRIKES) safeClose(ws, CloseCode.protocolViolation, 'too many invalid frames');
      return;
    }
    try {
      await this.handle(ws, att, parsed.frame);
    } catch (err) {
      console.error(`node ${att.nodeId}: handling ${parsed.frame.type} failed:`, err);
    }
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const echo = closeCodeToEcho(code);
    if (echo !== null) safeClose(ws, echo, reason);
    await this.lost(ws, `node disconnected (${code}${reason ? `: ${reason}` : ''})`);
  }

  async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.lost(ws, `node socket failed: ${describeSocketError(error)}`);
  }

  /** Closes sockets that never said hello, and those whose heartbeats stopped. */
  async alarm(): Promise<void> {
    const now = Date.now();
    let live = false;
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment;
      if (!att.hello && now - att.lastBeat >= HELLO_WINDOW_MS) {
        safeClose(ws, CloseCode.helloTimeout, 'no node.hello received in time');
        await this.lost(ws, 'node never said hello');
      } else if (att.hello && now - att.lastBeat > 3 * HEARTBEAT_S * 1000) {
        safeClose(ws, CloseCode.protocolViolation, 'heartbeats stopped');
        await this.lost(ws, 'node heartbeats stopped');
      } else {
        live = true;
      }
    }
    if (live) await this.ctx.storage.setAlarm(now + HEARTBEAT_S * 1000);
  }

  private async handle(ws: WebSocket, att: Attachment, f: NodeToEdge): Promise<void> {
    if (f.type === 'node.hello') return this.hello(ws, att, f);
    if (!att.hello) {
      this.reply(ws, { type: 'error', code: 'hello_required', message: `send node.hello before ${f.type}` });
      return;
    }
    if (att.strikes) {
      att.strikes = 0;
      ws.serializeAttachment(att);
    }
    switch (f.type) {
      case 'infer.head':
        this.pending.get(f.id)?.onHead(f.status, f.content_type);
        return;
      case 'infer.chunk': {
        const p = this.pending.get(f.id);
        if (p && !p.onChunk(f.seq, f.data)) this.finish(f.id, true);
        return;
      }
      case 'infer.end':
        this.pending.get(f.id)?.onEnd(f.chunks, f.usage);
        this.pending.delete(f.id);
        return;
      case 'infer.error':
        this.pending.get(f.id)?.fail(clientCode(f.code), `node ${att.nodeId}: ${f.message}`);
        this.pending.delete(f.id);
        return;
      case 'node.heartbeat':
        att.lastBeat = Date.now();
        ws.serializeAttachment(att);
        await hubStub(this.env).heartbeat(att.nodeId);
        return;
      case 'model.state':
        await hubStub(this.env).modelState(att.nodeId, f);
        return;
      case 'node.inventory':
        await hubStub(this.env).inventory(att.nodeId, f.inventory);
        return;
      case 'error':
        console.warn(`node ${att.nodeId} refused a frame${f.id ? ` (${f.id})` : ''}: ${f.code} ${f.message}`);
        if (f.id) this.pending.get(f.id)?.fail('upstream_error', `node refused the request: ${f.message}`);
        return;
    }
  }

  private async hello(ws: WebSocket, att: Attachment, h: NodeHello): Promise<void> {
    if (h.v !== PROTOCOL_VERSION) {
      this.reply(ws, { type: 'error', code: 'unsupported_version', message: `protocol v${h.v} is not supported; this edge speaks v${PROTOCOL_VERSION}` });
      safeClose(ws, CloseCode.unsupportedVersion, `protocol v${PROTOCOL_VERSION} required`);
      return;
    }
    if (h.node_id !== att.nodeId) {
      this.reply(ws, { type: 'error', code: 'node_id_mismatch', message: `hello names '${h.node_id}' but this socket belongs to '${att.nodeId}'` });
      safeClose(ws, CloseCode.protocolViolation, 'node id mismatch');
      return;
    }
    if ((await hubStub(this.env).nodeHello(h, att.connId)) === false) {
      safeClose(ws, CloseCode.revoked, 'this node was revoked by the operator');
      return;
    }
    att.hello = true;
    att.lastBeat = Date.now();
    ws.serializeAttachment(att);
    this.reply(ws, { type: 'hub.welcome', v: PROTOCOL_VERSION, node_id: att.nodeId, heartbeat_s: HEARTBEAT_S });
    await this.ctx.storage.setAlarm(Date.now() + HEARTBEAT_S * 1000);
  }

  /** A socket ended: fail what it carried and tell the Hub (which ignores stale connections). */
  private async lost(ws: WebSocket, why: string): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (!att) return;
    for (const [id, p] of [...this.pending]) if (p.connId === att.connId) this.finish(id, false, why);
    try {
      await hubStub(this.env).nodeGone(att.nodeId, att.connId);
    } catch (err) {
      console.error(`node ${att.nodeId}: reporting disconnect failed:`, err);
    }
  }

  /** Ends the request's lease in the Hub exactly once (the Hub ignores repeats); 0 tokens when the node reported none. */
  private release(lease: string | undefined, outcome: InferOutcome, usage?: Usage): void {
    if (!lease) return;
    this.ctx.waitUntil(hubStub(this.env).release(lease, usage, outcome).catch((err: unknown) => {
      console.error(`releasing lease ${lease} failed:`, err);
    }));
  }

  private finish(id: string, cancelOnNode: boolean, why = 'stream failed'): void {
    this.pending.get(id)?.fail('upstream_error', why);
    this.pending.delete(id);
    if (cancelOnNode) this.trySend({ type: 'infer.cancel', id });
  }

  private socket(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment;
      if (att.hello && ws.readyState === WebSocket.OPEN) return ws;
    }
    return null;
  }

  private trySend(frame: EdgeToNode): void {
    try {
      this.socket()?.send(JSON.stringify(frame));
    } catch (err) {
      console.warn('sending to node failed:', err);
    }
  }

  private reply(ws: WebSocket, frame: EdgeToNode): void {
    try {
      ws.send(JSON.stringify(frame));
    } catch (err) {
      console.warn('reply to node failed:', err);
    }
  }
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closing or closed: nothing left to do.
  }
}
