import { UsageSchema, type Usage } from '../../src/protocol';

/** Index just past the JSON object starting at `start` (which must be `{`), or -1 if it is cut off. */
function objectEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */) depth++;
    else if (c === 125 /* } */ && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * Finds the last `"usage": {...}` in the tail of an engine's response (a JSON
 * body or the final SSE events) without parsing the rest. Streams that repeat
 * `"usage": null` on every chunk are skipped past; returns undefined when the
 * engine reported none.
 */
export function extractUsage(tail: string): Usage | undefined {
  let from = tail.length;
  for (let tries = 0; tries < 8; tries++) {
    const at = tail.lastIndexOf('"usage"', from);
    if (at < 0) return undefined;
    from = at - 1;
    let i = at + 7;
    while (i < tail.length && /[\s:]/.test(tail[i])) i++;
    if (tail[i] !== '{') continue;
    const end = objectEnd(tail, i);
    if (end < 0) continue;
    try {
      const u = UsageSchema.safeParse(JSON.parse(tail.slice(i, end)));
      if (u.success) return { prompt_tokens: u.data.prompt_tokens, completion_tokens: u.data.completion_tokens, total_tokens: u.data.total_tokens };
    } catch {
      // not JSON after all; look further back
    }
  }
  return undefined;
}

/** Whether a request body is a stream that did not ask for the usage chunk. */
export function streamWithoutUsage(body: Record<string, unknown>): boolean {
  const opts = body.stream_options as { include_usage?: unknown } | null | undefined;
  return body.stream === true && opts?.include_usage !== true;
}

/**
 * The body sent to the engine: streams always ask for the usage chunk, so every
 * request is metered from the engine's own count even when the client did not
 * ask for it (the agent then drops that chunk, see `dropUsageChunks`).
 */
export function withUsageRequested(body: Record<string, unknown>): Record<string, unknown> {
  if (!streamWithoutUsage(body)) return body;
  const opts = (body.stream_options ?? {}) as Record<string, unknown>;
  return { ...body, stream_options: { ...opts, include_usage: true } };
}

/** Removes the usage-only SSE events (`choices: []` plus `usage`) from whole events, for clients that did not ask for them. */
export function dropUsageChunks(events: string): string {
  if (!events.includes('"usage"')) return events;
  return events
    .split('\n\n')
    .filter((e) => !(e.startsWith('data: {') && e.includes('"choices":[]') && /"usage":\s*\{/.test(e)))
    .join('\n\n');
}
