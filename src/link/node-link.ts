import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import type { LinkReport } from '../hub/ingest-types';
import { logEvent } from '../log';
import {
  CloseCode,
  HUB_PONG,
  MAX_FRAME_BYTES,
  NODE_PING,
  PROTOCOL_VERSION,
  parseNodeFrame,
  type EdgeToNode,
  type HubUnload,
  type NodeHello,
  type NodeToEdge,
} from '../protocol';
import { Attachments, type Attachment } from './attachments';
import { linkConfig, type LinkConfig } from './config';
import { FrameRate } from './frame-rate';
import { InflightTable } from './inflight';
import { LinkRequests } from './link-requests';
import { Outbox } from './outbox';
import { Reporter } from './reporter';
import { ServedModels } from './served';
import { closeCodeToEcho, describeSocketError } from './socket-close';
import { hubStub } from './stubs';

export const HEARTBEAT_S = 15;
const HELLO_WINDOW_MS = 10_000;
const MAX_STRIKES = 8;
/** The Hub hears a node's heartbeat at most this often (its NodeLink answers every beat itself). */
const HUB_BEAT_MS = 60_000;

/**
 * One per node: holds that node's WebSocket (hibernation API) and relays
 * inference over it, so token traffic never touches the Hub. Admits requests
 * by what its node serves and its free slots, keeps the node's usage-ledger
 * rows until the Hub has them (batched), and tells the Hub about the node's
 * lifecycle.
 */
