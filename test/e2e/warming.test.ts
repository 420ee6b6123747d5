import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APIError } from 'openai';
import { bootStack, waitFor, waitForNode } from './support';

type Stack = Awaited<ReturnType<typeof bootStack>>;
interface Warming {
  model: string;
  ready: boolean;
  phase: string;
  done_mb: number;
  total_mb: number;
  pct: number;
  eta_s: number | null;
}

const LARGE_BYTES = 69_641_056;
// 80 Mbit/s ≈ 10 MB/s: demo-large takes ~7 s to download, long enough to watch.
const THROTTLE_MBPS = 80;

async function warming(stack: Stack, model: string): Promise<Warming> {
  const res = await fetch(`${stack.url}/public/v1/models/warming?model=${model}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Warming;
}

/** Records every distinct warming snapshot until the model is ready (or the poll is stopped). */
function watch(stack: Stack, model: string) {
  const seen: Warming[] = [];
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const w = await warming(stack, model);
      const last = seen.at(-1);
      if (!last || last.phase !== w.phase || last.pct !== w.pct) seen.push(w);
      if (w.ready) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { seen, done, stop: () => void (stop = true) };
}

describe('on-demand loading as users feel it', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await bootStack({ agents: [{ nodeId: 'warm-node', budgetMb: 4096 }] });
    await waitForNode(stack, 'warm-node');
  });
  afterAll(async () => stack?.stop());

  it('shows downloading → loading → ready with rising bytes while a request waits, and gives up politely past the budget', async () => {
    stack.origin.setRate(THROTTLE_MBPS);
    stack.origin.resetStats();
    expect(await warming(stack, 'demo-large')).toMatchObject({ phase: 'cold', ready: false });

    // A 2 s budget: 503 model_warming with Retry-After, and the load keeps going.
    const early = await stack.openai.chat.completions
      .create({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }, { headers: { 'X-Porten-Warmup-Budget': '2' } })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(early).toBeInstanceOf(APIError);
    const err = early as APIError;
    expect(err.status).toBe(503);
    expect(err.code).toBe('model_warming');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const watcher = watch(stack, 'demo-large');
    // A streaming request joins the same load: headers at once, keep-alive comments, then the answer.
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    stack.origin.setRate(null);
    await watcher.done;

    expect(text).toMatch(/^: warming downloading \d+%/m);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const phases = watcher.seen.map((w) => w.phase);
    expect(phases.at(-1)).toBe('ready');
    // The phases only move forward.
    const order = ['downloading', 'loading', 'ready'];
    const ranks = phases.filter((p) => order.includes(p)).map((p) => order.indexOf(p));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(phases).toContain('loading');
    const downloading = watcher.seen.filter((w) => w.phase === 'downloading' && w.pct > 0 && w.pct < 100);
    expect(downloading.length).toBeGreaterThanOrEqual(2);
    expect(downloading.map((w) => w.pct)).toEqual([...downloading.map((w) => w.pct)].sort((a, b) => a - b));
    expect(downloading[0].total_mb).toBeCloseTo(LARGE_BYTES / 2 ** 20, 0);
    expect(downloading.some((w) => w.eta_s !== null && w.eta_s > 0)).toBe(true);

    // The first client's retry, now that the model is ready, succeeds.
    const retry = await stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(retry.choices[0].message.role).toBe('assistant');
    // One load: the origin served the file exactly once.
    expect(stack.origin.stats().byFile['demo-large.gguf']?.bytes).toBe(LARGE_BYTES);
  });

  it('loads once for 20 concurrent cold requests and answers all of them', async () => {
    stack.origin.resetStats();
    // Slow enough that all 20 arrive while the (0.5 MB) download is still running.
    stack.origin.setRate(4);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stack.openai.chat.completions.create({ model: 'demo-plain', messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 4 }),
      ),
    );
    stack.origin.setRate(null);
    expect(answers).toHaveLength(20);
    for (const a of answers) expect(a.choices[0].message.role).toBe('assistant');
    const served = stack.origin.stats().byFile['demo-plain.gguf'];
    expect(served.bytes).toBe(519_712);
  });

  it('reports a failed load to the waiting client with the reason, then loads once the origin is fixed', async () => {
    stack.origin.resetStats();
    stack.origin.setFault({ kind: 'flip-byte', offset: 1000, file: 'demo-small.gguf' });
    const failed = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(APIError);
    expect((failed as APIError).status).toBe(502);
    expect((failed as APIError).message).toMatch(/sha256|verif/i);
    expect(await warming(stack, 'demo-small')).toMatchObject({ phase: 'failed' });

    stack.origin.setFault(null);
    const ok = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(ok.choices[0].message.role).toBe('assistant');
    expect(await warming(stack, 'demo-small')).toMatchObject({ phase: 'ready', ready: true });
  });
});

describe('a node killed mid-download', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await bootStack({ agents: [{ nodeId: 'resume-node', budgetMb: 4096 }] });
    await waitForNode(stack, 'resume-node');
  });
  afterAll(async () => stack?.stop());

  it('resumes the download after a restart, fetching less than one segment twice', async () => {
    stack.origin.setRate(THROTTLE_MBPS);
    stack.origin.resetStats();
    const pending = stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    await waitFor(
      'half of the download',
      async () => {
        const w = await warming(stack, 'demo-large');
        return w.phase === 'downloading' && w.pct >= 45;
      },
      60_000,
    );
    const agent = stack.agents[0];
    await agent.kill('SIGKILL');
    await waitForNode(stack, 'resume-node', (n) => !n.online);
    stack.startAgent(agent.spec);
    const answer = await pending;
    stack.origin.setRate(null);
    expect(answer.choices[0].message.role).toBe('assistant');
    const served = stack.origin.stats().byFile['demo-large.gguf'].bytes;
    const segment = LARGE_BYTES / 4;
    expect(served).toBeGreaterThanOrEqual(LARGE_BYTES);
    expect(served - LARGE_BYTES).toBeLessThan(segment);
  });
});
