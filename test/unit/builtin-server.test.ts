import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDemoModelsDir, ensureDemoModels, REPO_ROOT } from '../../scripts/make-demo-models';

// A real engine process on the generated demo-small model: the contract the node agent relies on.

let child: ChildProcess;
let base = '';
let stderr = '';
const PARALLEL = 2;

/** Polls `check` until it returns a value; the deadline is a hang guard, not a timing assertion. */
async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; engine stderr:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (res: Response): Promise<any> => res.json();

const chat = (body: unknown, init: RequestInit = {}) =>
  fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });

/** Reads an SSE body into its `data:` payloads, optionally stopping (and aborting) after `stopAfter` events. */
async function readSse(res: Response, stopAfter?: { events: number; abort: AbortController }): Promise<string[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: string[] = [];
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    buf += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) !== -1) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      expect(event.startsWith('data: ')).toBe(true);
      events.push(event.slice('data: '.length));
      if (stopAfter && events.length >= stopAfter.events) {
        stopAfter.abort.abort();
        return events;
      }
    }
  }
}

beforeAll(async () => {
  const [small] = await ensureDemoModels(defaultDemoModelsDir());
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'nodes/engines/builtin/server.ts'),
      '--model',
      small.path,
      '--port',
      '0',
      '--ctx',
      '2048',
      '--parallel',
      String(PARALLEL),
      '--threads',
      '1',
      '--gpu',
      'false',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await until(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], 'listening line');
  base = `http://127.0.0.1:${port}`;
  await until(async () => ((await fetch(`${base}/health`)).status === 200 ? true : undefined), 'health 200');
});

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

