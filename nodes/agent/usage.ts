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
