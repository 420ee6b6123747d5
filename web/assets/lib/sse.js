// Server-sent events over fetch(): EventSource cannot POST or send an Authorization header.

/**
 * An incremental SSE parser. Feed it decoded text in any chunking; it calls
 * `onData(data)` once per event (multi-line data joined with "\n") and
 * `onComment(text)` for each comment line (": …"). Other fields are ignored.
 * @param {{onData: (data: string) => void, onComment?: (text: string) => void}} handlers
 */
export function sseParser({ onData, onComment }) {
  let buf = '';
  let data = [];
  const line = (l) => {
    if (l === '') {
      if (data.length) onData(data.join('\n'));
      data = [];
    } else if (l.startsWith(':')) {
      onComment?.(l.slice(1).trim());
    } else if (l === 'data' || l.startsWith('data:')) {
      const v = l.slice(5);
      data.push(v.startsWith(' ') ? v.slice(1) : v);
    }
  };
  return {
    push(text) {
      buf += text;
      // A trailing "\r" may be the first half of "\r\n": keep it until the next chunk.
      for (;;) {
        const m = /\r\n|\n|\r(?!$)/.exec(buf);
        if (!m) break;
        line(buf.slice(0, m.index));
        buf = buf.slice(m.index + m[0].length);
      }
    },
    /** Flushes a final event that lacked its blank line. */
    end() {
      if (buf) line(buf.replace(/\r$/, ''));
      buf = '';
      line('');
    },
  };
}

/**
 * Reads the edge's warming comment (`warming downloading 45% 30/66 MB eta 4s`)
 * into a partial warming view, or null for any other comment.
 */
export function parseWarmingComment(text) {
  const m = /^warming\s+(\w+)(?:\s+(\d+(?:\.\d+)?)%)?(?:\s+(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)\s*MB)?(?:\s+eta\s+(\d+(?:\.\d+)?)s)?/.exec(text);
  if (!m) return null;
  return {
    phase: m[1],
    pct: m[2] === undefined ? 0 : Number(m[2]),
    done_mb: m[3] === undefined ? null : Number(m[3]),
    total_mb: m[4] === undefined ? null : Number(m[4]),
    eta_s: m[5] === undefined ? null : Number(m[5]),
  };
}