export class NodeLink extends DurableObject<Env> {
  private readonly config: LinkConfig;
  private readonly served: ServedModels;
  private readonly outbox: Outbox;
  private readonly reporter: Reporter;
  private readonly requests: LinkRequests;
  private readonly inflight = new InflightTable();
  private readonly attachments = new Attachments();
  /** A new value each time this object starts: the Hub then knows in-memory state from before is gone. */
  private readonly boot = crypto.randomUUID();
  private frameRate: { connId: string; bucket: FrameRate } | null = null;
  private hubBeatAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = linkConfig(env);
    this.served = new ServedModels(ctx.storage.kv);
    this.outbox = new Outbox(ctx.storage.sql, Date.now());
    // Liveness pings are answered by the runtime, without waking this object; dispatch reads when the last one came.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(NODE_PING, HUB_PONG));
    this.reporter = new Reporter({
      outbox: this.outbox,
      config: this.config,
      status: () => this.status(),
      send: (r: LinkReport) => hubStub(this.env).ingest(r),
      resync: () => this.resync(),
      backstop: (at) => void this.armAlarm(at),
      log: (msg, err) => logEvent('warn', msg, { node: this.nodeId(), error: describeSocketError(err) }),
    });
    this.requests = new LinkRequests({
      ctx,
      config: this.config,
      served: this.served,
      outbox: this.outbox,
      reporter: this.reporter,
      inflight: this.inflight,
      socket: () => this.socket(),
      attachment: (ws) => this.att(ws),
      send: (frame) => this.trySend(frame),
    });
    // Rows a previous instance left behind (its requests died with it) go to the Hub now.
    if (this.outbox.size) {
      if (this.outbox.interrupted) logEvent('warn', 'closed ledger rows of requests interrupted by a restart', { count: this.outbox.interrupted });
      this.reporter.urgent();
    }
  }

  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/connect') return this.accept(req);
    if (url.pathname === '/dispatch') return this.requests.dispatch(req);
    return new Response('not found', { status: 404 });
  }

  /** Sends a control frame to the node; false when the node has no live, greeted socket. */
  send(frame: EdgeToNode): boolean {
    const ws = this.socket();
    if (!ws) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * The Hub's eviction goes through here so it can never cut a request off:
   * refused (`busy`) while the model has requests in flight, else the model is
   * marked stopping at once — no new request is admitted for it — and the
   * unload goes out.
   */
  unload(frame: HubUnload): 'sent' | 'busy' | 'offline' {
    const ws = this.socket();
    if (!ws) return 'offline';
    const { connId } = this.att(ws);
    if (this.inflight.count(connId, frame.model) > 0) return 'busy';
    this.served.set(connId, frame.model, 'stopping');
    ws.send(JSON.stringify(frame));
    return 'sent';
  }

  /** Whether this object holds connection `connId` now (the Hub asks after it restarts). */
  holds(connId: string): boolean {
    return this.ctx.getWebSockets().some((ws) => {
      const att = this.attachments.get(ws);
      return att?.connId === connId && ws.readyState === WebSocket.OPEN;
    });
  }

  /** Sends waiting ledger rows and status to the Hub now (the alarm's backstop; tests). */
  async flush(): Promise<void> {
    await this.reporter.flush();
  }

  /** The operator revoked this node: close its socket for good (4004, final) and fail what it carried. */
  async revoke(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      safeClose(ws, CloseCode.revoked, 'this node was revoked by the operator');
      await this.lost(ws, 'node revoked by the operator');
    }
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
    this.attachments.save(server, att);
    this.ctx.storage.kv.put('node', nodeId);
    void this.armAlarm(Date.now() + HELLO_WINDOW_MS);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Frames still queued on a socket the edge is closing (a flooder's, say) are dropped: each would fail its requests and tell the Hub again.
    if (ws.readyState !== WebSocket.OPEN) return;
    const att = this.att(ws);
    const now = Date.now();
    if (!this.takeFrame(att.connId, now)) {
      logEvent('warn', 'node exceeded the frame rate; closing its socket', { node: att.nodeId, limit_per_s: this.config.frameRatePerS });
      safeClose(ws, CloseCode.protocolViolation, 'frame rate exceeded');
      await this.lost(ws, 'node exceeded the frame rate');
      return;
    }
    this.requests.heard(now);
    const size = typeof message === 'string' ? message.length : message.byteLength;
    if (size > MAX_FRAME_BYTES) {
      // One oversized frame is not a typo to forgive: the agent must split its chunks. 4009 tells it why.
      this.reply(ws, { type: 'error', code: 'frame_too_large', message: `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}` });
      safeClose(ws, CloseCode.frameTooLarge, `frame exceeds ${MAX_FRAME_BYTES} bytes`);
      await this.lost(ws, 'node sent an oversized frame');
      return;
    }
    const parsed = parseNodeFrame(message);
    if (!parsed.ok) {
      att.strikes++;
      this.attachments.save(ws, att);
      this.reply(ws, { type: 'error', id: parsed.id, code: 'bad_frame', message: parsed.message });
      // An invalid frame for a request in flight (say, an infer.end with negative usage) ends that request now, not at the stall deadline.
      if (parsed.id && att.hello) this.requests.invalid(att, parsed.id, parsed.message);
      if (att.strikes >= MAX_STRIKES) safeClose(ws, CloseCode.protocolViolation, 'too many invalid frames');
      return;
    }
    try {
      await this.handle(ws, att, parsed.frame);
    } catch (err) {
      logEvent('error', `handling ${parsed.frame.type} failed`, { node: att.nodeId, error: describeSocketError(err) });
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

  /** Closes sockets that never said hello and those gone silent; sends what the reporter could not. */
  async alarm(): Promise<void> {
    const now = Date.now();
    let live = false;
    for (const ws of this.ctx.getWebSockets()) {
      const att = this.att(ws);
      if (!att.hello && now - att.lastBeat >= HELLO_WINDOW_MS) {
        safeClose(ws, CloseCode.helloTimeout, 'no node.hello received in time');
        await this.lost(ws, 'node never said hello');
      } else if (att.hello && now - this.requests.lifeAt(ws, att) > 3 * HEARTBEAT_S * 1000) {
        safeClose(ws, CloseCode.protocolViolation, 'heartbeats stopped');
        await this.lost(ws, 'node heartbeats stopped');
      } else {
        live = true;
      }
    }
    if (this.reporter.pending) await this.reporter.flushIfDue();
    if (live || this.reporter.pending) await this.armAlarm(now + HEARTBEAT_S * 1000);
  }

  private async handle(ws: WebSocket, att: Attachment, f: NodeToEdge): Promise<void> {
    if (f.type === 'node.hello') return this.hello(ws, att, f);
    if (!att.hello) {
      this.reply(ws, { type: 'error', code: 'hello_required', message: `send node.hello before ${f.type}` });
      return;
    }
    if (att.strikes) {
      att.strikes = 0;
      this.attachments.save(ws, att);
    }
    switch (f.type) {
      case 'infer.accepted':
      case 'infer.head':
      case 'infer.chunk':
      case 'infer.end':
      case 'infer.error':
        this.requests.frame(att, f);
        return;
      case 'error':
        logEvent('warn', 'node refused a frame', { node: att.nodeId, id: f.id, code: f.code, error: f.message });
        if (f.id) this.requests.frame(att, { type: 'infer.error', id: f.id, code: f.code, message: `node refused the request: ${f.message}` });
        return;
      case 'node.ping':
        return;
      case 'node.heartbeat':
        att.lastBeat = Date.now();
        this.attachments.save(ws, att);
        if (att.lastBeat - this.hubBeatAt >= HUB_BEAT_MS) {
          this.hubBeatAt = att.lastBeat;
          this.reporter.changed(true);
        }
        return;
      case 'model.state':
        this.served.set(att.connId, f.model, f.phase);
        await hubStub(this.env).modelState(att.nodeId, f);
        return;
      case 'node.inventory':
        await hubStub(this.env).inventory(att.nodeId, f.inventory);
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
    this.served.hello(att.connId, h);
    if ((await hubStub(this.env).nodeHello(h, att.connId)) === false) {
      safeClose(ws, CloseCode.revoked, 'this node was revoked by the operator');
      return;
    }
    att.hello = true;
    att.lastBeat = Date.now();
    this.attachments.save(ws, att);
    this.hubBeatAt = att.lastBeat;
    this.reply(ws, { type: 'hub.welcome', v: PROTOCOL_VERSION, node_id: att.nodeId, heartbeat_s: HEARTBEAT_S });
    await this.armAlarm(Date.now() + HEARTBEAT_S * 1000);
  }

  /** A socket ended: fail what it carried (before the first byte: retried elsewhere) and tell the Hub (which ignores stale connections). */
  private async lost(ws: WebSocket, why: string): Promise<void> {
    const att = this.attachments.get(ws);
    if (!att) return;
    this.requests.lost(att.connId, why);
    try {
      await hubStub(this.env).nodeGone(att.nodeId, att.connId);
    } catch (err) {
      logEvent('error', 'reporting a disconnect failed', { node: att.nodeId, error: describeSocketError(err) });
    }
  }

  /** The Hub did not know this connection (it restarted or wrongly thought the node gone): announce the node again. */
  private async resync(): Promise<void> {
    const ws = this.socket();
    if (!ws) return;
    const att = this.att(ws);
    const hello = this.served.replay(att.connId);
    if (hello) await hubStub(this.env).nodeHello(hello, att.connId);
  }

  private status(): Omit<LinkReport, 'rows' | 'at'> {
    const ws = this.socket();
    const att = ws ? this.att(ws) : null;
    return {
      node: att?.nodeId ?? this.nodeId(),
      conn: att?.connId ?? null,
      boot: this.boot,
      inflight: this.inflight.perModel(att?.connId ?? null),
      saturated: this.requests.saturatedSince(),
      suspect: this.requests.suspect,
      lastBeat: ws && att ? this.requests.lifeAt(ws, att) : null,
      refusals: this.requests.takeRefusals(),
      maxBufferedBytes: this.requests.takeMaxBuffered(),
    };
  }

  private nodeId(): string {
    return this.ctx.storage.kv.get<string>('node') ?? '';
  }

  private takeFrame(connId: string, now: number): boolean {
    const rate = this.config.frameRatePerS;
    if (this.frameRate?.connId !== connId) this.frameRate = { connId, bucket: new FrameRate(rate, 2 * rate, now) };
    return this.frameRate.bucket.take(now);
  }

  private async armAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** A socket's attachment; every socket this object accepted has one. */
  private att(ws: WebSocket): Attachment {
    return this.attachments.get(ws)!;
  }

  private socket(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets()) {
      const att = this.att(ws);
      if (att.hello && ws.readyState === WebSocket.OPEN) return ws;
    }
    return null;
  }

  private trySend(frame: EdgeToNode | string): void {
    try {
      this.socket()?.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    } catch (err) {
      logEvent('warn', 'sending to node failed', { node: this.nodeId(), error: describeSocketError(err) });
    }
  }

  private reply(ws: WebSocket, frame: EdgeToNode): void {
    try {
      ws.send(JSON.stringify(frame));
    } catch (err) {
      logEvent('warn', 'reply to node failed', { error: describeSocketError(err) });
    }
  }
}

export function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closing or closed: nothing to do.
  }
}
