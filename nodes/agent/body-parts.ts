import type { InferStart } from '../../src/protocol';

/** A body larger than this, across all its parts, is refused (the edge accepts 8 MiB). */
export const MAX_BODY_CHARS = 16 * 1024 * 1024;
/** Parts that stop arriving for this long are dropped with their request. */
const PART_TIMEOUT_MS = 30_000;

type Whole = InferStart & { body: Record<string, unknown> };
export type PartResult = { kind: 'pending' } | { kind: 'complete'; start: Whole } | { kind: 'error'; message: string };

interface Assembly {
  start: InferStart;
  parts: string[];
  chars: number;
  timer: NodeJS.Timeout;
}

/**
 * Reassembles `infer.start` bodies that the edge split across `infer.body`
 * frames (the `body_parts` feature): a body may be larger than one frame, so
 * long-context and multimodal requests work without raising the frame limit.
 * Parts must arrive in order; a gap, an oversize body, or JSON that is not an
 * object fails that one request and nothing else.
 */
export class BodyParts {
  private readonly open = new Map<string, Assembly>();

  constructor(private readonly onTimeout: (id: string) => void) {}

  has(id: string): boolean {
    return this.open.has(id);
  }

  begin(start: InferStart): void {
    const timer = setTimeout(() => this.expire(start.id), PART_TIMEOUT_MS);
    this.open.set(start.id, { start, parts: [], chars: 0, timer });
  }

  add(id: string, seq: number, data: string): PartResult {
    const a = this.open.get(id);
    if (!a) return { kind: 'error', message: 'no infer.start is waiting for body parts with this id' };
    if (seq !== a.parts.length) return this.drop(id, `body part ${a.parts.length} expected, got ${seq}`);
    a.chars += data.length;
    if (a.chars > MAX_BODY_CHARS) return this.drop(id, `request body exceeds ${MAX_BODY_CHARS} characters`);
    a.parts.push(data);
    a.timer.refresh();
    if (a.parts.length < (a.start.body_parts ?? 0)) return { kind: 'pending' };
    this.forget(id);
    let body: unknown;
    try {
      body = JSON.parse(a.parts.join(''));
    } catch {
      return { kind: 'error', message: 'request body parts do not form valid JSON' };
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'error', message: 'request body must be a JSON object' };
    return { kind: 'complete', start: { ...a.start, body: body as Record<string, unknown> } };
  }

  /** Drops a request whose parts are no longer wanted (cancelled, disconnected). */
  cancel(id: string): void {
    this.forget(id);
  }

  clear(): void {
    for (const id of [...this.open.keys()]) this.forget(id);
  }

  private drop(id: string, message: string): PartResult {
    this.forget(id);
    return { kind: 'error', message };
  }

  private expire(id: string): void {
    this.forget(id);
    this.onTimeout(id);
  }

  private forget(id: string): void {
    const a = this.open.get(id);
    if (!a) return;
    clearTimeout(a.timer);
    this.open.delete(id);
  }
}
