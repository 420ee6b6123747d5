/**
 * The dashboard's live feed: admin browsers hold a WebSocket on the Hub
 * (hibernation API, so idle sockets cost nothing), and the Hub tells them
 * *what* changed — `{"type":"changed","topics":["nodes","models"]}` — never
 * the data itself. Pages re-fetch only those panels through the admin API,
 * which keeps one authorisation path and one data shape.
 *
 * Changes are detected at the store boundary (`watch`), so the Hub's logic
 * needs no broadcast calls, and coalesced for `DEBOUNCE_MS`: a download
 * reporting progress every 250 ms yields a few messages a second at most.
 */
export type LiveTopic = 'nodes' | 'models' | 'decisions' | 'demand' | 'keys' | 'enrollments' | 'usage';

/** Which store writes change which dashboard panels. Reads and `touchNode` (heartbeats) are silent. */
const WRITES: Record<string, LiveTopic[]> = {
  upsertSeed: ['models'],
  putModel: ['models'],
  setModelEnabled: ['models'],
  upsertNode: ['nodes'],
  setNodeOffline: ['nodes'],
  setInventory: ['nodes'],
  setNodeCapacity: ['nodes'],
  upsertReplica: ['nodes', 'models'],
  setReplicaPhase: ['nodes', 'models'],
  deleteReplica: ['nodes', 'models'],
  replaceReplicas: ['nodes', 'models'],
  // Called on every lease and release: the node panel's in-flight counts move.
  touchReplica: ['nodes'],
  recordFailure: ['models'],
  appendDecisions: ['decisions'],
  bumpDemand: ['demand'],
  // TenancyStore (src/hub/tenancy-store.ts), watched the same way.
  insertKey: ['keys'],
  revokeKey: ['keys'],
  putNodeRecord: ['nodes'],
  revokeNodeRecord: ['nodes'],
  insertEnrollment: ['enrollments'],
  updateEnrollment: ['enrollments'],
  expireEnrollment: ['enrollments'],
  endUsage: ['usage'],
};

const TOPICS = [...new Set(Object.values(WRITES).flat())];

export const LIVE_TAG = 'live';
export const DEBOUNCE_MS = 300;

export class LiveFeed {
  private readonly pending = new Set<LiveTopic>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ctx: DurableObjectState) {}

  /** Accepts an already-authorised upgrade request (the Worker checked the ticket). */
  accept(req: Request): Response {
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [LIVE_TAG]);
    // Keep-alive pings are answered by the runtime without waking the Hub.
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    pair[1].send(JSON.stringify({ type: 'hello', topics: TOPICS }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** Marks topics changed; one message goes out after the debounce. No-op while nobody listens. */
  changed(...topics: LiveTopic[]): void {
    if (this.ctx.getWebSockets(LIVE_TAG).length === 0) return;
    for (const t of topics) this.pending.add(t);
    this.timer ??= setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  /**
   * Wraps the store so every write listed in `WRITES` marks its topics. Writes
   * made by other modules through the same store (effects, planner) count too.
   */
  watch<T extends object>(store: T): T {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        const topics = typeof prop === 'string' ? WRITES[prop] : undefined;
        if (!topics || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const out = (value as (...a: unknown[]) => unknown).apply(receiver, args);
          this.changed(...topics);
          return out;
        };
      },
    });
  }

  /** The Hub's webSocketClose/webSocketError: completes the close handshake; never throws. */
  closed(ws: WebSocket, code?: number): void {
    try {
      ws.close(code === 1005 || code === 1006 || code === undefined ? 1000 : code, 'bye');
    } catch {
      // Already closed: nothing to do.
    }
  }

  private flush(): void {
    this.timer = null;
    if (this.pending.size === 0) return;
    const msg = JSON.stringify({ type: 'changed', topics: [...this.pending] });
    this.pending.clear();
    for (const ws of this.ctx.getWebSockets(LIVE_TAG)) {
      try {
        ws.send(msg);
      } catch (err) {
        console.warn('live feed: send failed, dropping that socket:', err);
        this.closed(ws, 1011);
      }
    }
  }
}
