import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APIError } from 'openai';
import { bootStack, waitFor, waitForNode } from './support';

type Stack = Awaited<ReturnType<typeof bootStack>>;

/** A streaming chat request whose body is read as it arrives, so a test can wait for a comment line. */
function openStream(stack: Stack, model: string) {
  let text = '';
  const done = (async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return text;
      text += value;
    }
  })();
  return { done, text: () => text };
}

async function warming(stack: Stack, model: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.url}/public/v1/models/warming?model=${model}`);
  return (await res.json()) as Record<string, unknown>;
}

describe('a bounded queue per model (PORTEN_QUEUE_MAX=2), on a real agent whose download is slowed', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await bootStack({ agents: [{ nodeId: 'queue-node', budgetMb: 4096 }], vars: { PORTEN_QUEUE_MAX: '2' } });
    await waitForNode(stack, 'queue-node');
  });
  afterAll(async () => stack?.stop());

  it('tells each waiting stream its place, shows the queue, and answers the third request 429 queue_full with Retry-After', async () => {
    // 8 Mbit/s: demo-large (66 MB) would take over a minute, so both streams are surely still waiting.
    stack.origin.setRate(8);
    const first = openStream(stack, 'demo-large');
    await waitFor('the first stream to learn its place', () => /^: queued 1\/1 max 2$/m.test(first.text()));
    const second = openStream(stack, 'demo-large');
    await waitFor('the second stream to learn its place', () => /^: queued 2\/2 max 2$/m.test(second.text()));
    expect(await warming(stack, 'demo-large')).toMatchObject({ phase: 'downloading', queued: 2, queue_max: 2 });

    const refused = await stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(APIError);
    const err = refused as APIError;
    expect(err.status).toBe(429);
    expect(err.code).toBe('queue_full');
    expect(err.type).toBe('rate_limit_error');
    expect(err.message).toContain("2 requests already wait for 'demo-large'");
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // The queue drains once the model is ready: both waiting streams get their answers.
    stack.origin.setRate(null);
    for (const s of [first, second]) {
      const text = await s.done;
      expect(text).toMatch(/^: warming downloading/m);
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    }
    expect(await warming(stack, 'demo-large')).toMatchObject({ phase: 'ready', queued: 0, queue_max: 2 });
    // And a request now finds room.
    const ok = await stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(ok.choices[0].message.role).toBe('assistant');
  });

  it("a catalog entry's queue_max overrides the edge default", async () => {
    const catalog = JSON.parse(readFileSync(new URL('../../catalog/models.json', import.meta.url), 'utf8')) as Array<Record<string, unknown>>;
    const entry = { ...catalog.find((m) => m.id === 'demo-plain')!, queue_max: 1 };
    const put = await fetch(`${stack.url}/admin/v1/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(entry),
    });
    expect(put.status).toBeLessThan(300);
    stack.origin.setRate(0.05);
    const only = openStream(stack, 'demo-plain');
    await waitFor('the stream to join the queue', () => /^: queued 1\/1 max 1$/m.test(only.text()));
    const refused = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-plain', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('queue_full');
    stack.origin.setRate(null);
    expect((await only.done).trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
