import { performance } from 'node:perf_hooks';

export interface Timing {
  ok: boolean;
  /** Time to the first SSE data event (streams) or to the full body (non-streaming), ms. */
  ttfbMs: number;
  totalMs: number;
  chunks: number;
  /** Gaps between SSE data events, ms. */
  gaps: number[];
  body: string;
}

/** One chat completion, timed from the moment the request is sent. */
export async function timedChat(url: string, headers: Record<string, string>, body: object, keepBody = false): Promise<Timing> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!res.body) return { ok: false, ttfbMs: NaN, totalMs: performance.now() - t0, chunks: 0, gaps: [], body: '' };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let first = NaN;
  let last = 0;
  let chunks = 0;
  let text = '';
  let pending = '';
  const gaps: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now();
    const piece = decoder.decode(value, { stream: true });
    if (keepBody) text += piece;
    pending += piece;
    let events = 0;
    let at: number;
    while ((at = pending.indexOf('\n\n')) >= 0) {
      if (pending.startsWith('data: ')) events++;
      pending = pending.slice(at + 2);
    }
    if (events > 0) {
      if (Number.isNaN(first)) first = now - t0;
      else gaps.push(now - last);
      last = now;
      chunks += events;
    }
  }
  const totalMs = performance.now() - t0;
  return { ok: res.ok, ttfbMs: Number.isNaN(first) ? totalMs : first, totalMs, chunks, gaps, body: text };
}
