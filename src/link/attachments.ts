/** Identity of a socket, kept in its attachment so it survives hibernation. */
export interface Attachment {
  nodeId: string;
  connId: string;
  hello: boolean;
  strikes: number;
  lastBeat: number;
}

/**
 * A NodeLink's socket attachments, kept in memory beside the runtime's copy:
 * `deserializeAttachment()` decodes a structured clone on every call, and the
 * warm path read it on every frame and several times per request. The copy
 * here lives as long as this object does; after hibernation the object is new,
 * the map empty, and each socket's attachment is read once again. Every write
 * goes through `save`, so the runtime's copy (what a woken object reads) and
 * this one never differ: callers mutate the object `get` returned and save it.
 */
export class Attachments {
  private readonly byWs = new WeakMap<WebSocket, Attachment>();

  get(ws: WebSocket): Attachment | null {
    const cached = this.byWs.get(ws);
    if (cached) return cached;
    const att = ws.deserializeAttachment() as Attachment | null;
    if (att) this.byWs.set(ws, att);
    return att;
  }

  save(ws: WebSocket, att: Attachment): void {
    ws.serializeAttachment(att);
    this.byWs.set(ws, att);
  }
}
