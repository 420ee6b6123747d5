import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { bootStack, helloFrame, nodes, rawNodeSocket, readSse, waitFor, waitForNode } from './support';
import { CloseCode } from '../../src/protocol';
import type OpenAI from 'openai';

let stack: Awaited<ReturnType<typeof bootStack>>;
let openai: OpenAI;

beforeAll(async () => {
  stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
  openai = stack.openai;
  await waitForNode(stack, 'node-a');
});

afterAll(async () => {
  await stack?.stop();
});

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
      .toString()
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter(Boolean);
  } catch {
    return [];
  }
}

describe('one real request end to end', () => {
  it('lists the catalog through the official client', async () => {
    const page = await openai.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['demo-small', 'demo-plain', 'demo-large']));
  });

  it('answers a non-streamed chat completion with usage, loading the model on demand', async () => {
    const res = await openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 16, seed: 1 });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.choices[0].message.role).toBe('assistant');
    expect(typeof res.choices[0].message.content).toBe('string');
    expect(['stop', 'length']).toContain(res.choices[0].finish_reason);
    expect(res.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    const models = await openai.models.list();
    expect(models.data.find((m) => m.id === 'demo-small')).toMatchObject({ state: 'ready' });
  });

  it('streams at least three chunks through the official client', async () => {
    const stream = await openai.chat.completions.create({
      model: 'demo-small',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_tokens: 24,
      stream: true,
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-1)!.choices[0]?.finish_reason ?? chunks.at(-2)!.choices[0]?.finish_reason).toBeTruthy();
  });

  it('ends the raw SSE stream with [DONE]', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(res);
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('meters a stream whose client did not ask for usage, without showing it the usage chunk', async () => {
    const admin = { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${stack.url}/admin/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'metering' }) });
    const key = (await created.json()) as { id: string; key: string };
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, stream: true }),
    });
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.filter((e) => e.includes('"usage":{'))).toEqual([]);
    // The node link sends its ledger rows to the Hub in batches (within PORTEN_BATCH_MS).
    const mine = await waitFor('the ledger row', async () => {
      const usage = await fetch(`${stack.url}/admin/v1/usage?group_by=key`, { headers: admin });
      const rows = ((await usage.json()) as { data: Array<{ key_id?: string; requests: number; prompt_tokens: number; completion_tokens: number }> }).data;
      const found = rows.filter((r) => r.key_id === key.id);
      return found.length && found.reduce((n, r) => n + r.completion_tokens, 0) > 0 ? found : null;
    });
    expect(mine.reduce((n, r) => n + r.requests, 0)).toBe(1);
    expect(mine.reduce((n, r) => n + r.completion_tokens, 0)).toBeGreaterThan(0);
    expect(mine.reduce((n, r) => n + r.prompt_tokens, 0)).toBeGreaterThan(0);
  });
});

