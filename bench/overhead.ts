import { fmt, median, p99, paired } from './stats';
import { timedChat } from './http-timing';

export interface Target {
  url: string;
  headers: Record<string, string>;
  model: string;
}

export interface OverheadResult {
  name: string;
  concurrency: number;
  rounds: number;
  direct: { p50: number; p99: number };
  edge: { p50: number; p99: number };
  added: { p50: number; p99: number };
  gapAdded?: { p50: number; p99: number };
  identical?: boolean;
}

/**
 * Edge against direct, interleaved round by round (order alternating) so drift
 * hits both alike; `warmup` rounds are discarded. Each of `concurrency`
 * workers runs its own interleaved loop.
 */
export async function overhead(
  name: string,
  direct: Target,
  edge: Target,
  opts: { stream: boolean; rounds: number; warmup: number; concurrency: number; chunks: number },
): Promise<OverheadResult> {
  const body = (t: Target, seed: number) => ({
    model: t.model,
    messages: [{ role: 'user', content: 'bench' }],
    max_tokens: opts.chunks,
    stream: opts.stream,
    seed,
  });
  const d: number[] = [];
  const e: number[] = [];
  const dGaps: number[] = [];
  const eGaps: number[] = [];
  let identical = true;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, w) => {
      for (let r = 0; r < opts.rounds + opts.warmup; r++) {
        const order = (r + w) % 2 === 0 ? [direct, edge] : [edge, direct];
        const results = [];
        for (const t of order) results.push(await timedChat(`${t.url}/v1/chat/completions`, t.headers, body(t, r), r === opts.warmup));
        const [td, te] = order[0] === direct ? results : [results[1], results[0]];
        if (!td.ok || !te.ok) throw new Error(`${name}: request failed (direct ${td.ok}, edge ${te.ok})`);
        if (r === opts.warmup && w === 0) identical = contentOf(td.body) === contentOf(te.body);
        if (r < opts.warmup) continue;
        d.push(td.ttfbMs);
        e.push(te.ttfbMs);
        dGaps.push(...td.gaps);
        eGaps.push(...te.gaps);
      }
    }),
  );
  const add = paired(e, d);
  const result: OverheadResult = {
    name,
    concurrency: opts.concurrency,
    rounds: d.length,
    direct: { p50: median(d), p99: p99(d) },
    edge: { p50: median(e), p99: p99(e) },
    added: { p50: median(add), p99: p99(add) },
  };
  if (opts.stream) {
    result.gapAdded = { p50: median(eGaps) - median(dGaps), p99: p99(eGaps) - p99(dGaps) };
    result.identical = identical;
  }
  return result;
}

/** The concatenated delta contents of an SSE body, so edge and direct answers can be compared byte for byte. */
function contentOf(sse: string): string {
  return sse
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => {
      const chunk = JSON.parse(e.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
      return chunk.choices?.[0]?.delta?.content ?? '';
    })
    .join('');
}

/** Chunks per second of one long stream. */
export async function relayRate(t: Target, chunks: number): Promise<number> {
  const res = await timedChat(`${t.url}/v1/chat/completions`, t.headers, {
    model: t.model,
    messages: [{ role: 'user', content: 'long' }],
    max_tokens: chunks,
    stream: true,
  });
  if (!res.ok) throw new Error(`relay stream failed: ${res.body.slice(0, 300)}`);
  return res.chunks / (res.totalMs / 1000);
}

export function overheadRow(r: OverheadResult): string {
  const gap = r.gapAdded ? `${fmt(r.gapAdded.p50)} / ${fmt(r.gapAdded.p99)}` : '—';
  const same = r.identical === undefined ? '—' : r.identical ? 'yes' : 'NO';
  return `| ${r.name} | ${r.concurrency} | ${r.rounds} | ${fmt(r.direct.p50)} / ${fmt(r.direct.p99)} | ${fmt(r.edge.p50)} / ${fmt(r.edge.p99)} | **${fmt(r.added.p50)} / ${fmt(r.added.p99)}** | ${gap} | ${same} |`;
}