describe('builtin engine process', () => {
  it('reports health with the model id and a memory estimate', async () => {
    const body = await await json(await fetch(`${base}/health`));
    expect(body).toMatchObject({ status: 'ok', model: 'demo-small', slots_total: PARALLEL });
    expect(body.vram_mb).toBeGreaterThan(0);
  });

  it('lists its one model', async () => {
    const body = await await json(await fetch(`${base}/v1/models`));
    expect(body.object).toBe('list');
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(['demo-small']);
  });

  it('answers a non-streaming chat completion in OpenAI shape', async () => {
    const res = await chat({
      model: 'demo-small',
      messages: [
        { role: 'system', content: '' },
        { role: 'user', content: 'Hello' },
      ],
      max_tokens: 12,
      temperature: 0,
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'demo-small', choices: [{ index: 0, message: { role: 'assistant' } }] });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(typeof body.created).toBe('number');
    expect(typeof body.choices[0].message.content).toBe('string');
    expect(['stop', 'length']).toContain(body.choices[0].finish_reason);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(12);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('streams chunks, a finish chunk, a usage chunk, then [DONE]', async () => {
    const res = await chat({
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBeGreaterThan(0);
    const finish = chunks.at(-2);
    expect(['stop', 'length']).toContain(finish.choices[0].finish_reason);
    const text = chunks
      .slice(1, -2)
      .map((c) => c.choices[0].delta.content)
      .join('');
    expect(text.length).toBeGreaterThan(0);
  });

  it('sends no usage chunk unless asked', async () => {
    const events = await readSse(await chat({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0, stream: true }));
    const last = JSON.parse(events.at(-2)!);
    expect(last.choices[0].finish_reason).not.toBeNull();
    expect(last.usage).toBeUndefined();
  });

  it.each([
    ['malformed JSON', '{"messages": [', null],
    ['missing messages', '{}', 'messages'],
    ['unknown role', JSON.stringify({ messages: [{ role: 'wizard', content: 'x' }] }), 'messages[0].role'],
    ['temperature out of range', JSON.stringify({ messages: [{ role: 'user', content: 'x' }], temperature: 7 }), 'temperature'],
    ['n > 1', JSON.stringify({ messages: [{ role: 'user', content: 'x' }], n: 2 }), 'n'],
  ])('rejects %s with a 400 naming the field', async (_name, raw, param) => {
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: raw });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param });
    expect(body.error.message.length).toBeGreaterThan(0);
  });

  it('rejects a prompt longer than the context with context_length_exceeded', async () => {
    const res = await chat({ messages: [{ role: 'user', content: 'word '.repeat(3000) }] });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'context_length_exceeded', type: 'invalid_request_error' });
  });

  it('answers 404 for an unknown path', async () => {
    const res = await fetch(`${base}/v1/nope`);
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe('not_found');
  });

  it('serves more requests than sequences by queueing them', async () => {
    const results = await Promise.all(
      Array.from({ length: PARALLEL + 2 }, (_, i) => chat({ messages: [{ role: 'user', content: `q${i}` }], max_tokens: 6, seed: i }).then(json)),
    );
    for (const r of results) expect(r.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('stops generating when a streaming client disconnects, and keeps serving', async () => {
    const abort = new AbortController();
    const res = await chat(
      { messages: [{ role: 'user', content: 'Tell a long story' }], max_tokens: 1900, temperature: 0, stream: true },
      { signal: abort.signal },
    );
    const events = await readSse(res, { events: 4, abort });
    expect(events.length).toBe(4);
    const id = JSON.parse(events[0]).id as string;
    const tokens = await until(() => new RegExp(`${id} aborted after (\\d+) completion tokens`).exec(stderr)?.[1], 'abort log line');
    expect(Number(tokens)).toBeLessThan(1900);
    await until(async () => ((await await json(await fetch(`${base}/health`))).slots_free === PARALLEL ? true : undefined), 'sequence freed');
    const after = await chat({ messages: [{ role: 'user', content: 'again' }], max_tokens: 4 });
    expect(after.status).toBe(200);
    expect((await json(after)).usage.completion_tokens).toBeGreaterThan(0);
  });

  it('serves legacy text completions', async () => {
    const res = await fetch(`${base}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 5, temperature: 0 }) });
    const body = await json(res);
    expect(body).toMatchObject({ object: 'text_completion', choices: [{ index: 0 }] });
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('constrains output to a JSON object with response_format json_object', async () => {
    const body = await json(
      await chat({ messages: [{ role: 'user', content: 'json please' }], max_tokens: 200, temperature: 0, response_format: { type: 'json_object' } }),
    );
    expect(body.choices[0].finish_reason).toBe('stop');
    const parsed = JSON.parse(body.choices[0].message.content);
    expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
  });

  it('constrains output to a schema with response_format json_schema', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' }, mood: { enum: ['calm', 'busy'] } }, required: ['ok', 'mood'] };
    const body = await json(
      await chat({
        messages: [{ role: 'user', content: 'status?' }],
        max_tokens: 100,
        temperature: 0,
        response_format: { type: 'json_schema', json_schema: { name: 'status', schema } },
      }),
    );
    const parsed = JSON.parse(body.choices[0].message.content);
    expect(typeof parsed.ok).toBe('boolean');
    expect(['calm', 'busy']).toContain(parsed.mood);
  });

  it('keeps SSE well-formed when the model emits raw and split multibyte bytes', async () => {
    // logit_bias leaves only two byte tokens possible: 0x80 (id 131) and 0xC5 (id 200). 0xC5 0x80 is "ŀ" split
    // across two tokens; any other arrangement is invalid UTF-8. Either way the client must get well-formed JSON.
    const body = { messages: [{ role: 'user', content: 'bytes' }], max_tokens: 40, temperature: 0, logit_bias: { 131: 100, 200: 99 } };
    const events = await readSse(await chat({ ...body, stream: true }));
    expect(events.at(-1)).toBe('[DONE]');
    const streamed = events
      .slice(1, -2)
      .map((e) => JSON.parse(e).choices[0].delta.content)
      .join('');
    expect(streamed.length).toBeGreaterThan(0);
    expect([...streamed].every((c) => c === '\uFFFD' || c === '\u0140')).toBe(true);
    const whole = await json(await chat(body));
    expect(whole.choices[0].message.content).toBe(streamed);
  });

  it('rejects a logit_bias token id outside the vocabulary', async () => {
    const res = await chat({ messages: [{ role: 'user', content: 'x' }], logit_bias: { 999999: 5 } });
    expect(res.status).toBe(400);
    expect((await json(res)).error.param).toBe('logit_bias');
  });

  it('on SIGTERM ends an in-flight stream with an in-band engine_stopping error and exits 0', async () => {
    const res = await chat({ messages: [{ role: 'user', content: 'long' }], max_tokens: 1900, temperature: 0, stream: true });
    const reader = res.body!.getReader();
    const first = await reader.read(); // the stream is live: generation has begun
    expect(first.done).toBe(false);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    let rest = new TextDecoder().decode(first.value);
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    const events = rest.split('\n\n').filter(Boolean);
    expect(JSON.parse(events.at(-1)!.slice('data: '.length)).error).toMatchObject({ code: 'engine_stopping', type: 'server_error' });
    expect(rest).not.toContain('[DONE]');
    expect(await exited).toBe(0);
  });
});