describe('client disconnect', () => {
  it('cancels the generation on the node when the client leaves mid-stream', async () => {
    await openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 2 });
    const admin = { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' };
    const key = (await (await fetch(`${stack.url}/admin/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'leaver' }) })).json()) as {
      id: string;
      key: string;
    };
    const ac = new AbortController();
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'a long one' }], max_tokens: 400, stream: true }),
    });
    await res.body!.getReader().read();
    // The Hub learns in-flight counts from the node link's batched reports.
    const inflight = async () => ((await nodes(stack)).find((n) => n.id === 'node-a') as unknown as { inflight: number }).inflight;
    await waitFor('the request to show in flight', async () => (await inflight()) === 1);
    ac.abort();
    await waitFor('the slot to come back', async () => (await inflight()) === 0);
    // A cancelled stream never reaches the engine's usage chunk: had it run to its end, 400 tokens would be on the ledger.
    const mine = await waitFor('the cancelled row', async () => {
      const usage = (await (await fetch(`${stack.url}/admin/v1/usage?group_by=key`, { headers: admin })).json()) as {
        data: Array<{ key_id?: string; requests: number; completion_tokens: number }>;
      };
      const found = usage.data.filter((r) => r.key_id === key.id);
      return found.length ? found : null;
    });
    expect(mine.reduce((n, r) => n + r.requests, 0)).toBe(1);
    expect(mine.reduce((n, r) => n + r.completion_tokens, 0)).toBe(0);
  });
});

describe('misbehaving nodes', () => {
  it('answers an invalid frame with an error naming the problem and keeps serving others', async () => {
    const rogue = rawNodeSocket(stack, 'rogue-1');
    await rogue.opened;
    rogue.ws.send('{not json');
    rogue.ws.send(JSON.stringify({ type: 'node.explode' }));
    await waitFor('two error replies', () => rogue.frames.filter((f) => f.type === 'error').length >= 2);
    expect(rogue.frames[0]).toMatchObject({ type: 'error', code: 'bad_frame', message: expect.stringContaining('JSON') });
    expect(rogue.frames[1]).toMatchObject({ type: 'error', code: 'bad_frame', message: expect.stringContaining('type') });
    rogue.ws.close();
    const res = await openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 4 });
    expect(res.choices).toHaveLength(1);
  });

  it('closes a socket that speaks the wrong protocol version with the documented code', async () => {
    const rogue = rawNodeSocket(stack, 'rogue-2');
    await rogue.opened;
    rogue.ws.send(JSON.stringify(helloFrame('rogue-2', 99)));
    const closed = await rogue.closed;
    expect(closed.code).toBe(CloseCode.unsupportedVersion);
    expect(rogue.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'unsupported_version' });
  });

  it('closes a socket whose hello claims another node id', async () => {
    const rogue = rawNodeSocket(stack, 'rogue-3');
    await rogue.opened;
    rogue.ws.send(JSON.stringify(helloFrame('node-a')));
    const closed = await rogue.closed;
    expect(closed.code).toBe(CloseCode.protocolViolation);
    await waitForNode(stack, 'node-a');
  });

  it('refuses a socket with a wrong node key before upgrading', async () => {
    const rogue = rawNodeSocket(stack, 'rogue-4', 'wrong-key');
    await expect(rogue.opened).rejects.toThrow(/401/);
  });
});

describe('faults', () => {
  it('ends a stream with an in-band error when the agent is killed mid-stream, then serves again after restart', async () => {
    const agent = stack.agents.find((a) => a.spec.nodeId === 'node-a')!;
    // Warm first, so the stream below is generating (not warming) when the agent dies.
    await openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 2 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      // demo-large generates ~150 tokens/s here, so the kill lands well inside the stream.
      body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'Go on and on' }], max_tokens: 400, stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await agent.kill('SIGKILL');
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toMatch(/"error":\{[^}]*"code":"upstream_error"/);
    expect(text).not.toContain('[DONE]');

    await waitForNode(stack, 'node-a', (n) => !n.online);
    stack.startAgent(agent.spec);
    await waitForNode(stack, 'node-a');
    const again = await openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'back?' }], max_tokens: 4 });
    expect(again.choices[0].message.role).toBe('assistant');
  });

  it('fails a request cleanly when the engine crashes, and reloads on the next request', async () => {
    await openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 2 });
    const agent = stack.agents.filter((a) => a.spec.nodeId === 'node-a').at(-1)!;
    const enginesBefore = childPids(agent.child.pid!);
    expect(enginesBefore.length).toBeGreaterThan(0);

    const stream = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'long answer please' }], max_tokens: 400, stream: true }),
    });
    const reader = stream.body!.getReader();
    await reader.read();
    for (const pid of enginesBefore) process.kill(pid, 'SIGKILL');
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"error"');
    expect(text).not.toContain('[DONE]');

    const next = await openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'again' }], max_tokens: 4 });
    expect(next.choices[0].message.role).toBe('assistant');
  });
});
