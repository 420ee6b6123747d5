/** The longest line kept whole; a longer run without a newline is passed on in pieces of this size. */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * A feeder for a process's output that calls `emit` once per complete line (without its newline, blank lines
 * skipped), however the pipe split the text into chunks: a line cut across two chunks arrives whole. The engine's
 * load log is parsed line by line (buffer sizes, see llama-server-memory.ts), and under load a pipe chunk often
 * ends mid-line. `end()` emits what is left without a newline.
 */
export function lineFeeder(emit: (line: string) => void): { push(chunk: string): void; end(): void } {
  let rest = '';
  const out = (line: string) => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l.trim()) emit(l);
  };
  return {
    push(chunk) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) out(p);
      while (rest.length > MAX_LINE_CHARS) {
        out(rest.slice(0, MAX_LINE_CHARS));
        rest = rest.slice(MAX_LINE_CHARS);
      }
    },
    end() {
      if (rest) out(rest);
      rest = '';
    },
  };
}
