import WebSocket from 'ws';
import { CloseCode, EdgeToNodeSchema, MAX_FRAME_BYTES, NODE_PING, isFinalClose, parseFrame, type EdgeToNode, type NodeToEdge } from '../../src/protocol';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import type { Logger } from './log';
import { sanitizeFrame } from './sanitize';

/** Above this many queued bytes readers pause; they resume below LOW_WATER. */
export const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 * 1024;
/** Liveness: a ping every PING_MS (answered by the edge's runtime without waking anything); silence for SILENT_MS ends the socket. */
export const PING_MS = 2000;
export const SILENT_MS = 3 * PING_MS;

export interface LinkOptions {
  edgeUrl: string;
  nodeId: string;
  nodeKey: string;
  log: Logger;
  /** Builds `node.hello`; called on every (re)connect so it re-announces what is loaded now. */
  hello: () => Promise<NodeToEdge>;
  onFrame: (frame: Exclude<EdgeToNode, { type: 'hub.welcome' }>) => void;
  /** The socket is gone: in-flight work must be dropped (the edge already failed it). */
  onDisconnect: () => void;
  /** The edge closed with a final code; the link will not reconnect. */
  onFinal: (code: number, reason: string) => void;
  inflight: () => number;
  backoff?: BackoffPolicy;
  /** Overrides PING_MS / SILENT_MS (tests). */
  pingMs?: number;
  silentMs?: number;
}

export function connectUrl(edgeUrl: string): string {
  return `${edgeUrl.replace(/^http/i, 'ws').replace(/\/+$/, '')}/agent/v1/connect`;
}

/**
 * The node's one socket to the edge: connects, says hello, heartbeats, and
 * reconnects with jittered backoff until told to stop or closed with a final code.
 * Never throws out of socket callbacks.
 */
export class Link {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  /** When the edge was last heard from (any frame, pongs included). */
  private heardAt = 0;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** HTTP status of an upgrade refusal that ends the link for good. */
  private refused: number | undefined;

  constructor(private readonly o: LinkOptions) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends one frame; false when there is no open socket (the frame is dropped). */
  send(frame: NodeToEdge): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    // Error text leaves the node as one safe line (no URLs, paths, secrets or engine stderr).
    ws.send(JSON.stringify(sanitizeFrame(frame)));
    return true;
  }

  /** Resolves once the socket's send queue has drained below the low-water mark, or the socket is gone. */
  async whenWritable(): Promise<void> {
    if (this.bufferedAmount <= HIGH_WATER) return;
    const ws = this.ws;
    while (ws === this.ws && ws?.readyState === WebSocket.OPEN && ws.bufferedAmount > LOW_WATER) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  stop(code = 1000, reason = 'agent stopping'): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.stopHeartbeat();
    this.ws?.close(code, reason);
  }

  private connect(): void {
    const url = connectUrl(this.o.edgeUrl);
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.o.nodeKey}`, 'x-porten-node-id': this.o.nodeId },
      handshakeTimeout: 15_000,
      // The edge must not send more either: ws closes an oversized frame with 1009 instead of buffering it.
      maxPayload: MAX_FRAME_BYTES,
      // Compression would run every small token frame through zlib's thread pool: latency and CPU for
      // a link that is rarely bandwidth-bound.
      perMessageDeflate: false,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.o.log.info('connected', { url });
      this.o.hello().then(
        (h) => this.ws === ws && this.send(h),
        (err) => {
          this.o.log.error('cannot build hello', { error: (err as Error).message });
          ws.close(1011, 'hello failed');
        },
      );
    });
    ws.on('message', (data, isBinary) => {
      this.heardAt = Date.now();
      this.receive(isBinary ? new ArrayBuffer(0) : data.toString());
    });
    // Upgrade refusals (401 and the like) surface here; 'close' follows with 1006.
    ws.on('unexpected-response', (_req, res) => {
      this.o.log.warn('edge refused the socket', { status: res.statusCode });
      // A refused key (401: unknown or revoked) or identity (403) will not start working by retrying: stop as on a final close.
      if (res.statusCode === 401 || res.statusCode === 403) this.refused = res.statusCode;
      ws.terminate();
    });
    ws.on('error', (err) => this.o.log.warn('socket error', { error: err.message }));
    ws.on('close', (code, reasonBuf) => this.closed(ws, code, reasonBuf.toString()));
  }

  private receive(raw: string | ArrayBuffer): void {
    const r = parseFrame(EdgeToNodeSchema, raw);
    if (!r.ok) {
      this.o.log.warn('invalid frame from edge', { id: r.id, error: r.message });
      this.send({ type: 'error', id: r.id, code: 'bad_frame', message: r.message.slice(0, 2000) });
      return;
    }
    const f = r.frame;
    if (f.type === 'hub.welcome') {
      this.attempt = 0;
      this.o.log.info('welcomed by edge', { node_id: f.node_id, heartbeat_s: f.heartbeat_s });
      this.startHeartbeat(f.heartbeat_s);
      return;
    }
    if (f.type === 'hub.pong') return;
    try {
      this.o.onFrame(f);
    } catch (err) {
      this.o.log.error('frame handler failed', { type: f.type, error: (err as Error).message });
      const id = 'id' in f ? f.id : undefined;
      this.send({ type: 'error', id, code: 'internal', message: (err as Error).message.slice(0, 2000) });
    }
  }

  private closed(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.stopHeartbeat();
    this.ws = undefined;
    this.o.onDisconnect();
    if (this.stopped) return;
    if (isFinalClose(code) || this.refused !== undefined) {
      this.stopped = true;
      if (this.refused !== undefined) this.o.onFinal(CloseCode.unauthorized, `the edge refused this node's key or id (HTTP ${this.refused})`);
      else this.o.onFinal(code, reason);
      return;
    }
    const delay = backoffDelay(this.attempt++, this.o.backoff ?? DEFAULT_BACKOFF);
    this.o.log.warn('disconnected; reconnecting', { code, reason: reason || undefined, in_ms: delay });
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private startHeartbeat(seconds: number): void {
    this.stopHeartbeat();
    const beat = () => this.send({ type: 'node.heartbeat', inflight: this.o.inflight() });
    // One at once, so the edge learns the in-flight count without waiting a whole period.
    beat();
    this.heartbeat = setInterval(beat, seconds * 1000);
    // Pings go out as the exact text the edge's auto-response matches. A socket that stays silent
    // (edge frozen, or a half-open connection after the edge's host died) is ended and redialled.
    const ws = this.ws;
    const silentMs = this.o.silentMs ?? SILENT_MS;
    this.heardAt = Date.now();
    this.pinger = setInterval(() => {
      if (!ws || ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.heardAt > silentMs) {
        this.o.log.warn('edge silent; reconnecting', { silent_ms: Date.now() - this.heardAt });
        ws.terminate();
        return;
      }
      ws.send(NODE_PING);
    }, this.o.pingMs ?? PING_MS);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.pinger);
    this.heartbeat = undefined;
    this.pinger = undefined;
  }
}
